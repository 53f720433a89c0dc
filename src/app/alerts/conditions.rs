//! The conditions of SPEC §4's rules: for each rule, the candidates (what would fire now)
//! read from the stored facts of a scope (one engagement, or every reporting one).

use super::*;
use crate::domain::approval::ApprovalStatus;

/// The engagements a reconciliation covers: reporting ones (active or suspended).
pub(super) async fn engagements_in<C: ConnectionTrait>(db: &C, scope: Scope) -> AppResult<Vec<engagement::Model>> {
    let mut q = engagement::Entity::find().filter(
        engagement::Column::Status
            .is_in([EngagementStatus::Active.to_string(), EngagementStatus::Suspended.to_string()]),
    );
    if let Scope::Engagement(id) = scope {
        q = q.filter(engagement::Column::Id.eq(id));
    }
    Ok(q.order_by_asc(engagement::Column::Id).all(db).await?)
}

/// Every alert whose condition holds now, for `rules` over `scope`.
pub async fn conditions<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    notifier: &Notifier,
    scope: Scope,
    rules: &[AlertRule],
) -> AppResult<Vec<Candidate>> {
    let mut out = Vec::new();
    if rules.contains(&AlertRule::DigestFailed) && scope == Scope::All {
        out.extend(digest_failed(db).await?);
    }
    if rules.iter().all(|r| r.is_operational()) {
        // Only the admins' rules: no engagement needs reading.
        return Ok(out);
    }
    let engagements = engagements_in(db, scope).await?;
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let wants = |r: AlertRule| rules.contains(&r);
    if wants(AlertRule::ReportMissing) {
        out.extend(report_missing(db, now, &engagements).await?);
    }
    if wants(AlertRule::KpiBreach) || wants(AlertRule::ImplausibleTarget) {
        out.extend(
            kpi_rules(db, notifier, &engagements, wants(AlertRule::KpiBreach), wants(AlertRule::ImplausibleTarget))
                .await?,
        );
    }
    if wants(AlertRule::ApprovalOverdue) {
        out.extend(approval_overdue(db, now, &ids).await?);
    }
    if wants(AlertRule::ContractExpiring) {
        out.extend(contract_expiring(db, now, &engagements).await?);
    }
    if wants(AlertRule::IncidentOpened) || wants(AlertRule::IncidentUnacknowledged) {
        out.extend(
            incident_rules(db, now, &ids, wants(AlertRule::IncidentOpened), wants(AlertRule::IncidentUnacknowledged))
                .await?,
        );
    }
    if wants(AlertRule::HighSeveritySignal) {
        out.extend(high_severity_signals(db, &ids).await?);
    }
    Ok(out)
}

/// Digests that could not be built: one alert per subscription, until a digest goes out.
pub(super) async fn digest_failed<C: ConnectionTrait>(db: &C) -> AppResult<Vec<Candidate>> {
    let failing = crate::app::digests::subscriptions::failing(db).await?;
    let users: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(failing.iter().map(|s| s.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(failing
        .into_iter()
        .map(|s| {
            let to = users.get(&s.user_id).cloned().unwrap_or_default();
            let error = s.last_error.clone().unwrap_or_default();
            Candidate {
                key: format!("digest_failed:{}", s.id),
                rule: AlertRule::DigestFailed,
                severity: AlertSeverity::Critical,
                engagement_id: None,
                subject_id: Some(s.id),
                facts: Facts::DigestFailed { to, error },
                phase: None,
            }
        })
        .collect())
}

/// Raises the admins' alert of digests skipped after downtime, in the transaction of the
/// digest run that moved the subscription on past them (so once, whatever the replicas).
pub async fn digest_skipped_in<C: ConnectionTrait>(
    txn: &C,
    now: DateTime<Utc>,
    subscription: Uuid,
    facts: Facts,
) -> AppResult<()> {
    let Facts::DigestSkipped { first_due_at, .. } = &facts else {
        return Err(anyhow::anyhow!("digest_skipped_in takes the facts of a skip").into());
    };
    let key = format!("digest_skipped:{subscription}:{}", first_due_at.timestamp());
    if alert::Entity::find().filter(alert::Column::DedupKey.eq(key.clone())).one(txn).await?.is_some() {
        return Ok(());
    }
    let c = Candidate {
        key,
        rule: AlertRule::DigestSkipped,
        severity: AlertSeverity::Warning,
        engagement_id: None,
        subject_id: Some(subscription),
        facts,
        phase: None,
    };
    new_fired(&c, now).insert(txn).await?;
    // Told at the next evaluation, with the alerts raised outside one.
    Ok(())
}

/// One alert per engagement with missing reports (`Schedule::tally`: the period ended, its
/// due date passed, nothing submitted), naming the latest missing period and how many are
/// missing. Its phase is the latest period ever found missing while the alert fires: a
/// newly missing period is news (everyone is told again); a late report arriving, which
/// makes an earlier period the latest missing one, is not.
pub(super) async fn report_missing<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    engagements: &[engagement::Model],
) -> AppResult<Vec<Candidate>> {
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    let submitted = portfolio::submitted_reports(db, &ids).await?;
    let keys: Vec<String> = ids.iter().map(|id| format!("report_missing:{id}")).collect();
    let mut phases: HashMap<String, NaiveDate> = HashMap::new();
    for chunk in keys.chunks(500) {
        let firing = alert::Entity::find()
            .filter(alert::Column::DedupKey.is_in(chunk.iter().cloned()))
            .filter(alert::Column::State.eq(AlertState::Firing))
            .all(db)
            .await?;
        for a in firing {
            if let Some(phase) = a.facts.get("phase").and_then(|p| p.as_str()).and_then(|p| p.parse().ok()) {
                phases.insert(a.dedup_key, phase);
            }
        }
    }
    let mut out = Vec::new();
    for e in engagements {
        let schedule = crate::app::engagements::schedule(e)?;
        let tally = schedule.tally(submitted.get(&e.id).into_iter().flatten().copied(), now);
        let Some((start, end)) = tally.missing.last().copied() else { continue };
        let due_on = schedule.due_date(end);
        let count = tally.missing.len();
        let key = format!("report_missing:{}", e.id);
        let phase = phases.get(&key).map_or(start, |told| start.max(*told));
        out.push(Candidate {
            key,
            rule: AlertRule::ReportMissing,
            severity: AlertSeverity::Warning,
            engagement_id: Some(e.id),
            subject_id: None,
            facts: Facts::ReportMissing {
                period_start: start,
                period_end: end,
                due_date: due_on,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            },
            // A newly missing period is news; a late report arriving is not.
            phase: Some(json!(phase.to_string())),
        });
    }
    Ok(out)
}

pub(super) async fn kpi_rules<C: ConnectionTrait>(
    db: &C,
    notifier: &Notifier,
    engagements: &[engagement::Model],
    breaches: bool,
    targets: bool,
) -> AppResult<Vec<Candidate>> {
    let ids: Vec<Uuid> = engagements.iter().map(|e| e.id).collect();
    let kpis = kpi::Entity::find().filter(kpi::Column::EngagementId.is_in(ids.clone())).all(db).await?;
    let latest = if breaches { portfolio::latest_values(db, &ids).await? } else { HashMap::new() };
    let by_id: HashMap<Uuid, &engagement::Model> = engagements.iter().map(|e| (e.id, e)).collect();
    let mut out = Vec::new();
    for k in &kpis {
        let Some(e) = by_id.get(&k.engagement_id) else { continue };
        if let Some((period, value)) = latest.get(&k.id) {
            let status = evaluation::status(&thresholds(k)?, Some(*value));
            if status == Status::Red || (notifier.breach_on_amber && status == Status::Amber) {
                let period_end = crate::app::engagements::schedule(e)?
                    .spans()
                    .into_iter()
                    .find(|(start, _)| start == period)
                    .map_or(*period, |(_, end)| end);
                out.push(Candidate {
                    key: format!("kpi_breach:{}", k.id),
                    rule: AlertRule::KpiBreach,
                    severity: AlertSeverity::Warning,
                    engagement_id: Some(e.id),
                    subject_id: Some(k.id),
                    facts: Facts::KpiBreach {
                        kpi: k.name.clone(),
                        value: *value,
                        target: k.target,
                        unit: k.unit,
                        currency: e.currency.clone(),
                        period_start: *period,
                        period_end,
                        status,
                    },
                    phase: None,
                });
            }
        }
        if targets {
            let term_days = (e.end_date - e.start_date).num_days();
            if let Some(flag) = realism(k.direction, k.baseline, k.target, term_days, notifier.max_yearly_growth) {
                out.push(Candidate {
                    key: format!("implausible_target:{}", k.id),
                    rule: AlertRule::ImplausibleTarget,
                    severity: AlertSeverity::Warning,
                    engagement_id: Some(e.id),
                    subject_id: Some(k.id),
                    facts: Facts::ImplausibleTarget {
                        kpi: k.name.clone(),
                        issue: flag.issue,
                        factor: flag.implied_factor,
                    },
                    phase: None,
                });
            }
        }
    }
    Ok(out)
}

pub(super) async fn approval_overdue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    ids: &[Uuid],
) -> AppResult<Vec<Candidate>> {
    let overdue = approval::Entity::find()
        .filter(approval::Column::EngagementId.is_in(ids.iter().copied()))
        .filter(approval::Column::Status.eq(ApprovalStatus::Pending))
        .filter(approval::Column::StageDueAt.lte(now))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for a in overdue {
        let stages: Vec<crate::domain::approval::Stage> =
            serde_json::from_value(a.stages.clone()).map_err(anyhow::Error::from)?;
        let stage = usize::try_from(a.current_stage).ok().and_then(|i| stages.get(i));
        out.push(Candidate {
            key: format!("approval_overdue:{}", a.id),
            rule: AlertRule::ApprovalOverdue,
            severity: AlertSeverity::Warning,
            engagement_id: Some(a.engagement_id),
            subject_id: Some(a.id),
            facts: Facts::ApprovalOverdue {
                subject: Some(crate::app::approvals::label_of(&a)?),
                title: a.title.clone(),
                stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
                preset: stage.and_then(|s| s.preset),
                due_at: a.stage_due_at,
            },
            phase: Some(json!(a.current_stage)),
        });
    }
    Ok(out)
}

/// Days before the end at which a contract is said to expire, from the earliest warning.
pub(super) const EXPIRY_WARNINGS: [i64; 3] = [60, 30, 7];

pub(super) async fn contract_expiring<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    engagements: &[engagement::Model],
) -> AppResult<Vec<Candidate>> {
    let mut out = Vec::new();
    for e in engagements.iter().filter(|e| e.status == EngagementStatus::Active) {
        let tz: Tz = e.timezone.parse().unwrap_or(chrono_tz::UTC);
        let days = (e.end_date - now.with_timezone(&tz).date_naive()).num_days();
        let Some(threshold) = EXPIRY_WARNINGS.iter().rev().find(|t| days <= **t && days >= 0) else { continue };
        let packet = renewal_packet(db, now, e).await?;
        out.push(Candidate {
            key: format!("contract_expiring:{}", e.id),
            rule: AlertRule::ContractExpiring,
            severity: if *threshold <= 7 { AlertSeverity::Critical } else { AlertSeverity::Warning },
            engagement_id: Some(e.id),
            subject_id: None,
            facts: Facts::ContractExpiring {
                end_date: e.end_date,
                days,
                accepted: packet.accepted,
                late: packet.late,
                missing: packet.missing,
                breaches: packet.breaches,
                incidents: packet.incidents,
            },
            phase: Some(json!(threshold)),
        });
    }
    Ok(out)
}

/// How a contract's term went, as its expiry alert tells it.
pub(super) struct RenewalPacket {
    accepted: i64,
    late: i64,
    missing: i64,
    breaches: i64,
    incidents: i64,
}

/// The renewal packet an expiring contract's email carries: how the term went.
pub(super) async fn renewal_packet<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    e: &engagement::Model,
) -> AppResult<RenewalPacket> {
    let ids = [e.id];
    let count = |sql: &'static str| async move {
        let rows = portfolio::query_for(db, sql, &ids).await?;
        let n: i64 = rows.first().map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        Ok::<i64, AppError>(n)
    };
    let accepted =
        count("SELECT COUNT(*) AS n FROM reports WHERE status = 'accepted' AND engagement_id IN ({ids})").await?;

    let breaches =
        count("SELECT COUNT(*) AS n FROM report_values WHERE shown AND status = 'red' AND engagement_id IN ({ids})")
            .await?;
    let incidents = count("SELECT COUNT(*) AS n FROM incidents WHERE engagement_id IN ({ids})").await?;
    // Missing and late by the one definition (`Schedule::tally`), as everywhere else.
    let submitted = portfolio::submitted_reports(db, &ids).await?;
    let tally = crate::app::engagements::schedule(e)?.tally(submitted.get(&e.id).into_iter().flatten().copied(), now);
    Ok(RenewalPacket {
        accepted,
        late: i64::from(tally.late),
        missing: i64::from(tally.missing_count()),
        breaches,
        incidents,
    })
}

pub(super) async fn incident_rules<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    ids: &[Uuid],
    opened: bool,
    unacknowledged: bool,
) -> AppResult<Vec<Candidate>> {
    let open = incident::Entity::find()
        .filter(incident::Column::EngagementId.is_in(ids.iter().copied()))
        .filter(incident::Column::Status.eq(IncidentStatus::Open))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for i in open {
        let severity: IncidentSeverity = i.severity;
        let (title, ack_due_at) = (i.title.clone(), i.ack_due_at);
        if opened {
            out.push(Candidate {
                key: format!("incident_opened:{}", i.id),
                rule: AlertRule::IncidentOpened,
                severity: if severity >= IncidentSeverity::High {
                    AlertSeverity::Critical
                } else {
                    AlertSeverity::Warning
                },
                engagement_id: Some(i.engagement_id),
                subject_id: Some(i.id),
                facts: Facts::IncidentOpened { title: title.clone(), severity, ack_due_at },
                phase: None,
            });
        }
        if unacknowledged && now >= i.ack_due_at {
            out.push(Candidate {
                key: format!("incident_unacknowledged:{}", i.id),
                rule: AlertRule::IncidentUnacknowledged,
                severity: AlertSeverity::Critical,
                engagement_id: Some(i.engagement_id),
                subject_id: Some(i.id),
                facts: Facts::IncidentUnacknowledged { title, severity, ack_due_at },
                phase: None,
            });
        }
    }
    Ok(out)
}

pub(super) async fn high_severity_signals<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<Vec<Candidate>> {
    let rows = portfolio::query_for(
        db,
        "SELECT s.id, s.engagement_id, s.category, s.severity, s.description, r.period_start, r.period_end \
         FROM report_signals s JOIN reports r ON r.id = s.report_id \
         WHERE s.shown AND r.status = 'submitted' AND s.category IN ('risk', 'criticism') \
           AND s.severity IN ('high', 'critical') AND s.engagement_id IN ({ids})",
        ids,
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: Uuid = r.try_get("", "id")?;
        let engagement_id: Uuid = r.try_get("", "engagement_id")?;
        let category: SignalCategory = r.try_get("", "category")?;
        let severity: Severity = r.try_get("", "severity")?;
        let description: String = r.try_get("", "description")?;
        let (start, end): (NaiveDate, NaiveDate) = (r.try_get("", "period_start")?, r.try_get("", "period_end")?);
        out.push(Candidate {
            key: format!("signal:{id}"),
            rule: AlertRule::HighSeveritySignal,
            severity: if severity == Severity::Critical { AlertSeverity::Critical } else { AlertSeverity::Warning },
            engagement_id: Some(engagement_id),
            subject_id: Some(id),
            facts: Facts::HighSeveritySignal { category, severity, description, period_start: start, period_end: end },
            phase: None,
        });
    }
    Ok(out)
}
