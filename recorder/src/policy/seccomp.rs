//! What a seccomp profile allows, decided from a Recording.
//!
//! The decisions, each documented in docs/seccomp.md:
//! - every named syscall the recording saw is allowed, on every ABI it saw (the OCI format
//!   names syscalls, not numbers, and applies each name on every listed architecture);
//! - the vDSO calls are allowed even when unseen: on the recording machine they may never
//!   have entered the kernel, but on another clock source they do;
//! - syscalls that libc and language runtimes probe, falling back only on ENOSYS, are denied
//!   with ENOSYS when unseen, so the fallback runs instead of a hard EPERM failure;
//! - a container runtime's own syscalls between installing the filter and exec are added
//!   when asked for (`--runtime`), from a measured list;
//! - numbers without a name cannot be written into a profile: they stay denied and are
//!   reported.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    recording::syscalls::Abi,
    recording::{ExePath, Recording},
};

/// Why a syscall is in the profile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Seen in the recording, made by these executables.
    Recorded { by: Vec<ExePath> },
    /// A vDSO call, allowed by default.
    Vdso,
    /// Made by the container runtime after it installs the filter.
    Runtime(Runtime),
}

/// Container runtimes whose own post-filter syscalls can be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, clap::ValueEnum)]
pub enum Runtime {
    /// The profile is installed right before exec (as `leastpriv run` does): nothing to add.
    #[default]
    None,
    Runc,
    Crun,
}

/// Choices the user makes about a seccomp profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeccompOptions {
    pub runtime: Runtime,
    /// Allow the vDSO calls whether or not they were seen.
    pub allow_vdso: bool,
    /// Narrow the syscalls whose argument values were recorded to exactly those values.
    pub arguments: bool,
}

impl Default for SeccompOptions {
    fn default() -> Self {
        SeccompOptions {
            runtime: Runtime::None,
            allow_vdso: true,
            arguments: true,
        }
    }
}

/// One argument condition: `(arg[index] & mask) == value`, OCI's masked equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArgCondition {
    pub index: u32,
    pub mask: u64,
    pub value: u64,
}

/// The decided seccomp policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeccompPolicy {
    /// ABIs the filter covers: exactly those the recording saw.
    pub abis: BTreeSet<Abi>,
    /// Allowed syscall names, with why.
    pub allow: BTreeMap<String, BTreeSet<Reason>>,
    /// Denied with ENOSYS instead of EPERM, because callers probe them.
    pub enosys: BTreeSet<String>,
    /// Syscall numbers seen that have no name (they stay denied).
    pub unnamed: Vec<(Abi, i64)>,
    /// Allowed names that are allowed only with these argument values: one rule per set of
    /// conditions (the rules are alternatives; the conditions of one rule all hold).
    pub conditions: BTreeMap<String, BTreeSet<Vec<ArgCondition>>>,
    /// Why argument conditions were not written, when they were asked for but could not be.
    pub arguments_note: Option<String>,
}

/// Calls the vDSO usually answers in userspace. Which ones reach the kernel depends on the
/// clock source, so a recording can miss them.
const VDSO: &[&str] = &[
    "clock_getres",
    "clock_gettime",
    "getcpu",
    "gettimeofday",
    "time",
];
/// The 32-bit time64 forms of the same calls (ia32 only).
const VDSO_IA32: &[&str] = &["clock_getres_time64", "clock_gettime64"];

/// Syscalls that glibc, musl, Go, Rust std or systemd try first and replace with an older
/// call only when the kernel answers ENOSYS (an EPERM from seccomp would be a hard failure).
pub const PROBED: &[&str] = &[
    "cachestat",
    "clone3",
    "close_range",
    "copy_file_range",
    "epoll_pwait2",
    "faccessat2",
    "fchmodat2",
    "futex_waitv",
    "io_uring_setup",
    "landlock_create_ruleset",
    "map_shadow_stack",
    "memfd_secret",
    "mseal",
    "openat2",
    "pidfd_getfd",
    "pidfd_open",
    "pidfd_send_signal",
    "rseq",
    "statx",
];

/// Syscalls a container runtime makes after installing the filter and before (or as) it
/// executes the workload. Measured with `strace -f` on the runtime from Debian's packages:
/// the calls of the container's init process from its `seccomp(SECCOMP_SET_MODE_FILTER)` on
/// (see docs/seccomp.md for how to measure again).
fn runtime_syscalls(runtime: Runtime) -> &'static [&'static str] {
    match runtime {
        Runtime::None => &[],
        Runtime::Runc => RUNC,
        Runtime::Crun => CRUN,
    }
}

/// runc 1.1.5 (Debian bookworm), as Docker, Podman and Kubernetes start it: the union of what
/// its container init does after loading the filter with `no_new_privs` off (their default:
/// the filter is loaded while the init is still root with every capability, so dropping
/// them and changing user go through it: capget, capset, prctl, setgroups, setgid, setuid,
/// and the checks around them) and on (`runc spec`'s default, `--security-opt
/// no-new-privileges`, Kubernetes' `allowPrivilegeEscalation: false`). Each list is the
/// union over ten runs under strace, plus `rt_sigreturn`, seen in the audit log in 8 of 400
/// runs under load with a logging default action. runc's init is a Go program, so its
/// runtime threads (futex, nanosleep, sched_yield, epoll, and returning from the runtime's
/// preemption signal) keep running between the filter load and the exec; its own code
/// checks /proc/self/fd (openat, fstatfs, getdents64), signals readiness (write) and closes
/// descriptors. One list serves both settings: a profile must never stop a container from
/// starting, and the difference is the runtime's own calls before the workload runs.
const RUNC: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "nanosleep",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "rt_sigreturn",
    "sched_yield",
    "setgid",
    "setgroups",
    "setuid",
    "write",
];
/// crun 1.8.1 (Debian bookworm), measured with `crun run` of a bundle, as root and as uid
/// 1000, five runs each: a single-threaded C process. With no_new_privs on it only closes its
/// descriptors and executes the workload; with no_new_privs off (the engines' default, as for
/// runc) it loads the filter while still privileged, so dropping capabilities, changing user
/// and resetting signal handling pass through it too. The list is the union: a profile must
/// start the container either way.
const CRUN: &[&str] = &[
    "capset",
    "close",
    "execve",
    "prctl",
    "rt_sigaction",
    "rt_sigprocmask",
    "setresgid",
    "setresuid",
    "write",
];

/// Decides the seccomp policy for a recording.
pub fn decide(recording: &Recording, options: SeccompOptions) -> SeccompPolicy {
    let mut policy = SeccompPolicy::default();
    for (&abi, entries) in &recording.syscalls {
        policy.abis.insert(abi);
        for entry in entries {
            match &entry.name {
                Some(name) => {
                    policy
                        .allow
                        .entry(name.clone())
                        .or_default()
                        .insert(Reason::Recorded {
                            by: entry.by.to_vec(),
                        });
                }
                None => policy.unnamed.push((abi, entry.nr)),
            }
        }
    }
    if options.allow_vdso {
        let ia32 = policy.abis.contains(&Abi::Ia32);
        let extra = if ia32 { VDSO_IA32 } else { &[] };
        for name in VDSO.iter().chain(extra) {
            policy
                .allow
                .entry((*name).to_owned())
                .or_default()
                .insert(Reason::Vdso);
        }
    }
    for name in runtime_syscalls(options.runtime) {
        policy
            .allow
            .entry((*name).to_owned())
            .or_default()
            .insert(Reason::Runtime(options.runtime));
    }
    if options.arguments {
        narrow_by_arguments(recording, &mut policy);
    }
    policy.enosys = PROBED
        .iter()
        .filter(|name| !policy.allow.contains_key(**name))
        .map(|name| (*name).to_owned())
        .collect();
    policy
}

/// Narrows the syscalls whose argument values were recorded to exactly those values. clone3
/// passes its flags in memory, which seccomp cannot read: it is answered ENOSYS, so that libc
/// falls back to clone, whose flags are in a register and allowed as recorded (clone3's
/// recorded flags included).
fn narrow_by_arguments(recording: &Recording, policy: &mut SeccompPolicy) {
    let Some(arguments) = &recording.arguments else {
        policy.arguments_note =
            Some("the recording holds no argument values (made before they were recorded)".into());
        return;
    };
    if recording.lost.argument_values > 0 {
        policy.arguments_note = Some(format!(
            "{} argument values were lost while recording; syscalls are left unconditional",
            recording.lost.argument_values
        ));
        return;
    }
    let mut values: BTreeMap<String, BTreeSet<Vec<u64>>> = BTreeMap::new();
    for list in arguments.values() {
        for item in list {
            let name = if item.syscall == "clone3" {
                "clone".to_owned()
            } else {
                item.syscall.clone()
            };
            values
                .entry(name)
                .or_default()
                .extend(item.values.iter().map(|v| v.values.clone()));
        }
    }
    if let Some(reasons) = policy.allow.remove("clone3") {
        // Keep what clone3 stood for on clone, which now carries it.
        policy
            .allow
            .entry("clone".into())
            .or_default()
            .extend(reasons);
    }
    for (name, seen) in values {
        let Some(spec) = crate::recording::arguments::spec_of(&name) else {
            continue;
        };
        if !policy.allow.contains_key(&name) {
            continue;
        }
        let rules = seen
            .into_iter()
            .map(|vals| {
                vals.iter()
                    .enumerate()
                    .take(spec.count as usize)
                    .map(|(i, &value)| ArgCondition {
                        index: spec.index[i],
                        mask: spec.mask[i],
                        value,
                    })
                    .collect()
            })
            .collect();
        policy.conditions.insert(name, rules);
    }
}

impl SeccompPolicy {
    /// Allowed names without conditions.
    pub fn unconditional(&self) -> impl Iterator<Item = &str> {
        self.allow
            .keys()
            .filter(|n| !self.conditions.contains_key(*n))
            .map(String::as_str)
    }

    /// Names allowed because the recording saw them.
    pub fn recorded(&self) -> impl Iterator<Item = &str> {
        self.allow
            .iter()
            .filter(|(_, why)| why.iter().any(|r| matches!(r, Reason::Recorded { .. })))
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests;
