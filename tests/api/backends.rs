//! Which database the suite runs on, said out loud. Every test runs on a fresh SQLite file
//! unless `VEEDOR_TEST_DATABASE_URL` names a PostgreSQL server; `.ci/run` runs the suite once
//! on each and sets `VEEDOR_TEST_REQUIRE_POSTGRES=1` for the second run, so that a missing variable
//! fails CI instead of silently testing SQLite twice.

use sea_orm::ConnectionTrait;

use crate::helpers::test_database;

#[tokio::test]
async fn the_suite_says_which_database_it_runs_on() {
    let postgres = std::env::var("VEEDOR_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if std::env::var("VEEDOR_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        assert!(postgres.is_some(), "VEEDOR_TEST_REQUIRE_POSTGRES=1 but VEEDOR_TEST_DATABASE_URL is not set");
    }
    if postgres.is_none() {
        eprintln!(
            "PostgreSQL tests skipped: the suite runs on SQLite files; set \
             VEEDOR_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run it on PostgreSQL"
        );
    }
    let (url, _database) = test_database().await;
    let db = sea_orm::Database::connect(url.as_str()).await.expect("connect to the test database");
    let expected = if postgres.is_some() { sea_orm::DbBackend::Postgres } else { sea_orm::DbBackend::Sqlite };
    assert_eq!(db.get_database_backend(), expected);
    db.execute_unprepared("SELECT 1").await.expect("the database answers");
}
