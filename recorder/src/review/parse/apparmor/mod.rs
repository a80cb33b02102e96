//! AppArmor profile text → what it allows, for `diff` (compare two profiles) and `check`
//! (does a recording fit a committed profile). The reverse of `profile::apparmor`.
//!
//! What is read (docs/review.md): one profile per file, with its header (`profile NAME
//! [ATTACHMENT] [flags=(...)] {`, or `ATTACHMENT {`), `abi`, `include` (`#include`,
//! `include if exists`), variable definitions (`@{X} = ...`, `+=`), and these rules, each
//! with the qualifiers `audit`, `allow`, `deny` and `owner`:
//!
//! - file rules, `PATH PERMS [-> TARGET],` with the path quoted or not (and `PERMS PATH,`),
//!   and `file,`;
//! - `network [DOMAIN] [TYPE|PROTOCOL],`;
//! - `capability [NAME...],`;
//! - every other rule (`signal`, `ptrace`, `dbus`, `unix`, `mount`, `change_profile`, ...) is
//!   kept as its text.
//!
//! Comments, blank lines and line breaks inside rules are allowed. Child profiles, hats and
//! conditional blocks are refused, as are more than one profile per file: their rules apply
//! to other programs, and mixing them in would be wrong either way.
//!
//! Paths are kept as written (escapes and all) for `diff`; for `check` they are compiled into
//! [`PathPattern`]s that match exact bytes the way AppArmor does: escapes (`\*`, `\"`,
//! `\012` octal, `\xHH`, `\dDDD`, `\n`, `\t`, `\r`), `?`, `*` and `**` (never across `/`
//! except `**`; right after a `/` at least one character), `[...]` and `[^...]`, `{a,b}`,
//! and the variables of `tunables/global` (`@{HOME}`, `@{pid}`, `@{tid}`, `@{PROC}`, ...)
//! or of the profile itself. Duplicate slashes are one, as in AppArmor.
//!
//! The parts: `profile` (what a parsed profile holds), `lex` (text → tokens), `parser`
//! (tokens → [`ParsedProfile`]), `check` ([`Checker`]: a Recording against a profile) and
//! `permissions` (a profile as [`Permissions`](crate::review::permission::Permissions), for
//! `diff`). Each imports only the parts before it, `recording`, `policy` and the one glob
//! engine (`policy::apparmor::glob`); this file only gathers what they export.

mod check;
mod lex;
mod parser;
mod permissions;
mod profile;
#[cfg(test)]
mod tests;

pub use check::{CheckReport, Checker};
pub use parser::parse;
pub use permissions::{parse_permissions, permissions};
pub use profile::{
    CapabilityRule, FilePerm, FileRule, NetworkRule, OtherRule, ParseError, ParsedProfile,
};

pub use crate::policy::apparmor::glob::{PathPattern, PatternError, UnknownVariables};
