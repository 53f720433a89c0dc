//! The closed vocabularies of the domain. Each is stored and sent as its snake_case name.

/// Declares a string-typed enumeration with serde, OpenAPI and `FromStr`/`Display` support.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            strum::EnumString, strum::AsRefStr, strum::Display, strum::EnumIter,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// What a user may do in Veedor as a whole (SPEC §2).
    Role { Admin, Lead, Executive, Vendor }
}

string_enum! {
    /// Language of pages and e-mail for a user.
    Language { Es, En }
}

string_enum! {
    /// How widely an engagement may be seen, from least to most restricted.
    Confidentiality { Public, Internal, Confidential, Secret }
}

string_enum! {
    /// How often the agency reports.
    Cadence { Weekly, Monthly, Quarterly }
}

string_enum! {
    /// Life cycle of an engagement (the contract).
    EngagementStatus { Draft, PendingApproval, Active, Suspended, Ended }
}

string_enum! {
    /// The outsourced functions a scope item may describe.
    ScopeFunction {
        ListeningMonitoring, ContentCreation, CommunityDynamization, Campaigns, OnlineAudit,
        DigitalJournalism, CustomerCare, CrisisResponse, Training, StrategyConsulting, Reporting,
    }
}

string_enum! {
    /// The part a person plays in an engagement's oversight team; alert routing uses it.
    TeamRole {
        /// Internal community-management lead.
        Lead,
        /// Management sponsor; must be a user with the executive role.
        Executive,
        Marketing,
        CustomerCare,
        Communications,
        Legal,
        /// Internal observer without a specific duty.
        Member,
        /// The agency's contact person; must be a vendor user of the engagement's vendor.
        AgencyContact,
    }
}

string_enum! {
    /// Unit in which a KPI is measured.
    KpiUnit { Count, Percent, Ratio, CurrencyMinor, Minutes, Hours, Score }
}

string_enum! {
    /// Which values of a KPI are good.
    KpiDirection { HigherIsBetter, LowerIsBetter, WithinBand }
}

string_enum! {
    /// How a KPI's values combine across periods.
    Aggregation { Sum, Average, Last }
}

string_enum! {
    /// Channels a KPI may be broken down by.
    Channel { Facebook, Instagram, X, Linkedin, Tiktok, Youtube, Blog, Other }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn names_round_trip_between_text_and_json() {
        for status in EngagementStatus::iter() {
            let text = status.as_ref();
            assert_eq!(text.parse::<EngagementStatus>().unwrap(), status);
            assert_eq!(serde_json::to_value(status).unwrap(), serde_json::json!(text));
        }
        assert_eq!(EngagementStatus::PendingApproval.as_ref(), "pending_approval");
        assert_eq!(TeamRole::AgencyContact.to_string(), "agency_contact");
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn confidentiality_is_ordered_by_restriction() {
        assert!(Confidentiality::Public < Confidentiality::Internal);
        assert!(Confidentiality::Confidential < Confidentiality::Secret);
    }
}
