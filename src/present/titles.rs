//! Titles of the things Veedor names itself — an approval's subject, a stage of a default
//! workflow — worded at view time in the reader's language from the kinds and parameters the
//! database keeps. Only what people typed (an engagement's title, a reason, a post's text) is
//! shown as typed.

use super::{catalog::text, format, words::word};
use crate::domain::{
    approval::{Stage, SubjectLabel},
    enums::Language,
};

/// The title of an approval's subject: "Informe de noviembre de 2026", "Activación: …".
pub fn approval(label: &SubjectLabel, language: Language) -> String {
    match label {
        SubjectLabel::Activation { engagement } => {
            text("title.activation", language, &[("engagement", engagement.clone())])
        }
        SubjectLabel::Amendment { reason } => text("title.amendment", language, &[("reason", reason.clone())]),
        SubjectLabel::Report { period_start, period_end } => {
            text("title.report", language, &[("period", format::period(*period_start, *period_end, language))])
        }
        SubjectLabel::Content { channel, excerpt } => {
            text("title.content", language, &[("channel", word(channel, language)), ("excerpt", excerpt.clone())])
        }
    }
}

/// A stage's name: the one people typed, or the preset's word ("Responsable de comunidad").
pub fn stage(stage: &Stage, language: Language) -> String {
    match stage.preset {
        Some(preset) if stage.name.trim().is_empty() => word(&preset, language),
        _ => stage.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{
        approval::{StagePreset, SubjectKind, default_workflow},
        enums::Channel,
    };

    #[test]
    fn approval_titles_are_worded_per_language() {
        let report = SubjectLabel::Report {
            period_start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            period_end: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        assert_eq!(approval(&report, Language::Es), "Informe de noviembre de 2026");
        assert_eq!(approval(&report, Language::En), "Report for November 2026");
        let post = SubjectLabel::Content { channel: Channel::Instagram, excerpt: "Rebajas".into() };
        assert_eq!(approval(&post, Language::Es), "Publicación en Instagram: Rebajas");
        let act = SubjectLabel::Activation { engagement: "Gestión de comunidad".into() };
        assert_eq!(approval(&act, Language::Es), "Activación: Gestión de comunidad");
    }

    #[test]
    fn default_stages_are_named_in_the_readers_language() {
        let w = default_workflow(SubjectKind::Activation);
        let names: Vec<_> = w.stages.iter().map(|s| stage(s, Language::Es)).collect();
        assert_eq!(names, ["Responsable de comunidad", "Dirección"]);
        let names: Vec<_> = w.stages.iter().map(|s| stage(s, Language::En)).collect();
        assert_eq!(names, ["Community lead", "Executive sponsor"]);
        assert!(w.stages.iter().all(|s| s.name.is_empty() && s.preset.is_some()));
        let typed = Stage { name: "Legal".into(), preset: Some(StagePreset::CrisisReview), ..w.stages[0].clone() };
        assert_eq!(stage(&typed, Language::Es), "Legal");
    }
}
