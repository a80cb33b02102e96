//! A Recording against a parsed profile: [`Checker`] compiles the profile's file rules with
//! the one glob engine (`policy::apparmor::glob`), so `check` matches paths exactly as
//! `generate` does, and reports what the recording needed that the profile does not allow.
//!
//! Imports the sibling `profile`, `recording`, `policy` and `review::permission`.

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
};

use super::profile::{CapabilityRule, NetworkRule, ParsedProfile};
use crate::{
    policy::{
        apparmor::{
            self as policy,
            glob::{PathPattern, UnknownVariables},
            Perms,
        },
        capabilities,
    },
    recording::{Access, Accesses, ExePath, Recording},
    review::permission::Permission,
};

/// Network rules that abstractions grant (AppArmor 3.0: `nameservice` grants TCP/UDP and
/// netlink); (abstraction, domain, type).
const ABSTRACTION_NETWORK: &[(&str, &str, &str)] = &[
    ("nameservice", "inet", "stream"),
    ("nameservice", "inet6", "stream"),
    ("nameservice", "inet", "dgram"),
    ("nameservice", "inet6", "dgram"),
    ("nameservice", "netlink", "raw"),
];
/// Capabilities that abstractions grant (`nameservice` includes `nis`).
const ABSTRACTION_CAPABILITIES: &[(&str, &str)] = &[("nameservice", "net_bind_service")];

/// A profile ready to check recordings against.
pub struct Checker {
    allow: Vec<(PathPattern, Perms)>,
    deny: Vec<(PathPattern, Perms)>,
    abstractions: Vec<policy::CompiledAbstraction>,
    names: Vec<String>,
    network: Vec<NetworkRule>,
    capabilities: Vec<CapabilityRule>,
    /// What the check cannot see (unknown variables or abstractions).
    pub warnings: Vec<String>,
}

/// What a recording needed that the profile does not allow, and what could not be checked.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Each missing permission (a file access, a socket, a capability) with the programs that
    /// needed it.
    pub missing: BTreeMap<Permission, BTreeSet<ExePath>>,
    pub notes: Vec<String>,
}

impl ParsedProfile {
    /// Compiles the file rules (a rule with an unknown variable is left out, with a warning)
    /// and picks the built-in abstraction tables for the included abstractions.
    pub fn checker(&self) -> Checker {
        let mut warnings = Vec::new();
        let (mut allow, mut deny) = (Vec::new(), Vec::new());
        for rule in &self.files {
            match PathPattern::compile(&rule.pattern, &self.variables, UnknownVariables::Error) {
                Ok(pattern) => {
                    let perms = rule
                        .perms
                        .iter()
                        .fold(Perms::default(), |acc, p| acc.union(p.perms()));
                    if rule.deny { &mut deny } else { &mut allow }.push((pattern, perms));
                }
                Err(err) => warnings.push(format!(
                    "line {}: {err}; the rule is not counted",
                    rule.line
                )),
            }
        }
        let known = policy::compiled_abstractions();
        let mut abstractions = Vec::new();
        for name in &self.abstractions {
            match known.iter().position(|a| a.name == name) {
                Some(_) => {}
                None => warnings.push(format!(
                    "abstractions/{} is not known to leastpriv; what only it allows is reported as missing",
                    name.escape_debug()
                )),
            }
        }
        for a in known {
            if self.abstractions.iter().any(|n| n == a.name) {
                abstractions.push(a);
            }
        }
        for include in &self.includes {
            warnings.push(format!(
                "{} is not read; what only it allows is reported as missing",
                include.escape_debug()
            ));
        }
        Checker {
            allow,
            deny,
            abstractions,
            names: self.abstractions.clone(),
            network: self.network.clone(),
            capabilities: self.capabilities.clone(),
            warnings,
        }
    }
}

impl Checker {
    /// What the profile's rules and the included abstractions grant on exact path bytes, and
    /// what its deny rules take away.
    pub fn file(&self, path: &[u8]) -> (Perms, Perms) {
        let union = |rules: &[(PathPattern, Perms)]| {
            rules
                .iter()
                .filter(|(p, _)| p.matches(path))
                .fold(Perms::default(), |acc, (_, perms)| acc.union(*perms))
        };
        let granted = self.abstractions.iter().fold(union(&self.allow), |acc, a| {
            acc.union(policy::granted_by(a, path))
        });
        (granted, union(&self.deny))
    }

    fn includes(&self, abstraction: &str) -> bool {
        self.names.iter().any(|n| n == abstraction)
    }

    /// Whether a socket of this AppArmor domain and type is allowed (and not denied).
    pub fn network(&self, domain: &str, kind: &str) -> bool {
        let matches = |r: &&NetworkRule| {
            r.domain.as_deref().is_none_or(|d| d == domain)
                && r.kind.as_deref().is_none_or(|k| k == kind)
        };
        let allowed = self.network.iter().filter(|r| !r.deny).any(|r| matches(&r))
            || ABSTRACTION_NETWORK
                .iter()
                .any(|(a, d, k)| self.includes(a) && *d == domain && *k == kind);
        allowed && !self.network.iter().filter(|r| r.deny).any(|r| matches(&r))
    }

    /// Whether a capability (lowercase, without `CAP_`) is allowed (and not denied).
    pub fn capability(&self, name: &str) -> bool {
        let matches = |r: &&CapabilityRule| r.names.is_empty() || r.names.iter().any(|n| n == name);
        let allowed = self
            .capabilities
            .iter()
            .filter(|r| !r.deny)
            .any(|r| matches(&r))
            || ABSTRACTION_CAPABILITIES
                .iter()
                .any(|(a, c)| self.includes(a) && *c == name);
        allowed
            && !self
                .capabilities
                .iter()
                .filter(|r| r.deny)
                .any(|r| matches(&r))
    }

    /// Every recorded file access, socket and needed capability the profile does not allow.
    /// A file access needs the permissions the generator gives it (docs/apparmor.md: read
    /// `r`, write/create/unlink/chmod/chown/rename `w`, append `a` or `w`, lock `k`, link
    /// `l`, mmap_exec `m`, exec any `x`); a path known to be a directory is matched with a
    /// trailing `/`; `owner` rules are taken to match.
    pub fn check(&self, recording: &Recording) -> CheckReport {
        let mut report = CheckReport::default();
        self.check_files(recording, &mut report);
        match &recording.sockets {
            None => report
                .notes
                .push("the recording holds no sockets; network rules are not checked".into()),
            Some(sockets) => {
                for socket in sockets {
                    let (domain, kind) = apparmor_socket(&socket.family, &socket.kind);
                    if !self.network(&domain, &kind) {
                        report
                            .missing
                            .entry(Permission::Network {
                                family: socket.family.clone(),
                                kind: socket.kind.clone(),
                            })
                            .or_default()
                            .extend(socket.by.iter().cloned());
                    }
                }
            }
        }
        match capabilities::decide(recording) {
            Ok(needed) => {
                for (name, by) in needed.add {
                    let short = name
                        .strip_prefix("CAP_")
                        .unwrap_or(&name)
                        .to_ascii_lowercase();
                    if !self.capability(&short) {
                        report
                            .missing
                            .entry(Permission::Capability { name })
                            .or_default()
                            .extend(by);
                    }
                }
            }
            Err(err) => report
                .notes
                .push(format!("capability rules are not checked: {err}")),
        }
        report
    }

    fn check_files(&self, recording: &Recording, report: &mut CheckReport) {
        let Some(files) = &recording.files else {
            report
                .notes
                .push("the recording holds no file accesses; file rules are not checked".into());
            return;
        };
        // Every recorded path, to tell directories (with something recorded below them).
        let mut all: BTreeSet<Vec<u8>> = recording
            .executables
            .iter()
            .map(|e| e.path.as_bytes().to_vec())
            .collect();
        let mut exact = Vec::new();
        for file in files {
            match policy::exact_bytes(file).map(Cow::into_owned) {
                Ok(bytes) => {
                    all.insert(bytes.clone());
                    exact.push((file, bytes));
                }
                Err(err) => report.notes.push(format!("{err}; not checked")),
            }
        }
        for (file, bytes) in exact {
            if !policy::is_canonical(&bytes) || bytes.contains(&0) {
                report.notes.push(format!(
                    "recorded path \"{}\" is not a canonical absolute path AppArmor can match; not checked",
                    bytes.escape_ascii()
                ));
                continue;
            }
            let mut path = bytes.clone();
            let below = {
                let mut prefix = bytes.clone();
                prefix.push(b'/');
                all.range(prefix.clone()..)
                    .next()
                    .is_some_and(|p| p.starts_with(&prefix))
            };
            let made_dir = file
                .access
                .iter()
                .any(|a| matches!(a, Access::Mkdir | Access::Rmdir));
            if (below || made_dir) && !path.ends_with(b"/") {
                path.push(b'/');
            }
            let (granted, denied) = self.file(&path);
            let shown = file.described();
            for access in file.access.iter() {
                let needed = policy::perms_for(Accesses::of(&[access]));
                if needed.minus(granted).is_empty() && needed.minus(denied) == needed {
                    continue;
                }
                let access = access.name().to_owned();
                report
                    .missing
                    .entry(Permission::File {
                        path: shown.clone(),
                        access,
                    })
                    .or_default()
                    .extend(file.by.iter().cloned());
            }
        }
    }
}

/// A recorded socket family and type as AppArmor names them (as the generator does:
/// `AF_INET` → `inet`, `AF_LOCAL` → `unix`, `SOCK_STREAM` → `stream`).
fn apparmor_socket(family: &str, kind: &str) -> (String, String) {
    let domain = family
        .strip_prefix("AF_")
        .map(str::to_ascii_lowercase)
        .map_or_else(
            || family.to_owned(),
            |f| match f.as_str() {
                "local" | "file" => "unix".to_owned(),
                "route" => "netlink".to_owned(),
                _ => f,
            },
        );
    let kind = kind
        .strip_prefix("SOCK_")
        .map_or_else(|| kind.to_owned(), str::to_ascii_lowercase);
    (domain, kind)
}
