"""Schemathesis hooks for .ci/fuzz: one more check, see .ci/schemathesis.toml."""

import schemathesis

# Problem codes for what the OpenAPI document states: a schema-valid request never gets them.
SHAPE_CODES = {
    "invalid_type",
    "unknown_field",
    "invalid_value",
    "malformed_json",
    "invalid_path_parameter",
    "invalid_cursor",
}


@schemathesis.check
def schema_valid_refusals_name_a_rule(ctx, response, case):
    """A schema-valid request refused with 422 must break a rule, never the schema."""
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        errors = response.json().get("errors", [])
    except Exception:
        raise AssertionError("a 422 answer that is not a problem document")
    shape = [
        e
        for e in errors
        if e.get("code") in SHAPE_CODES
        or (e.get("code") == "required" and str(e.get("message", "")).startswith("missing field"))
    ]
    if shape:
        fields = ", ".join(f"{e.get('field')} ({e.get('code')}: {e.get('message')})" for e in shape)
        raise AssertionError(f"a schema-valid request was refused for its shape: {fields}")
    return None
