//! Comparing what two recordings, or two profiles of the same kind, allow: what was added
//! (the change widens the policy) and what was removed (it narrows), each addition rated by
//! a documented risk table (docs/review.md) and, from recordings, with the programs that
//! caused it. Pure: the command reads files and renders; this decides.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};
use serde::Serialize;

use crate::{policy::capabilities, recording::Recording};

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
    /// A socket family and type.
    Network {
        family: String,
        #[serde(rename = "type")]
        kind: String,
    },
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
    pub by: Vec<String>,
}

/// The comparison of two policies of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    /// What was compared: `recording`, `seccomp` or `capabilities`.
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
pub type Permissions = BTreeMap<Permission, BTreeSet<String>>;

/// What a recording shows the workload needs: syscalls per ABI, the capability add-list,
/// files with their access kinds, sockets.
pub fn from_recording(recording: &Recording) -> Permissions {
    let mut out = Permissions::new();
    for (abi, entries) in &recording.syscalls {
        out.entry(Permission::Architecture { name: abi.as_str().into() }).or_default();
        for entry in entries {
            let name = entry.name.clone().unwrap_or_else(|| format!("#{}", entry.nr));
            out.entry(Permission::Syscall { abi: Some(abi.as_str().into()), name })
                .or_default()
                .extend(entry.by.iter().cloned());
        }
    }
    if let Ok(policy) = capabilities::decide(recording) {
        for (name, by) in policy.add {
            out.entry(Permission::Capability { name }).or_default().extend(by);
        }
    }
    for file in recording.files.iter().flatten() {
        let path = match &file.path_hex {
            Some(hex) => format!("{} (bytes {hex})", file.path),
            None => file.path.clone(),
        };
        for access in &file.access {
            let access = serde_json::to_value(access).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            out.entry(Permission::File { path: path.clone(), access }).or_default().extend(file.by.iter().cloned());
        }
    }
    for socket in recording.sockets.iter().flatten() {
        out.entry(Permission::Network { family: socket.family.clone(), kind: socket.kind.clone() })
            .or_default()
            .extend(socket.by.iter().cloned());
    }
    out
}

/// What an OCI seccomp profile allows: its architectures and the names of allowing rules.
pub fn from_seccomp(profile: &LinuxSeccomp) -> Permissions {
    let mut out = Permissions::new();
    for arch in profile.architectures().iter().flatten() {
        out.entry(Permission::Architecture { name: arch.to_string() }).or_default();
    }
    let default_allows =
        matches!(profile.default_action(), LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog);
    if default_allows {
        out.entry(Permission::Syscall { abi: None, name: "*".into() }).or_default();
    }
    for rule in profile.syscalls().iter().flatten() {
        if matches!(rule.action(), LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog) {
            for name in rule.names() {
                out.entry(Permission::Syscall { abi: None, name: name.clone() }).or_default();
            }
        }
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
            let name = if name.starts_with("CAP_") { name } else { format!("CAP_{name}") };
            (Permission::Capability { name }, BTreeSet::new())
        })
        .collect()
}

/// Compares two policies of the same kind.
pub fn diff(kind: &str, old: &Permissions, new: &Permissions) -> PolicyDiff {
    let changes = |from: &Permissions, without: &Permissions| -> Vec<Change> {
        let mut changes: Vec<Change> = from
            .iter()
            .filter(|(p, _)| !without.contains_key(p))
            .map(|(p, by)| Change { permission: p.clone(), risk: risk(p), by: by.iter().cloned().collect() })
            .collect();
        // Riskiest first, then in permission order: stable for review.
        changes.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.permission.cmp(&b.permission)));
        changes
    };
    PolicyDiff { kind: kind.into(), added: changes(new, old), removed: changes(old, new) }
}

/// Syscalls that reach kernel attack surface or host-wide state (docs/review.md).
const HIGH_RISK_SYSCALLS: &[&str] = &[
    "*", "acct", "add_key", "adjtimex", "bpf", "chroot", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module", "ioperm", "iopl",
    "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
    "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "personality",
    "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "quotactl", "quotactl_fd", "reboot",
    "request_key", "setns", "settimeofday", "stime", "swapoff", "swapon", "syslog", "umount", "umount2", "unshare",
    "uselib", "userfaultfd", "vm86", "vm86old",
];
/// Syscalls that widen what a process can do to others or to itself notably.
const MEDIUM_RISK_SYSCALLS: &[&str] = &[
    "clone", "clone3", "io_uring_enter", "io_uring_register", "io_uring_setup", "kcmp", "memfd_secret",
    "mknod", "mknodat", "pidfd_getfd", "pkey_alloc", "prctl", "sched_setattr", "sched_setscheduler", "setdomainname",
    "setgid", "setgroups", "sethostname", "setpgid", "setregid", "setresgid", "setresuid", "setreuid", "setsid",
    "setuid", "socket", "socketcall", "tgkill", "tkill", "kill", "vmsplice",
];
/// Capabilities that amount to root, or break isolation.
const HIGH_RISK_CAPABILITIES: &[&str] = &[
    "CAP_BPF", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_NET_ADMIN",
    "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_TIME", "CAP_CHECKPOINT_RESTORE",
];
/// File trees whose write access changes the system itself.
const HIGH_RISK_WRITE_PREFIXES: &[&str] = &["/boot/", "/dev/", "/etc/", "/lib/", "/proc/sys/", "/sbin/", "/sys/", "/usr/"];
/// Files whose reading exposes secrets.
const SECRET_FILES: &[&str] = &["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/proc/kcore", "/dev/mem", "/dev/kmem"];
/// Device files that every program may write.
const HARMLESS_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/urandom", "/dev/random"];

/// The risk of adding a permission (the table in docs/review.md).
pub fn risk(permission: &Permission) -> Risk {
    match permission {
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
            if HIGH_RISK_CAPABILITIES.contains(&name.as_str()) { Risk::High } else { Risk::Medium }
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
            if matches!(family.as_str(), "AF_PACKET" | "AF_KEY" | "AF_ALG" | "AF_VSOCK" | "AF_XDP") || kind == "SOCK_RAW" {
                Risk::High
            } else if family == "AF_NETLINK" {
                Risk::Medium
            } else {
                Risk::Low
            }
        }
    }
}

impl Permission {
    /// A short human form: `syscall ptrace (x86_64)`, `file /etc/passwd read`.
    pub fn describe(&self) -> String {
        match self {
            Permission::Syscall { abi: Some(abi), name } => format!("syscall {name} ({abi})"),
            Permission::Syscall { abi: None, name } if name == "*" => "every syscall (default allow)".into(),
            Permission::Syscall { abi: None, name } => format!("syscall {name}"),
            Permission::Architecture { name } => format!("architecture {name}"),
            Permission::Capability { name } => format!("capability {name}"),
            Permission::File { path, access } => format!("file {} {access}", path.escape_debug()),
            Permission::Network { family, kind } => format!("network {family} {kind}"),
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
        if diff.widened() { " (widened)" } else if diff.is_empty() { " (equal)" } else { " (narrowed)" }
    );
    for (sign, changes) in [("+", &diff.added), ("-", &diff.removed)] {
        for c in changes {
            let risk = if sign == "+" { format!("[{}] ", risk_word(c.risk)) } else { String::new() };
            let by = if c.by.is_empty() { String::new() } else { format!("  by {}", c.by.join(", ").escape_debug()) };
            out.push_str(&format!("{sign} {risk}{}{by}\n", c.permission.describe()));
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
    let mut out = format!("### leastpriv: {} diff\n\nThis change {verdict}: {} added, {} removed.\n", diff.kind, diff.added.len(), diff.removed.len());
    if !diff.added.is_empty() {
        out.push_str("\n| risk | added | caused by |\n| --- | --- | --- |\n");
        for c in &diff.added {
            let by: Vec<String> = c.by.iter().map(|b| code(b)).collect();
            out.push_str(&format!("| {} | {} | {} |\n", risk_word(c.risk), code(&c.permission.describe()), by.join(", ")));
        }
    }
    if !diff.removed.is_empty() {
        out.push_str("\n| removed |\n| --- |\n");
        for c in &diff.removed {
            out.push_str(&format!("| {} |\n", code(&c.permission.describe())));
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
    let mut text = serde_json::to_string_pretty(&Out { diff, widened: diff.widened() }).expect("serialises");
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
        let d = diff("capabilities", &from_capability_list("CHOWN\n"), &from_capability_list("# x\nCHOWN\nsys_admin\n"));
        assert_eq!(d.added[0].permission, Permission::Capability { name: "CAP_SYS_ADMIN".into() });
        assert_eq!(d.added[0].risk, Risk::High);
    }

    #[test]
    fn markdown_cannot_be_broken_by_names() {
        let change = Change {
            permission: Permission::File { path: "/tmp/a`|b\n# x".into(), access: "write".into() },
            risk: Risk::Medium,
            by: vec!["/x`y".into()],
        };
        let d = PolicyDiff { kind: "recording".into(), added: vec![change], removed: vec![] };
        let md = render_markdown(&d);
        let row = md.lines().find(|l| l.starts_with("| medium")).unwrap();
        assert_eq!(row.matches('`').count(), 4, "{row}");
        assert_eq!(row.matches('|').count(), 4, "{row}");
    }

    #[test]
    fn risk_table() {
        let file = |path: &str, access: &str| risk(&Permission::File { path: path.into(), access: access.into() });
        assert_eq!(file("/etc/passwd", "write"), Risk::High);
        assert_eq!(file("/etc/passwd", "read"), Risk::Low);
        assert_eq!(file("/etc/shadow", "read"), Risk::High);
        assert_eq!(file("/dev/null", "write"), Risk::Low);
        assert_eq!(risk(&Permission::Network { family: "AF_PACKET".into(), kind: "SOCK_RAW".into() }), Risk::High);
        assert_eq!(risk(&Permission::Syscall { abi: None, name: "read".into() }), Risk::Low);
    }
}
