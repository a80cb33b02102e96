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
    use crate::{
        recording::{syscalls::Abi, Recording},
        review::{
            parse::{
                apparmor::parse_permissions as parse_apparmor, seccomp::permissions as from_seccomp,
            },
            permission::{from_capability_list, from_recording},
        },
    };

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
            profile::seccomp::render_oci,
            recording::{ArgumentValues, SyscallArguments},
            review::parse::seccomp::parse,
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
