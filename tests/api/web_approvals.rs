//! The approvals and content pages: the queue with its decide buttons, deciding through the
//! form (CSRF, non-approvers, closed approvals), what agency users see, the content calendar
//! by local day and month, the proposal and edit forms, an authorization matrix, and a real
//! browser in which an approver approves a publication.

use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;
use veedor::domain::enums::{Language, Role};

use crate::{
    helpers::{Caller, PASSWORD, TestApp, id_of, kpi_body, scope_body},
    web_pages::{DEMO, demo_app, set_language},
    webkit::{Browser, WebSession, local_links},
};

/// An active engagement (2027) of Marea Digital, with a lead and an executive on its team,
/// two agency users, and a user of another agency.
struct World {
    app: TestApp,
    admin: Caller,
    agency: Caller,
    pablo: Caller,
    engagement: Uuid,
}

const ADMIN: &str = "admin@brisa.example";
const LEAD: &str = "javier@brisa.example";
const EXEC: &str = "direccion@brisa.example";
const AGENCY: &str = "lucia@marea.example";
const PABLO: &str = "pablo@marea.example";
const OTHER: &str = "otro@rival.example";

async fn world() -> World {
    let app = TestApp::spawn().await;
    app.clock.set("2027-03-01T09:00:00Z".parse().unwrap());
    let admin = app.actor(ADMIN, Role::Admin, None).await;
    let vendor = app.vendor(&admin, "Marea Digital").await;
    let rival = app.vendor(&admin, "Agencia Rival").await;
    let lead = app.actor(LEAD, Role::Lead, None).await;
    let exec = app.actor(EXEC, Role::Executive, None).await;
    let agency = app.actor(AGENCY, Role::Vendor, Some(vendor)).await;
    let pablo = app.actor(PABLO, Role::Vendor, Some(vendor)).await;
    app.user(OTHER, Role::Vendor, Some(rival)).await;
    let mut body = crate::helpers::engagement_body(vendor, "internal", Some(lead.id));
    body["title"] = json!("Comunidad Brisa 2027");
    body["start_date"] = json!("2027-01-01");
    body["end_date"] = json!("2027-12-31");
    let (_, e) = app.post(&lead, "/api/v1/engagements", body).await;
    let engagement = id_of(&e);
    let base = format!("/api/v1/engagements/{engagement}");
    app.post(&lead, &format!("{base}/scope"), scope_body()).await;
    app.post(&lead, &format!("{base}/kpis"), kpi_body("Tasa de engagement")).await;
    for (who, role) in [(&lead, "lead"), (&exec, "executive")] {
        let (status, body) =
            app.post(&lead, &format!("{base}/team"), json!({ "user_id": who.id, "team_role": role })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.activate(&lead, engagement).await;
    World { app, admin, agency, pablo, engagement }
}

impl World {
    /// A publication proposed over the API; returns the item.
    async fn propose(&self, by: &Caller, body: &str, planned: &str) -> Value {
        let path = format!("/api/v1/engagements/{}/content", self.engagement);
        let input = json!({ "channel": "instagram", "body": body, "planned_at": planned });
        let (status, item) = self.app.post(by, &path, input).await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        item
    }

    async fn approval(&self, id: &str) -> Value {
        let (status, a) = self.app.get(&self.admin, &format!("/api/v1/approvals/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{a}");
        a
    }

    async fn item(&self, id: &str) -> Value {
        let (status, item) = self.app.get(&self.admin, &format!("/api/v1/content/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{item}");
        item
    }
}

fn text(v: &Value) -> &str {
    v.as_str().expect("a string")
}

#[tokio::test]
async fn the_demo_queue_shows_the_pending_approvals_to_the_lead() {
    let app = demo_app().await;
    let lead = WebSession::login_with(&app, DEMO[1].0, DEMO[1].1).await;
    let (status, page) = lead.get("/approvals?view=waiting_on_me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Escucha y respuesta ante crisis de reputación"), "the crisis engagement's activation");
    assert!(page.contains("Nueva colección de primavera"), "the demo's publication waiting on the lead");
    let user = veedor::app::users::find_by_email(&app.state.db, DEMO[1].0).await.unwrap().unwrap();
    let caller = Caller { id: user.id, token: app.token_for(user.id).await };
    let (_, waiting) = app.get(&caller, "/api/v1/approvals?view=waiting_on_me").await;
    let waiting = waiting.as_array().unwrap();
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    for a in waiting {
        let id = text(&a["id"]);
        assert!(page.contains(&format!("action=\"/approvals/{id}/decisions\"")), "decide buttons for {id}");
        let (status, detail) = lead.get(&format!("/approvals/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(detail.contains(&format!("action=\"/approvals/{id}/decisions\"")));
    }
    assert!(page.contains("Aprobar") && page.contains("Pedir cambios") && page.contains("Rechazar"));

    // The agency sees its own submissions, with no decide buttons and no activation.
    let lucia = WebSession::login_with(&app, DEMO[3].0, DEMO[3].1).await;
    let (status, page) = lucia.get("/approvals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Mis envíos") && page.contains("Nueva colección de primavera"));
    assert!(!page.contains("/decisions\""), "agency users never decide");
    assert!(!page.contains("Activation: Escucha y respuesta"), "not the agency's submission");
}

#[tokio::test]
async fn deciding_through_the_form_changes_the_approval_and_the_item() {
    let w = world().await;
    let item = w.propose(&w.agency, "Nueva colección de primavera", "2027-03-05T10:00:00Z").await;
    let approval = text(&item["approval_id"]).to_string();
    let lead = WebSession::login(&w.app, LEAD).await;
    let (_, page) = lead.get("/approvals?view=waiting_on_me").await;
    assert!(page.contains(&format!("action=\"/approvals/{approval}/decisions\"")));

    // Rejecting needs a comment: 422 on the detail page, nothing changed.
    let before = w.app.snapshot().await;
    let path = format!("/approvals/{approval}/decisions");
    let (status, _, page) = lead.post_form(&path, &[("stage", "0"), ("decision", "reject"), ("comment", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Explique el motivo"), "the comment's error is shown");
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(w.app.snapshot().await == before, "nothing changed");

    // Approving from the queue goes back to the queue as it was filtered.
    let (status, location, _) = lead
        .post_form(&path, &[("stage", "0"), ("decision", "approve"), ("back", "/approvals?view=waiting_on_me")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert_eq!(location, "/approvals?view=waiting_on_me&notice=appr_approve");
    let (_, page) = lead.get(&location).await;
    assert!(page.contains("Aprobado."), "the notice");
    assert_eq!(w.approval(&approval).await["status"], "approved");
    assert_eq!(w.item(text(&item["id"])).await["status"], "approved");

    // The detail page shows the decision, who made it and no form any more.
    let (_, detail) = lead.get(&format!("/approvals/{approval}")).await;
    assert!(detail.contains("Aprobó") && detail.contains("javier"));
    assert!(!detail.contains(&format!("action=\"{path}\"")));

    // Deciding again is refused: 409 with the reason, nothing changed.
    let before = w.app.snapshot().await;
    let (status, _, page) = lead.post_form(&path, &[("stage", "0"), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("está cerrada"), "the refusal is explained");
    assert!(w.app.snapshot().await == before, "nothing changed");
}

#[tokio::test]
async fn requesting_changes_sends_the_item_back_with_the_comment() {
    let w = world().await;
    let item = w.propose(&w.agency, "Texto con errata", "2027-03-05T10:00:00Z").await;
    let approval = text(&item["approval_id"]).to_string();
    let lead = WebSession::login(&w.app, LEAD).await;
    let (status, location, _) = lead
        .post_form(
            &format!("/approvals/{approval}/decisions"),
            &[("stage", "0"), ("decision", "request_changes"), ("comment", "Corregid la errata")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(&*format!("/approvals/{approval}?notice=appr_request_changes")))
    );
    assert_eq!(w.item(text(&item["id"])).await["status"], "changes_requested");
    // The agency reads why on the item's page, and can change it.
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let (_, page) = lucia.get(&format!("/content/{}", text(&item["id"]))).await;
    assert!(page.contains("Corregid la errata") && page.contains("Cambios solicitados"));
    assert!(page.contains(&format!("href=\"/content/{}/edit\"", text(&item["id"]))));
}

#[tokio::test]
async fn overdue_approvals_are_marked_and_the_queue_is_filtered_and_paginated() {
    let w = world().await;
    let late = w.propose(&w.agency, "Llega tarde", "2027-03-10T10:00:00Z").await;
    // The content stage has 24 h; a day and an hour later it is overdue.
    w.app.clock.advance(chrono::Duration::hours(25));
    for i in 0..25 {
        w.propose(&w.agency, &format!("Publicación número {i:02}"), "2027-03-10T10:00:00Z").await;
    }
    let lead = WebSession::login(&w.app, LEAD).await;
    let (_, overdue) = lead.get("/approvals?view=waiting_on_me&overdue=true").await;
    assert!(overdue.contains("Llega tarde") && !overdue.contains("Publicación número"));
    assert!(overdue.contains("⚠</span> Vencida"), "overdue as an icon and a word");
    let (_, on_time) = lead.get("/approvals?view=waiting_on_me&overdue=false").await;
    assert!(!on_time.contains("Llega tarde") && on_time.contains("Publicación número 24"));
    let (_, kinds) = lead.get("/approvals?subject_kind=activation").await;
    assert!(kinds.contains("Activación: Comunidad Brisa 2027") && !kinds.contains("Publicación número"));
    assert_eq!(lead.get("/approvals?status=nope").await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // 26 waiting approvals (and the closed activation): 25 a page, newest first, filters kept.
    let (_, first) = lead.get("/approvals?view=waiting_on_me").await;
    assert!(first.contains("Publicación número 24") && !first.contains("Llega tarde"));
    let next = local_links(&first).into_iter().find(|l| l.contains("page=2")).expect("a link to page 2");
    assert!(next.contains("view=waiting_on_me"), "{next}");
    let (_, second) = lead.get(&next).await;
    assert!(second.contains("Llega tarde") && !second.contains("Publicación número 24"));
    assert!(second.contains(&format!("/approvals/{}", text(&late["approval_id"]))));
}

#[tokio::test]
async fn a_decision_without_the_csrf_token_is_refused() {
    let w = world().await;
    let item = w.propose(&w.agency, "Sin token", "2027-03-05T10:00:00Z").await;
    let approval = text(&item["approval_id"]).to_string();
    let lead = WebSession::login(&w.app, LEAD).await;
    let before = w.app.snapshot().await;
    let path = format!("/approvals/{approval}/decisions");
    let (status, _, _) = lead.post_raw(&path, &[("stage", "0"), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = lead.post_raw(&path, &[("_csrf", "forged"), ("stage", "0"), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(w.app.snapshot().await == before, "nothing changed");
    assert_eq!(w.approval(&approval).await["status"], "pending");
}

#[tokio::test]
async fn people_who_are_not_approvers_are_refused() {
    let w = world().await;
    let item = w.propose(&w.agency, "Solo la responsable decide", "2027-03-05T10:00:00Z").await;
    let approval = text(&item["approval_id"]).to_string();
    let path = format!("/approvals/{approval}/decisions");
    let exec = WebSession::login(&w.app, EXEC).await;
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let before = w.app.snapshot().await;
    // The executive sees the approval but is not an approver of its stage.
    let (status, page) = exec.get(&format!("/approvals/{approval}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&format!("action=\"{path}\"")), "no decide form for a non-approver");
    let (status, _, page) = exec.post_form(&path, &[("stage", "0"), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("No puede decidir esta aprobación"));
    // Nor the agency, who authored it.
    let (status, _, _) = lucia.post_form(&path, &[("stage", "0"), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(w.app.snapshot().await == before, "nothing changed");
}

#[tokio::test]
async fn agency_users_see_only_their_own_submissions_and_other_agencies_nothing() {
    let w = world().await;
    let mine = w.propose(&w.agency, "Propuesta de Lucía", "2027-03-05T10:00:00Z").await;
    let theirs = w.propose(&w.pablo, "Propuesta de Pablo", "2027-03-06T10:00:00Z").await;
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let (_, page) = lucia.get("/approvals").await;
    assert!(page.contains("Propuesta de Lucía") && !page.contains("Propuesta de Pablo"));
    assert!(!page.contains("Activation: Comunidad Brisa 2027"), "not the engagement's activation");
    assert_eq!(lucia.get(&format!("/approvals/{}", text(&mine["approval_id"]))).await.0, StatusCode::OK);
    assert_eq!(lucia.get(&format!("/approvals/{}", text(&theirs["approval_id"]))).await.0, StatusCode::NOT_FOUND);
    // Both publications are on the calendar, which everyone on the engagement reads; the
    // approval of Pablo's is not linked for Lucía.
    let (_, page) = lucia.get(&format!("/content/{}", text(&theirs["id"]))).await;
    assert!(page.contains("Propuesta de Pablo") && !page.contains(text(&theirs["approval_id"])));

    // Another agency's user: every page of these objects is a 404, and nothing changes.
    let other = WebSession::login(&w.app, OTHER).await;
    let before = w.app.snapshot().await;
    let (_, queue) = other.get("/approvals").await;
    assert!(!queue.contains("Propuesta de"));
    let (_, calendar) = other.get("/content?month=2027-03").await;
    assert!(!calendar.contains("Propuesta de"));
    for path in [
        format!("/approvals/{}", text(&mine["approval_id"])),
        format!("/content/{}", text(&mine["id"])),
        format!("/content/{}/edit", text(&mine["id"])),
    ] {
        let (status, page) = other.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.contains("Propuesta de Lucía"));
    }
    let (status, _, _) = other
        .post_form(
            &format!("/approvals/{}/decisions", text(&mine["approval_id"])),
            &[("stage", "0"), ("decision", "approve")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) =
        other.post_form(&format!("/content/{}/transitions", text(&mine["id"])), &[("action", "withdraw")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(w.app.snapshot().await == before, "nothing changed");
}

#[tokio::test]
async fn the_calendar_shows_items_on_their_local_day_and_moves_by_month() {
    let w = world().await;
    // 23:30 UTC on the 4th is 00:30 on the 5th in Madrid.
    w.propose(&w.agency, "Madrugada del cinco", "2027-03-04T23:30:00Z").await;
    w.propose(&w.agency, "Mañana del cuatro", "2027-03-04T09:00:00Z").await;
    w.propose(&w.agency, "Abril en TikTok", "2027-04-10T16:00:00Z").await;
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let (status, page) = lucia.get("/content").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("marzo de 2027"), "the current month by default");
    let day = |page: &str, date: &str| {
        let start = page.find(&format!("id=\"d-{date}\"")).unwrap_or_else(|| panic!("no day {date}"));
        let rest = &page[start..];
        rest[..rest[1..].find("<section").map_or(rest.len(), |i| i + 1)].to_string()
    };
    let fourth = day(&page, "2027-03-04");
    let fifth = day(&page, "2027-03-05");
    assert!(fourth.contains("Mañana del cuatro") && fourth.contains("10:00") && fourth.contains("jueves"));
    assert!(fifth.contains("Madrugada del cinco") && fifth.contains("00:30"), "{fifth}");
    assert!(!page.contains("Abril en TikTok"));
    assert!(page.contains("Pendiente de aprobación") && page.contains("◔"), "status as icon and word");

    // Month navigation, within the engagement's term.
    let next =
        local_links(&page).into_iter().find(|l| l.starts_with("/content?month=2027-04")).expect("next month link");
    let (_, april) = lucia.get(&next).await;
    assert!(april.contains("abril de 2027") && april.contains("Abril en TikTok"));
    assert!(local_links(&april).iter().any(|l| l.starts_with("/content?month=2027-03")), "previous month link");
    let (_, january) = lucia.get("/content?month=2027-01").await;
    assert!(!local_links(&january).iter().any(|l| l.starts_with("/content?month=2026-12")), "not before the term");

    // Filters: channel and status.
    let (_, page) = lucia.get("/content?month=2027-03&channel=facebook").await;
    assert!(!page.contains("Madrugada del cinco"));
    let (_, page) = lucia.get("/content?month=2027-03&status=pending_approval&channel=instagram").await;
    assert!(page.contains("Madrugada del cinco"));
    let (status, _) = lucia.get("/content?month=marzo").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn proposing_a_publication_through_the_form() {
    let w = world().await;
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let (status, form) = lucia.get(&format!("/content/new?engagement_id={}", w.engagement)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"planned_at\"") && form.contains("Comunidad Brisa 2027"));
    let engagement = w.engagement.to_string();

    // Invalid: a planned time already past, a link that is not http, no channel. 422, what
    // was typed kept, each error by its field, nothing stored.
    let before = w.app.snapshot().await;
    let (status, _, page) = lucia
        .post_form(
            "/content",
            &[
                ("engagement_id", &engagement),
                ("channel", "instagram"),
                ("body", "Rebajas <b>ya</b>"),
                ("media_url", "ftp://cdn.example/x.jpg"),
                ("planned_at", "2027-02-01T10:00"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Rebajas &lt;b&gt;ya&lt;&#x2f;b&gt;") || page.contains("Rebajas &lt;b&gt;ya&lt;/b&gt;"),
        "kept, escaped"
    );
    assert!(
        page.contains("value=\"ftp:&#x2f;&#x2f;cdn.example&#x2f;x.jpg\"")
            || page.contains("value=\"ftp://cdn.example/x.jpg\"")
    );
    assert!(page.contains("value=\"2027-02-01T10:00\""));
    assert!(page.contains("Debe ser en el futuro") && page.contains("Debe ser un enlace http o https"));
    assert!(page.contains("id=\"e-planned_at\"") && page.contains("id=\"e-media_url\""));
    let (status, _, page) =
        lucia.post_form("/content", &[("engagement_id", &engagement), ("body", ""), ("planned_at", "pronto")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"e-channel\"") && page.contains("id=\"e-body\"") && page.contains("id=\"e-planned_at\"")
    );
    assert!(page.contains("value=\"pronto\""));
    assert!(w.app.snapshot().await == before, "nothing stored");

    // Valid: stored, its approval opened, and the item's page says so.
    let (status, location, _) = lucia
        .post_form(
            "/content",
            &[
                ("engagement_id", &engagement),
                ("channel", "tiktok"),
                ("body", "Tres formas de llevar la camisa vaquera"),
                ("media_url", ""),
                ("planned_at", "2027-03-10T18:30"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id = location.trim_start_matches("/content/").split('?').next().unwrap().to_string();
    assert!(location.ends_with("?notice=cont_proposed"));
    let item = w.item(&id).await;
    assert_eq!((item["channel"].as_str(), item["status"].as_str()), (Some("tiktok"), Some("pending_approval")));
    assert_eq!(item["planned_at"], "2027-03-10T17:30:00Z", "typed in Madrid time");
    let (_, page) = lucia.get(&location).await;
    assert!(page.contains("Publicación propuesta") && page.contains("Tres formas de llevar la camisa vaquera"));
    assert!(page.contains(&format!("href=\"/approvals/{}\"", text(&item["approval_id"]))));
}

#[tokio::test]
async fn changing_and_withdrawing_a_publication() {
    let w = world().await;
    let item = w.propose(&w.agency, "Primera versión", "2027-03-05T10:00:00Z").await;
    let id = text(&item["id"]).to_string();
    w.app.approve_all(text(&item["approval_id"]).parse().unwrap()).await;
    let lucia = WebSession::login(&w.app, AGENCY).await;
    let (status, form) = lucia.get(&format!("/content/{id}/edit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Primera versión") && form.contains("value=\"2027-03-05T11:00\""), "filled, local time");

    let before = w.app.snapshot().await;
    let (status, _, page) = lucia
        .post_form(
            &format!("/content/{id}/edit"),
            &[("channel", "instagram"), ("body", ""), ("planned_at", "2027-03-05T11:00")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"e-body\""));
    assert!(w.app.snapshot().await == before, "nothing changed");

    let (status, location, _) = lucia
        .post_form(
            &format!("/content/{id}/edit"),
            &[("channel", "instagram"), ("body", "Segunda versión"), ("planned_at", "2027-03-06T11:00")],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(&*format!("/content/{id}?notice=cont_updated")))
    );
    let changed = w.item(&id).await;
    assert_eq!(
        (changed["body"].as_str(), changed["status"].as_str()),
        (Some("Segunda versión"), Some("pending_approval"))
    );
    assert_ne!(changed["approval_id"], item["approval_id"], "a new approval");
    assert_eq!(w.approval(text(&changed["approval_id"])).await["status"], "pending", "approved again from scratch");

    let (status, location, _) = lucia.post_form(&format!("/content/{id}/transitions"), &[("action", "withdraw")]).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(&*format!("/content/{id}?notice=cont_withdrawn")))
    );
    assert_eq!(w.item(&id).await["status"], "withdrawn");
    let (_, page) = lucia.get(&format!("/content/{id}")).await;
    assert!(page.contains("Retirada") && !page.contains("/edit\""), "no more changes offered");
    assert_eq!(lucia.get(&format!("/content/{id}/edit")).await.0, StatusCode::CONFLICT);
}

/// Who may do what on the pages, by role, on one engagement's objects.
#[tokio::test]
async fn authorization_matrix() {
    let w = world().await;
    let item = w.propose(&w.agency, "Matriz", "2027-03-05T10:00:00Z").await;
    let (id, approval) = (text(&item["id"]).to_string(), text(&item["approval_id"]).to_string());
    let ok = StatusCode::OK;
    let (nf, fb, see_other) = (StatusCode::NOT_FOUND, StatusCode::FORBIDDEN, StatusCode::SEE_OTHER);
    // (who, queue, approval, content, new form, propose, decide)
    let rows = [
        (ADMIN, ok, ok, ok, ok, see_other, fb),
        (EXEC, ok, ok, ok, fb, fb, fb),
        (AGENCY, ok, ok, ok, ok, see_other, fb),
        (OTHER, ok, nf, nf, ok, nf, nf),
        // Last: the lead's decision closes the approval.
        (LEAD, ok, ok, ok, ok, see_other, see_other),
    ];
    let engagement = w.engagement.to_string();
    for (who, queue, read_approval, read_content, new_form, propose, decide) in rows {
        let s = WebSession::login(&w.app, who).await;
        assert_eq!(s.get("/approvals").await.0, queue, "{who} queue");
        assert_eq!(s.get(&format!("/approvals/{approval}")).await.0, read_approval, "{who} approval");
        assert_eq!(s.get("/content").await.0, ok, "{who} calendar");
        assert_eq!(s.get(&format!("/content/{id}")).await.0, read_content, "{who} content");
        assert_eq!(s.get("/content/new").await.0, new_form, "{who} new form");
        let fields = [
            ("engagement_id", engagement.as_str()),
            ("channel", "blog"),
            ("body", "Entrada del blog"),
            ("planned_at", "2027-03-20T10:00"),
        ];
        assert_eq!(s.post_form("/content", &fields).await.0, propose, "{who} propose");
        let before = w.approval(&approval).await["status"].clone();
        let decision = [("stage", "0"), ("decision", "approve")];
        let (status, _, _) = s.post_form(&format!("/approvals/{approval}/decisions"), &decision).await;
        assert_eq!(status, decide, "{who} decide");
        let after = w.approval(&approval).await["status"].clone();
        assert_eq!(after == before, decide != see_other, "{who}: only a recorded decision changes the approval");
    }
    // The admin's, the agency's and the lead's proposals were stored; the refused ones not.
    let (_, all) = w.app.get(&w.admin, "/api/v1/content").await;
    assert_eq!(all.as_array().unwrap().len(), 4, "the first item and three proposals");
}

/// Every link on the approvals and content pages, for every demo role in both languages,
/// answers 200, and every template of the area is rendered (what the site-wide crawler in
/// `web_pages` checks, limited to this area while the other areas are built).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_of_these_pages_answers_for_every_demo_role() {
    let app = demo_app().await;
    for language in [Language::Es, Language::En] {
        for (email, password) in DEMO {
            set_language(&app, email, language).await;
            let session = WebSession::login_with(&app, email, password).await;
            let mut seen = BTreeSet::new();
            let mut queue = VecDeque::from(["/approvals".to_string(), "/content".to_string()]);
            while let Some(path) = queue.pop_front() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let (status, page) = session.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{email} {path}");
                assert!(page.contains(&format!("<html lang=\"{language}\">")), "{path}");
                for link in local_links(&page) {
                    let ours = link.starts_with("/approvals") || link.starts_with("/content");
                    if ours && !link.contains("page=") && !seen.contains(&link) {
                        queue.push_back(link);
                    }
                }
            }
        }
    }
    let rendered = app.state.pages.rendered();
    for name in [
        "approvals/queue.html",
        "approvals/detail.html",
        "content/calendar.html",
        "content/item.html",
        "content/form.html",
    ] {
        for lang in ["es", "en"] {
            assert!(rendered.contains(&format!("{name}:{lang}")), "{name} never rendered in {lang}");
        }
    }
}

/// In a real browser: the agency proposes a publication, the lead approves it from the queue,
/// and the publication shows as approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_approves_a_publication_in_the_browser() {
    let w = world().await;
    let Some(b) = Browser::start(&w.app).await else { return };
    // The agency proposes it through the form.
    b.login(AGENCY, PASSWORD).await;
    b.goto("/content/new").await;
    b.client
        .execute(
            "document.querySelector('#f-channel').value = 'instagram';\
             document.querySelector('#f-planned_at').value = '2027-03-05T12:00';",
            vec![],
        )
        .await
        .expect("set the select and the date");
    b.fill("#f-body", "Nueva colección de primavera: ya en tiendas").await;
    b.click("form[action='/content'] button[type=submit]").await;
    b.find("p.notice").await;
    let item_path = b.path().await;
    assert!(item_path.starts_with("/content/") && item_path.ends_with("?notice=cont_proposed"), "{item_path}");
    b.screenshot("content-item").await;
    b.goto("/content").await;
    assert!(b.main_text().await.contains("Pendiente de aprobación"));
    b.logout().await;

    // The lead approves it from the queue.
    b.login(LEAD, PASSWORD).await;
    b.goto("/approvals?view=waiting_on_me").await;
    assert!(b.main_text().await.contains("Nueva colección de primavera"));
    b.screenshot("approvals-queue").await;
    b.client.set_window_size(390, 844).await.expect("phone size");
    b.client
        .execute("document.querySelector('table.approvals tbody tr').scrollIntoView()", vec![])
        .await
        .expect("scroll");
    b.screenshot("approvals-queue-phone").await;
    b.client.set_window_size(1280, 900).await.expect("desktop size");
    b.click("form.decide button[value=approve]").await;
    b.find("p.notice").await;
    assert!(b.path().await.ends_with("notice=appr_approve"));
    assert!(b.main_text().await.contains("Aprobado."));

    let id = item_path.trim_start_matches("/content/").split('?').next().unwrap().to_string();
    b.goto(&format!("/content/{id}")).await;
    let text = b.main_text().await;
    assert!(text.contains("Aprobada") && text.contains("Aprobó"), "{text}");
    b.click("a[href^='/approvals/']").await;
    b.find("#decisions-h").await;
    b.screenshot("approval-detail").await;
    b.goto("/content?month=2027-03").await;
    assert!(b.main_text().await.contains("Aprobada"));
    b.screenshot("content-calendar").await;
    b.close().await;
    assert_eq!(w.item(&id).await["status"], "approved");
}
