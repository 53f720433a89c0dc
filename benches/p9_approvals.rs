//! P9 "approval throughput": 1,000 content items, all in flight at once, each through a
//! two-stage workflow over HTTP (stage 1: two leads, quorum "any"; stage 2: the executive).
//! At stage 1 both leads decide at the same moment, so every item also exercises the race
//! that must give exactly one transition (one 200, one 409). Prints accepted decisions per
//! second and the latency quantiles of every decision request, and checks afterwards that
//! every approval is approved with exactly two decisions and two audited transitions.
//!
//! Pass: zero errors (any answer but the expected ones) and zero double transitions.
//!
//! Run: `cargo bench --bench p9_approvals` (SQLite), and with
//! `VEEDOR_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` for PostgreSQL too.

mod common;

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use common::{Backend, ScratchDb, Server, Verdict, history};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use veedor::{
    app::{
        approvals::{self, CrisisRules},
        content, team,
    },
    db::{
        audit::Actor,
        entity::{approval, approval_decision, audit_event, engagement},
    },
    domain::{
        approval::{Approver, Quorum, Stage, SubjectKind, WorkflowInput},
        content::ContentInput,
        enums::{Channel, Role, TeamRole},
        team::TeamMemberInput,
    },
};

const ENGAGEMENTS: usize = 10;
const ITEMS_PER_ENGAGEMENT: usize = 100;

#[tokio::main]
async fn main() -> ExitCode {
    println!(
        "P9 approval throughput: {} content items in flight, two-stage workflow, racing approvers",
        ENGAGEMENTS * ITEMS_PER_ENGAGEMENT
    );
    common::print_machine();
    common::on_every_backend("p9_approvals", measure).await
}

struct Flow {
    approval: Uuid,
    leads: [String; 2],
    executive: String,
}

fn role(team_role: TeamRole) -> Approver {
    Approver::TeamRole { team_role }
}

async fn setup(server: &Server) -> anyhow::Result<Vec<Flow>> {
    let state = &server.state;
    let owner = common::user_with_token(state, Role::Lead).await?;
    let seeded =
        history::seed(state, owner.id, history::HistorySpec { engagements: ENGAGEMENTS, kpis: 1, weeks: 1 }).await?;
    let actor = Actor::system("bench");
    let now = Utc::now();
    let rules = CrisisRules { approver_roles: vec![], sla_factor: 0.5 };
    let workflow = WorkflowInput {
        stages: vec![
            Stage {
                name: "Community".into(),
                preset: None,
                approvers: vec![role(TeamRole::Lead)],
                quorum: Quorum::Any,
                sla_hours: 24,
                escalation: Some(role(TeamRole::Executive)),
            },
            Stage {
                name: "Dirección".into(),
                preset: None,
                approvers: vec![role(TeamRole::Executive)],
                quorum: Quorum::Any,
                sla_hours: 48,
                escalation: None,
            },
        ],
    };
    let started = Instant::now();
    let mut flows = Vec::new();
    for id in &seeded.engagements {
        let e = engagement::Entity::find_by_id(*id).one(&state.db).await?.ok_or_else(|| anyhow::anyhow!("gone"))?;
        let leads =
            [common::user_with_token(state, Role::Lead).await?, common::user_with_token(state, Role::Lead).await?];
        let executive = common::user_with_token(state, Role::Executive).await?;
        for (user_id, team_role) in
            [(leads[0].id, TeamRole::Lead), (leads[1].id, TeamRole::Lead), (executive.id, TeamRole::Executive)]
        {
            team::add(&state.db, now, &actor, &e, TeamMemberInput { user_id, team_role })
                .await
                .map_err(|e| anyhow::anyhow!("team: {e:?}"))?;
        }
        approvals::set_workflow(&state.db, now, &actor, &e, SubjectKind::Content, workflow.clone())
            .await
            .map_err(|e| anyhow::anyhow!("workflow: {e:?}"))?;
        for i in 0..ITEMS_PER_ENGAGEMENT {
            let input = ContentInput {
                channel: Channel::Instagram,
                body: format!("Publicación {i}: novedades de la semana en tienda y en línea"),
                media_url: Some("https://cdn.brisa.example/semana.jpg".into()),
                planned_at: now + chrono::Duration::days(7),
            };
            let item = content::system::propose(&state.db, now, &Actor::system("agency"), e.id, input, &rules)
                .await
                .map_err(|e| anyhow::anyhow!("content: {e:?}"))?;
            flows.push(Flow {
                approval: item.approval_id.ok_or_else(|| anyhow::anyhow!("no approval"))?,
                leads: [leads[0].secret.clone(), leads[1].secret.clone()],
                executive: executive.secret.clone(),
            });
        }
    }
    println!("set up {} pending approvals in {:.1} s", flows.len(), started.elapsed().as_secs_f64());
    Ok(flows)
}

#[derive(Default)]
struct Tally {
    accepted: u64,
    lost_races: u64,
    errors: Vec<String>,
    latencies: Vec<Duration>,
}

async fn decide(
    client: &reqwest::Client,
    server: &Server,
    approval: Uuid,
    token: &str,
    stage: i32,
) -> anyhow::Result<(u16, Duration)> {
    let sent = Instant::now();
    let r = client
        .post(server.url(&format!("/api/v1/approvals/{approval}/decisions")))
        .bearer_auth(token)
        .json(&json!({ "stage": stage, "decision": "approve" }))
        .send()
        .await?;
    let status = r.status().as_u16();
    r.bytes().await?;
    Ok((status, sent.elapsed()))
}

async fn flow(client: reqwest::Client, server: Arc<Server>, f: Flow) -> Tally {
    let mut t = Tally::default();
    let (a, b) = tokio::join!(
        decide(&client, &server, f.approval, &f.leads[0], 0),
        decide(&client, &server, f.approval, &f.leads[1], 0)
    );
    let mut won = 0;
    for r in [a, b] {
        match r {
            Ok((200, d)) => {
                won += 1;
                t.accepted += 1;
                t.latencies.push(d);
            }
            Ok((409, d)) => {
                t.lost_races += 1;
                t.latencies.push(d);
            }
            Ok((s, _)) => t.errors.push(format!("stage 1 answered {s}")),
            Err(e) => t.errors.push(format!("stage 1: {e}")),
        }
    }
    if won != 1 {
        t.errors.push(format!("approval {}: {won} winners at stage 1", f.approval));
        return t;
    }
    match decide(&client, &server, f.approval, &f.executive, 1).await {
        Ok((200, d)) => {
            t.accepted += 1;
            t.latencies.push(d);
        }
        Ok((s, _)) => t.errors.push(format!("stage 2 answered {s}")),
        Err(e) => t.errors.push(format!("stage 2: {e}")),
    }
    t
}

async fn measure(backend: &Backend, scratch: &ScratchDb, verdict: &mut Verdict) -> anyhow::Result<()> {
    let server = Arc::new(Server::start(scratch.url()).await?);
    let flows = setup(&server).await?;
    let items = flows.len();
    let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(2 * items).build()?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for f in flows {
        tasks.spawn(flow(client.clone(), server.clone(), f));
    }
    let mut total = Tally::default();
    while let Some(t) = tasks.join_next().await {
        let t = t?;
        total.accepted += t.accepted;
        total.lost_races += t.lost_races;
        total.errors.extend(t.errors);
        total.latencies.extend(t.latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    total.latencies.sort_unstable();
    let q = |p: f64| total.latencies[((total.latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    let rate = total.accepted as f64 / seconds;
    println!(
        "{} accepted decisions ({} lost races) in {seconds:.2} s: {rate:.0} decisions/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        total.accepted,
        total.lost_races,
        q(0.5),
        q(0.99),
        q(1.0)
    );

    // Afterwards: every content approval approved by exactly two decisions, two audited
    // transitions. Only the content items' approvals count: the fixture's engagements were
    // activated through approvals of their own before the run.
    let db = &server.state.db;
    let content = approval::Entity::find().filter(approval::Column::SubjectKind.eq("content"));
    let approved = content.clone().filter(approval::Column::Status.eq("approved")).count(db).await?;
    let ids: Vec<Uuid> = content.all(db).await?.into_iter().map(|a| a.id).collect();
    let decisions = approval_decision::Entity::find()
        .filter(approval_decision::Column::ApprovalId.is_in(ids.clone()))
        .count(db)
        .await?;
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("approval.decide"))
        .filter(audit_event::Column::ObjectId.is_in(ids.iter().map(Uuid::to_string)))
        .count(db)
        .await?;
    println!("afterwards: {approved} approved approvals, {decisions} decisions, {audited} audited transitions");
    let doubles = (decisions as usize).saturating_sub(2 * items) + (audited as usize).saturating_sub(2 * items);
    if let Some(first) = total.errors.first() {
        println!("first error: {first}");
    }
    let name = backend.name();
    verdict.check(
        &format!("{name} approvals: {rate:.0} decisions/s, p99 {:.1} ms", q(0.99)),
        format!("{} errors", total.errors.len()),
        "0 errors",
        total.errors.is_empty() && approved as usize == items,
    );
    verdict.check(
        &format!("{name} double transitions"),
        format!("{doubles} ({} lost races answered 409)", total.lost_races),
        "0",
        doubles == 0 && decisions as usize == 2 * items && total.lost_races as usize == items,
    );
    match Arc::try_unwrap(server) {
        Ok(server) => server.stop().await?,
        Err(_) => anyhow::bail!("the server is still shared"),
    }
    Ok(())
}
