//! Comparing what two recordings, or two profiles of the same kind, allow: what was added
//! (the change widens the policy) and what was removed (it narrows), each addition rated by
//! a documented risk table (docs/review.md) and, from recordings, with the programs that
//! caused it. Pure: the command reads files and renders; this decides.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use serde::Serialize;

use crate::{
    policy::capabilities,
    profile::apparmor_parse::{self, ParseError, ParsedProfile, PathPattern, UnknownVariables},
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
    /// An AppArmor abstraction a profile includes (`base`, `nameservice`).
    Abstraction { name: String },
    /// Any other AppArmor rule (`signal`, `mount`, a profile flag, an include), by its text.
    Rule { text: String },
    /// A syscall allowed with these argument values (by name: `AF_INET SOCK_STREAM`,
    /// `CLONE_NEWUSER`, `TIOCSTI`), from recordings and argument-aware seccomp profiles.
    Arguments { syscall: String, values: String },
}

/// How much an addition widens the attack surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// A permission with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub permission: Permission,
    pub risk: Risk,
    /// Programs that caused it (from recordings).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by: Vec<ExePath>,
}

/// The comparison of two policies of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    /// What was compared: `recording`, `seccomp profile`, `capability list` or
    /// `AppArmor profile`.
    pub kind: String,
    pub added: Vec<Change>,
    pub removed: Vec<Change>,
}

impl PolicyDiff {
    pub fn widened(&self) -> bool {
        !self.added.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
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
    for file in recording.files.iter().flatten() {
        let path = match &file.path_hex {
            Some(hex) => format!("{} (bytes {hex})", file.path),
            None => file.path.clone(),
        };
        for access in file.access.iter() {
            let access = serde_json::to_value(access)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.entry(Permission::File {
                path: path.clone(),
                access,
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

/// What an OCI seccomp profile allows: its architectures and the names of allowing rules.
pub fn from_seccomp(profile: &LinuxSeccomp) -> Permissions {
    let mut out = Permissions::new();
    for arch in profile.architectures().iter().flatten() {
        out.entry(Permission::Architecture {
            name: arch.to_string(),
        })
        .or_default();
    }
    let default_allows = matches!(
        profile.default_action(),
        LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
    );
    if default_allows {
        out.entry(Permission::Syscall {
            abi: None,
            name: "*".into(),
        })
        .or_default();
    }
    for rule in profile.syscalls().iter().flatten() {
        if !matches!(
            rule.action(),
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        ) {
            continue;
        }
        let conditions = rule.args().clone().unwrap_or_default();
        for name in rule.names() {
            out.entry(Permission::Syscall {
                abi: None,
                name: name.clone(),
            })
            .or_default();
            if !conditions.is_empty() {
                out.entry(Permission::Arguments {
                    syscall: name.clone(),
                    values: describe_conditions(name, &conditions),
                })
                .or_default();
            }
        }
    }
    out
}

/// A rule's argument conditions by name, in the order recordings list the values (the
/// masked-equality rules `generate seccomp` writes; other operators are spelled out).
fn describe_conditions(syscall: &str, conditions: &[oci_spec::runtime::LinuxSeccompArg]) -> String {
    let spec = crate::arguments::spec_of(syscall);
    let mut sorted: Vec<&oci_spec::runtime::LinuxSeccompArg> = conditions.iter().collect();
    sorted.sort_by_key(|c| c.index());
    sorted
        .iter()
        .map(|c| {
            let position = spec
                .and_then(|s| {
                    s.index[..s.count as usize]
                        .iter()
                        .position(|&i| i as usize == c.index())
                })
                .unwrap_or(c.index());
            match (c.op(), c.value_two()) {
                (oci_spec::runtime::LinuxSeccompOperator::ScmpCmpMaskedEq, Some(value)) => {
                    crate::arg_names::value_name(syscall, position, value)
                }
                (op, _) => format!("arg{} {op:?} {:#x}", c.index(), c.value()),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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

/// What an AppArmor profile allows (docs/review.md): a file permission per file rule and
/// permission letter (the path as written, the letter as a word: `read`, `write`, `append`,
/// `link`, `lock`, `mmap_exec`, `exec` for `ix`, `exec_px`, `exec_Ux`, ...; an `owner` rule's
/// as `owner read`, ...), a socket family and type per `network` rule (`inet stream` is
/// `AF_INET SOCK_STREAM`; what a rule leaves out is `*`), a capability per name (`CAP_CHOWN`;
/// `capability,` is `*`), an abstraction per `include <abstractions/NAME>`, and every other
/// rule, include, variable definition and profile flag by its text. A `deny` rule is refused:
/// removing one widens what the profile allows, which a list of added permissions cannot say.
pub fn from_apparmor(profile: &ParsedProfile) -> Result<Permissions, ParseError> {
    let deny_lines = profile
        .files
        .iter()
        .filter(|r| r.deny)
        .map(|r| r.line)
        .chain(profile.network.iter().filter(|r| r.deny).map(|r| r.line))
        .chain(
            profile
                .capabilities
                .iter()
                .filter(|r| r.deny)
                .map(|r| r.line),
        )
        .chain(profile.other.iter().filter(|r| r.deny).map(|r| r.line));
    if let Some(line) = deny_lines.min() {
        return Err(ParseError {
            line,
            message: "a deny rule: diff compares allow rules only (removing a deny rule would widen the profile \
                      without adding a permission); compare the recordings instead"
                .into(),
        });
    }
    let mut out = Permissions::new();
    let mut add = |p: Permission| {
        out.entry(p).or_default();
    };
    for flag in &profile.flags {
        add(Permission::Rule {
            text: format!("flags=({flag})"),
        });
    }
    for (name, values) in &profile.variables {
        add(Permission::Rule {
            text: format!("@{{{name}}} = {}", values.join(" ")),
        });
    }
    for name in &profile.abstractions {
        add(Permission::Abstraction { name: name.clone() });
    }
    for include in &profile.includes {
        add(Permission::Rule {
            text: include.clone(),
        });
    }
    for rule in &profile.capabilities {
        if rule.names.is_empty() {
            add(Permission::Capability { name: "*".into() });
        }
        for name in &rule.names {
            add(Permission::Capability {
                name: format!("CAP_{}", name.to_ascii_uppercase()),
            });
        }
    }
    for rule in &profile.network {
        let family = rule.domain.as_ref().map_or_else(
            || "*".to_owned(),
            |d| format!("AF_{}", d.to_ascii_uppercase()),
        );
        let kind = rule.kind.as_ref().map_or_else(
            || "*".to_owned(),
            |k| format!("SOCK_{}", k.to_ascii_uppercase()),
        );
        add(Permission::Network { family, kind });
    }
    for rule in &profile.files {
        for perm in &rule.perms {
            let word = perm.word();
            let access = if rule.owner {
                format!("owner {word}")
            } else {
                word
            };
            add(Permission::File {
                path: rule.pattern.clone(),
                access,
            });
        }
    }
    for rule in &profile.other {
        add(Permission::Rule {
            text: rule.text.clone(),
        });
    }
    Ok(out)
}

/// Compares two policies of the same kind.
pub fn diff(kind: &str, old: &Permissions, new: &Permissions) -> PolicyDiff {
    let rate = |p: &Permission| match p {
        Permission::File { path, access } if kind == APPARMOR => pattern_risk(path, access),
        p => risk(p),
    };
    let changes = |from: &Permissions, without: &Permissions| -> Vec<Change> {
        let mut changes: Vec<Change> = from
            .iter()
            .filter(|(p, _)| !without.contains_key(p))
            .map(|(p, by)| Change {
                permission: p.clone(),
                risk: rate(p),
                by: by.iter().cloned().collect(),
            })
            .collect();
        // Riskiest first, then in permission order: stable for review.
        changes.sort_by(|a, b| {
            b.risk
                .cmp(&a.risk)
                .then_with(|| a.permission.cmp(&b.permission))
        });
        changes
    };
    PolicyDiff {
        kind: kind.into(),
        added: changes(new, old),
        removed: changes(old, new),
    }
}

/// Syscalls that reach kernel attack surface or host-wide state (docs/review.md).
const HIGH_RISK_SYSCALLS: &[&str] = &[
    "*",
    "acct",
    "add_key",
    "adjtimex",
    "bpf",
    "chroot",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "init_module",
    "ioperm",
    "iopl",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "personality",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "vm86",
    "vm86old",
];
/// Syscalls that widen what a process can do to others or to itself notably.
const MEDIUM_RISK_SYSCALLS: &[&str] = &[
    "clone",
    "clone3",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "kcmp",
    "memfd_secret",
    "mknod",
    "mknodat",
    "pidfd_getfd",
    "pkey_alloc",
    "prctl",
    "sched_setattr",
    "sched_setscheduler",
    "setdomainname",
    "setgid",
    "setgroups",
    "sethostname",
    "setpgid",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setsid",
    "setuid",
    "socket",
    "socketcall",
    "tgkill",
    "tkill",
    "kill",
    "vmsplice",
];
/// Capabilities that amount to root, or break isolation.
const HIGH_RISK_CAPABILITIES: &[&str] = &[
    "CAP_BPF",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE",
    "CAP_NET_ADMIN",
    "CAP_PERFMON",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_MODULE",
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_TIME",
    "CAP_CHECKPOINT_RESTORE",
];
/// File trees whose write access changes the system itself.
const HIGH_RISK_WRITE_PREFIXES: &[&str] = &[
    "/boot/",
    "/dev/",
    "/etc/",
    "/lib/",
    "/proc/sys/",
    "/sbin/",
    "/sys/",
    "/usr/",
];
/// Files whose reading exposes secrets.
const SECRET_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/proc/kcore",
    "/dev/mem",
    "/dev/kmem",
];
/// Device files that every program may write.
const HARMLESS_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/urandom",
    "/dev/random",
];

/// Argument values that reach more of the kernel: new namespaces (above all user
/// namespaces), raw and packet sockets, terminal injection; the rest rated like the syscall.
fn argument_risk(syscall: &str, values: &str) -> Risk {
    let high = [
        "CLONE_NEWUSER",
        "AF_PACKET",
        "AF_KEY",
        "AF_ALG",
        "AF_VSOCK",
        "AF_XDP",
        "SOCK_RAW",
        "TIOCSTI",
        "TIOCLINUX",
    ];
    if high.iter().any(|h| values.contains(h)) {
        Risk::High
    } else if values.contains("CLONE_NEW")
        || values.contains("AF_NETLINK")
        || syscall == "personality"
    {
        Risk::Medium
    } else {
        Risk::Low
    }
}

/// The risk of adding a permission (the table in docs/review.md).
pub fn risk(permission: &Permission) -> Risk {
    match permission {
        Permission::Arguments { syscall, values } => argument_risk(syscall, values),
        Permission::Syscall { name, .. } => {
            if HIGH_RISK_SYSCALLS.contains(&name.as_str()) {
                Risk::High
            } else if MEDIUM_RISK_SYSCALLS.contains(&name.as_str()) || name.starts_with('#') {
                Risk::Medium
            } else {
                Risk::Low
            }
        }
        // Another ABI is another whole syscall table.
        Permission::Architecture { .. } => Risk::High,
        Permission::Capability { name } => {
            if name == "*" || HIGH_RISK_CAPABILITIES.contains(&name.as_str()) {
                Risk::High
            } else {
                Risk::Medium
            }
        }
        Permission::File { path, access } => {
            let writes = !matches!(access.as_str(), "read" | "lock" | "mmap_exec" | "exec");
            if SECRET_FILES.contains(&path.as_str()) {
                Risk::High
            } else if writes && HARMLESS_DEVICES.contains(&path.as_str()) {
                Risk::Low
            } else if writes && HIGH_RISK_WRITE_PREFIXES.iter().any(|p| path.starts_with(p)) {
                Risk::High
            } else if access == "exec" || writes {
                Risk::Medium
            } else {
                Risk::Low
            }
        }
        Permission::Network { family, kind } => {
            if matches!(
                family.as_str(),
                "AF_PACKET" | "AF_KEY" | "AF_ALG" | "AF_VSOCK" | "AF_XDP" | "*"
            ) || matches!(kind.as_str(), "SOCK_RAW" | "*")
            {
                Risk::High
            } else if family == "AF_NETLINK" {
                Risk::Medium
            } else {
                Risk::Low
            }
        }
        // An abstraction grants a set of rules maintained elsewhere.
        Permission::Abstraction { .. } => Risk::Medium,
        Permission::Rule { text } => {
            let word = text.split([' ', ',']).next().unwrap_or_default();
            if HIGH_RISK_RULES.contains(&word)
                || HIGH_RISK_FLAGS
                    .iter()
                    .any(|f| text == &format!("flags=({f})"))
            {
                Risk::High
            } else {
                Risk::Medium
            }
        }
    }
}

/// AppArmor rules that reach host-wide state or other processes.
const HIGH_RISK_RULES: &[&str] = &[
    "mount",
    "remount",
    "umount",
    "pivot_root",
    "ptrace",
    "change_profile",
    "userns",
];
/// Profile flags under which the profile no longer confines.
const HIGH_RISK_FLAGS: &[&str] = &["complain", "unconfined", "default_allow"];

/// The risk of an AppArmor file permission (docs/review.md): the table's, for every path the
/// pattern can match (a write whose pattern may reach `/etc/`, a read of a pattern matching
/// `/etc/shadow`: high), and at least medium when it matches more than one path (a glob, an
/// alternation or a variable such as `@{HOME}` or `@{pid}`). `exec` with an unconfined mode
/// (`ux`, `Ux`, `pux`, ...) is high. A variable the rating does not know matches anything.
fn pattern_risk(pattern: &str, access: &str) -> Risk {
    let access = access.strip_prefix("owner ").unwrap_or(access);
    let exec = access.starts_with("exec");
    let mode = access
        .strip_prefix("exec_")
        .map(|m| m.split("->").next().unwrap_or_default());
    if mode.is_some_and(|m| m.contains(['u', 'U'])) {
        return Risk::High;
    }
    let writes = !exec && !matches!(access, "read" | "lock" | "mmap_exec");
    let Ok(compiled) =
        PathPattern::compile(pattern, &Default::default(), UnknownVariables::Anything)
    else {
        return if writes { Risk::High } else { Risk::Medium };
    };
    let exact = compiled.is_exact();
    if SECRET_FILES.iter().any(|f| compiled.matches(f.as_bytes())) {
        return Risk::High;
    }
    if writes {
        if exact
            && HARMLESS_DEVICES
                .iter()
                .any(|d| compiled.matches(d.as_bytes()))
        {
            return Risk::Low;
        }
        if HIGH_RISK_WRITE_PREFIXES
            .iter()
            .any(|p| compiled.may_reach(p.as_bytes()))
        {
            return Risk::High;
        }
    }
    let risk = if exec || writes {
        Risk::Medium
    } else {
        Risk::Low
    };
    if exact {
        risk
    } else {
        risk.max(Risk::Medium)
    }
}

/// Parses an AppArmor profile into permissions (for `diff`).
pub fn parse_apparmor(text: &str) -> Result<Permissions, ParseError> {
    from_apparmor(&apparmor_parse::parse(text)?)
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

/// Plain text, one change per line.
pub fn render_text(diff: &PolicyDiff) -> String {
    let mut out = format!(
        "{}: {} added, {} removed{}\n",
        diff.kind,
        diff.added.len(),
        diff.removed.len(),
        if diff.widened() {
            " (widened)"
        } else if diff.is_empty() {
            " (equal)"
        } else {
            " (narrowed)"
        }
    );
    for (sign, changes) in [("+", &diff.added), ("-", &diff.removed)] {
        for c in changes {
            let risk = if sign == "+" {
                format!("[{}] ", risk_word(c.risk))
            } else {
                String::new()
            };
            let by = if c.by.is_empty() {
                String::new()
            } else {
                format!("  by {}", c.by.join(", ").escape_debug())
            };
            out.push_str(&format!(
                "{sign} {risk}{}{by}\n",
                c.permission.describe_in(&diff.kind)
            ));
        }
    }
    out
}

fn risk_word(risk: Risk) -> &'static str {
    match risk {
        Risk::Low => "low",
        Risk::Medium => "medium",
        Risk::High => "high",
    }
}

/// Markdown for a pull-request comment. Workload data is put in code spans with backticks
/// removed, so a hostile name cannot add markup.
pub fn render_markdown(diff: &PolicyDiff) -> String {
    let verdict = if diff.widened() {
        "**widens** the policy"
    } else if diff.is_empty() {
        "leaves the policy unchanged"
    } else {
        "narrows the policy"
    };
    let mut out = format!(
        "### leastpriv: {} diff\n\nThis change {verdict}: {} added, {} removed.\n",
        diff.kind,
        diff.added.len(),
        diff.removed.len()
    );
    if !diff.added.is_empty() {
        out.push_str("\n| risk | added | caused by |\n| --- | --- | --- |\n");
        for c in &diff.added {
            let by: Vec<String> = c.by.iter().map(|b| code(b)).collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                risk_word(c.risk),
                code(&c.permission.describe_in(&diff.kind)),
                by.join(", ")
            ));
        }
    }
    if !diff.removed.is_empty() {
        out.push_str("\n| removed |\n| --- |\n");
        for c in &diff.removed {
            out.push_str(&format!(
                "| {} |\n",
                code(&c.permission.describe_in(&diff.kind))
            ));
        }
    }
    out
}

/// A markdown code span that cannot be broken out of: backticks, pipes and line breaks
/// from the data are replaced.
fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '|' => '¦',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    format!("`{clean}`")
}

/// Stable JSON for machines.
pub fn render_json(diff: &PolicyDiff) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        diff: &'a PolicyDiff,
        widened: bool,
    }
    let mut text = serde_json::to_string_pretty(&Out {
        diff,
        widened: diff.widened(),
    })
    .expect("serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::Abi;

    #[test]
    fn a_recording_against_itself_is_empty() {
        let r = Recording::for_tests(&[(Abi::X86_64, 0), (Abi::X86_64, 1)]);
        let d = diff("recording", &from_recording(&r), &from_recording(&r));
        assert!(d.is_empty() && !d.widened());
        assert!(render_text(&d).contains("(equal)"));
    }

    #[test]
    fn ptrace_is_a_high_risk_widening_with_its_cause() {
        let old = Recording::for_tests(&[(Abi::X86_64, 0)]);
        let new = Recording::for_tests(&[(Abi::X86_64, 0), (Abi::X86_64, 101)]);
        let d = diff("recording", &from_recording(&old), &from_recording(&new));
        assert!(d.widened());
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].risk, Risk::High);
        assert_eq!(d.added[0].by, ["/bin/x"]);
        assert!(render_text(&d).contains("+ [high] syscall ptrace (x86_64)  by /bin/x"));
        let narrowed = diff("recording", &from_recording(&new), &from_recording(&old));
        assert!(!narrowed.widened() && narrowed.removed.len() == 1);
    }

    #[test]
    fn capability_lists_compare_by_name() {
        let d = diff(
            "capabilities",
            &from_capability_list("CHOWN\n"),
            &from_capability_list("# x\nCHOWN\nsys_admin\n"),
        );
        assert_eq!(
            d.added[0].permission,
            Permission::Capability {
                name: "CAP_SYS_ADMIN".into()
            }
        );
        assert_eq!(d.added[0].risk, Risk::High);
    }

    #[test]
    fn markdown_cannot_be_broken_by_names() {
        let change = Change {
            permission: Permission::File {
                path: "/tmp/a`|b\n# x".into(),
                access: "write".into(),
            },
            risk: Risk::Medium,
            by: vec!["/x`y".into()],
        };
        let d = PolicyDiff {
            kind: "recording".into(),
            added: vec![change],
            removed: vec![],
        };
        let md = render_markdown(&d);
        let row = md.lines().find(|l| l.starts_with("| medium")).unwrap();
        assert_eq!(row.matches('`').count(), 4, "{row}");
        assert_eq!(row.matches('|').count(), 4, "{row}");
    }

    #[test]
    fn argument_values_compare_by_name_in_recordings_and_profiles() {
        use crate::{
            policy::seccomp::{decide, SeccompOptions},
            profile::seccomp::{parse, render_oci},
            recording::{ArgumentValues, SyscallArguments},
        };
        let with = |values: Vec<u64>, names: &[&str]| {
            let mut r = Recording::for_tests(&[(Abi::X86_64, 41)]);
            r.arguments = Some(std::collections::BTreeMap::from([(
                Abi::X86_64,
                vec![SyscallArguments {
                    syscall: "socket".into(),
                    arguments: vec![],
                    values: vec![ArgumentValues {
                        values,
                        names: names.iter().map(|n| (*n).to_owned()).collect(),
                        count: 1,
                        by: ["/bin/x".into()].into(),
                        runs: vec![],
                    }],
                }],
            )]));
            r
        };
        let old = with(vec![2, 1, 0], &["AF_INET", "SOCK_STREAM", "0 (default)"]);
        let new = with(vec![17, 3, 768], &["AF_PACKET", "SOCK_RAW", "0x300"]);
        let d = diff("recording", &from_recording(&old), &from_recording(&new));
        assert_eq!(
            d.added[0].permission.describe(),
            "syscall socket with AF_PACKET SOCK_RAW 0x300"
        );
        assert_eq!(d.added[0].risk, Risk::High);
        // The same from the profiles generated from them.
        let profile = |r: &Recording| {
            let policy = decide(r, SeccompOptions::default());
            from_seccomp(&parse(std::path::Path::new("p.json"), &render_oci(&policy)).unwrap())
        };
        let d = diff("seccomp profile", &profile(&old), &profile(&new));
        let added: Vec<String> = d.added.iter().map(|c| c.permission.describe()).collect();
        assert!(
            added.contains(&"syscall socket with AF_PACKET SOCK_RAW 0x300".to_owned()),
            "{added:?}"
        );
    }

    #[test]
    fn risk_table() {
        let file = |path: &str, access: &str| {
            risk(&Permission::File {
                path: path.into(),
                access: access.into(),
            })
        };
        assert_eq!(file("/etc/passwd", "write"), Risk::High);
        assert_eq!(file("/etc/passwd", "read"), Risk::Low);
        assert_eq!(file("/etc/shadow", "read"), Risk::High);
        assert_eq!(file("/dev/null", "write"), Risk::Low);
        assert_eq!(
            risk(&Permission::Network {
                family: "AF_PACKET".into(),
                kind: "SOCK_RAW".into()
            }),
            Risk::High
        );
        assert_eq!(
            risk(&Permission::Syscall {
                abi: None,
                name: "read".into()
            }),
            Risk::Low
        );
    }

    #[test]
    fn apparmor_file_rules_are_rated_by_every_path_they_match() {
        let rate = |path: &str, access: &str| pattern_risk(path, access);
        assert_eq!(rate("/etc/passwd", "write"), Risk::High);
        assert_eq!(rate("/etc/passwd", "owner write"), Risk::High);
        assert_eq!(rate("/etc/passwd", "read"), Risk::Low);
        assert_eq!(rate("/etc/shadow", "read"), Risk::High);
        assert_eq!(rate("/etc/sh*", "read"), Risk::High);
        assert_eq!(rate("/etc/*.conf", "read"), Risk::Medium);
        assert_eq!(rate("/**", "write"), Risk::High);
        assert_eq!(rate("/{tmp,etc}/x", "write"), Risk::High);
        assert_eq!(rate("/e*/x", "write"), Risk::High);
        assert_eq!(rate("/tmp/*", "write"), Risk::Medium);
        assert_eq!(rate("/srv/www/*", "read"), Risk::Medium);
        assert_eq!(rate("/srv/www/[ab].css", "read"), Risk::Medium);
        assert_eq!(rate("/srv/www/a?css", "read"), Risk::Medium);
        assert_eq!(rate("/srv/www/a.css", "read"), Risk::Low);
        assert_eq!(rate(r"/srv/star\*", "read"), Risk::Low);
        assert_eq!(rate("@{HOME}/.cfg", "read"), Risk::Medium);
        assert_eq!(rate("@{HOME}/.cfg", "write"), Risk::Medium);
        assert_eq!(rate("/proc/@{pid}/stat", "read"), Risk::Medium);
        assert_eq!(rate("/dev/null", "write"), Risk::Low);
        assert_eq!(rate("/dev/sda", "write"), Risk::High);
        assert_eq!(rate("/usr/bin/x", "exec"), Risk::Medium);
        assert_eq!(rate("/usr/bin/x", "exec_Px->other"), Risk::Medium);
        assert_eq!(rate("/usr/bin/x", "exec_Ux"), Risk::High);
        // An unknown variable matches anything where it stands.
        assert_eq!(rate("/srv/@{unknown}/x", "write"), Risk::Medium);
        assert_eq!(rate("@{unknown}/x", "write"), Risk::High);
        assert_eq!(rate("@{unknown}/x", "read"), Risk::Medium);
        assert_eq!(rate("@{unknown}", "read"), Risk::High);
        assert_eq!(rate("/srv/{a,b", "write"), Risk::High);
        assert_eq!(
            risk(&Permission::Abstraction {
                name: "base".into()
            }),
            Risk::Medium
        );
        assert_eq!(
            risk(&Permission::Rule {
                text: "mount fstype=tmpfs".into()
            }),
            Risk::High
        );
        assert_eq!(
            risk(&Permission::Rule {
                text: "flags=(complain)".into()
            }),
            Risk::High
        );
        assert_eq!(
            risk(&Permission::Rule {
                text: "signal (send) peer=x".into()
            }),
            Risk::Medium
        );
        assert_eq!(
            risk(&Permission::Network {
                family: "AF_INET".into(),
                kind: "*".into()
            }),
            Risk::High
        );
        assert_eq!(
            risk(&Permission::Capability { name: "*".into() }),
            Risk::High
        );
    }

    #[test]
    fn apparmor_profiles_diff_by_rule() {
        let old = parse_apparmor("profile p {\n  \"/srv/a\" r,\n  owner /tmp/x w,\n}\n").unwrap();
        let new = parse_apparmor(
            "profile p {\n  include <abstractions/base>\n  /srv/a r,\n  /tmp/x w,\n  \"/etc/passwd\" w,\n}\n",
        )
        .unwrap();
        let d = diff(APPARMOR, &old, &new);
        let added: Vec<(String, Risk)> = d
            .added
            .iter()
            .map(|c| (c.permission.describe(), c.risk))
            .collect();
        assert_eq!(
            added,
            [
                ("file /etc/passwd write".to_owned(), Risk::High),
                ("file /tmp/x write".to_owned(), Risk::Medium),
                ("abstraction base".to_owned(), Risk::Medium),
            ]
        );
        let removed: Vec<String> = d.removed.iter().map(|c| c.permission.describe()).collect();
        assert_eq!(removed, ["file /tmp/x owner write"]);
        assert!(diff(APPARMOR, &new, &new).is_empty());
        // Paths are shown as written in the profile; only control characters are escaped.
        let hostile = Permission::File {
            path: "/srv/a\\\"b\\*\n".into(),
            access: "read".into(),
        };
        assert_eq!(hostile.describe_in(APPARMOR), "file /srv/a\\\"b\\*\\n read");
        assert_eq!(hostile.describe(), "file /srv/a\\\\\\\"b\\\\*\\n read");
    }
}
