//! The domain's closed vocabularies as column types. Each is stored as its snake_case name
//! in a text column (the same on SQLite and PostgreSQL, so no `CREATE TYPE`), and read back into
//! the enum by the entity itself: a value the code does not know fails the query with the
//! column's type named, instead of reaching a use case as a string.
//!
//! The domain stays free of the ORM: these are the trait impls `DeriveValueType` would write,
//! kept here, beside the entities that use them.

use crate::domain::alert::{AlertRule, AlertSeverity, AlertState};
use crate::domain::amendment::AmendmentStatus;
use crate::domain::approval::{ApprovalStatus, Decision, SubjectKind};
use crate::domain::content::ContentStatus;
use crate::domain::digest::CadenceKind;
use crate::domain::enums::{
    Aggregation, Cadence, Channel, Confidentiality, EngagementStatus, KpiDirection, KpiUnit, Language, Role,
    ScopeFunction, TeamRole,
};
use crate::domain::evaluation::{Breach, Status};
use crate::domain::incident::{IncidentSeverity, IncidentStatus, UpdateKind};
use crate::domain::outbox::NotificationStatus;
use crate::domain::report::{ReportStatus, ReviewDecision, Severity, SignalCategory};

/// Implements the column-type traits for enums that convert to and from their stored name
/// (`AsRef<str>` and `FromStr`, which `domain::enums::string_enum!` derives).
macro_rules! stored_as_text {
    ($($name:ty),+ $(,)?) => {$(
        impl From<$name> for sea_orm::Value {
            fn from(source: $name) -> Self {
                sea_orm::Value::String(Some(AsRef::<str>::as_ref(&source).to_owned()))
            }
        }

        impl sea_orm::TryGetable for $name {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let text = String::try_get_by(res, idx)?;
                text.parse().map_err(|err: strum::ParseError| {
                    sea_orm::TryGetError::DbErr(sea_orm::DbErr::TryIntoErr {
                        from: "String",
                        into: stringify!($name),
                        source: std::sync::Arc::new(Unknown { value: text, err }),
                    })
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $name {
            fn try_from(value: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let text = <String as sea_orm::sea_query::ValueType>::try_from(value)?;
                text.parse().map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($name).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::String(sea_orm::sea_query::StringLen::None)
            }
        }

        impl sea_orm::sea_query::Nullable for $name {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $name {}
    )+};
}

stored_as_text!(
    AlertRule,
    AlertSeverity,
    AlertState,
    AmendmentStatus,
    ApprovalStatus,
    Decision,
    SubjectKind,
    ContentStatus,
    CadenceKind,
    Aggregation,
    Cadence,
    Channel,
    Confidentiality,
    EngagementStatus,
    KpiDirection,
    KpiUnit,
    Language,
    Role,
    ScopeFunction,
    TeamRole,
    Breach,
    Status,
    IncidentSeverity,
    IncidentStatus,
    UpdateKind,
    NotificationStatus,
    ReportStatus,
    ReviewDecision,
    Severity,
    SignalCategory,
);

/// A stored value that is not one of its enum's names: a broken row, reported with the value.
#[derive(Debug)]
struct Unknown {
    value: String,
    err: strum::ParseError,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stored value {:?} is not a known name ({})", self.value, self.err)
    }
}

impl std::error::Error for Unknown {}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, Statement};

    use super::*;

    async fn read<T: sea_orm::TryGetable>(stored: &str) -> Result<T, sea_orm::DbErr> {
        let db = Database::connect("sqlite::memory:").await?;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(db.get_database_backend(), "SELECT $1 AS v", [stored.into()]))
            .await?
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound("row".into()))?;
        row.try_get("", "v")
    }

    #[tokio::test]
    async fn a_stored_name_reads_back_as_its_variant() {
        assert_eq!(read::<ReportStatus>("changes_requested").await.ok(), Some(ReportStatus::ChangesRequested));
        assert_eq!(read::<AlertRule>("kpi_breach").await.ok(), Some(AlertRule::KpiBreach));
        assert_eq!(sea_orm::Value::from(EngagementStatus::PendingApproval), "pending_approval".into());
    }

    #[tokio::test]
    async fn an_unknown_stored_name_fails_the_read_naming_type_and_value() {
        let err = read::<ReportStatus>("archived").await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("ReportStatus") && err.contains("\"archived\""), "{err}");
    }
}
