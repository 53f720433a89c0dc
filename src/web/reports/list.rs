//! The reports of an engagement, one line per period that has started (newest first): its
//! report's status, or that it is missing, with a link to write it for those who may.

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    response::Html,
};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use super::{EngagementBrief, engagement_for, form::may_write, parse_id};
use crate::{
    app::{engagements, reports},
    domain::{period::Standing, report::ReportStatus},
    policy::report::Action,
    state::AppState,
    web::{
        error::PageResult,
        paging::{PER_PAGE, Paged},
        session::SignedIn,
    },
};

/// A period and its report, if any.
#[derive(Debug, Serialize)]
struct Line {
    start: NaiveDate,
    end: NaiveDate,
    due: NaiveDate,
    /// Due and still without a submitted report.
    overdue: bool,
    report: Option<ReportLine>,
}

#[derive(Debug, Serialize)]
struct ReportLine {
    id: uuid::Uuid,
    status: ReportStatus,
    version: i32,
    late: bool,
    submitted_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> PageResult<Html<String>> {
    let (e, seen) = engagement_for(&state, &user.principal, parse_id(&id)?, Action::Read).await?;
    let now = state.clock.now();
    let mut by_period: HashMap<NaiveDate, reports::ReportView> =
        reports::list(&state.db, e.id).await?.into_iter().map(|r| (r.period_start, r)).collect();
    let lines: Vec<Line> = engagements::schedule(&e)?
        .started(now)
        .into_iter()
        .rev()
        .map(|p| {
            let report = by_period.remove(&p.start_date).map(|r| ReportLine {
                id: r.id,
                status: r.status,
                version: r.version,
                late: r.late,
                submitted_at: r.submitted_at,
            });
            let submitted = report.as_ref().filter(|r| r.submitted_at.is_some()).map(|r| r.late);
            let overdue = p.standing(submitted, now) == Standing::Missing;
            Line { start: p.start_date, end: p.end_date, due: p.due_date, overdue, report }
        })
        .collect();
    let page = query.get("page").and_then(|p| p.parse().ok());
    let lines = Paged::of(lines, page, PER_PAGE);
    let context = json!({
        "engagement": EngagementBrief::from(&e),
        "lines": lines,
        "can_write": may_write(&user, seen, &e),
    });
    user.render(&state, "reports/list.html", context)
}
