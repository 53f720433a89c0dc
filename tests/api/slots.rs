//! Job slots: of replicas claiming the same slot at the same moment, exactly one wins; a
//! slot claimed once is never claimed again.

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_claims_on_one_slot_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let now = app.clock_now();
    let due = veedor::domain::slots::latest_slot(chrono::Duration::minutes(1), now);
    let mut claims = tokio::task::JoinSet::new();
    for replica in 0..8 {
        let db = app.state.db.clone();
        claims.spawn(async move {
            veedor::db::slots::claim(&db, "evaluate_alerts", due, &format!("replica-{replica}"), now).await.unwrap()
        });
    }
    let won = claims.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let db = &app.state.db;
    assert!(!veedor::db::slots::claim(db, "evaluate_alerts", due, "late", now).await.unwrap());
    assert!(veedor::db::slots::claim(db, "digests", due, "other-job", now).await.unwrap(), "slots are per job");
    veedor::db::slots::finish(db, "evaluate_alerts", due, now, "ok").await.unwrap();
    assert_eq!(veedor::db::slots::last_claimed(db, "evaluate_alerts").await.unwrap(), Some(due));
    let next = due + chrono::Duration::minutes(1);
    assert!(veedor::db::slots::claim(db, "evaluate_alerts", next, "replica-0", now).await.unwrap());
}

/// Each slot a replica deals with is counted by what became of it, so that an operator tells
/// a slot another replica ran from one nobody ran: two replicas on one database and clock
/// tick together; one runs the escalations' slot, the other finds it claimed; the daily
/// cleanup's slot of midnight, older than the catch-up window, is missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_tells_a_slot_claimed_elsewhere_from_one_missed() {
    let app = TestApp::spawn_with(|c| {
        c.scheduler_tick_secs = 1;
        c.scheduler_catch_up_secs = 60;
        c.escalation_interval_secs = 60;
        c.cleanup_interval_secs = 86_400;
        c.alert_interval_secs = 0;
        c.digest_interval_secs = 0;
        c.outbox_sweep_secs = 0;
    })
    .await;
    // Noon (and 30 s) two days on: later than anything the first tick may have seen, so both
    // replicas take this slot.
    let day = chrono::Duration::days(1);
    let slot = veedor::domain::slots::latest_slot(day, app.clock_now() + day * 2) + chrono::Duration::hours(12);
    app.clock.set(slot + chrono::Duration::seconds(30));
    app.replica().await;
    let counted = |text: &str, job: &str, outcome: &str| {
        text.lines().any(|l| {
            l.starts_with("veedor_scheduler_runs_total{")
                && l.contains(&format!("job=\"{job}\""))
                && l.contains(&format!("outcome=\"{outcome}\""))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let text = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
        let seen = [("escalations", "ran"), ("escalations", "claimed_elsewhere"), ("cleanup", "missed")]
            .map(|(job, outcome)| counted(&text, job, outcome));
        if seen.iter().all(|s| *s) {
            assert!(!text.contains("outcome=\"skipped\""), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{seen:?}: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let db = &app.state.db;
    assert_eq!(veedor::db::slots::last_claimed(db, "escalations").await.unwrap(), Some(slot));
    assert_eq!(veedor::db::slots::last_claimed(db, "cleanup").await.unwrap(), None, "a missed slot is not run");
}
