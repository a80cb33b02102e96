//! The permission vocabulary of review: one thing a policy allows (a syscall, a file access,
//! a capability, ...), in a form that compares across recordings and every profile kind.
//! A Recording is read into it here; each profile parser in [`super::parse`] reads its
//! format into it; [`super::diff`] and [`super::check`] only compare.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::{
    policy::{apparmor, capabilities},
    recording::{ExePath, Recording},
};

/// The kind name of AppArmor profiles (their file rules are patterns, rated as such).
pub const APPARMOR: &str = "AppArmor profile";

/// One thing a policy allows, in a form comparable across versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Permission {
    /// A syscall; `abi` is absent for profiles (one name list for every architecture).
    Syscall {
        #[serde(skip_serializing_if = "Option::is_none")]
        abi: Option<String>,
        name: String,
    },
    /// A seccomp architecture (`SCMP_ARCH_X86`), or a recorded ABI.
    Architecture { name: String },
    /// A capability in the add-list (`CAP_NET_BIND_SERVICE`).
    Capability { name: String },
    /// A file and one access kind (`read`, `write`, ... as in recordings).
    File { path: String, access: String },
    /// A socket family and type (`*`: every one, from an AppArmor `network` rule).
    Network {
        family: String,
        #[serde(rename = "type")]
        kind: String,
    },
    /// A port bound or connected to: `protocol` `tcp` or `udp`, `op` `bind` or `connect`,
    /// `peer` `loopback` or `any` in recordings (`*` in Landlock configurations, which cannot
    /// tell them apart).
    Port {
        protocol: String,
        op: String,
        port: u16,
        peer: String,
    },
    /// An AppArmor abstraction a profile includes (`base`, `nameservice`).
    Abstraction { name: String },
    /// Any other AppArmor rule (`signal`, `mount`, a profile flag, an include), by its text.
    Rule { text: String },
    /// A syscall allowed with these argument values (by name: `AF_INET SOCK_STREAM`,
    /// `CLONE_NEWUSER`, `TIOCSTI`), from recordings and argument-aware seccomp profiles.
    Arguments { syscall: String, values: String },
}

impl Permission {
    /// A short human form: `syscall ptrace (x86_64)`, `file /etc/passwd read`.
    pub fn describe(&self) -> String {
        match self {
            Permission::Syscall {
                abi: Some(abi),
                name,
            } => format!("syscall {name} ({abi})"),
            Permission::Syscall { abi: None, name } if name == "*" => {
                "every syscall (default allow)".into()
            }
            Permission::Syscall { abi: None, name } => format!("syscall {name}"),
            Permission::Architecture { name } => format!("architecture {name}"),
            Permission::Capability { name } if name == "*" => "every capability".into(),
            Permission::Capability { name } => format!("capability {name}"),
            Permission::File { path, access } => format!("file {} {access}", path.escape_debug()),
            Permission::Network { family, kind } => format!("network {family} {kind}"),
            Permission::Port {
                protocol,
                op,
                port,
                peer,
            } => match peer.as_str() {
                "*" => format!("{protocol} {op} port {port}"),
                peer => format!("{protocol} {op} port {port} ({peer})"),
            },
            Permission::Abstraction { name } => format!("abstraction {}", name.escape_debug()),
            Permission::Rule { text } => format!("rule {}", text.escape_debug()),
            Permission::Arguments { syscall, values } => format!("syscall {syscall} with {values}"),
        }
    }

    /// [`describe`](Self::describe) for a diff of `kind`: an AppArmor file rule's path is
    /// shown as written in the profile (its escapes are AppArmor's: `\*` stays `\*`), with
    /// only control and invisible characters escaped.
    pub fn describe_in(&self, kind: &str) -> String {
        match self {
            Permission::File { path, access } if kind == APPARMOR => {
                let shown = |text: &str| -> String {
                    text.chars()
                        .map(|c| {
                            if matches!(c, '\\' | '"' | '\'') {
                                c.to_string()
                            } else {
                                c.escape_debug().to_string()
                            }
                        })
                        .collect()
                };
                format!("file {} {}", shown(path), shown(access))
            }
            _ => self.describe(),
        }
    }
}

/// A policy reduced to permissions, each with the programs behind it.
pub type Permissions = BTreeMap<Permission, BTreeSet<ExePath>>;

/// What a recording shows the workload needs: syscalls per ABI, the capability add-list,
/// files with their access kinds, sockets.
pub fn from_recording(recording: &Recording) -> Permissions {
    let mut out = Permissions::new();
    for (abi, entries) in &recording.syscalls {
        out.entry(Permission::Architecture {
            name: abi.as_str().into(),
        })
        .or_default();
        for entry in entries {
            let name = entry
                .name
                .clone()
                .unwrap_or_else(|| format!("#{}", entry.nr));
            out.entry(Permission::Syscall {
                abi: Some(abi.as_str().into()),
                name,
            })
            .or_default()
            .extend(entry.by.iter().cloned());
        }
    }
    if let Ok(policy) = capabilities::decide(recording) {
        for (name, by) in policy.add {
            out.entry(Permission::Capability { name })
                .or_default()
                .extend(by);
        }
    }
    // Names that differ from run to run are compared as the pattern a profile would hold.
    let varying = apparmor::run_varying_patterns(recording);
    for file in recording.files.iter().flatten() {
        let pattern = file
            .exact_bytes()
            .ok()
            .and_then(|bytes| varying.get(bytes.as_ref()));
        let path = match pattern {
            Some(pattern) => {
                let quoted = crate::profile::apparmor::quote(pattern);
                quoted[1..quoted.len() - 1].to_owned()
            }
            None => file.described(),
        };
        for access in file.access.iter() {
            out.entry(Permission::File {
                path: path.clone(),
                access: access.name().into(),
            })
            .or_default()
            .extend(file.by.iter().cloned());
        }
    }
    for list in recording.arguments.iter().flat_map(|a| a.values()) {
        for item in list {
            for v in &item.values {
                out.entry(Permission::Arguments {
                    syscall: item.syscall.clone(),
                    values: v.names.join(" "),
                })
                .or_default()
                .extend(v.by.iter().cloned());
            }
        }
    }
    for port in recording.ports.iter().flatten() {
        out.entry(Permission::Port {
            protocol: port.protocol.clone(),
            op: match port.op {
                crate::recording::PortOp::Bind => "bind".into(),
                crate::recording::PortOp::Connect => "connect".into(),
            },
            port: port.port,
            peer: if port.loopback { "loopback" } else { "any" }.into(),
        })
        .or_default()
        .extend(port.by.iter().cloned());
    }
    for socket in recording.sockets.iter().flatten() {
        out.entry(Permission::Network {
            family: socket.family.clone(),
            kind: socket.kind.clone(),
        })
        .or_default()
        .extend(socket.by.iter().cloned());
    }
    out
}

/// A capability list (`generate capabilities --format list`): one name per line.
pub fn from_capability_list(text: &str) -> Permissions {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let name = l.to_ascii_uppercase();
            let name = if name.starts_with("CAP_") {
                name
            } else {
                format!("CAP_{name}")
            };
            (Permission::Capability { name }, BTreeSet::new())
        })
        .collect()
}
