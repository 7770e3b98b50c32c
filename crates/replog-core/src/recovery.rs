//! Recovery policy: what a reader does when a log is damaged.

use serde::Serialize;

/// How a reader treats damage. Every reader takes one; none truncates
/// anything silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecoveryPolicy {
    /// Any damage is an error.
    #[default]
    Strict,
    /// A torn tail (a short or zero-filled end) in the last segment ends the
    /// log at the last valid frame, and is reported; damage anywhere else is
    /// an error.
    TolerateTail,
    /// The first damage of any kind ends the log there (point-in-time
    /// recovery up to the damage), and is reported.
    StopAtFirst,
}

impl RecoveryPolicy {
    /// The policy's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            RecoveryPolicy::Strict => "strict",
            RecoveryPolicy::TolerateTail => "tolerate-tail",
            RecoveryPolicy::StopAtFirst => "stop-at-first",
        }
    }

    /// Whether damage of this class, in the last segment or not, is an
    /// acceptable end of the log.
    pub fn tolerates(self, class: DamageClass, in_last_segment: bool) -> bool {
        match self {
            RecoveryPolicy::Strict => false,
            RecoveryPolicy::TolerateTail => class == DamageClass::TornTail && in_last_segment,
            RecoveryPolicy::StopAtFirst => true,
        }
    }
}

/// Torn write or corruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DamageClass {
    /// The log ends in a short or zero-filled frame and nothing valid
    /// follows: an interrupted append.
    TornTail,
    /// Anything else: bad checksums or lengths with data after them, gaps
    /// between segments, broken transaction structure.
    Corrupt,
}

impl DamageClass {
    /// How people read it: `torn tail` or `corruption`.
    pub fn describe(self) -> &'static str {
        match self {
            DamageClass::TornTail => "torn tail",
            DamageClass::Corrupt => "corruption",
        }
    }
}
