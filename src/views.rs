//! The API's representations of stored objects: what responses carry and what the audit log
//! records as before/after. Built from entities; secrets (password hashes, token hashes)
//! never appear here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    auth::Identity,
    db::entity::{api_token, engagement, kpi, scope_item, team_member, user, vendor},
    domain::{
        confidentiality::Visibility,
        enums::{
            Aggregation, Cadence, Channel, Confidentiality, EngagementStatus, KpiDirection, KpiUnit, Role,
            ScopeFunction, TeamRole,
        },
        kpi::{RatioOf, RealismFlag},
        vendor::Contact,
    },
};

/// A user account: who they are, plus the state of the account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub identity: Identity,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<&user::Model> for UserView {
    type Error = anyhow::Error;
    fn try_from(m: &user::Model) -> anyhow::Result<Self> {
        Ok(Self {
            identity: Identity::try_from(m)?,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VendorView {
    pub id: Uuid,
    pub name: String,
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
    pub website: Option<String>,
    pub contacts: Vec<Contact>,
    /// The company's notes; not shown to the vendor's own users.
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl VendorView {
    /// The view for `role`: the company's notes about an agency are not shown to the
    /// agency's own people.
    pub fn for_role(m: &vendor::Model, role: Role) -> anyhow::Result<Self> {
        let mut view = Self::try_from(m)?;
        if role == Role::Vendor {
            view.notes = None;
        }
        Ok(view)
    }
}

impl TryFrom<&vendor::Model> for VendorView {
    type Error = anyhow::Error;
    fn try_from(m: &vendor::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            name: m.name.clone(),
            legal_name: m.legal_name.clone(),
            tax_id: m.tax_id.clone(),
            website: m.website.clone(),
            contacts: serde_json::from_value(m.contacts.clone())?,
            notes: m.notes.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BriefView {
    pub want: String,
    pub can_be_done: String,
    /// Left out of the vendor's view.
    pub budget_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EngagementView {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub title: String,
    pub brief: BriefView,
    pub confidentiality: Confidentiality,
    pub monthly_fee_minor: i64,
    pub currency: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub timezone: String,
    pub cadence: Cadence,
    pub due_offset_days: i32,
    pub owner_id: Option<Uuid>,
    pub status: EngagementStatus,
    pub status_changed_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EngagementView {
    pub fn new(m: &engagement::Model, visibility: Visibility) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            vendor_id: m.vendor_id,
            title: m.title.clone(),
            brief: BriefView {
                want: m.brief_want.clone(),
                can_be_done: m.brief_feasible.clone(),
                budget_minor: m.brief_budget_minor.filter(|_| visibility.shows_internal_fields()),
            },
            confidentiality: m.confidentiality,
            monthly_fee_minor: m.monthly_fee_minor,
            currency: m.currency.clone(),
            start_date: m.start_date,
            end_date: m.end_date,
            timezone: m.timezone.clone(),
            cadence: m.cadence,
            due_offset_days: m.due_offset_days,
            owner_id: m.owner_id,
            status: m.status,
            status_changed_at: m.status_changed_at,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeItemView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub function: ScopeFunction,
    pub description: String,
    pub deliverables: Vec<String>,
    pub quantity_per_period: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<&scope_item::Model> for ScopeItemView {
    type Error = anyhow::Error;
    fn try_from(m: &scope_item::Model) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            function: m.function,
            description: m.description.clone(),
            deliverables: serde_json::from_value(m.deliverables.clone())?,
            quantity_per_period: m.quantity_per_period,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamMemberView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub team_role: TeamRole,
    pub added_at: DateTime<Utc>,
}

impl TeamMemberView {
    pub fn new(member: &team_member::Model, user: &user::Model) -> anyhow::Result<Self> {
        Ok(Self {
            user_id: member.user_id,
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role,
            team_role: member.team_role,
            added_at: member.added_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiView {
    pub id: Uuid,
    pub engagement_id: Uuid,
    pub name: String,
    pub objective: String,
    pub unit: KpiUnit,
    pub direction: KpiDirection,
    pub baseline: Option<f64>,
    pub target: f64,
    pub target_upper: Option<f64>,
    pub warning_threshold: f64,
    pub critical_threshold: f64,
    pub aggregation: Aggregation,
    pub channels: Vec<Channel>,
    pub allow_negative: bool,
    /// The two KPIs this one is computed from, if it is a ratio.
    pub ratio_of: Option<RatioOf>,
    /// Set when the target fails the realism check; it is flagged for review, not refused.
    pub realism: Option<RealismFlag>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl KpiView {
    pub fn new(m: &kpi::Model, realism: Option<RealismFlag>) -> anyhow::Result<Self> {
        Ok(Self {
            id: m.id,
            engagement_id: m.engagement_id,
            name: m.name.clone(),
            objective: m.objective.clone(),
            unit: m.unit,
            direction: m.direction,
            baseline: m.baseline,
            target: m.target,
            target_upper: m.target_upper,
            warning_threshold: m.warning_threshold,
            critical_threshold: m.critical_threshold,
            aggregation: m.aggregation,
            channels: serde_json::from_value(m.channels.clone())?,
            allow_negative: m.allow_negative,
            ratio_of: RatioOf::from_columns(m.ratio_numerator_id, m.ratio_denominator_id),
            realism,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&api_token::Model> for TokenView {
    fn from(m: &api_token::Model) -> Self {
        Self {
            id: m.id,
            user_id: m.user_id,
            name: m.name.clone(),
            prefix: m.prefix.clone(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A page of results: the cursor envelope is the persistence layer's (`db::pagination`).
pub use crate::db::pagination::Page;
