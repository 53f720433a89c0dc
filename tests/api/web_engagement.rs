//! The engagement page and the KPI editor: what each role sees (the agency gets the vendor
//! view), 404 for anyone who may not see the engagement, the KPI charts with their status
//! shapes, KPI changes through the form (realism warning, validation errors, CSRF), crisis
//! mode, the audit trail, an authorization matrix, and the lead's flow in a real browser.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use veedor::{
    app::{crisis, kpis},
    db::entity::engagement,
    domain::enums::{Language, Role},
};

use crate::{
    helpers::{Caller, PASSWORD, TestApp},
    web_pages::{DEMO, demo_app, set_language},
    webkit::{Browser, WebSession, local_links},
};

const COMMUNITY: &str = "Gestión de comunidad y contenidos";
const CRISIS: &str = "Escucha y respuesta ante crisis de reputación";

/// The id of the demo engagement titled `title`.
async fn engagement_id(app: &TestApp, title: &str) -> Uuid {
    engagement::Entity::find()
        .filter(engagement::Column::Title.eq(title))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no engagement {title}"))
        .id
}

async fn demo_session(app: &TestApp, who: usize) -> WebSession {
    WebSession::login_with(app, DEMO[who].0, DEMO[who].1).await
}

async fn kpi_names(app: &TestApp, id: Uuid) -> Vec<String> {
    let e = engagement::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    kpis::list(&app.state.db, &e, 3.0).await.unwrap().into_iter().map(|k| k.name).collect()
}

/// A complete KPI form as a Spanish-speaking lead fills it.
fn kpi_form(name: &str, target: &str) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.to_string()),
        ("objective", "Llegar a público joven".to_string()),
        ("unit", "percent".to_string()),
        ("direction", "higher_is_better".to_string()),
        ("aggregation", "average".to_string()),
        ("baseline", "10".to_string()),
        ("target", target.to_string()),
        ("target_upper", String::new()),
        ("warning_threshold", "11,5".to_string()),
        ("critical_threshold", "10,25".to_string()),
        ("channels", "instagram".to_string()),
        ("channels", "tiktok".to_string()),
        ("ratio_numerator", String::new()),
        ("ratio_denominator", String::new()),
    ]
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The `<svg>` charts of a page.
fn charts(page: &str) -> Vec<&str> {
    page.match_indices("<svg class=\"chart\"")
        .map(|(i, _)| {
            let end = i + page[i..].find("</svg>").expect("closed svg") + 6;
            &page[i..end]
        })
        .collect()
}

#[tokio::test]
async fn the_lead_sees_the_whole_engagement() {
    let app = demo_app().await;
    let id = engagement_id(&app, COMMUNITY).await;
    let lead = demo_session(&app, 1).await;
    let (status, page) = lead.get(&format!("/engagements/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("<h1>{COMMUNITY}</h1>")));
    // The brief and the money, in the engagement's currency as Spanish writes it.
    assert!(page.contains("Más conversación con clientas y clientes"), "what the company wants");
    assert!(page.contains("Instagram, Facebook y TikTok con calendario editorial"), "what is feasible");
    assert!(page.contains("7.000,00\u{a0}€"), "the budget (700000 cents)");
    assert!(page.contains("6.500,00\u{a0}€"), "the monthly fee");
    assert!(page.contains("Mensual") && page.contains("Activo"), "cadence and status");
    assert!(page.contains("Agencia seleccionada en el concurso de 2025"), "the company's notes on the agency");
    // Scope, team, KPIs, periods, signals.
    assert!(page.contains("Escucha y monitorización") && page.contains("Atención al cliente en redes sociales"));
    assert!(page.contains("Contacto de la agencia") && page.contains("Dirección"));
    assert!(page.contains("Tiempo medio de primera respuesta") && page.contains("Tasa de engagement Instagram"));
    assert!(page.contains("Entregado tarde"), "the late report of the demo");
    assert!(page.contains("Quejas por retrasos de envíos durante las rebajas"), "a signal");
    assert!(local_links(&page).iter().any(|l| l.starts_with("/reports/")), "reports are linked");
    // Every KPI has its chart, with its status shapes (first-response time drifts to red).
    let svgs = charts(&page);
    assert_eq!(svgs.len(), 8, "one chart per KPI");
    for svg in &svgs {
        assert!(svg.contains("role=\"img\"") && svg.contains("aria-label=\"Gráfico de "), "{svg}");
        assert!(svg.contains("<title>") && svg.contains("<desc"));
        assert!(svg.contains("class=\"target-line\""));
    }
    let response = svgs.iter().find(|s| s.contains("Tiempo medio de primera respuesta")).unwrap();
    for status in ["green", "amber", "red"] {
        assert!(response.contains(&format!("data-status=\"{status}\"")), "a {status} point");
    }
    assert!(response.contains("<circle") && response.contains(" Z\"") && response.contains("stroke-linecap"));
    assert!(page.contains("En objetivo") && page.contains("Fuera de objetivo"), "statuses in words");
    // Crisis form and audit trail for a lead; no KPI editor once the engagement is active.
    assert!(page.contains(&format!("action=\"/engagements/{id}/crisis\"")));
    assert!(page.contains("id=\"audit\"") && page.contains("Informe aceptado"), "the audit trail, in words");
    assert!(!page.contains("/kpis/new") && page.contains("solo cambian mediante una modificación"));
}

#[tokio::test]
async fn the_executive_reads_it_and_the_agency_gets_its_own_view() {
    let app = demo_app().await;
    let id = engagement_id(&app, COMMUNITY).await;
    let path = format!("/engagements/{id}");

    let executive = demo_session(&app, 2).await;
    let (status, page) = executive.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(COMMUNITY) && page.contains("7.000,00\u{a0}€"), "the full view with the budget");
    assert_eq!(charts(&page).len(), 8);
    assert!(!page.contains("id=\"audit\""), "executives do not read the audit log");
    assert!(!page.contains("/crisis\""), "nor switch crisis mode");

    let agency = demo_session(&app, 3).await;
    let (status, page) = agency.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(COMMUNITY) && page.contains("Vista de agencia"));
    assert!(page.contains("Más conversación con clientas") && page.contains("6.500,00\u{a0}€"));
    assert!(!page.contains("7.000,00\u{a0}€") && !page.contains("Presupuesto"), "no budget for the agency");
    assert!(!page.contains("Agencia seleccionada"), "no company notes");
    assert!(!page.contains("id=\"audit\"") && !page.contains("Informe aceptado"), "no audit trail");
    assert!(!page.contains("/crisis\"") && !page.contains("/kpis/"), "no management forms or editor links");
    assert_eq!(charts(&page).len(), 8, "the agency sees the KPIs and their charts");
    // The running period of an active engagement, for the agency to write.
    let crisis = engagement_id(&app, CRISIS).await;
    let (status, page) = agency.get(&format!("/engagements/{crisis}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("¿Objetivo poco realista?"), "the realism flag of the TikTok target");
}

#[tokio::test]
async fn whoever_may_not_see_the_engagement_gets_404_and_nothing_else() {
    let app = demo_app().await;
    let admin = app.actor("root@brisa.test", Role::Admin, None).await;
    let other_vendor = app.vendor(&admin, "Otra Agencia").await;
    app.user("ana@otra.test", Role::Vendor, Some(other_vendor)).await;
    app.user("lead2@brisa.test", Role::Lead, None).await;
    let secret = app.engagement(&admin, other_vendor, "secret", None).await;
    let community = engagement_id(&app, COMMUNITY).await;
    let crisis = engagement_id(&app, CRISIS).await;

    let foreign_vendor = WebSession::login(&app, "ana@otra.test").await;
    for id in [community, crisis] {
        for path in [format!("/engagements/{id}"), format!("/engagements/{id}/kpis/new")] {
            let (status, page) = foreign_vendor.get(&path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!page.contains(COMMUNITY) && !page.contains(CRISIS) && !page.contains("<svg"));
            assert!(page.contains("Esta página no existe"));
        }
    }
    let lead = WebSession::login(&app, "lead2@brisa.test").await;
    let (status, page) = lead.get(&format!("/engagements/{secret}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a secret engagement the lead is not part of");
    assert!(!page.contains("Gestión de comunidad") && !page.contains("Más conversación"));
    let before = app.snapshot().await;
    let form = kpi_form("Intruso", "12");
    let (status, _, _) = lead.post_form(&format!("/engagements/{secret}/kpis/new"), &pairs(&form)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.snapshot().await, before, "nothing changed");
    // The executive is not on the crisis engagement's team.
    let executive = demo_session(&app, 2).await;
    assert_eq!(executive.get(&format!("/engagements/{crisis}")).await.0, StatusCode::NOT_FOUND);
    // Ids that are not ids name nothing either.
    assert_eq!(executive.get("/engagements/not-an-id").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_kpi_created_with_the_form_is_stored_and_its_realism_shown() {
    let app = demo_app().await;
    let id = engagement_id(&app, CRISIS).await;
    let lead = demo_session(&app, 1).await;
    let (status, page) = lead.get(&format!("/engagements/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let new = format!("/engagements/{id}/kpis/new");
    assert!(page.contains(&format!("href=\"{new}\"")), "the lead may add KPIs to a pending engagement");
    let (status, form_page) = lead.get(&new).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["name", "objective", "unit", "direction", "baseline", "target", "target_upper", "aggregation"] {
        assert!(form_page.contains(&format!("<label for=\"f-{field}\"")), "{field} is labelled");
    }
    assert!(form_page.contains("for=\"f-channel-instagram\"") && form_page.contains("for=\"f-allow_negative\""));

    // Spanish decimal commas; a target a hundred times the baseline.
    let form = kpi_form("Interacciones TikTok", "1000,5");
    let (status, location, _) = lead.post_form(&new, &pairs(&form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.ends_with("/edit?notice=eng_kpi_saved"), "{location}");
    let e = engagement::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    let stored = kpis::list(&app.state.db, &e, 3.0).await.unwrap();
    let k = stored.iter().find(|k| k.name == "Interacciones TikTok").expect("stored");
    assert_eq!((k.baseline, k.target, k.warning_threshold, k.critical_threshold), (Some(10.0), 1000.5, 11.5, 10.25));
    assert_eq!(k.channels.len(), 2);
    assert!(k.realism.is_some(), "the store flags it");
    let (status, page) = lead.get(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("KPI guardado.") && page.contains("class=\"warning realism\""));
    assert!(page.contains("El objetivo supone ×100,05 sobre el valor de partida"), "the realism warning in words");
    assert!(page.contains("value=\"1000,5\""), "numbers shown as Spanish writes them");
    // The engagement page shows the warning beside the KPI too.
    let (_, page) = lead.get(&format!("/engagements/{id}")).await;
    // (The governance section above names it too; the row is in the KPI table.)
    let table = &page[page.find("id=\"kpis-h\"").unwrap()..];
    let row = &table[table.find("Interacciones TikTok").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("¿Objetivo poco realista?"));
    assert!(page.contains("KPI «Interacciones TikTok»: el objetivo exige un crecimiento"), "and governance warns");

    // Changing it through its editor, in English now.
    set_language(&app, DEMO[1].0, Language::En).await;
    let mut form = kpi_form("Interacciones TikTok", "12.5");
    form.retain(|(k, _)| !k.ends_with("_threshold"));
    form.extend([("warning_threshold", "11.5".to_string()), ("critical_threshold", "10.25".to_string())]);
    let (status, again, _) = lead.post_form(location.split('?').next().unwrap(), &pairs(&form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(again.as_deref(), Some(location.as_str()));
    let stored = kpis::list(&app.state.db, &e, 3.0).await.unwrap();
    let k = stored.iter().find(|k| k.name == "Interacciones TikTok").unwrap();
    assert_eq!(k.target, 12.5);
    assert!(k.realism.is_none());
    let (_, page) = lead.get(&location).await;
    assert!(page.contains("KPI saved.") && !page.contains("class=\"warning realism\""));
}

#[tokio::test]
async fn an_invalid_kpi_form_comes_back_with_what_was_typed_and_nothing_changes() {
    let app = demo_app().await;
    let id = engagement_id(&app, CRISIS).await;
    let lead = demo_session(&app, 1).await;
    let new = format!("/engagements/{id}/kpis/new");
    let before = app.snapshot().await;

    // The warning threshold above the target: refused by the store's rules.
    let mut form = kpi_form("Mi KPI <nuevo>", "100000");
    form.retain(|(k, _)| *k != "warning_threshold");
    form.push(("warning_threshold", "200000".into()));
    let (status, _, page) = lead.post_form(&new, &pairs(&form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("value=\"Mi KPI &lt;nuevo&gt;\""), "the name kept (escaped)");
    assert!(page.contains("value=\"200000\"") && page.contains("Llegar a público joven</textarea>"));
    assert!(
        page.contains("id=\"e-warning_threshold\"") && page.contains("Fuera de orden"),
        "the error beside its field"
    );
    assert!(page.contains("class=\"error-summary\""));
    assert!(page.contains("id=\"f-channel-tiktok\" name=\"channels\" value=\"tiktok\" checked"), "channels kept");
    assert!(page.contains("¿Objetivo poco realista?"), "the realism of what was typed is shown again");

    // Words where numbers go; a Spanish grouped number is read as the report form reads it.
    let mut form = kpi_form("Mi KPI", "mucho");
    form.retain(|(k, _)| *k != "baseline");
    form.push(("baseline", "12.500".into()));
    let (status, _, page) = lead.post_form(&new, &pairs(&form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("value=\"mucho\"") && page.contains("Escriba un número, como 12,5."));
    assert!(page.contains("value=\"12.500\"") && !page.contains("id=\"e-baseline\""), "12.500 is 12500");

    // A name the engagement already uses.
    let (status, _, page) = lead.post_form(&new, &pairs(&kpi_form("Seguidores TikTok", "12"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Este contrato ya tiene un KPI con ese nombre."));

    // The active engagement's KPIs change only by amendment.
    let community = engagement_id(&app, COMMUNITY).await;
    let (status, _) = lead.get(&format!("/engagements/{community}/kpis/new")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let path = format!("/engagements/{community}/kpis/new");
    let (status, _, page) = lead.post_form(&path, &pairs(&kpi_form("Otro", "12"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("son modificaciones y requieren aprobación"));

    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(kpi_names(&app, id).await.len(), 3);
}

#[tokio::test]
async fn without_the_csrf_token_nothing_changes() {
    let app = demo_app().await;
    let id = engagement_id(&app, CRISIS).await;
    let lead = demo_session(&app, 1).await;
    let before = app.snapshot().await;
    let form = kpi_form("Sin token", "12");
    let (status, _, page) = lead.post_raw(&format!("/engagements/{id}/kpis/new"), &pairs(&form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("El formulario había caducado"));
    let kpi = kpi_names(&app, id).await;
    let e = engagement::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    let first = kpis::list(&app.state.db, &e, 3.0).await.unwrap()[0].id;
    let (status, _, _) = lead.post_raw(&format!("/engagements/{id}/kpis/{first}/edit"), &pairs(&form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) =
        lead.post_raw(&format!("/engagements/{id}/crisis"), &[("reason", "Sin token"), ("_csrf", "wrong")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before, "nothing changed");
    assert_eq!(kpi.len(), 3);
}

#[tokio::test]
async fn a_lead_switches_crisis_mode_on_and_off() {
    let app = demo_app().await;
    let id = engagement_id(&app, COMMUNITY).await;
    let lead = demo_session(&app, 1).await;
    let on = format!("/engagements/{id}/crisis");

    let executive = demo_session(&app, 2).await;
    let agency = demo_session(&app, 3).await;
    let before = app.snapshot().await;
    let (status, _, page) = lead.post_form(&on, &[("reason", "   ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    assert!(page.contains("id=\"e-reason\"") && page.contains("Obligatorio."));
    let (status, _, _) = executive.post_form(&on, &[("reason", "Quiero")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "executives do not switch crisis mode");
    assert_eq!(agency.post_form(&on, &[("reason", "Quiero")]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot().await, before);

    let (status, location, _) = lead.post_form(&on, &[("reason", "Vídeo viral con quejas")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.unwrap(), format!("/engagements/{id}?notice=eng_crisis_started#crisis"));
    assert!(crisis::active(&app.state.db, id).await.unwrap().is_some());
    let (_, page) = lead.get(&format!("/engagements/{id}?notice=eng_crisis_started")).await;
    assert!(page.contains("Modo crisis activado.") && page.contains("Vídeo viral con quejas"));
    assert!(page.contains(&format!("action=\"/engagements/{id}/crisis/end\"")));
    let (_, page) = agency.get(&format!("/engagements/{id}")).await;
    assert!(page.contains("El modo crisis está activado") && !page.contains("/crisis/end"), "the agency sees it");
    // Twice is a conflict, shown on the page.
    let (status, _, page) = lead.post_form(&on, &[("reason", "Otra vez")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("El modo crisis ya está activado."));

    let (status, _, _) = lead.post_form(&format!("{on}/end"), &[("reason", "Resuelto")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(crisis::active(&app.state.db, id).await.unwrap().is_none());
    let (_, page) = lead.get(&format!("/engagements/{id}")).await;
    assert!(page.contains("Crisis anteriores") && page.contains("Modo crisis desactivado"), "history and audit");
}

#[tokio::test]
async fn the_audit_trail_is_paged_and_each_page_opens() {
    let app = demo_app().await;
    let id = engagement_id(&app, COMMUNITY).await;
    let admin = demo_session(&app, 0).await;
    let (status, first) = admin.get(&format!("/engagements/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let entries = |page: &str| page.matches("<time datetime=").count();
    assert_eq!(entries(&first), 25);
    let older = local_links(&first).into_iter().find(|l| l.contains("audit_before=")).expect("older entries");
    let (status, second) = admin.get(older.split('#').next().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(entries(&second) > 0 && second.contains("Entradas más recientes"));
    let (status, _) = admin.get(&format!("/engagements/{id}?audit_before=garbage")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Users of an authorization matrix: one per role, all on the team of `own`; `foreign`
/// is another agency's secret engagement none of them is part of.
struct Matrix {
    own: Uuid,
    foreign: Uuid,
}

async fn matrix_setup(app: &TestApp) -> Matrix {
    let root = app.actor("root@brisa.test", Role::Admin, None).await;
    let mine = app.vendor(&root, "Marea").await;
    let theirs = app.vendor(&root, "Otra").await;
    app.user("admin@m.test", Role::Admin, None).await;
    let lead = app.user("lead@m.test", Role::Lead, None).await;
    let executive = app.user("exec@m.test", Role::Executive, None).await;
    let agency = app.user("agency@m.test", Role::Vendor, Some(mine)).await;
    let own = app.engagement(&root, mine, "internal", Some(lead)).await;
    for (user_id, team_role) in [(lead, "lead"), (executive, "executive"), (agency, "agency_contact")] {
        add_member(app, &root, own, user_id, team_role).await;
    }
    let foreign = app.engagement(&root, theirs, "secret", None).await;
    Matrix { own, foreign }
}

async fn add_member(app: &TestApp, by: &Caller, id: Uuid, user_id: Uuid, team_role: &str) {
    let body = json!({ "user_id": user_id, "team_role": team_role });
    let (status, body) = app.post(by, &format!("/api/v1/engagements/{id}/team"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn authorization_matrix() {
    let app = TestApp::spawn().await;
    let m = matrix_setup(&app).await;
    use StatusCode as S;
    // (role's user, view own, editor own, post own, view foreign, editor foreign, post foreign)
    let expected = [
        ("admin@m.test", S::OK, S::OK, S::SEE_OTHER, S::OK, S::OK, S::SEE_OTHER),
        ("lead@m.test", S::OK, S::OK, S::SEE_OTHER, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND),
        ("exec@m.test", S::OK, S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND),
        ("agency@m.test", S::OK, S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND, S::NOT_FOUND),
    ];
    for (email, view_own, editor_own, post_own, view_foreign, editor_foreign, post_foreign) in expected {
        let session = WebSession::login_with(&app, email, PASSWORD).await;
        for (id, view, editor, post) in
            [(m.own, view_own, editor_own, post_own), (m.foreign, view_foreign, editor_foreign, post_foreign)]
        {
            let before = kpi_names(&app, id).await.len();
            assert_eq!(session.get(&format!("/engagements/{id}")).await.0, view, "{email} views {id}");
            assert_eq!(session.get(&format!("/engagements/{id}/kpis/new")).await.0, editor, "{email} editor {id}");
            let form = kpi_form(&format!("KPI de {email}"), "12");
            let (status, _, _) = session.post_form(&format!("/engagements/{id}/kpis/new"), &pairs(&form)).await;
            assert_eq!(status, post, "{email} posts to {id}");
            let after = kpi_names(&app, id).await.len();
            assert_eq!(after, before + usize::from(post == S::SEE_OTHER), "{email}: the store changed only if allowed");
            if view == S::OK {
                let (_, page) = session.get(&format!("/engagements/{id}")).await;
                let may_edit = editor == S::OK;
                assert_eq!(page.contains("/kpis/new"), may_edit, "{email} sees the editor link only if allowed");
                assert_eq!(page.contains("id=\"audit\""), matches!(email, "admin@m.test" | "lead@m.test"));
                // Report pages belong to another area of the site.
                let engagement_links = local_links(&page)
                    .into_iter()
                    .filter(|l| l.starts_with("/engagements/") && !l.contains("/reports"));
                for link in engagement_links {
                    let link = link.split('#').next().unwrap().to_string();
                    assert_eq!(session.get(&link).await.0, S::OK, "{email}: {link} is linked, so it opens");
                }
            }
        }
    }
}

/// The part of the site crawler (`web_pages`) that concerns this area: every engagement page
/// a demo role reaches by links from home opens for that role, in both languages, and
/// every template of the area is rendered in both. Links into other areas are left to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_engagement_page_a_demo_role_reaches_opens_in_both_languages() {
    let app = demo_app().await;
    for language in [Language::Es, Language::En] {
        for (email, password) in DEMO {
            set_language(&app, email, language).await;
            let session = WebSession::login_with(&app, email, password).await;
            let mut seen = std::collections::BTreeSet::new();
            let mut queue = std::collections::VecDeque::from(["/".to_string()]);
            while let Some(path) = queue.pop_front() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let (status, page) = session.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{email} {path}");
                assert!(page.contains(&format!("<html lang=\"{language}\">")), "{path} in {language}");
                let ours = local_links(&page).into_iter().map(|l| l.split('#').next().unwrap_or(&l).to_string());
                queue.extend(
                    ours.filter(|l| l.starts_with("/engagements/") && !l.contains("/reports") && !l.contains("page=")),
                );
            }
            assert!(seen.len() > 1, "{email} reached engagement pages");
        }
    }
    let rendered = app.state.pages.rendered();
    let ours: Vec<String> = app.state.pages.names().into_iter().filter(|n| n.starts_with("engagement/")).collect();
    assert_eq!(ours.len(), 3, "{ours:?}");
    for name in ours {
        for lang in ["es", "en"] {
            assert!(rendered.contains(&format!("{name}:{lang}")), "{name} never rendered in {lang}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_adds_an_unrealistic_kpi_in_the_browser_and_is_warned() {
    let app = demo_app().await;
    let Some(b) = Browser::start(&app).await else { return };
    b.login(DEMO[1].0, DEMO[1].1).await;
    // The active engagement, its KPIs and their charts.
    let community = engagement_id(&app, COMMUNITY).await;
    b.goto(&format!("/engagements/{community}#charts-h")).await;
    b.find("svg.chart[role='img'] g.point.status-red").await;
    b.screenshot("engagement-page").await;

    // The engagement waiting for approval, whose KPIs may still change.
    let id = engagement_id(&app, CRISIS).await;
    b.goto(&format!("/engagements/{id}")).await;
    assert!(b.main_text().await.contains(CRISIS));
    b.click(&format!("a[href='/engagements/{id}/kpis/new']")).await;
    b.find("form.kpi-form").await;
    b.fill("#f-name", "Visualizaciones YouTube").await;
    b.fill("#f-objective", "Dar a conocer el protocolo de crisis").await;
    b.fill("#f-baseline", "1000").await;
    b.fill("#f-target", "250000,5").await;
    b.fill("#f-warning_threshold", "200000").await;
    b.fill("#f-critical_threshold", "100000").await;
    b.click("#f-channel-youtube").await;
    b.click("form.kpi-form button[type=submit]").await;

    let warning = b.find("p.warning.realism").await;
    let text = warning.text().await.unwrap();
    assert!(text.contains("¿Objetivo poco realista?") && text.contains("×250"), "{text}");
    assert!(b.path().await.ends_with("/edit?notice=eng_kpi_saved"));
    assert!(b.main_text().await.contains("KPI guardado."));
    b.screenshot("kpi-editor").await;
    b.logout().await;
    b.close().await;
    assert!(kpi_names(&app, id).await.contains(&"Visualizaciones YouTube".to_string()));
}

#[tokio::test]
async fn governance_findings_are_shown_where_the_activation_is_decided() {
    let app = demo_app().await;
    let crisis = engagement_id(&app, CRISIS).await;
    let lead = demo_session(&app, 1).await;
    let (status, page) = lead.get(&format!("/engagements/{crisis}")).await;
    assert_eq!(status, StatusCode::OK);
    // The demo's crisis engagement has nobody of management on its team, an implausible
    // TikTok target, and stages asking for the executive role nobody holds.
    let findings = |page: &str| -> Vec<String> {
        let Some(start) = page.find("id=\"governance\"") else { return Vec::new() };
        let end = start + page[start..].find("</section>").unwrap();
        page[start..end].split("data-code=\"").skip(1).map(|s| s.split('"').next().unwrap().to_string()).collect()
    };
    // (Three targets are implausible: detection time, TikTok followers, and drills from zero.)
    let expected =
        ["no_executive", "implausible_target", "implausible_target", "implausible_target", "stage_role_empty"];
    assert_eq!(findings(&page), expected, "{page}");
    assert!(page.contains("El equipo de seguimiento no incluye a nadie de Dirección"), "{page}");
    assert!(page.contains("KPI «Seguidores TikTok»: el objetivo exige un crecimiento de ×\u{a0}100"), "{page}");
    assert!(page.contains("Nadie del equipo tiene el rol «Dirección», que aprueba en: Activación (etapa 2)"));

    // The activation approval shows the same findings, worded the same.
    let approval = veedor::db::entity::approval::Entity::find()
        .filter(veedor::db::entity::approval::Column::SubjectId.eq(crisis))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the demo submitted the crisis engagement");
    let admin = demo_session(&app, 0).await;
    let (status, detail) = admin.get(&format!("/approvals/{}", approval.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(findings(&detail), findings(&page));
    assert!(detail.contains("El equipo de seguimiento no incluye a nadie de Dirección"), "{detail}");

    // In English for an English reader; never for the agency.
    set_language(&app, DEMO[1].0, Language::En).await;
    let (_, page) = lead.get(&format!("/engagements/{crisis}")).await;
    assert!(page.contains("The oversight team has no executive"), "{page}");
    let agency = demo_session(&app, 3).await;
    let (_, page) = agency.get(&format!("/engagements/{crisis}")).await;
    assert!(findings(&page).is_empty() && !page.contains("Dirección:"), "the agency never sees governance");
}
