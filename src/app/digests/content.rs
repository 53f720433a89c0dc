//! What a digest says. One engagement's section (health, KPI table with charts, late
//! reports, open alerts, pending approvals, signals of the period, crisis mode) is the same
//! for every recipient who may see that engagement, so a run reads and draws it once per
//! engagement, period and language, however many digests show it. Any read that fails fails
//! the whole digest: a half-empty digest never goes out.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use sha2::Digest as _;
use uuid::Uuid;

use crate::domain::alert::AlertRule;
use crate::domain::alert::AlertSeverity;
use crate::domain::alert::AlertState;
use crate::domain::approval::ApprovalStatus;
use crate::mail::chart::{self, ChartInput};
use crate::{
    app::{crisis, dashboard, digests::subscriptions::viewer_of, engagements::scope_condition, outbox::StoredImage},
    db::entity::{alert, approval, engagement, user, vendor},
    domain::{
        approval::Stage,
        confidentiality::listing_scope,
        digest::DigestPeriod,
        enums::{EngagementStatus, KpiUnit, Language},
        evaluation::{Health, Status, Trend},
    },
    error::AppResult,
    mail::{Rendered, Templates},
    present::{self, format as locale},
};

/// Periods a KPI chart shows, ending with the digest's.
const CHART_POINTS: usize = 12;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Section {
    pub engagement_id: Uuid,
    pub title: String,
    pub vendor: String,
    pub status: EngagementStatus,
    pub link: String,
    pub crisis: Option<CrisisNote>,
    pub health: Health,
    pub kpis: Vec<KpiLine>,
    pub late_reports: Vec<LateReport>,
    pub open_alerts: Vec<AlertLine>,
    pub pending_approvals: Vec<ApprovalLine>,
    pub signals: Vec<SignalLine>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrisisNote {
    pub since: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KpiLine {
    pub name: String,
    pub objective: String,
    /// The latest reported value, formatted; none when nothing was reported.
    pub value: Option<String>,
    pub period: Option<String>,
    pub target: String,
    pub status: Status,
    /// The status in words, for readers who cannot tell the colours apart.
    pub status_word: String,
    pub colour: String,
    pub trend: Trend,
    pub trend_word: String,
    /// The `cid:` of the chart, when charts are drawn.
    pub chart: Option<String>,
    pub alt: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LateReport {
    pub period: String,
    pub due: String,
    /// Still missing, rather than submitted late.
    pub missing: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertLine {
    pub rule: AlertRule,
    pub severity: AlertSeverity,
    /// Rule and object (`KPI fuera de objetivo: Alcance`).
    pub title: String,
    /// What happened, worded by `present::alerts`.
    pub what: String,
    pub since: String,
    pub link: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApprovalLine {
    pub title: String,
    pub stage: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignalLine {
    pub category: String,
    pub severity: String,
    pub description: String,
}

/// One digest, rendered and ready to queue.
#[derive(Debug, Clone)]
pub struct Built {
    pub rendered: Rendered,
    /// Every image the HTML shows.
    pub images: Vec<StoredImage>,
    /// A hash of what the digest says (not of when): equal digests say the same.
    pub fingerprint: String,
    pub engagements: usize,
}

/// The rows behind one engagement's section, read once per run.
struct Facts {
    dashboard: dashboard::Dashboard,
    crisis: Option<CrisisNoteRaw>,
    alerts: Vec<alert::Model>,
    approvals: Vec<approval::Model>,
}

struct CrisisNoteRaw {
    since: DateTime<Utc>,
    reason: String,
}

/// A section and the chart images it shows.
type Drawn = (Section, Vec<StoredImage>);

/// Builds digests for one run, sharing sections between recipients.
pub struct Builder<'a> {
    db: &'a DatabaseConnection,
    templates: &'a Templates,
    now: DateTime<Utc>,
    charts: bool,
    vendors: Option<HashMap<Uuid, String>>,
    facts: HashMap<(Uuid, DigestPeriod), Arc<Facts>>,
    sections: HashMap<(Uuid, DigestPeriod, Language), Arc<Drawn>>,
}

/// Who a digest is for and what it covers.
pub struct Request<'r> {
    pub recipient: &'r user::Model,
    pub language: Language,
    /// None: every engagement the recipient may see.
    pub engagement_ids: Option<&'r [Uuid]>,
    pub period: DigestPeriod,
    pub cadence: &'static str,
    /// Missed while Veedor was down and sent now: the subject says so.
    pub late: bool,
}

impl<'a> Builder<'a> {
    pub fn new(db: &'a DatabaseConnection, templates: &'a Templates, now: DateTime<Utc>, charts: bool) -> Self {
        Builder { db, templates, now, charts, vendors: None, facts: HashMap::new(), sections: HashMap::new() }
    }

    /// The digest for `req`; None when the recipient sees no reporting engagement, unless
    /// `allow_empty` (a preview says so rather than failing).
    pub async fn build(&mut self, req: &Request<'_>, allow_empty: bool) -> AppResult<Option<Built>> {
        let engagements = self.engagements_for(req).await?;
        if engagements.is_empty() && !allow_empty {
            return Ok(None);
        }
        let mut sections = Vec::with_capacity(engagements.len());
        let mut images: Vec<StoredImage> = Vec::new();
        let mut seen = HashSet::new();
        for e in &engagements {
            let part = self.section(e, req.period, req.language).await?;
            for image in &part.1 {
                if seen.insert(image.id.clone()) {
                    images.push(image.clone());
                }
            }
            sections.push(part.0.clone());
        }
        let fingerprint = hex::encode(sha2::Sha256::digest(
            serde_json::to_vec(&(&sections, req.language.to_string())).map_err(anyhow::Error::from)?,
        ));
        let lang = req.language;
        let totals = serde_json::json!({
            "engagements": sections.len(),
            "red": sections.iter().filter(|s| s.health.overall == Status::Red).count(),
            "late": sections.iter().map(|s| s.late_reports.len()).sum::<usize>(),
            "alerts": sections.iter().map(|s| s.open_alerts.len()).sum::<usize>(),
            "approvals": sections.iter().map(|s| s.pending_approvals.len()).sum::<usize>(),
            "crisis": sections.iter().filter(|s| s.crisis.is_some()).count(),
        });
        let context = serde_json::json!({
            "recipient": { "name": req.recipient.name },
            "cadence": req.cadence,
            "late": req.late,
            "period": {
                "start": locale::date(req.period.start, lang),
                "end": locale::date(req.period.end, lang),
                "single_day": req.period.start == req.period.end,
            },
            "sections": sections,
            "totals": totals,
            "settings_link": format!("{}{}", self.templates.brand().base_url, crate::present::links::paths::DIGESTS),
        });
        let rendered = self.templates.render("digest", lang, recipient_zone(req.recipient), &context)?;
        Ok(Some(Built { rendered, images, fingerprint, engagements: sections.len() }))
    }

    /// The reporting engagements the recipient may see (same rule as every listing), limited
    /// to the subscription's choice.
    async fn engagements_for(&self, req: &Request<'_>) -> AppResult<Vec<engagement::Model>> {
        let viewer = viewer_of(req.recipient)?;
        let mut q = engagement::Entity::find().filter(scope_condition(&listing_scope(&viewer))).filter(
            engagement::Column::Status
                .is_in([EngagementStatus::Active.to_string(), EngagementStatus::Suspended.to_string()]),
        );
        if let Some(ids) = req.engagement_ids {
            q = q.filter(engagement::Column::Id.is_in(ids.iter().copied()));
        }
        Ok(q.order_by_asc(engagement::Column::Title).order_by_asc(engagement::Column::Id).all(self.db).await?)
    }

    async fn vendor_name(&mut self, id: Uuid) -> AppResult<String> {
        if self.vendors.is_none() {
            let all = vendor::Entity::find().all(self.db).await?;
            self.vendors = Some(all.into_iter().map(|v| (v.id, v.name)).collect());
        }
        Ok(self.vendors.as_ref().and_then(|v| v.get(&id).cloned()).unwrap_or_default())
    }

    async fn facts(&mut self, e: &engagement::Model, period: DigestPeriod) -> AppResult<Arc<Facts>> {
        if let Some(f) = self.facts.get(&(e.id, period)) {
            return Ok(f.clone());
        }
        let from = period.end.checked_sub_days(Days::new(366)).unwrap_or(period.end);
        let dashboard = dashboard::build(self.db, e, from, period.end, self.now).await?;
        let crisis =
            crisis::active(self.db, e.id).await?.map(|c| CrisisNoteRaw { since: c.started_at, reason: c.reason });
        let alerts = alert::Entity::find()
            .filter(alert::Column::EngagementId.eq(e.id))
            .filter(alert::Column::State.eq(AlertState::Firing))
            .order_by_asc(alert::Column::StartedAt)
            .all(self.db)
            .await?;
        let approvals = approval::Entity::find()
            .filter(approval::Column::EngagementId.eq(e.id))
            .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
            .order_by_asc(approval::Column::StageDueAt)
            .all(self.db)
            .await?;
        let f = Arc::new(Facts { dashboard, crisis, alerts, approvals });
        self.facts.insert((e.id, period), f.clone());
        Ok(f)
    }

    async fn section(&mut self, e: &engagement::Model, period: DigestPeriod, lang: Language) -> AppResult<Arc<Drawn>> {
        if let Some(s) = self.sections.get(&(e.id, period, lang)) {
            return Ok(s.clone());
        }
        let facts = self.facts(e, period).await?;
        let vendor = self.vendor_name(e.vendor_id).await?;
        let tz: Tz = e.timezone.parse().unwrap_or(Tz::UTC);
        let base = self.templates.brand().base_url.clone();
        let local_date = |t: DateTime<Utc>| locale::date(t.with_timezone(&tz).date_naive(), lang);
        let mut images = Vec::new();
        let mut kpis = Vec::with_capacity(facts.dashboard.kpis.len());
        for k in &facts.dashboard.kpis {
            let skip = k.series.len().saturating_sub(CHART_POINTS);
            let points: Vec<_> = k.series[skip..].iter().map(|p| (p.period_start, p.value, p.status)).collect();
            let latest = k.series.iter().rev().find(|p| p.value.is_some());
            let value = latest.and_then(|p| p.value).map(|v| format_value(v, k.unit, &e.currency, lang));
            let target = match k.target_upper {
                Some(upper) => format!(
                    "{} – {}",
                    format_value(k.target, k.unit, &e.currency, lang),
                    format_value(upper, k.unit, &e.currency, lang)
                ),
                None => format_value(k.target, k.unit, &e.currency, lang),
            };
            let status_word = present::word(&k.latest_status, lang);
            let trend_word = present::word(&k.trend, lang);
            let alt = alt_text(&k.name, points.len(), value.as_deref(), &target, k.latest_status, k.trend, lang);
            let chart = if self.charts && !points.is_empty() {
                let png = chart::render(&ChartInput {
                    points: &points,
                    target: k.target,
                    target_upper: k.target_upper,
                    unit: k.unit,
                    currency: &e.currency,
                    language: lang,
                })?;
                let image = StoredImage::png(png);
                let id = image.id.clone();
                images.push(image);
                Some(id)
            } else {
                None
            };
            let colour = chart::colour(k.latest_status);
            kpis.push(KpiLine {
                name: k.name.clone(),
                objective: k.objective.clone(),
                value,
                period: latest.map(|p| locale::date(p.period_start, lang)),
                target,
                status: k.latest_status,
                status_word,
                colour: format!("#{:02x}{:02x}{:02x}", colour.0, colour.1, colour.2),
                trend: k.trend,
                trend_word,
                chart,
                alt,
            });
        }
        // Half-open, local midnight to local midnight: consecutive digests never share an instant.
        let (from, to) = period.bounds(tz);
        let in_period = |t: DateTime<Utc>| from <= t && t < to;
        // Missing reports always; late ones in the digest whose period holds their due date.
        let late_reports = facts
            .dashboard
            .periods
            .iter()
            .filter(|p| p.missing || (p.late && period.contains(p.due_date)))
            .map(|p| LateReport {
                period: format!("{} – {}", locale::date(p.period_start, lang), locale::date(p.period_end, lang)),
                due: locale::date(p.due_date, lang),
                missing: p.missing,
            })
            .collect();
        let open_alerts = facts
            .alerts
            .iter()
            .map(|a| {
                let worded = crate::mail::alerts::worded(a, None, lang, tz)?;
                Ok(AlertLine {
                    rule: a.rule,
                    severity: a.severity,
                    title: worded.title,
                    what: worded.text,
                    since: local_date(a.started_at),
                    link: format!("{base}{}", worded.link),
                })
            })
            .collect::<AppResult<Vec<_>>>()?;
        let pending_approvals = facts
            .approvals
            .iter()
            .map(|a| {
                let stages: Vec<Stage> = serde_json::from_value(a.stages.clone()).unwrap_or_default();
                let stage = usize::try_from(a.current_stage).ok().and_then(|i| stages.get(i));
                Ok(ApprovalLine {
                    title: crate::app::approvals::title_of(a, lang)?,
                    stage: stage.map(|s| present::titles::stage(s, lang)).unwrap_or_default(),
                    due: local_date(a.stage_due_at),
                    overdue: a.stage_due_at < self.now,
                })
            })
            .collect::<AppResult<_>>()?;
        let signals = facts
            .dashboard
            .signals
            .iter()
            .filter(|s| s.submitted_at.is_some_and(in_period))
            .map(|s| SignalLine {
                category: s.category.to_string(),
                severity: s.severity.to_string(),
                description: s.description.clone(),
            })
            .collect();
        let section = Section {
            engagement_id: e.id,
            title: e.title.clone(),
            vendor,
            status: e.status,
            link: format!("{base}{}", crate::present::links::engagement(e.id)),
            crisis: facts.crisis.as_ref().map(|c| CrisisNote { since: local_date(c.since), reason: c.reason.clone() }),
            health: facts.dashboard.health,
            kpis,
            late_reports,
            open_alerts,
            pending_approvals,
            signals,
        };
        let built = Arc::new((section, images));
        self.sections.insert((e.id, period, lang), built.clone());
        Ok(built)
    }
}

/// The recipient's time zone (Madrid when their setting is unreadable).
fn recipient_zone(u: &user::Model) -> Tz {
    u.timezone.parse().unwrap_or(chrono_tz::Europe::Madrid)
}

/// A KPI value with its unit, in the language's number format.
pub fn format_value(v: f64, unit: KpiUnit, currency: &str, lang: Language) -> String {
    locale::kpi_value(v, unit, currency, lang)
}

/// What a chart shows, for screen readers and clients that block images.
fn alt_text(
    name: &str,
    points: usize,
    value: Option<&str>,
    target: &str,
    status: Status,
    trend: Trend,
    lang: Language,
) -> String {
    let value = value.map_or_else(|| present::text("no_data_yet", lang, &[]).to_lowercase(), str::to_string);
    present::text(
        "digest.chart_alt",
        lang,
        &[
            ("name", name.to_string()),
            ("n", points.to_string()),
            ("value", value),
            ("target", target.to_string()),
            ("status", present::word(&status, lang).to_lowercase()),
            ("trend", present::word(&trend, lang).to_lowercase()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_unit_in_the_languages_format() {
        assert_eq!(format_value(1234.5, KpiUnit::Count, "EUR", Language::Es), "1.234,5");
        assert_eq!(format_value(12.26, KpiUnit::Percent, "EUR", Language::Es), "12,3\u{a0}%");
        assert_eq!(format_value(123456.0, KpiUnit::CurrencyMinor, "EUR", Language::Es), "1.234,56\u{a0}€");
        assert_eq!(format_value(123456.0, KpiUnit::CurrencyMinor, "USD", Language::En), "US$1,234.56");
    }

    #[test]
    fn the_chart_description_uses_the_one_vocabulary() {
        let alt = alt_text("Seguidores", 6, Some("1.234"), "1.500", Status::Red, Trend::Worsening, Language::Es);
        assert_eq!(
            alt,
            "Gráfico de Seguidores, últimos 6 periodos: último valor 1.234, objetivo 1.500, fuera de objetivo, empeora."
        );
        let alt = alt_text("Followers", 1, None, "1,500", Status::Amber, Trend::Steady, Language::En);
        assert_eq!(alt, "Chart of Followers, last period: latest value no data yet, target 1,500, at risk, steady.");
    }
}
