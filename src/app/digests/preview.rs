//! Previewing a digest: the digest as it would be sent now (or over the dates asked), for
//! the API's `GET /api/v1/digests/preview` and the page `/settings/digests/preview` alike.
//! Whose digest may be previewed, and over which dates, is decided here once.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{
    run::{self, Built},
    subscriptions,
};
use crate::{
    app::Ctx,
    db::entity::{digest_subscription as sub, user},
    domain::digest::DigestPeriod,
    error::{AppError, AppResult},
    policy::digest::{Action, authorize},
};

/// Whose digest a preview shows: a subscription the viewer manages, or (none named) the
/// viewer's own first one, or the default digest they would get.
pub struct Target {
    pub subscription: Option<sub::Model>,
    pub recipient: user::Model,
}

/// The preview's subject, authorized.
pub async fn target(ctx: &Ctx<'_>, subscription_id: Option<Uuid>) -> AppResult<Target> {
    let viewer = &ctx.viewer;
    let subscription = match subscription_id {
        Some(id) => Some(subscriptions::managed(ctx.db, viewer, id).await?),
        None => {
            authorize(viewer, Action::Manage, viewer.user_id)?;
            subscriptions::first_of(ctx.db, viewer.user_id).await?
        }
    };
    let owner = subscription.as_ref().map_or(viewer.user_id, |s| s.user_id);
    let recipient = subscriptions::recipient(ctx.db, owner).await?;
    Ok(Target { subscription, recipient })
}

/// The longest span a preview covers, in days.
pub const MAX_DAYS: i64 = 366;

/// The period a preview covers: `from`..`to` as asked (both, `from` ≤ `to`, at most a
/// year), or the period a digest sent now would cover.
pub fn period(
    ctx: &Ctx<'_>,
    target: &Target,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<DigestPeriod> {
    match (from, to) {
        (Some(start), Some(end)) if start <= end && (end - start).num_days() <= MAX_DAYS => {
            Ok(DigestPeriod { start, end })
        }
        (None, None) => {
            let timing = match &target.subscription {
                Some(s) => subscriptions::timing(s)?,
                None => run::default_timing(&target.recipient),
            };
            Ok(timing.period_of(ctx.now))
        }
        _ => Err(AppError::invalid("to", "invalid", "from and to together, from ≤ to, at most a year")),
    }
}

/// The digest over `period`; None when the recipient sees no reporting engagement.
pub async fn build(ctx: &Ctx<'_>, target: &Target, period: DigestPeriod, charts: bool) -> AppResult<Option<Built>> {
    let notifier = &ctx.rules.notifier;
    run::build_one(ctx.db, notifier, ctx.now, &target.recipient, target.subscription.as_ref(), period, charts).await
}
