//! Where things are: every page's path, as the page router registers it, and the links
//! that emails, digests, alerts and pages build from those paths. A route and the links to
//! it come from the same constant, so an email cannot point at a page that does not exist
//! (the link tests GET every link each email carries).

use uuid::Uuid;

use crate::domain::alert::AlertRule;

/// The page routes, in axum's syntax (`{id}` is a path parameter).
pub mod paths {
    pub const HOME: &str = "/";
    pub const LOGIN: &str = "/login";
    pub const LOGOUT: &str = "/logout";
    pub const LANGUAGE: &str = "/language";

    pub const ENGAGEMENT: &str = "/engagements/{id}";
    pub const ENGAGEMENT_CRISIS: &str = "/engagements/{id}/crisis";
    pub const ENGAGEMENT_CRISIS_END: &str = "/engagements/{id}/crisis/end";
    pub const KPI_NEW: &str = "/engagements/{id}/kpis/new";
    pub const KPI_EDIT: &str = "/engagements/{id}/kpis/{kpi_id}/edit";
    pub const ENGAGEMENT_REPORTS: &str = "/engagements/{id}/reports";
    pub const REPORT_NEW: &str = "/engagements/{id}/reports/new";
    pub const REPORT_IMPORT: &str = "/engagements/{id}/reports/import";
    pub const REPORT: &str = "/reports/{id}";
    pub const REPORT_REVIEW: &str = "/reports/{id}/review";

    pub const APPROVALS: &str = "/approvals";
    pub const APPROVAL: &str = "/approvals/{id}";
    pub const APPROVAL_DECISIONS: &str = "/approvals/{id}/decisions";

    pub const CONTENT: &str = "/content";
    pub const CONTENT_NEW: &str = "/content/new";
    pub const CONTENT_ITEM: &str = "/content/{id}";
    pub const CONTENT_EDIT: &str = "/content/{id}/edit";
    pub const CONTENT_TRANSITIONS: &str = "/content/{id}/transitions";

    pub const INCIDENTS: &str = "/incidents";
    pub const INCIDENT_NEW: &str = "/incidents/new";
    pub const INCIDENT: &str = "/incidents/{id}";
    pub const INCIDENT_UPDATES: &str = "/incidents/{id}/updates";
    pub const INCIDENT_ACKNOWLEDGE: &str = "/incidents/{id}/acknowledge";
    pub const INCIDENT_RESOLVE: &str = "/incidents/{id}/resolve";

    pub const ALERTS: &str = "/alerts";
    pub const ALERT_ACKNOWLEDGE: &str = "/alerts/{id}/acknowledge";
    pub const ALERT_SILENCES: &str = "/alerts/silences";

    pub const NOTIFICATIONS: &str = "/settings/notifications";
    pub const NOTIFICATIONS_RESEND: &str = "/settings/notifications/resend";
    pub const DIGESTS: &str = "/settings/digests";
    pub const DIGEST_NEW: &str = "/settings/digests/new";
    pub const DIGEST_PREVIEW: &str = "/settings/digests/preview";
    pub const DIGEST_EDIT: &str = "/settings/digests/{id}/edit";
    pub const DIGEST_DELETE: &str = "/settings/digests/{id}/delete";

    pub const AUDIT: &str = "/audit";
    pub const USERS: &str = "/admin/users";
    pub const USER_NEW: &str = "/admin/users/new";
    pub const USER_EDIT: &str = "/admin/users/{id}/edit";
    pub const TOKENS: &str = "/admin/tokens";
    pub const TOKEN_REVOKE: &str = "/admin/tokens/{id}/revoke";

    /// Every page path by its name, for templates (`page_path("ENGAGEMENT", id=…)`).
    pub const ALL: &[(&str, &str)] = &[
        ("HOME", HOME),
        ("LOGIN", LOGIN),
        ("LOGOUT", LOGOUT),
        ("LANGUAGE", LANGUAGE),
        ("ENGAGEMENT", ENGAGEMENT),
        ("ENGAGEMENT_CRISIS", ENGAGEMENT_CRISIS),
        ("ENGAGEMENT_CRISIS_END", ENGAGEMENT_CRISIS_END),
        ("KPI_NEW", KPI_NEW),
        ("KPI_EDIT", KPI_EDIT),
        ("ENGAGEMENT_REPORTS", ENGAGEMENT_REPORTS),
        ("REPORT_NEW", REPORT_NEW),
        ("REPORT_IMPORT", REPORT_IMPORT),
        ("REPORT", REPORT),
        ("REPORT_REVIEW", REPORT_REVIEW),
        ("APPROVALS", APPROVALS),
        ("APPROVAL", APPROVAL),
        ("APPROVAL_DECISIONS", APPROVAL_DECISIONS),
        ("CONTENT", CONTENT),
        ("CONTENT_NEW", CONTENT_NEW),
        ("CONTENT_ITEM", CONTENT_ITEM),
        ("CONTENT_EDIT", CONTENT_EDIT),
        ("CONTENT_TRANSITIONS", CONTENT_TRANSITIONS),
        ("INCIDENTS", INCIDENTS),
        ("INCIDENT_NEW", INCIDENT_NEW),
        ("INCIDENT", INCIDENT),
        ("INCIDENT_UPDATES", INCIDENT_UPDATES),
        ("INCIDENT_ACKNOWLEDGE", INCIDENT_ACKNOWLEDGE),
        ("INCIDENT_RESOLVE", INCIDENT_RESOLVE),
        ("ALERTS", ALERTS),
        ("ALERT_ACKNOWLEDGE", ALERT_ACKNOWLEDGE),
        ("ALERT_SILENCES", ALERT_SILENCES),
        ("NOTIFICATIONS", NOTIFICATIONS),
        ("NOTIFICATIONS_RESEND", NOTIFICATIONS_RESEND),
        ("DIGESTS", DIGESTS),
        ("DIGEST_NEW", DIGEST_NEW),
        ("DIGEST_PREVIEW", DIGEST_PREVIEW),
        ("DIGEST_EDIT", DIGEST_EDIT),
        ("DIGEST_DELETE", DIGEST_DELETE),
        ("AUDIT", AUDIT),
        ("USERS", USERS),
        ("USER_NEW", USER_NEW),
        ("USER_EDIT", USER_EDIT),
        ("TOKENS", TOKENS),
        ("TOKEN_REVOKE", TOKEN_REVOKE),
    ];
}

/// A path with its parameters filled: `fill(paths::REPORT, &[("id", id)])`.
pub fn fill(path: &str, params: &[(&str, Uuid)]) -> String {
    let mut out = path.to_string();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    debug_assert!(!out.contains('{'), "{path} needs more parameters than {params:?}");
    out
}

pub fn engagement(id: Uuid) -> String {
    fill(paths::ENGAGEMENT, &[("id", id)])
}

/// A section of the engagement page (`kpis`, `periods`, `signals`, `crisis`), or one KPI's
/// card (`kpi-<id>`).
pub fn engagement_at(id: Uuid, anchor: &str) -> String {
    format!("{}#{anchor}", engagement(id))
}

pub fn engagement_reports(id: Uuid) -> String {
    fill(paths::ENGAGEMENT_REPORTS, &[("id", id)])
}

pub fn report(id: Uuid) -> String {
    fill(paths::REPORT, &[("id", id)])
}

pub fn approval(id: Uuid) -> String {
    fill(paths::APPROVAL, &[("id", id)])
}

pub fn content_item(id: Uuid) -> String {
    fill(paths::CONTENT_ITEM, &[("id", id)])
}

pub fn incident(id: Uuid) -> String {
    fill(paths::INCIDENT, &[("id", id)])
}

pub fn digest_edit(id: Uuid) -> String {
    fill(paths::DIGEST_EDIT, &[("id", id)])
}

/// The page on which an alert is acted upon, from what it is about: nothing about an alert's
/// destination is stored, so a renamed page moves every link at once.
pub fn for_alert(rule: AlertRule, engagement_id: Option<Uuid>, subject_id: Option<Uuid>) -> String {
    let on_engagement = |anchor: &str| engagement_id.map(|e| engagement_at(e, anchor));
    let path = match rule {
        AlertRule::ReportMissing => engagement_id.map(|e| engagement_at(e, "periods")),
        AlertRule::KpiBreach | AlertRule::ImplausibleTarget => {
            subject_id.and_then(|k| on_engagement(&format!("kpi-{k}")))
        }
        AlertRule::HighSeveritySignal => on_engagement("signals"),
        AlertRule::ContractExpiring => engagement_id.map(engagement),
        AlertRule::ApprovalOverdue => subject_id.map(approval),
        AlertRule::IncidentOpened | AlertRule::IncidentUnacknowledged => subject_id.map(incident),
        AlertRule::DeliveryFailed => Some(format!("{}?rule=delivery_failed", paths::ALERTS)),
        AlertRule::DigestFailed | AlertRule::DigestSkipped => subject_id.map(digest_edit),
    };
    path.unwrap_or_else(|| paths::ALERTS.to_string())
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn paths_are_filled_from_their_parameters() {
        let id = Uuid::nil();
        assert_eq!(report(id), format!("/reports/{id}"));
        assert_eq!(fill(paths::KPI_EDIT, &[("id", id), ("kpi_id", id)]), format!("/engagements/{id}/kpis/{id}/edit"));
    }

    #[test]
    fn every_alert_rule_has_a_page() {
        let (e, s) = (Uuid::now_v7(), Uuid::now_v7());
        for rule in AlertRule::iter() {
            let link = for_alert(rule, Some(e), Some(s));
            assert!(link.starts_with('/') && !link.contains('{'), "{rule}: {link}");
            assert_ne!(link, paths::ALERTS, "{rule} links to its own page");
        }
    }

    /// Every source file below `dir` (relative to the crate) whose name ends with `ext`.
    fn sources(dir: &str, ext: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().ends_with(ext) {
                    out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out
    }

    #[test]
    fn pages_link_and_route_through_the_path_constants() {
        for (file, text) in sources("templates/pages", ".html") {
            for attr in ["href=\"/", "action=\"/"] {
                for (at, _) in text.match_indices(attr) {
                    let rest = &text[at + attr.len()..];
                    assert!(
                        rest.starts_with("static/") || rest.starts_with("api/"),
                        "{file} writes a page path by hand: {}",
                        &text[at..(at + 60).min(text.len())]
                    );
                }
            }
        }
        for (file, text) in sources("src/web", ".rs") {
            for (at, _) in text.match_indices(".route(\"/") {
                let rest = &text[at..];
                assert!(
                    rest.starts_with(".route(\"/static/"),
                    "{file} routes a literal path: {}",
                    &rest[..40.min(rest.len())]
                );
            }
        }
    }

    #[test]
    fn templates_fill_paths_and_refuse_broken_links() {
        let mut env = minijinja::Environment::new();
        crate::present::jinja::install(&mut env, crate::present::catalog().unwrap());
        let id = Uuid::nil();
        let got =
            env.render_str("{{ page_path('KPI_EDIT', id=i, kpi_id=i) }}", minijinja::context! { i => id.to_string() });
        assert_eq!(got.unwrap(), format!("/engagements/{id}/kpis/{id}/edit"));
        assert!(env.render_str("{{ page_path('NOPE') }}", ()).is_err(), "an unknown page");
        assert!(env.render_str("{{ page_path('REPORT') }}", ()).is_err(), "a missing parameter");
        assert!(env.render_str("{{ page_path('AUDIT', id=1) }}", ()).is_err(), "an unexpected parameter");
        for (name, path) in paths::ALL {
            assert!(path.starts_with('/'), "{name}");
        }
    }
}
