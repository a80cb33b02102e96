//! Argument values by name, for review (`show`, `diff`): `AF_INET6`, `CLONE_NEWUSER`,
//! `TIOCSTI` rather than numbers. Values without a name are shown in hex.

use crate::observed::{family_name, socket_type_name};

/// What each recorded argument of a syscall is (see `arguments`).
pub fn argument_names(syscall: &str) -> &'static [&'static str] {
    match syscall {
        "socket" | "socketpair" => &["family", "type", "protocol"],
        "clone" | "clone3" | "unshare" => &["namespace flags"],
        "setns" => &["namespace type"],
        "personality" => &["persona"],
        "prctl" => &["option"],
        "ioctl" => &["request"],
        _ => &[],
    }
}

/// The name of value `value` of argument `position` of `syscall`.
pub fn value_name(syscall: &str, position: usize, value: u64) -> String {
    match (syscall, position) {
        ("socket" | "socketpair", 0) => family_name(value as u32),
        ("socket" | "socketpair", 1) => socket_type_name(value as u32),
        ("socket" | "socketpair", 2) => protocol_name(value),
        ("clone" | "clone3" | "unshare" | "setns", 0 | 1) => namespace_flags(value),
        ("prctl", 0) => table(PRCTL, value),
        ("ioctl", 0) => table(IOCTL, value),
        ("personality", 0) => table(PERSONALITY, value),
        _ => format!("{value:#x}"),
    }
}

fn table(entries: &[(u64, &str)], value: u64) -> String {
    entries
        .iter()
        .find(|(v, _)| *v == value)
        .map_or_else(|| format!("{value:#x}"), |(_, n)| (*n).to_owned())
}

fn protocol_name(value: u64) -> String {
    table(
        &[
            (0, "0 (default)"),
            (1, "IPPROTO_ICMP"),
            (6, "IPPROTO_TCP"),
            (17, "IPPROTO_UDP"),
            (58, "IPPROTO_ICMPV6"),
            (255, "IPPROTO_RAW"),
        ],
        value,
    )
}

const NAMESPACES: &[(u64, &str)] = &[
    (0x0000_0080, "CLONE_NEWTIME"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
];

/// `CLONE_NEWUSER|CLONE_NEWNS`, or `no new namespace` for 0.
fn namespace_flags(value: u64) -> String {
    if value == 0 {
        return "no new namespace".into();
    }
    let mut names: Vec<String> = NAMESPACES
        .iter()
        .filter(|(bit, _)| value & bit != 0)
        .map(|(_, n)| (*n).to_owned())
        .collect();
    let rest = value & !NAMESPACES.iter().fold(0, |acc, (bit, _)| acc | bit);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

const PRCTL: &[(u64, &str)] = &[
    (1, "PR_SET_PDEATHSIG"),
    (2, "PR_GET_PDEATHSIG"),
    (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"),
    (8, "PR_SET_KEEPCAPS"),
    (15, "PR_SET_NAME"),
    (16, "PR_GET_NAME"),
    (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"),
    (24, "PR_CAPBSET_DROP"),
    (27, "PR_GET_SECUREBITS"),
    (28, "PR_SET_SECUREBITS"),
    (35, "PR_SET_MM"),
    (36, "PR_SET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"),
    (39, "PR_GET_NO_NEW_PRIVS"),
    (41, "PR_SET_THP_DISABLE"),
    (47, "PR_CAP_AMBIENT"),
    (0x5356_4d41, "PR_SET_VMA"),
];

const IOCTL: &[(u64, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5412, "TIOCSTI"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
];

const PERSONALITY: &[(u64, &str)] = &[
    (0, "PER_LINUX"),
    (0x0008, "PER_LINUX32"),
    (0xffff_ffff, "query"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values() {
        assert_eq!(value_name("socket", 0, 10), "AF_INET6");
        assert_eq!(value_name("socket", 1, 2), "SOCK_DGRAM");
        assert_eq!(
            value_name("unshare", 0, 0x1002_0000),
            "CLONE_NEWNS|CLONE_NEWUSER"
        );
        assert_eq!(value_name("clone", 0, 0), "no new namespace");
        assert_eq!(value_name("ioctl", 0, 0x5412), "TIOCSTI");
        assert_eq!(value_name("ioctl", 0, 0xdead), "0xdead");
        assert_eq!(argument_names("socket").len(), 3);
    }
}
