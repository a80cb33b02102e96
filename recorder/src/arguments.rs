//! Which syscall arguments are recorded by value (the kernel's `ARG_SPECS` table), per ABI,
//! and so which ones argument-aware seccomp profiles can narrow. The set is
//! the arguments that decide risk and that seccomp can check (docs/seccomp.md):
//! socket and socketpair (family, type without flags, protocol), clone, clone3 and unshare
//! (namespace flags), setns (namespace type), personality, prctl (option), ioctl (request).

use recorder_common::{ArgSpec, MAX_SYSCALL_NR};

use crate::syscalls::Abi;

/// The `CLONE_NEW*` bits: what makes a clone or unshare create namespaces.
pub const NAMESPACE_FLAGS: u64 = 0x0002_0000 // CLONE_NEWNS
    | 0x0200_0000 // CLONE_NEWCGROUP
    | 0x0400_0000 // CLONE_NEWUTS
    | 0x0800_0000 // CLONE_NEWIPC
    | 0x1000_0000 // CLONE_NEWUSER
    | 0x2000_0000 // CLONE_NEWPID
    | 0x4000_0000 // CLONE_NEWNET
    | 0x0000_0080; // CLONE_NEWTIME

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
