//! What a parsed AppArmor profile holds: its header, variables, includes and rules, and the
//! error a profile that cannot be read gives.
//!
//! Imports only `policy::apparmor` (the permission set a file rule grants).

use std::collections::BTreeMap;

use crate::policy::apparmor::Perms;

/// A profile that cannot be read, with the line where that became clear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

pub(super) fn error<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

/// One permission of a file rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilePerm {
    /// `r`
    Read,
    /// `w`
    Write,
    /// `a`
    Append,
    /// `l`; `target` restricts what may be linked (`-> TARGET`).
    Link { target: Option<String> },
    /// `k`
    Lock,
    /// `m`
    Mmap,
    /// `ix`, `px`, `Px`, `ux`, `Ux`, `cx`, `Cx`, `pix`, `Pix`, `cix`, `Cix`, `pux`, `PUx`,
    /// `cux`, `CUx` (and `x` in a `deny` rule); `target` is the profile after `->`.
    Exec {
        mode: String,
        target: Option<String>,
    },
}

/// Execute modes AppArmor accepts.
pub(super) const EXEC_MODES: &[&str] = &[
    "ix", "px", "Px", "ux", "Ux", "cx", "Cx", "pix", "Pix", "cix", "Cix", "pux", "PUx", "cux",
    "CUx",
];

impl FilePerm {
    /// The word `diff` uses (docs/review.md): the recordings' access names where there is one
    /// (`read`, `write`, `append`, `link`, `lock`, `mmap_exec`, and `exec` for `ix`), else
    /// `exec_MODE` (`exec_px`, `exec_Ux`), with `->TARGET` for a named transition or a link
    /// target (`link->/path`).
    pub fn word(&self) -> String {
        match self {
            FilePerm::Read => "read".into(),
            FilePerm::Write => "write".into(),
            FilePerm::Append => "append".into(),
            FilePerm::Link { target: None } => "link".into(),
            FilePerm::Link {
                target: Some(target),
            } => format!("link->{target}"),
            FilePerm::Lock => "lock".into(),
            FilePerm::Mmap => "mmap_exec".into(),
            FilePerm::Exec { mode, target } => {
                let mut word = if mode == "ix" {
                    "exec".to_owned()
                } else {
                    format!("exec_{mode}")
                };
                if let Some(target) = target {
                    word.push_str("->");
                    word.push_str(target);
                }
                word
            }
        }
    }

    /// What it grants, as the generator's [`Perms`]; every execute mode is `x`.
    pub fn perms(&self) -> Perms {
        let mut p = Perms::default();
        match self {
            FilePerm::Read => p.read = true,
            FilePerm::Write => p.write = true,
            FilePerm::Append => p.append = true,
            FilePerm::Link { .. } => p.link = true,
            FilePerm::Lock => p.lock = true,
            FilePerm::Mmap => p.mmap = true,
            FilePerm::Exec { .. } => p.exec = true,
        }
        p
    }
}

/// A file rule: `[owner] PATH PERMS [-> TARGET],`. The target of `l` is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRule {
    pub line: usize,
    pub deny: bool,
    pub owner: bool,
    /// The path as written (without its quotes; escapes kept). `file,` is `/{,**}`.
    pub pattern: String,
    pub perms: Vec<FilePerm>,
}

/// `network [DOMAIN] [TYPE],`: `None` is every domain or type. A protocol (`tcp`, `udp`) is
/// read as its type (`stream`, `dgram`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRule {
    pub line: usize,
    pub deny: bool,
    pub domain: Option<String>,
    pub kind: Option<String>,
}

/// `capability [NAME...],`: lowercase names without `CAP_`; empty is every capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityRule {
    pub line: usize,
    pub deny: bool,
    pub names: Vec<String>,
}

/// Any other rule, by its text (words separated by one space, without the final comma and
/// the `audit`/`allow`/`deny` qualifiers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherRule {
    pub line: usize,
    pub deny: bool,
    pub text: String,
}

/// A parsed profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedProfile {
    pub name: String,
    /// The attachment as written (without quotes).
    pub attachment: Option<String>,
    /// `flags=(...)`, each flag.
    pub flags: Vec<String>,
    /// `include <abstractions/NAME>`: the names.
    pub abstractions: Vec<String>,
    /// Other includes (not `tunables/...`) as written: `include <local/app>`.
    pub includes: Vec<String>,
    /// Variables the file defines, values as written.
    pub variables: BTreeMap<String, Vec<String>>,
    pub files: Vec<FileRule>,
    pub network: Vec<NetworkRule>,
    pub capabilities: Vec<CapabilityRule>,
    pub other: Vec<OtherRule>,
}
