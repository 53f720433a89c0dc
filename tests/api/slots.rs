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
            veedor::store::slots::claim(&db, "evaluate_alerts", due, &format!("replica-{replica}"), now).await.unwrap()
        });
    }
    let won = claims.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
    let db = &app.state.db;
    assert!(!veedor::store::slots::claim(db, "evaluate_alerts", due, "late", now).await.unwrap());
    assert!(veedor::store::slots::claim(db, "digests", due, "other-job", now).await.unwrap(), "slots are per job");
    veedor::store::slots::finish(db, "evaluate_alerts", due, now, "ok").await.unwrap();
    assert_eq!(veedor::store::slots::last_claimed(db, "evaluate_alerts").await.unwrap(), Some(due));
    let next = due + chrono::Duration::minutes(1);
    assert!(veedor::store::slots::claim(db, "evaluate_alerts", next, "replica-0", now).await.unwrap());
}
