//! A realistic demo: Almacenes Brisa, a Spanish retailer, outsources its community
//! management to the agency Marea Digital. Loading it twice changes nothing.
//!
//! One concern, hence one file over the usual size: the story is read top to bottom (people,
//! contract, a year of reports, approvals, incidents), each step through the use cases.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::app::WriteRules;
use crate::domain::approval::ApprovalStatus;
use crate::{
    app::{approvals, content, engagements, incidents, kpis, reports, scope, team, users, vendors},
    db::{audit::Actor, entity::engagement},
    domain::{
        approval::Decision,
        content::ContentInput,
        engagement::{BriefInput, EngagementInput, Transition},
        enums::{
            Aggregation, Cadence, Channel, Confidentiality, KpiDirection, KpiUnit, Language, Role, ScopeFunction,
            TeamRole,
        },
        incident::{AcknowledgeInput, IncidentInput, IncidentSeverity, UpdateInput},
        kpi::KpiInput,
        report::{ReportContent, ReviewDecision, Severity, SignalCategory, SignalInput, ValueInput},
        scope::ScopeItemInput,
        team::TeamMemberInput,
        user::NewUserInput,
        vendor::{Contact, VendorInput},
    },
    error::AppError,
};

const VENDOR: &str = "Marea Digital";

/// (e-mail, name, role, password) of the demo accounts.
const ACCOUNTS: [(&str, &str, Role, &str); 4] = [
    ("admin@brisa.example", "Carmen Ortega", Role::Admin, "veedor-demo-admin"),
    ("lead@brisa.example", "Javier Soler", Role::Lead, "veedor-demo-lead"),
    ("direccion@brisa.example", "Elena Ruiz", Role::Executive, "veedor-demo-exec"),
    ("lucia@marea.example", "Lucía Navarro", Role::Vendor, "veedor-demo-vendor"),
];

fn credentials() -> String {
    let mut text = String::from("Demo accounts (change these passwords outside a demo):\n");
    for (email, name, role, password) in ACCOUNTS {
        text.push_str(&format!("  {role:<9} {email:<26} {password:<20} {name}\n"));
    }
    text
}

fn kpi(
    name: &str,
    objective: &str,
    unit: KpiUnit,
    direction: KpiDirection,
    numbers: [f64; 4],
    aggregation: Aggregation,
    channels: &[Channel],
) -> KpiInput {
    let [baseline, target, warning_threshold, critical_threshold] = numbers;
    KpiInput {
        name: name.into(),
        objective: objective.into(),
        unit,
        direction,
        baseline: Some(baseline),
        target,
        target_upper: None,
        warning_threshold,
        critical_threshold,
        aggregation,
        channels: channels.to_vec(),
        allow_negative: false,
        ratio_of: None,
    }
}

fn scope_item(
    function: ScopeFunction,
    description: &str,
    deliverables: &[&str],
    quantity: Option<i32>,
) -> ScopeItemInput {
    ScopeItemInput {
        function,
        description: description.into(),
        deliverables: deliverables.iter().map(|d| d.to_string()).collect(),
        quantity_per_period: quantity,
    }
}

/// The first day of the month `offset` months from the month of `today`.
fn month_start(today: NaiveDate, offset: i32) -> Result<NaiveDate, AppError> {
    let first = today.with_day(1).ok_or_else(|| anyhow::anyhow!("no first day of the month"))?;
    let shifted = if offset >= 0 {
        first.checked_add_months(Months::new(offset.unsigned_abs()))
    } else {
        first.checked_sub_months(Months::new(offset.unsigned_abs()))
    };
    Ok(shifted.ok_or_else(|| anyhow::anyhow!("demo date out of range"))?)
}

/// Monthly figures per KPI of the community engagement, in the order its KPIs are created:
/// a base value and how much it moves each month. Mostly on target; first-response time
/// drifts from green to red over the year.
const HISTORY: [(f64, f64); 8] = [
    (3.0, 0.04),
    (505_000.0, 5_000.0),
    (1.8, 0.7),
    (14.0, -0.3),
    (61_000.0, 500.0),
    (425.0, 4.0),
    (25.5, 0.3),
    (95.5, 0.3),
];

/// Eleven months of reports from the agency: submitted two days before the due date and
/// accepted the day after, except one late report and, last month, a request for changes.
async fn report_history(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    engagement: &engagement::Model,
    (lead, lead_email): (Uuid, &str),
    (agency, agency_email): (Uuid, &str),
    rules: &WriteRules,
) -> Result<(), AppError> {
    let agency = Actor { id: Some(agency), label: agency_email.into() };
    let lead = Actor { id: Some(lead), label: lead_email.into() };
    let kpis = reports::kpi_set(db, engagement).await?.refs.clone();
    let periods: Vec<_> =
        engagements::schedule(engagement)?.periods().into_iter().filter(|p| p.ends_at <= now).collect();
    let last = periods.len().saturating_sub(1);
    for (i, period) in periods.iter().enumerate() {
        let wobble = ((i * 37) % 10) as f64 / 10.0;
        let values = kpis
            .iter()
            .zip(HISTORY)
            .map(|(k, (base, step))| ValueInput {
                kpi_id: k.id,
                value: ((base + step * i as f64 + step.abs() * wobble) * 100.0).round() / 100.0,
                breakdown: Default::default(),
                comment: None,
                evidence_url: None,
            })
            .collect();
        let signals = match i {
            2 => vec![signal(
                SignalCategory::Opportunity,
                Severity::Medium,
                "Una tienda de barrio propone una colaboración con una influencer local",
            )],
            6 => vec![signal(
                SignalCategory::Criticism,
                Severity::High,
                "Quejas por retrasos de envíos durante las rebajas",
            )],
            8 => vec![signal(
                SignalCategory::Leader,
                Severity::Low,
                "Nueva creadora de contenido afín a la marca en TikTok",
            )],
            _ => vec![],
        };
        let content =
            ReportContent { narrative: format!("Informe del periodo {}", period.start_date), values, signals };
        let late = i == 4;
        let planned = if late {
            period.late_from() + chrono::Duration::days(3)
        } else {
            period.late_from() - chrono::Duration::days(2)
        };
        // Never in the future, never before the period is over.
        let submitted_at = planned.min(now - chrono::Duration::hours(2)).max(period.ends_at);
        let created =
            reports::system::create(db, submitted_at, &agency, engagement.id, period.start_date, content, Some(rules))
                .await?;
        let reviewed_at =
            (submitted_at + chrono::Duration::days(1)).min(now - chrono::Duration::hours(1)).max(submitted_at);
        if i == last {
            let comment = vec![reports::ValueComment {
                kpi_id: kpis[2].id,
                comment: "El tiempo de respuesta se ha disparado: explicad el plan para reducirlo".into(),
            }];
            let decision = ReviewDecision::RequestChanges;
            reports::system::review(
                db,
                reviewed_at,
                (&lead, Role::Lead),
                created.report.id,
                decision,
                None,
                comment,
                rules,
            )
            .await?;
        } else {
            let decision = ReviewDecision::Accept;
            reports::system::review(
                db,
                reviewed_at,
                (&lead, Role::Lead),
                created.report.id,
                decision,
                None,
                vec![],
                rules,
            )
            .await?;
        }
    }
    Ok(())
}

/// A demo publication: when it was proposed and is planned (from now), the lead's decision
/// and when, and whether the agency already published it.
struct DemoPost {
    channel: Channel,
    body: &'static str,
    proposed: chrono::Duration,
    planned: chrono::Duration,
    decision: Option<(Decision, chrono::Duration)>,
    published: bool,
}

/// A few publications on the community engagement's content calendar, proposed by the
/// agency: one published last week, one approved for the coming days, one sent back with a
/// comment, and one waiting on the lead.
async fn content_calendar(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    engagement: &engagement::Model,
    (lead, lead_email): (Uuid, &str),
    (agency, agency_email): (Uuid, &str),
    rules: &WriteRules,
) -> Result<(), AppError> {
    use chrono::{Duration, DurationRound};
    let agency = Actor { id: Some(agency), label: agency_email.into() };
    let lead = Actor { id: Some(lead), label: lead_email.into() };
    let hour = now.duration_trunc(Duration::hours(1)).map_err(anyhow::Error::from)?;
    let post = |channel, body: &'static str, proposed, planned, decision, published| DemoPost {
        channel,
        body,
        proposed,
        planned,
        decision,
        published,
    };
    let posts = [
        post(
            Channel::Instagram,
            "Rebajas de invierno: hasta un 40 % en abrigos en todas las tiendas Brisa.",
            Duration::days(-10),
            Duration::days(-3),
            Some((Decision::Approve, Duration::days(-9))),
            true,
        ),
        post(
            Channel::Facebook,
            "Taller gratuito de estilismo este sábado en Brisa Gran Vía. Plazas limitadas.",
            Duration::days(-2),
            Duration::days(3) + Duration::hours(2),
            Some((Decision::Approve, Duration::days(-1))),
            false,
        ),
        post(
            Channel::Tiktok,
            "Tres formas de llevar la camisa vaquera de la nueva colección.",
            Duration::days(-3),
            Duration::days(6),
            Some((Decision::RequestChanges, Duration::days(-2))),
            false,
        ),
        post(
            Channel::Instagram,
            "Nueva colección de primavera: ya en tiendas y en brisa.example.",
            Duration::hours(-2),
            Duration::days(2) + Duration::hours(4),
            None,
            false,
        ),
    ];
    for DemoPost { channel, body, proposed, planned, decision, published } in posts {
        let input = ContentInput { channel, body: body.into(), media_url: None, planned_at: hour + planned };
        let item = content::system::propose(db, now + proposed, &agency, engagement.id, input, &rules.crisis).await?;
        let approval_id =
            item.approval_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no content approval opened")))?;
        if let Some((decision, at)) = decision {
            let comment = (decision != Decision::Approve)
                .then(|| "Mostrad la camisa con prendas de la colección, no de temporadas pasadas".to_string());
            let input = approvals::DecisionInput { stage: 0, decision, comment };
            crate::app::decisions::decide(db, now + at, (&lead, Role::Lead), approval_id, &input, rules, Language::Es)
                .await?;
        }
        if published {
            content::system::transition(db, hour + planned, &agency, item.id, content::ContentAction::Publish).await?;
        }
    }
    Ok(())
}

/// Two days ago the agency reported an incident; the lead acknowledged it within its SLA and
/// lowered its severity the next day. It is still being handled.
async fn incident_history(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    engagement: &engagement::Model,
    (lead, lead_email): (Uuid, &str),
    (agency, agency_email): (Uuid, &str),
    rules: &WriteRules,
) -> Result<(), AppError> {
    let agency = Actor { id: Some(agency), label: agency_email.into() };
    let lead = Actor { id: Some(lead), label: lead_email.into() };
    let opened_at = now - chrono::Duration::days(2);
    let input = IncidentInput {
        title: "Quejas virales por un sorteo mal comunicado".into(),
        severity: IncidentSeverity::High,
        description: "Las bases del sorteo de Instagram no decían que era solo para la península; cientos de \
                      comentarios de Canarias y Baleares lo llaman engaño."
            .into(),
    };
    let id = incidents::system::open(db, opened_at, &agency, engagement, input, rules).await?.incident.id;
    let note = |body: &str, severity| UpdateInput { body: body.into(), severity };
    let hour = chrono::Duration::hours(1);
    let first =
        note("Respuesta tipo publicada en los comentarios y en stories; se pausa la promoción del sorteo.", None);
    incidents::system::add_update(db, opened_at + hour, &agency, id, first, rules, false).await?;
    let ack = AcknowledgeInput { note: Some("Lo llevamos con Legal: ampliamos el sorteo a las islas.".into()) };
    incidents::system::acknowledge(db, opened_at + hour * 2, &lead, id, ack, rules).await?;
    let calmer =
        note("Bases corregidas y publicadas; las quejas han bajado a la mitad.", Some(IncidentSeverity::Medium));
    incidents::system::add_update(db, opened_at + hour * 24, &lead, id, calmer, rules, true).await?;
    Ok(())
}

fn signal(category: SignalCategory, severity: Severity, description: &str) -> SignalInput {
    SignalInput { category, severity, description: description.into(), link: None }
}

/// Loads the demo unless it is there already; returns what to tell the person running it.
/// Activates an engagement the way seeding tools (the demo, benchmarks, tests) need it: the
/// system submits it, and each stage of its activation approval is approved by the first of
/// its deciders (the stage's approvers, or the owner, or an admin). The governance rules and
/// the approval rules apply as for anyone.
pub async fn activate(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    engagement_id: Uuid,
    reason: Option<String>,
    rules: &WriteRules,
) -> Result<engagement::Model, AppError> {
    let system = Actor::system("seed");
    let submitted = engagements::transition(db, now, &system, engagement_id, Transition::Submit, reason, rules).await?;
    let approval_id =
        submitted.approval_id.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no activation approval opened")))?;
    loop {
        let a = approvals::get(db, approval_id).await?;
        if a.status != ApprovalStatus::Pending {
            break;
        }
        let deciders: Vec<Uuid> = serde_json::from_value(a.stage_approvers.clone()).map_err(anyhow::Error::from)?;
        let decider = deciders
            .first()
            .copied()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stage {} has no decider", a.current_stage)))?;
        let user = users::get(db, decider).await?;
        let role = user.role;
        let input = approvals::DecisionInput { stage: a.current_stage, decision: Decision::Approve, comment: None };
        let actor = Actor { id: Some(user.id), label: user.email.clone() };
        crate::app::decisions::decide(db, now, (&actor, role), approval_id, &input, rules, Language::Es).await?;
    }
    engagement::Entity::find_by_id(engagement_id).one(db).await?.ok_or(AppError::NotFound)
}

/// Dates are relative to `now`, so the demo stays current: the main engagement started eleven
/// months ago and runs for eighteen, the second one starts next month.
pub async fn load(db: &DatabaseConnection, now: DateTime<Utc>, rules: &WriteRules) -> anyhow::Result<String> {
    let result = load_inner(db, now, rules).await;
    result.map_err(|e| anyhow::anyhow!("loading the demo: {e}"))
}

async fn load_inner(db: &DatabaseConnection, now: DateTime<Utc>, rules: &WriteRules) -> Result<String, AppError> {
    let growth = rules.max_yearly_growth;
    if users::find_by_email(db, ACCOUNTS[0].0).await?.is_some() {
        let complete = match vendors::find_by_name(db, VENDOR).await? {
            Some(v) => engagements::count_for_vendor(db, v.id).await? == 2,
            None => false,
        };
        if !complete {
            return Err(AppError::Internal(anyhow::anyhow!(
                "an earlier demo load stopped half-way; start again from an empty database"
            )));
        }
        return Ok(format!("The demo is already loaded.\n{}", credentials()));
    }
    let today = now.with_timezone(&chrono_tz::Europe::Madrid).date_naive();
    let actor = Actor::system("demo");
    let vendor = vendors::create(
        db,
        now,
        &actor,
        VendorInput {
            name: VENDOR.into(),
            legal_name: Some("Marea Comunicación Digital S.L.".into()),
            tax_id: Some("B87654321".into()),
            website: Some("https://marea.example".into()),
            contacts: vec![
                Contact {
                    name: "Lucía Navarro".into(),
                    email: "lucia@marea.example".into(),
                    phone: Some("+34 910 000 111".into()),
                    role: Some("Directora de cuentas".into()),
                },
                Contact {
                    name: "Pablo Gil".into(),
                    email: "pablo@marea.example".into(),
                    phone: None,
                    role: Some("Community manager".into()),
                },
            ],
            notes: Some("Agencia seleccionada en el concurso de 2025.".into()),
        },
    )
    .await?;
    let mut ids = Vec::new();
    for (email, name, role, password) in ACCOUNTS {
        let created = users::create(
            db,
            now,
            &actor,
            NewUserInput {
                email: email.into(),
                name: name.into(),
                role,
                vendor_id: (role == Role::Vendor).then_some(vendor.id),
                language: Language::Es,
                timezone: "Europe/Madrid".into(),
                password: Some(password.into()),
            },
        )
        .await?;
        ids.push(created.user.id);
    }
    let (lead, executive, agency) = (ids[1], ids[2], ids[3]);

    let community = engagements::create(
        db,
        now,
        &actor,
        EngagementInput {
            vendor_id: vendor.id,
            title: "Gestión de comunidad y contenidos".into(),
            brief: BriefInput {
                want: "Más conversación con clientas y clientes de 25 a 45 años y una atención en redes que responda el mismo día.".into(),
                can_be_done: "Instagram, Facebook y TikTok con calendario editorial mensual; atención al cliente en horario comercial; informe mensual.".into(),
                budget_minor: Some(700_000),
            },
            confidentiality: Confidentiality::Internal,
            monthly_fee_minor: 650_000,
            currency: "EUR".into(),
            start_date: month_start(today, -11)?,
            end_date: month_start(today, 7)?.pred_opt().unwrap_or(today),
            timezone: "Europe/Madrid".into(),
            cadence: Cadence::Monthly,
            due_offset_days: 5,
            owner_id: Some(lead),
        },
    )
    .await?;
    for item in [
        scope_item(
            ScopeFunction::ListeningMonitoring,
            "Escucha activa de la marca y la competencia",
            &["Informe semanal de menciones", "Alerta inmediata de crisis"],
            Some(4),
        ),
        scope_item(
            ScopeFunction::ContentCreation,
            "Contenidos para Instagram, Facebook y TikTok",
            &["Calendario editorial mensual", "Publicaciones y stories"],
            Some(40),
        ),
        scope_item(
            ScopeFunction::CommunityDynamization,
            "Dinamización de la comunidad y colaboraciones",
            &["Dos acciones con creadores al mes"],
            Some(2),
        ),
        scope_item(
            ScopeFunction::CustomerCare,
            "Atención al cliente en redes sociales",
            &["Respuesta en horario comercial", "Escalado de incidencias a tiendas"],
            None,
        ),
        scope_item(
            ScopeFunction::Reporting,
            "Informe mensual contra los KPI acordados",
            &["Informe mensual", "Reunión de seguimiento"],
            Some(1),
        ),
    ] {
        scope::create(db, now, &actor, &community, item).await?;
    }
    for k in [
        kpi(
            "Tasa de engagement Instagram",
            "Aumentar la conversación con clientes de 25 a 45 años",
            KpiUnit::Percent,
            KpiDirection::HigherIsBetter,
            [2.1, 3.0, 2.6, 2.2],
            Aggregation::Average,
            &[Channel::Instagram],
        ),
        kpi(
            "Alcance mensual",
            "Dar a conocer la nueva colección",
            KpiUnit::Count,
            KpiDirection::HigherIsBetter,
            [380_000.0, 500_000.0, 450_000.0, 400_000.0],
            Aggregation::Sum,
            &[Channel::Instagram, Channel::Facebook, Channel::Tiktok],
        ),
        kpi(
            "Tiempo medio de primera respuesta",
            "Atención al cliente ágil en redes",
            KpiUnit::Hours,
            KpiDirection::LowerIsBetter,
            [9.0, 2.0, 4.0, 8.0],
            Aggregation::Average,
            &[],
        ),
        kpi(
            "Menciones negativas sin respuesta",
            "Proteger la reputación de la marca",
            KpiUnit::Count,
            KpiDirection::LowerIsBetter,
            [40.0, 15.0, 20.0, 30.0],
            Aggregation::Sum,
            &[],
        ),
        kpi(
            "Tráfico web desde redes",
            "Llevar tráfico cualificado a la tienda online",
            KpiUnit::Count,
            KpiDirection::HigherIsBetter,
            [42_000.0, 60_000.0, 52_000.0, 45_000.0],
            Aggregation::Sum,
            &[Channel::Instagram, Channel::Facebook],
        ),
        kpi(
            "Conversiones atribuidas a redes",
            "Ventas online atribuibles a redes sociales",
            KpiUnit::Count,
            KpiDirection::HigherIsBetter,
            [310.0, 420.0, 370.0, 330.0],
            Aggregation::Sum,
            &[],
        ),
        KpiInput {
            allow_negative: true,
            ratio_of: None,
            ..kpi(
                "Sentimiento neto",
                "Mejorar la percepción de la marca",
                KpiUnit::Score,
                KpiDirection::HigherIsBetter,
                [18.0, 25.0, 20.0, 12.0],
                Aggregation::Last,
                &[],
            )
        },
        kpi(
            "Publicaciones aprobadas a tiempo",
            "Cumplir el calendario editorial acordado",
            KpiUnit::Percent,
            KpiDirection::HigherIsBetter,
            [85.0, 95.0, 90.0, 80.0],
            Aggregation::Average,
            &[],
        ),
    ] {
        kpis::system::create(db, now, &actor, &community, k, growth).await?;
    }
    for (user_id, team_role) in
        [(lead, TeamRole::Lead), (executive, TeamRole::Executive), (agency, TeamRole::AgencyContact)]
    {
        team::add(db, now, &actor, &community, TeamMemberInput { user_id, team_role }).await?;
    }
    activate(db, now, community.id, Some("Contrato firmado".into()), rules).await?;
    report_history(db, now, &community, (lead, ACCOUNTS[1].0), (agency, ACCOUNTS[3].0), rules).await?;
    content_calendar(db, now, &community, (lead, ACCOUNTS[1].0), (agency, ACCOUNTS[3].0), rules).await?;
    incident_history(db, now, &community, (lead, ACCOUNTS[1].0), (agency, ACCOUNTS[3].0), rules).await?;

    let crisis = engagements::create(
        db,
        now,
        &actor,
        EngagementInput {
            vendor_id: vendor.id,
            title: "Escucha y respuesta ante crisis de reputación".into(),
            brief: BriefInput {
                want: "Detectar a tiempo cualquier crisis de reputación y responder con una voz coordinada.".into(),
                can_be_done: "Monitorización 24/7 y protocolo de crisis con el equipo legal y de comunicación.".into(),
                budget_minor: Some(300_000),
            },
            confidentiality: Confidentiality::Confidential,
            monthly_fee_minor: 280_000,
            currency: "EUR".into(),
            start_date: month_start(today, 1)?,
            end_date: month_start(today, 13)?.pred_opt().unwrap_or(today),
            timezone: "Europe/Madrid".into(),
            cadence: Cadence::Quarterly,
            due_offset_days: 10,
            owner_id: Some(lead),
        },
    )
    .await?;
    for item in [
        scope_item(
            ScopeFunction::ListeningMonitoring,
            "Monitorización 24/7 de menciones de riesgo",
            &["Alerta en menos de 30 minutos"],
            None,
        ),
        scope_item(
            ScopeFunction::CrisisResponse,
            "Protocolo y gabinete de crisis",
            &["Protocolo revisado", "Simulacro trimestral"],
            Some(1),
        ),
    ] {
        scope::create(db, now, &actor, &crisis, item).await?;
    }
    for k in [
        kpi(
            "Tiempo de detección de crisis",
            "Detectar las crisis antes de que escalen",
            KpiUnit::Minutes,
            KpiDirection::LowerIsBetter,
            [90.0, 30.0, 45.0, 60.0],
            Aggregation::Average,
            &[],
        ),
        kpi(
            "Seguidores TikTok",
            "Presencia de marca entre público joven",
            KpiUnit::Count,
            KpiDirection::HigherIsBetter,
            [2_000.0, 200_000.0, 150_000.0, 100_000.0],
            Aggregation::Last,
            &[Channel::Tiktok],
        ),
        kpi(
            "Simulacros realizados",
            "Equipo preparado ante una crisis",
            KpiUnit::Count,
            KpiDirection::HigherIsBetter,
            [0.0, 1.0, 1.0, 0.0],
            Aggregation::Sum,
            &[],
        ),
    ] {
        kpis::system::create(db, now, &actor, &crisis, k, growth).await?;
    }
    team::add(db, now, &actor, &crisis, TeamMemberInput { user_id: lead, team_role: TeamRole::Lead }).await?;
    team::add(db, now, &actor, &crisis, TeamMemberInput { user_id: agency, team_role: TeamRole::AgencyContact })
        .await?;
    engagements::transition(
        db,
        now,
        &actor,
        crisis.id,
        Transition::Submit,
        Some("Pendiente de aprobación de dirección".into()),
        rules,
    )
    .await?;

    Ok(format!("Demo loaded: {VENDOR}, two engagements, eleven KPIs.\n{}", credentials()))
}
