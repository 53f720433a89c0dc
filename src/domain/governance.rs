//! The governance rules of SPEC §1 that decide whether an engagement may become active, and
//! the warnings that accompany it.
//!
//! A finding is a kind (`code`) with parameters (`params`: the KPI's name, the factors, the
//! workflow stage and team role concerned); pages word it from the catalogue in the reader's
//! language (`gov.finding.<code>`), and the audit log records the kind and parameters only.
//! `message` is the English sentence for API clients and logs.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    approval::SubjectKind,
    enums::{KpiDirection, Role, TeamRole},
    kpi,
};

/// One governance observation about an engagement.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Finding {
    /// The field or part of the engagement concerned, e.g. `owner_id` or `kpis[2].target`.
    pub field: String,
    pub code: String,
    /// What the finding is about, to word it: `kpi`, `factor`, `plausible`, `kind`, `stage`,
    /// `team_role`, as the code needs.
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, serde_json::Value>,
    pub message: String,
}

impl Finding {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), params: BTreeMap::new(), message: message.into() }
    }

    /// Adds a parameter.
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// What the audit log keeps of a finding: its kind and parameters, no sentence.
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({ "field": self.field, "code": self.code, "params": self.params })
    }
}

/// The team roles an approval workflow's stage asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFacts {
    pub kind: SubjectKind,
    /// Zero-based position in the workflow.
    pub index: usize,
    pub team_roles: Vec<TeamRole>,
}

/// Blockers prevent activation; warnings are shown and recorded but do not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct GovernanceReport {
    pub blockers: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OwnerFacts {
    pub role: Role,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiFacts {
    pub id: Uuid,
    pub name: String,
    pub objective: String,
    pub direction: KpiDirection,
    pub baseline: Option<f64>,
    pub target: f64,
}

/// Everything the rules look at.
#[derive(Debug, Clone, PartialEq)]
pub struct EngagementFacts {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub owner: Option<OwnerFacts>,
    /// Global roles of the team's members.
    pub team_roles: Vec<Role>,
    /// The team roles the members hold on the engagement.
    pub held_roles: Vec<TeamRole>,
    /// The stages of the engagement's approval workflows.
    pub stages: Vec<StageFacts>,
    pub kpis: Vec<KpiFacts>,
    pub scope_items: usize,
}

pub fn assess(facts: &EngagementFacts, today: NaiveDate, max_yearly_growth: f64) -> GovernanceReport {
    let mut report = GovernanceReport::default();
    let blocker = |r: &mut GovernanceReport, field: &str, code: &str, msg: &str| {
        r.blockers.push(Finding::new(field, code, msg));
    };
    match &facts.owner {
        None => blocker(
            &mut report,
            "owner_id",
            "owner_required",
            "an engagement needs an internal owner before it becomes active",
        ),
        Some(o) if !matches!(o.role, Role::Lead | Role::Admin) => {
            blocker(&mut report, "owner_id", "owner_not_internal_lead", "the internal owner must be a lead or an admin")
        }
        Some(o) if !o.active => {
            blocker(&mut report, "owner_id", "owner_inactive", "the internal owner's account is disabled")
        }
        Some(_) => {}
    }
    if facts.scope_items == 0 {
        blocker(&mut report, "scope", "scope_required", "the scope must be written down before activation");
    }
    if facts.kpis.is_empty() {
        blocker(&mut report, "kpis", "kpi_required", "at least one KPI must be agreed before activation");
    }
    for (i, k) in facts.kpis.iter().enumerate() {
        if k.objective.trim().is_empty() {
            report.blockers.push(
                Finding::new(
                    format!("kpis[{i}].objective"),
                    "objective_required",
                    format!("KPI “{}” does not name the objective it serves", k.name),
                )
                .with("kpi", k.name.clone()),
            );
        }
    }
    if facts.end_date < today {
        blocker(&mut report, "end_date", "term_over", "the contract term has already ended");
    }
    if !facts.team_roles.contains(&Role::Executive) {
        report.warnings.push(Finding::new(
            "team",
            "no_executive",
            "the oversight team has no executive: decisions lack management backing",
        ));
    }
    let term_days = (facts.end_date - facts.start_date).num_days();
    for (i, k) in facts.kpis.iter().enumerate() {
        if let Some(flag) = kpi::realism(k.direction, k.baseline, k.target, term_days, max_yearly_growth) {
            let finding = Finding::new(
                format!("kpis[{i}].target"),
                match flag.issue {
                    kpi::RealismIssue::ImplausibleGrowth => "implausible_target",
                    kpi::RealismIssue::NoBaseline => "no_baseline",
                },
                format!("KPI “{}”: {}", k.name, flag.message),
            )
            .with("kpi", k.name.clone())
            .with("plausible", flag.plausible_factor);
            report.warnings.push(match flag.implied_factor {
                Some(f) => finding.with("factor", f),
                None => finding,
            });
        }
    }
    // One warning per team role that stages ask for and nobody holds, naming its stages.
    let mut empty: Vec<(TeamRole, Vec<&StageFacts>)> = Vec::new();
    for stage in &facts.stages {
        for role in stage.team_roles.iter().filter(|r| !facts.held_roles.contains(r)) {
            match empty.iter_mut().find(|(r, _)| r == role) {
                Some((_, stages)) => stages.push(stage),
                None => empty.push((*role, vec![stage])),
            }
        }
    }
    for (role, stages) in empty {
        let named: Vec<String> = stages.iter().map(|s| format!("{} stage {}", s.kind, s.index + 1)).collect();
        let listed: Vec<serde_json::Value> =
            stages.iter().map(|s| serde_json::json!({ "kind": s.kind.to_string(), "stage": s.index + 1 })).collect();
        report.warnings.push(
            Finding::new(
                "team",
                "stage_role_empty",
                format!(
                    "nobody on the team holds the team role {role}, which approves: {}; those stages fall to the owner or an admin",
                    named.join(", ")
                ),
            )
            .with("team_role", role.to_string())
            .with("stages", listed),
        );
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> EngagementFacts {
        EngagementFacts {
            start_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            owner: Some(OwnerFacts { role: Role::Lead, active: true }),
            team_roles: vec![Role::Lead, Role::Executive],
            held_roles: vec![TeamRole::Lead, TeamRole::Executive],
            stages: vec![StageFacts { kind: SubjectKind::Report, index: 0, team_roles: vec![TeamRole::Lead] }],
            kpis: vec![KpiFacts {
                id: Uuid::from_u128(1),
                name: "Tasa de respuesta".into(),
                objective: "Atención al cliente ágil".into(),
                direction: KpiDirection::HigherIsBetter,
                baseline: Some(60.0),
                target: 90.0,
            }],
            scope_items: 2,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn codes(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn a_complete_engagement_has_nothing_to_report() {
        assert_eq!(assess(&ready(), today(), 3.0), GovernanceReport::default());
    }

    #[test]
    fn activation_requires_an_internal_owner_who_is_a_lead_or_admin() {
        let r = assess(&EngagementFacts { owner: None, ..ready() }, today(), 3.0);
        assert_eq!(codes(&r.blockers), ["owner_required"]);
        for role in [Role::Executive, Role::Vendor] {
            let r =
                assess(&EngagementFacts { owner: Some(OwnerFacts { role, active: true }), ..ready() }, today(), 3.0);
            assert_eq!(codes(&r.blockers), ["owner_not_internal_lead"], "{role}");
        }
        let admin = assess(
            &EngagementFacts { owner: Some(OwnerFacts { role: Role::Admin, active: true }), ..ready() },
            today(),
            3.0,
        );
        assert!(admin.blockers.is_empty());
        let disabled = assess(
            &EngagementFacts { owner: Some(OwnerFacts { role: Role::Lead, active: false }), ..ready() },
            today(),
            3.0,
        );
        assert_eq!(codes(&disabled.blockers), ["owner_inactive"]);
    }

    #[test]
    fn scope_and_kpis_with_objectives_come_first() {
        let r = assess(&EngagementFacts { scope_items: 0, kpis: vec![], ..ready() }, today(), 3.0);
        assert_eq!(codes(&r.blockers), ["scope_required", "kpi_required"]);
        let mut facts = ready();
        facts.kpis[0].objective = " ".into();
        let r = assess(&facts, today(), 3.0);
        assert_eq!(r.blockers[0].field, "kpis[0].objective");
    }

    #[test]
    fn a_term_in_the_past_blocks() {
        let r = assess(&ready(), NaiveDate::from_ymd_opt(2028, 1, 1).unwrap(), 3.0);
        assert_eq!(codes(&r.blockers), ["term_over"]);
    }

    #[test]
    fn missing_executive_and_implausible_targets_only_warn() {
        let mut facts = ready();
        facts.team_roles = vec![Role::Lead, Role::Vendor];
        facts.kpis[0].target = 6_000.0;
        let r = assess(&facts, today(), 3.0);
        assert!(r.blockers.is_empty());
        assert_eq!(codes(&r.warnings), ["no_executive", "implausible_target"]);
        assert_eq!(r.warnings[1].field, "kpis[0].target");
        let params = &r.warnings[1].params;
        assert_eq!(params["kpi"], "Tasa de respuesta");
        assert!(params["factor"].as_f64().unwrap() > params["plausible"].as_f64().unwrap());
        assert!(!r.warnings[1].record().to_string().contains("implies"), "the audit keeps no sentence");
    }

    #[test]
    fn a_team_role_that_stages_ask_for_and_nobody_holds_warns_once_with_its_stages() {
        let mut facts = ready();
        facts.stages.push(StageFacts {
            kind: SubjectKind::Content,
            index: 1,
            team_roles: vec![TeamRole::Legal, TeamRole::Lead],
        });
        facts.stages.push(StageFacts { kind: SubjectKind::Amendment, index: 0, team_roles: vec![TeamRole::Legal] });
        let r = assess(&facts, today(), 3.0);
        assert!(r.blockers.is_empty());
        assert_eq!(codes(&r.warnings), ["stage_role_empty"]);
        let w = &r.warnings[0];
        assert_eq!(w.params["team_role"], "legal");
        assert_eq!(
            w.params["stages"],
            serde_json::json!([{ "kind": "content", "stage": 2 }, { "kind": "amendment", "stage": 1 }])
        );
    }
}
