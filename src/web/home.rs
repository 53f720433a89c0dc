//! The home page. Leads, executives and admins see their portfolio, worst first: each
//! engagement's health, late and missing reports, firing alerts, and the approvals waiting
//! on them. Agency staff see the agency portal instead: the periods they owe a report for,
//! reports sent back to them, and what they submitted.

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{error::PageResult, paging::Paged, session::SignedIn};
use crate::{
    app::AppState,
    domain::{
        enums::{EngagementStatus, Role},
        evaluation::{Health, Status},
        report::ReportStatus,
    },
    store::{
        alerts,
        approvals::{self, ApprovalView, QueueFilter, QueueView},
        engagements,
        entity::{engagement, vendor},
        portfolio::{self, PortfolioItem},
        reports,
    },
};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
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

/// Red first, then amber, green, grey; then the most late or missing reports.
fn attention_order(a: &Row, b: &Row) -> std::cmp::Ordering {
    let rank = |s: Status| match s {
        Status::Red => 0,
        Status::Amber => 1,
        Status::Green => 2,
        Status::Grey => 3,
    };
    rank(a.health.overall)
        .cmp(&rank(b.health.overall))
        .then((b.late + b.missing + b.alerts).cmp(&(a.late + a.missing + a.alerts)))
        .then_with(|| a.title.to_lowercase().cmp(&b.title.to_lowercase()))
}

fn rows(items: Vec<PortfolioItem>, vendors: &HashMap<Uuid, String>, alerts: &HashMap<Uuid, u32>) -> Vec<Row> {
    let mut rows: Vec<Row> = items
        .into_iter()
        .map(|p| Row {
            id: p.engagement_id,
            vendor: vendors.get(&p.vendor_id).cloned().unwrap_or_default(),
            title: p.title,
            status: p.status,
            health: p.health,
            late: p.late_periods,
            missing: p.missing_periods,
            signals: p.signals,
            high_signals: p.high_severity_signals,
            alerts: alerts.get(&p.engagement_id).copied().unwrap_or(0),
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
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.vendor_id).collect();
    let found = vendor::Entity::find()
        .filter(vendor::Column::Id.is_in(ids))
        .all(&state.db)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(found.into_iter().map(|v| (v.id, v.name)).collect())
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
    let firing = alerts::firing_counts(&state.db, &ids).await?;
    let vendors = vendor_names(&state, &visible).await?;
    let filter = QueueFilter { view: QueueView::WaitingOnMe, ..QueueFilter::default() };
    let waiting: Vec<ApprovalView> =
        approvals::queue(&state.db, &ids, viewer.user_id, false, &filter, now, user.frame.lang).await?;
    let titles: HashMap<Uuid, &str> = visible.iter().map(|e| (e.id, e.title.as_str())).collect();
    let waiting: Vec<_> = waiting
        .iter()
        .take(10)
        .map(|a| json!({ "approval": a, "engagement": titles.get(&a.engagement_id).copied().unwrap_or_default() }))
        .collect();
    let rows = rows(items, &vendors, &firing);
    let summary = summary(&rows);
    let portfolio = Paged::of(rows, page, super::paging::PER_PAGE);
    user.render(&state, "home.html", json!({ "summary": summary, "portfolio": portfolio, "waiting": waiting }))
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

/// The agency portal: per engagement, the reports to write or fix, newest period first.
async fn portal(state: &AppState, user: &SignedIn) -> PageResult<Html<String>> {
    let viewer = user.principal.viewer();
    let now = state.clock.now();
    let visible = engagements::visible(&state.db, &viewer).await?;
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
        let status: EngagementStatus = crate::views::parse("status", &e.status)?;
        cards.push(json!({
            "id": e.id, "title": e.title, "status": status,
            "owed": owed, "sent_back": sent_back, "submitted": submitted,
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
}
