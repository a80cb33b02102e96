//! Comparing what two recordings, or two profiles of the same kind, allow: what was added
//! (the change widens the policy) and what was removed (it narrows), each addition rated by
//! a documented risk table (docs/review.md) and, from recordings, with the programs that
//! caused it. Pure: the command reads files and renders; this decides.

use serde::Serialize;

use crate::{
    recording::ExePath,
    review::{
        parse::apparmor::{PathPattern, UnknownVariables},
        permission::{Permission, Permissions, APPARMOR},
    },
};

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
            // Recordings' access kinds, and Landlock's rights (`read_file`, `execute`, ...).
            let writes = !matches!(
                access.as_str(),
                "read" | "lock" | "mmap_exec" | "exec" | "read_file" | "read_dir" | "execute"
            );
            if SECRET_FILES.contains(&path.as_str()) {
                Risk::High
            } else if writes && HARMLESS_DEVICES.contains(&path.as_str()) {
                Risk::Low
            } else if writes && HIGH_RISK_WRITE_PREFIXES.iter().any(|p| path.starts_with(p)) {
                Risk::High
            } else if access == "exec" || access == "execute" || writes {
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
        // A port reachable from other machines is new exposure (a privileged one, a service
        // posing as a system one); loopback stays on the machine.
        Permission::Port { op, port, peer, .. } => {
            if peer == "loopback" {
                Risk::Low
            } else if op == "bind" && *port < 1024 && *port != 0 {
                Risk::High
            } else {
                Risk::Medium
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
    // A Landlock right or scope no longer handled: allowed everywhere.
    "unrestricted",
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
pub fn code(text: &str) -> String {
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
mod tests;
