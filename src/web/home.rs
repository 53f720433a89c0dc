//! The home page. Leads, executives and admins see their portfolio, worst first: each
//! engagement's health and why (the KPI furthest off target, its value against the target),
//! crisis mode, late and missing reports, firing alerts, and the approvals waiting on them,
//! soonest deadline first. Agency staff see the agency portal instead: the periods they owe a
//! report for, the reports and content sent back to them, and what they submitted.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{error::PageResult, paging::Paged, session::SignedIn};
use crate::domain::enums::Language;
use crate::present::links::paths;
use crate::{
    app::{
        alerts,
        approvals::{self, ApprovalView, QueueFilter, QueueView},
        content::{self, Calendar, ContentView},
        crisis::{self, CrisisPeriodView},
        engagements,
        portfolio::{self, PortfolioItem, WorstKpi},
        reports,
    },
    db::entity::engagement,
    domain::{
        approval::Decision,
        content::ContentStatus,
        enums::{EngagementStatus, Role},
        evaluation::{Health, Status},
        report::ReportStatus,
    },
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::HOME, get(home))
}

/// One engagement of the portfolio table.
#[derive(Debug, Clone, Serialize)]
struct Row {
    id: Uuid,
    title: String,
    vendor: String,
    status: EngagementStatus,
    health: Health,
    late: u32,
    missing: u32,
    signals: u32,
    high_signals: u32,
    alerts: u32,
    currency: String,
    worst_kpi: Option<WorstKpi>,
    /// The running crisis period, if the engagement is in crisis mode.
    crisis: Option<CrisisPeriodView>,
}

/// Totals across the whole portfolio, above the table.
#[derive(Debug, Default, Serialize)]
struct Summary {
    engagements: usize,
    red: usize,
    amber: usize,
    green: usize,
    grey: usize,
    late: u32,
    missing: u32,
    alerts: u32,
}

/// Crisis mode first, then red, amber, green, grey; then the most late or missing reports.
fn attention_order(a: &Row, b: &Row) -> std::cmp::Ordering {
    let rank = |s: Status| match s {
        Status::Red => 0,
        Status::Amber => 1,
        Status::Green => 2,
        Status::Grey => 3,
    };
    b.crisis
        .is_some()
        .cmp(&a.crisis.is_some())
        .then(rank(a.health.overall).cmp(&rank(b.health.overall)))
        .then((b.late + b.missing + b.alerts).cmp(&(a.late + a.missing + a.alerts)))
        .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
}

/// What the portfolio rows are built from, besides the portfolio itself.
struct Extras<'a> {
    vendors: HashMap<Uuid, String>,
    alerts: HashMap<Uuid, u32>,
    crises: HashMap<Uuid, CrisisPeriodView>,
    currencies: HashMap<Uuid, &'a str>,
}

fn rows(items: Vec<PortfolioItem>, extras: &mut Extras<'_>) -> Vec<Row> {
    let mut rows: Vec<Row> = items
        .into_iter()
        .map(|p| Row {
            currency: extras.currencies.get(&p.engagement_id).copied().unwrap_or("EUR").to_string(),
            worst_kpi: p.worst_kpi,
            crisis: extras.crises.remove(&p.engagement_id),
            id: p.engagement_id,
            vendor: extras.vendors.get(&p.vendor_id).cloned().unwrap_or_default(),
            title: p.title,
            status: p.status,
            health: p.health,
            late: p.late_periods,
            missing: p.missing_periods,
            signals: p.signals,
            high_signals: p.high_severity_signals,
            alerts: extras.alerts.get(&p.engagement_id).copied().unwrap_or(0),
        })
        .collect();
    rows.sort_by(attention_order);
    rows
}

fn summary(rows: &[Row]) -> Summary {
    let mut s = Summary { engagements: rows.len(), ..Summary::default() };
    for r in rows {
        match r.health.overall {
            Status::Red => s.red += 1,
            Status::Amber => s.amber += 1,
            Status::Green => s.green += 1,
            Status::Grey => s.grey += 1,
        }
        s.late += r.late;
        s.missing += r.missing;
        s.alerts += r.alerts;
    }
    s
}

async fn vendor_names(state: &AppState, engagements: &[engagement::Model]) -> PageResult<HashMap<Uuid, String>> {
    let ids = engagements.iter().map(|e| e.vendor_id).collect();
    Ok(crate::db::names::vendors(&state.db, Some(ids)).await?)
}

async fn home(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Html<String>> {
    let page = query.get("page").and_then(|p| p.parse().ok());
    if user.principal.user.role == Role::Vendor {
        return portal(&state, &user).await;
    }
    let viewer = user.principal.viewer();
    let now = state.clock.now();
    let visible = engagements::visible(&state.db, &viewer).await?;
    let ids: Vec<Uuid> = visible.iter().map(|e| e.id).collect();
    let items = portfolio::portfolio(&state.db, &visible, now).await?;
    let mut extras = Extras {
        vendors: vendor_names(&state, &visible).await?,
        alerts: alerts::firing_counts(&state.db, &ids).await?,
        crises: crisis::active_for(&state.db, &ids).await?,
        currencies: visible.iter().map(|e| (e.id, e.currency.as_str())).collect(),
    };
    let filter = QueueFilter { view: QueueView::WaitingOnMe, ..QueueFilter::default() };
    let mut waiting: Vec<ApprovalView> =
        approvals::queue(&state.db, &ids, viewer.user_id, false, &filter, now, user.frame.lang).await?;
    waiting.sort_by(deadline_order);
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    let waiting: Vec<_> = waiting
        .iter()
        .take(10)
        .map(|a| json!({ "approval": a, "engagement": titles.get(&a.engagement_id).copied().unwrap_or_default() }))
        .collect();
    let rows = rows(items, &mut extras);
    let summary = summary(&rows);
    let crises: Vec<_> = rows
        .iter()
        .filter_map(|r| r.crisis.as_ref().map(|c| json!({ "id": r.id, "title": r.title, "since": c.started_at })))
        .collect();
    let portfolio = Paged::of(rows, page, super::paging::PER_PAGE);
    user.render(
        &state,
        "home.html",
        json!({ "summary": summary, "portfolio": portfolio, "waiting": waiting, "crises": crises }),
    )
}

/// What waits on the viewer, the soonest deadline first (so the overdue ones, whose
/// deadline has passed, lead); the oldest first among equal deadlines.
fn deadline_order(a: &ApprovalView, b: &ApprovalView) -> std::cmp::Ordering {
    b.overdue.cmp(&a.overdue).then(a.stage_due_at.cmp(&b.stage_due_at)).then(a.created_at.cmp(&b.created_at))
}

/// A period the agency owes or owed a report for.
#[derive(Debug, Serialize)]
struct OwedPeriod {
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    due: chrono::NaiveDate,
    overdue: bool,
    /// The report of the period, if one was started.
    report_id: Option<Uuid>,
    report_status: Option<ReportStatus>,
}

/// A content item sent back to the agency, with what the reviewer asked for.
#[derive(Debug, Serialize)]
struct SentBackContent {
    item: ContentView,
    /// The start of the body, to recognise the item by.
    excerpt: String,
    /// The comment of the decision that asked for changes.
    comment: Option<String>,
    decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Per engagement, the content items whose approval asked for changes, each with the
/// reviewer's comment (two queries for the whole portal).
async fn content_sent_back(
    state: &AppState,
    engagements: &[Uuid],
    language: Language,
) -> PageResult<HashMap<Uuid, Vec<SentBackContent>>> {
    let filter = Calendar { status: Some(ContentStatus::ChangesRequested), ..Calendar::default() };
    let items = content::calendar(&state.db, engagements, &filter).await?;
    let approval_ids: Vec<Uuid> = items.iter().filter_map(|i| i.approval_id).collect();
    let views = approvals::views_by_id(&state.db, &approval_ids, state.clock.now(), language).await?;
    let mut by_engagement: HashMap<Uuid, Vec<SentBackContent>> = HashMap::new();
    for item in items {
        let asked = views
            .iter()
            .filter(|a| Some(a.id) == item.approval_id)
            .flat_map(|a| a.decisions.iter())
            .rfind(|d| d.decision == Decision::RequestChanges);
        by_engagement.entry(item.engagement_id).or_default().push(SentBackContent {
            comment: asked.map(|d| d.comment.clone()).filter(|c| !c.trim().is_empty()),
            decided_at: asked.map(|d| d.decided_at),
            excerpt: excerpt(&item.body, 120),
            item,
        });
    }
    Ok(by_engagement)
}

/// The first `max` characters of `text`, with an ellipsis when it is longer.
fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// The agency portal: per engagement, the reports to write or fix, newest period first, and
/// the content sent back with changes requested.
async fn portal(state: &AppState, user: &SignedIn) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let now = state.clock.now();
    let visible = engagements::visible(&state.db, &viewer).await?;
    let ids: Vec<Uuid> = visible.iter().map(|e| e.id).collect();
    let mut content = content_sent_back(state, &ids, user.frame.lang).await?;
    let mut cards = Vec::new();
    for e in &visible {
        let schedule = engagements::schedule(e)?;
        let by_period: HashMap<chrono::NaiveDate, reports::ReportView> =
            reports::list(&state.db, e.id).await?.into_iter().map(|r| (r.period_start, r)).collect();
        let mut owed = Vec::new();
        let mut sent_back = Vec::new();
        let mut submitted = Vec::new();
        for p in schedule.started(now).iter().rev() {
            let report = by_period.get(&p.start_date);
            let status = report.map(|r| r.status);
            let row = OwedPeriod {
                start: p.start_date,
                end: p.end_date,
                due: p.due_date,
                overdue: p.is_late(now),
                report_id: report.map(|r| r.id),
                report_status: status,
            };
            match status {
                None | Some(ReportStatus::Draft) => owed.push(row),
                Some(ReportStatus::ChangesRequested) => sent_back.push(row),
                Some(ReportStatus::Submitted | ReportStatus::Accepted) if submitted.len() < 6 => submitted.push(row),
                Some(_) => {}
            }
        }
        let status: EngagementStatus = e.status;
        cards.push(json!({
            "id": e.id, "title": e.title, "status": status,
            "owed": owed, "sent_back": sent_back, "submitted": submitted,
            "content_sent_back": content.remove(&e.id).unwrap_or_default(),
        }));
    }
    user.render(state, "portal.html", json!({ "engagements": cards }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(title: &str, overall: Status, late: u32) -> Row {
        Row {
            id: Uuid::nil(),
            title: title.into(),
            vendor: String::new(),
            status: EngagementStatus::Active,
            health: Health { green: 0, amber: 0, red: 0, grey: 0, overall },
            late,
            missing: 0,
            signals: 0,
            high_signals: 0,
            alerts: 0,
            currency: "EUR".into(),
            worst_kpi: None,
            crisis: None,
        }
    }

    #[test]
    fn the_portfolio_shows_what_needs_attention_first() {
        let mut rows = vec![
            row("b", Status::Green, 0),
            row("a", Status::Grey, 0),
            row("c", Status::Red, 0),
            row("d", Status::Amber, 1),
            row("e", Status::Amber, 3),
        ];
        rows.sort_by(attention_order);
        let order: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(order, ["c", "e", "d", "b", "a"]);
        let s = summary(&rows);
        assert_eq!((s.red, s.amber, s.green, s.grey, s.late), (1, 2, 1, 1, 4));
    }

    #[test]
    fn an_engagement_in_crisis_mode_comes_first() {
        let calm = row("a", Status::Red, 3);
        let mut crisis = row("z", Status::Green, 0);
        crisis.crisis = Some(CrisisPeriodView {
            id: Uuid::nil(),
            engagement_id: Uuid::nil(),
            reason: "Vídeo viral".into(),
            incident_id: None,
            started_by: None,
            started_at: chrono::Utc::now(),
            ended_by: None,
            ended_at: None,
            end_reason: None,
        });
        let mut rows = [calm, crisis];
        rows.sort_by(attention_order);
        assert_eq!(rows[0].title, "z");
    }
}
