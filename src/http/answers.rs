//! The error answers every API operation shares, documented once.
//!
//! The extractors and the authentication layer give the same refusals on every route: 401
//! without credentials, 403 for what the caller's role may not do or a session write without
//! its CSRF token, 400 for a malformed path parameter or body, 422 for an invalid query or
//! body (or a body where none is expected), 413 and 415 for a body too large or not JSON, 404
//! for an id the caller may not see. [`CommonAnswers`] declares them as shared responses under
//! `#/components/responses` and adds them to each operation they apply to, so that no
//! handler has to repeat them and none can forget one. An operation's own description of one
//! of these statuses (say, "Name taken") is kept. A response an operation leaves without a
//! description (OpenAPI requires one) is described by its status's reason phrase.

use axum::http::StatusCode;
use utoipa::{
    Modify,
    openapi::{
        ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder,
        path::{Operation, ParameterIn},
    },
};

/// One shared answer: its status, its name under `#/components/responses`, what it means.
struct Answer {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const MALFORMED: Answer = Answer {
    status: "400",
    name: "Malformed",
    description: "The request could not be read: a path parameter of the wrong form, or a body that is not JSON.",
};
const UNAUTHENTICATED: Answer =
    Answer { status: "401", name: "Unauthenticated", description: "No valid bearer token or session cookie." };
const FORBIDDEN: Answer = Answer {
    status: "403",
    name: "Forbidden",
    description: "The caller's role may not do this, or a write made with the session cookie lacks its \
                  X-CSRF-Token header.",
};
const NOT_FOUND: Answer = Answer {
    status: "404",
    name: "NotFound",
    description: "No such resource, or one the caller may not see (the two are not told apart).",
};
const TOO_LARGE: Answer = Answer {
    status: "413",
    name: "PayloadTooLarge",
    description: "The body is larger than the server accepts (`max_body_bytes`, 1 MiB by default).",
};
const UNSUPPORTED: Answer =
    Answer { status: "415", name: "UnsupportedMediaType", description: "The body is not sent as application/json." };
const INVALID: Answer = Answer {
    status: "422",
    name: "Invalid",
    description: "A field, query parameter or body is refused; `errors` names each one.",
};

const ALL: [&Answer; 7] = [&MALFORMED, &UNAUTHENTICATED, &FORBIDDEN, &NOT_FOUND, &TOO_LARGE, &UNSUPPORTED, &INVALID];

/// Declares the shared answers and adds them to every operation they apply to. The answers
/// point at the `Problem` schema, which `ApiDoc` registers.
pub struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for answer in ALL {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let response =
                ResponseBuilder::new().description(answer.description).content("application/problem+json", content);
            components.responses.insert(answer.name.to_string(), RefOr::T(response.build()));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names_a_resource = path.contains('{');
            let operations = [
                (false, &mut item.get),
                (true, &mut item.put),
                (true, &mut item.post),
                (true, &mut item.delete),
                (true, &mut item.patch),
            ];
            for (write, operation) in operations {
                if let Some(operation) = operation.as_mut() {
                    for answer in applicable(operation, names_a_resource, write) {
                        add(operation, answer);
                    }
                    describe(operation);
                }
            }
        }
    }
}

/// The shared answers an operation can give.
fn applicable(operation: &Operation, names_a_resource: bool, write: bool) -> Vec<&'static Answer> {
    let public = operation.security.as_ref().is_some_and(|requirements| {
        requirements.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
    });
    let has_query =
        operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    let has_body = operation.request_body.is_some();
    let mut answers = Vec::new();
    if !public {
        answers.extend([&UNAUTHENTICATED, &FORBIDDEN]);
    }
    if names_a_resource {
        answers.extend([&MALFORMED, &NOT_FOUND]);
    }
    if has_body {
        answers.extend([&MALFORMED, &TOO_LARGE, &UNSUPPORTED, &INVALID]);
    } else if write {
        // A body where none is expected is refused, and a large one is refused by its size.
        answers.extend([&TOO_LARGE, &INVALID]);
    }
    if has_query {
        answers.push(&INVALID);
    }
    answers
}

/// Adds the shared answer unless the operation describes that status itself; an operation's
/// own answer with no description of its own is replaced by the shared one.
fn add(operation: &mut Operation, answer: &Answer) {
    let responses = &mut operation.responses.responses;
    let own_description = match responses.get(answer.status) {
        Some(RefOr::T(response)) => !response.description.is_empty(),
        Some(RefOr::Ref(_)) => true,
        None => false,
    };
    if !own_description {
        responses.insert(answer.status.to_string(), RefOr::Ref(Ref::from_response_name(answer.name)));
    }
}

/// Gives every response without a description its status's reason phrase ("OK", "Created").
fn describe(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            let reason = status.parse::<u16>().ok().and_then(|code| StatusCode::from_u16(code).ok());
            response.description = reason.and_then(|s| s.canonical_reason()).unwrap_or("Answer").to_string();
        }
    }
}
