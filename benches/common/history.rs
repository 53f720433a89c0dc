//! A reporting history at scale, for the evaluation and dashboard benchmarks: active weekly
//! engagements made through the store (so governance, scope and KPIs are real), then one
//! submitted report per past week with a value per KPI, written with batched inserts (the
//! API path would take far longer to seed than to measure). Values wander around their
//! target, deterministically, so every status occurs.

use std::time::Instant;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use uuid::Uuid;
use veedor::{
    app::{engagements, kpis, scope, vendors},
    db::{
        audit::Actor,
        entity::{report, report_signal, report_value, report_version},
    },
    domain::report::{Severity, SignalCategory},
    domain::{
        engagement::{BriefInput, EngagementInput},
        enums::{Aggregation, Cadence, Channel, Confidentiality, KpiDirection, KpiUnit, ScopeFunction},
        kpi::KpiInput,
        report::ReportStatus,
        scope::ScopeItemInput,
        vendor::VendorInput,
    },
    state::AppState,
};

/// Engagements made at the same time while seeding.
const SEED_WORKERS: usize = 4;
/// Rows per batched insert (12 columns at most: far below every bind-parameter limit).
const BATCH: usize = 1_000;

#[derive(Debug, Clone, Copy)]
pub struct HistorySpec {
    pub engagements: usize,
    pub kpis: usize,
    /// Past weeks, each with a submitted report.
    pub weeks: usize,
}

impl HistorySpec {
    pub fn values(&self) -> usize {
        self.engagements * self.kpis * self.weeks
    }
}

pub struct History {
    pub vendor: Uuid,
    /// In creation order.
    pub engagements: Vec<Uuid>,
}

/// Seeds `spec` on the server's database; `owner` (a lead) owns every engagement.
pub async fn seed(state: &AppState, owner: Uuid, spec: HistorySpec) -> anyhow::Result<History> {
    let started = Instant::now();
    let actor = Actor::system("bench");
    let vendor = vendors::create(
        &state.db,
        Utc::now(),
        &actor,
        VendorInput {
            name: format!("Bench vendor {}", Uuid::new_v4().simple()),
            legal_name: Some("Bench Vendor S.L.".into()),
            tax_id: None,
            website: None,
            contacts: vec![],
            notes: None,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the vendor: {e:?}"))?;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..SEED_WORKERS {
        let state = state.clone();
        workers.spawn(async move {
            let mut made = Vec::new();
            for i in (w..spec.engagements).step_by(SEED_WORKERS) {
                made.push((
                    i,
                    engagement(&state, vendor.id, owner, spec, i).await.with_context(|| format!("engagement {i}"))?,
                ));
            }
            anyhow::Ok(made)
        });
    }
    let mut made = Vec::with_capacity(spec.engagements);
    while let Some(done) = workers.join_next().await {
        made.extend(done??);
    }
    made.sort_unstable_by_key(|(i, _)| *i);
    let engagements: Vec<Uuid> = made.into_iter().map(|(_, id)| id).collect();
    println!(
        "seeded {} engagements × {} KPIs × {} weeks = {} values in {:.1} s",
        spec.engagements,
        spec.kpis,
        spec.weeks,
        spec.values(),
        started.elapsed().as_secs_f64()
    );
    Ok(History { vendor: vendor.id, engagements })
}

fn fail(what: &str) -> impl FnOnce(veedor::error::AppError) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{what}: {e:?}")
}

async fn engagement(state: &AppState, vendor: Uuid, owner: Uuid, spec: HistorySpec, i: usize) -> anyhow::Result<Uuid> {
    let (db, actor, growth) = (&state.db, Actor::system("bench"), state.config.realism_max_yearly_growth);
    let now = Utc::now();
    // Weeks start on Monday: the term starts `weeks` Mondays ago and runs a year beyond.
    let today = now.date_naive();
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let start = this_monday - Duration::weeks(spec.weeks as i64);
    let input = EngagementInput {
        vendor_id: vendor,
        title: format!("Comunidad, lote {i}"),
        brief: BriefInput {
            want: "Más conversación con clientas y clientes de 25 a 45 años y respuesta el mismo día.".into(),
            can_be_done: "Instagram, Facebook y TikTok con calendario editorial; atención en horario comercial.".into(),
            budget_minor: Some(700_000),
        },
        confidentiality: Confidentiality::Internal,
        monthly_fee_minor: 650_000,
        currency: "EUR".into(),
        start_date: start,
        end_date: this_monday + Duration::weeks(52) - Duration::days(1),
        timezone: "Europe/Madrid".into(),
        cadence: Cadence::Weekly,
        due_offset_days: 3,
        owner_id: Some(owner),
    };
    let e = engagements::create(db, now, &actor, input).await.map_err(fail("create"))?;
    let item = ScopeItemInput {
        function: ScopeFunction::Reporting,
        description: "Informe semanal contra los KPI acordados".into(),
        deliverables: vec!["Informe semanal".into()],
        quantity_per_period: Some(1),
    };
    scope::create(db, now, &actor, &e, item).await.map_err(fail("scope"))?;
    let mut kpi_ids = Vec::with_capacity(spec.kpis);
    for k in 0..spec.kpis {
        let view = kpis::system::create(db, now, &actor, &e, kpi_input(k), growth).await.map_err(fail("kpi"))?;
        kpi_ids.push((view.id, kpi_input(k)));
    }
    let rules = veedor::app::WriteRules::from_config(&veedor::config::Config::default())?;
    veedor::demo::activate(db, now, e.id, None, &rules).await.map_err(fail("activate"))?;
    history(db, &e, &kpi_ids, spec.weeks, i).await?;
    Ok(e.id)
}

fn kpi_input(k: usize) -> KpiInput {
    let lower = k % 3 == 2;
    let (target, warning, critical) = if lower { (2.0, 3.0, 4.0) } else { (1_000.0, 900.0, 700.0) };
    KpiInput {
        name: format!("Indicador {k}"),
        objective: "Conversación con clientes de 25 a 45 años".into(),
        unit: if lower { KpiUnit::Hours } else { KpiUnit::Count },
        direction: if lower { KpiDirection::LowerIsBetter } else { KpiDirection::HigherIsBetter },
        baseline: Some(if lower { 2.5 } else { 900.0 }),
        target,
        target_upper: None,
        warning_threshold: warning,
        critical_threshold: critical,
        aggregation: if lower { Aggregation::Average } else { Aggregation::Sum },
        channels: vec![Channel::Instagram],
        allow_negative: false,
        ratio_of: None,
    }
}

/// Deterministic noise in [0, 1) (splitmix64), so every run seeds the same figures.
fn noise(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

async fn history(
    db: &DatabaseConnection,
    e: &veedor::db::entity::engagement::Model,
    kpis: &[(Uuid, KpiInput)],
    weeks: usize,
    i: usize,
) -> anyhow::Result<()> {
    let schedule = engagements::schedule(e)?;
    let periods: Vec<_> = schedule.periods().into_iter().take(weeks).collect();
    let (mut reports, mut versions, mut values, mut signals) = (vec![], vec![], vec![], vec![]);
    for p in &periods {
        let late = (p.index as usize + i).is_multiple_of(17);
        let submitted = if late { p.late_from() + Duration::days(2) } else { p.late_from() - Duration::days(1) };
        let (report_id, version_id) = (Uuid::now_v7(), Uuid::now_v7());
        reports.push(report::ActiveModel {
            id: Set(report_id),
            engagement_id: Set(e.id),
            period_start: Set(p.start_date),
            period_end: Set(p.end_date),
            status: Set(ReportStatus::Accepted),
            version: Set(1),
            late: Set(late),
            created_by: Set(None),
            created_at: Set(submitted),
            updated_at: Set(submitted),
            submitted_at: Set(Some(submitted)),
            accepted_at: Set(Some(submitted + Duration::days(1))),
        });
        versions.push(report_version::ActiveModel {
            id: Set(version_id),
            report_id: Set(report_id),
            version: Set(1),
            narrative: Set("Semana estable; campaña de temporada en curso.".into()),
            created_by: Set(None),
            created_at: Set(submitted),
            submitted_at: Set(Some(submitted)),
            submitted_by: Set(None),
            late: Set(late),
        });
        for (k, (kpi_id, input)) in kpis.iter().enumerate() {
            // ±40 % around the target, drifting with the week.
            let seed = (i as u64) << 40 | (k as u64) << 20 | u64::from(p.index);
            let value = (input.target * (0.6 + 0.8 * noise(seed))).round();
            values.push(report_value::ActiveModel {
                id: Set(Uuid::now_v7()),
                version_id: Set(version_id),
                report_id: Set(report_id),
                engagement_id: Set(e.id),
                kpi_id: Set(*kpi_id),
                period_start: Set(p.start_date),
                value: Set(value),
                breakdown: Set(serde_json::json!({ "instagram": value })),
                comment: Set(None),
                evidence_url: Set(None),
                status: Set(None),
                breach: Set(None),
                shown: Set(true),
            });
        }
        if p.index % 13 == 5 {
            signals.push(report_signal::ActiveModel {
                id: Set(Uuid::now_v7()),
                version_id: Set(version_id),
                report_id: Set(report_id),
                engagement_id: Set(e.id),
                category: Set(if p.index % 2 == 0 { SignalCategory::Criticism } else { SignalCategory::Opportunity }),
                severity: Set(if p.index % 3 == 0 { Severity::High } else { Severity::Medium }),
                description: Set("Conversación creciente sobre los plazos de entrega".into()),
                link: Set(Some("https://social.example/post/1".into())),
                shown: Set(true),
            });
        }
    }
    for chunk in reports.chunks(BATCH) {
        report::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    for chunk in versions.chunks(BATCH) {
        report_version::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    for chunk in values.chunks(BATCH) {
        report_value::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    if !signals.is_empty() {
        report_signal::Entity::insert_many(signals).exec_without_returning(db).await?;
    }
    Ok(())
}

/// The first date of the week `weeks` weeks before the current one (for range queries).
pub fn weeks_ago(weeks: i64) -> NaiveDate {
    let today = Utc::now().date_naive();
    today - Duration::days(i64::from(today.weekday().num_days_from_monday())) - Duration::weeks(weeks)
}
