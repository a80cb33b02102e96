//! Notes: what the user should know about a decided profile (a name AppArmor cannot match
//! exactly, a socket or capability it cannot name, data the recording lacks).
//!
//! Imports nothing from the crate.

use std::fmt;

/// Something the user should know about the profile: a name that could not be matched
/// exactly, a recorded socket or capability that cannot be written, missing data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Note {
    /// A path holds a byte AppArmor cannot match (NUL): it is matched by a single `?`.
    Inexact { path: Vec<u8> },
    /// A recorded path that is not a canonical absolute path (`.`/`..` or empty components,
    /// or relative): no rule names it.
    NotAPath { path: Vec<u8> },
    /// The executable could not be told from the recording: the profile has no attachment
    /// and applies only when asked for by name.
    NoAttachment { why: String },
    /// A socket family or type without an AppArmor name: not allowed.
    Socket { family: String, kind: String },
    /// A capability AppArmor does not know: not allowed.
    Capability { name: String },
    /// The recording has no capability checks: the profile allows no capability.
    CapabilitiesNotRecorded,
    /// The recording has no sockets: the profile allows no network access.
    SocketsNotRecorded,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Inexact { path } => write!(
                f,
                "path \"{}\" holds a NUL byte, which AppArmor cannot match; each is matched by a single `?`",
                path.escape_ascii()
            ),
            Note::NotAPath { path } => write!(
                f,
                "recorded path \"{}\" is not a canonical absolute path; no rule names it",
                path.escape_ascii()
            ),
            Note::NoAttachment { why } => write!(
                f,
                "the profile has no attachment ({why}); it applies only when selected by name"
            ),
            Note::Socket { family, kind } => write!(
                f,
                "socket {} {} has no AppArmor network rule; it is not allowed",
                family.escape_debug(),
                kind.escape_debug()
            ),
            Note::Capability { name } => write!(
                f,
                "capability {} is unknown to AppArmor; it is not allowed",
                name.escape_debug()
            ),
            Note::CapabilitiesNotRecorded => write!(
                f,
                "the recording holds no capability checks; the profile allows no capability"
            ),
            Note::SocketsNotRecorded => write!(
                f,
                "the recording holds no sockets; the profile allows no network access"
            ),
        }
    }
}
