//! Which syscall arguments are recorded by value (the kernel's `ARG_SPECS` table), per ABI,
//! and so which ones argument-aware seccomp profiles can narrow. The set is
//! the arguments that decide risk and that seccomp can check (docs/seccomp.md):
//! socket and socketpair (family, type without flags, protocol), clone, clone3 and unshare
//! (namespace flags), setns (namespace type), personality, prctl (option), ioctl (request).
//!
//! It also names those values for review (`show`, `diff`) and for the Recording's socket
//! entries: `AF_INET6`, `CLONE_NEWUSER`, `TIOCSTI` rather than numbers. Every name comes from
//! one table per argument, and a value no table names is written one way everywhere: in hex
//! ([`unnamed`]).

use recorder_common::{ArgSpec, MAX_SYSCALL_NR};

use super::syscalls::Abi;

/// The `CLONE_NEW*` bits: what makes a clone or unshare create namespaces.
pub const NAMESPACE_FLAGS: u64 = {
    let mut flags = 0;
    let mut i = 0;
    while i < NAMESPACES.len() {
        flags |= NAMESPACES[i].0;
        i += 1;
    }
    flags
};

/// SOCK_TYPE_MASK: the socket type without SOCK_NONBLOCK and SOCK_CLOEXEC.
pub const SOCKET_TYPE_MASK: u64 = 0xf;
const INT: u64 = 0xffff_ffff;

fn spec(args: &[(u32, u64)], from_memory: bool) -> ArgSpec {
    let mut spec = ArgSpec {
        count: args.len() as u32,
        from_memory: u32::from(from_memory),
        ..ArgSpec::default()
    };
    for (i, &(index, mask)) in args.iter().enumerate() {
        spec.index[i] = index;
        spec.mask[i] = mask;
    }
    spec
}

/// The spec of a syscall by name, if its arguments are recorded.
pub fn spec_of(name: &str) -> Option<ArgSpec> {
    by_name()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, spec)| spec)
}

/// (syscall name, its spec); the name's number comes from each ABI's table.
pub fn by_name() -> Vec<(&'static str, ArgSpec)> {
    vec![
        (
            "socket",
            spec(&[(0, INT), (1, SOCKET_TYPE_MASK), (2, INT)], false),
        ),
        (
            "socketpair",
            spec(&[(0, INT), (1, SOCKET_TYPE_MASK), (2, INT)], false),
        ),
        ("clone", spec(&[(0, NAMESPACE_FLAGS)], false)),
        // clone3 passes its flags in `struct clone_args` (first field): read from memory.
        ("clone3", spec(&[(0, NAMESPACE_FLAGS)], true)),
        ("unshare", spec(&[(0, NAMESPACE_FLAGS)], false)),
        ("setns", spec(&[(1, INT)], false)),
        ("personality", spec(&[(0, INT)], false)),
        ("prctl", spec(&[(0, INT)], false)),
        ("ioctl", spec(&[(1, INT)], false)),
    ]
}

/// (index into the counters, spec) for every ABI.
pub fn table() -> Vec<(u32, ArgSpec)> {
    let specs = by_name();
    let mut table = Vec::new();
    for (wire, abi) in Abi::ALL.iter().enumerate() {
        for (name, spec) in &specs {
            if let Some(nr) = abi.syscall_nr(name).and_then(|nr| u32::try_from(nr).ok()) {
                if nr < MAX_SYSCALL_NR {
                    table.push((wire as u32 * MAX_SYSCALL_NR + nr, *spec));
                }
            }
        }
    }
    table
}

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
        ("socket" | "socketpair", 2) => name_in(PROTOCOLS, value),
        ("clone" | "clone3" | "unshare" | "setns", 0 | 1) => namespace_flags(value),
        ("prctl", 0) => name_in(PRCTL, value),
        ("ioctl", 0) => name_in(IOCTL, value),
        ("personality", 0) => name_in(PERSONALITY, value),
        _ => unnamed(value),
    }
}

/// (value, name) pairs of one argument.
type NameTable = &'static [(u64, &'static str)];

/// The name of `value` in `entries`, or the value itself in hex.
fn name_in(entries: NameTable, value: u64) -> String {
    entries
        .iter()
        .find(|(v, _)| *v == value)
        .map_or_else(|| unnamed(value), |(_, n)| (*n).to_owned())
}

/// How a value without a name is written, wherever it is shown or recorded.
pub fn unnamed(value: u64) -> String {
    format!("{value:#x}")
}

/// Address family names (linux/socket.h).
pub fn family_name(family: u32) -> String {
    name_in(FAMILIES, family.into())
}

/// Socket type names (flags already removed).
pub fn socket_type_name(sock_type: u32) -> String {
    name_in(SOCKET_TYPES, sock_type.into())
}

const FAMILIES: NameTable = &[
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
    (45, "AF_MCTP"),
];

const SOCKET_TYPES: NameTable = &[
    (1, "SOCK_STREAM"),
    (2, "SOCK_DGRAM"),
    (3, "SOCK_RAW"),
    (4, "SOCK_RDM"),
    (5, "SOCK_SEQPACKET"),
    (6, "SOCK_DCCP"),
    (10, "SOCK_PACKET"),
];

const PROTOCOLS: NameTable = &[
    (0, "0 (default)"),
    (1, "IPPROTO_ICMP"),
    (6, "IPPROTO_TCP"),
    (17, "IPPROTO_UDP"),
    (58, "IPPROTO_ICMPV6"),
    (255, "IPPROTO_RAW"),
];

const NAMESPACES: NameTable = &[
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
    let rest = value & !NAMESPACE_FLAGS;
    if rest != 0 {
        names.push(unnamed(rest));
    }
    names.join("|")
}

const PRCTL: NameTable = &[
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

const IOCTL: NameTable = &[
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

const PERSONALITY: NameTable = &[
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
        assert_eq!(value_name("socket", 0, 42), "0x2a");
    }
}
