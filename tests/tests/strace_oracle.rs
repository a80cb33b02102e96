//! Checks the oracle, not leastpriv: the workloads build and make their distinctive syscalls,
//! and the strace parser puts them under the right ABI. Needs strace, not BPF or root, so a
//! broken workload or parser shows up here instead of as a puzzling recording failure.

use leastpriv_tests::strace;
use leastpriv_tests::workloads::{self, Workload};

fn assert_strace_sees_distinctive(workload: &Workload) {
    let traced = strace::trace(&workload.argv());
    for (abi, names) in &workload.distinctive {
        let seen = traced.get(*abi).cloned().unwrap_or_default();
        let missing: Vec<_> = names.iter().filter(|name| !seen.contains(**name)).collect();
        assert!(
            missing.is_empty(),
            "{:?}: strace did not see {abi} {missing:?}; it saw {traced:?}",
            workload.argv
        );
    }
}

#[test]
fn ls_distinctive_syscalls() {
    assert_strace_sees_distinctive(&workloads::ls());
}

#[test]
fn python_distinctive_syscalls() {
    assert_strace_sees_distinctive(&workloads::python());
}

#[test]
fn threads_distinctive_syscalls() {
    assert_strace_sees_distinctive(&workloads::threads());
}

#[test]
fn spawn_kinds_distinctive_syscalls() {
    assert_strace_sees_distinctive(&workloads::spawn_kinds());
}

#[test]
fn daemon_distinctive_syscalls() {
    assert_strace_sees_distinctive(&workloads::daemon());
}

#[test]
fn static32_distinctive_syscalls_are_ia32_only() {
    let workload = workloads::static32();
    assert_strace_sees_distinctive(&workload);
    let traced = strace::trace(&workload.argv());
    // Only the execve that started it is a 64-bit call.
    assert_eq!(traced["x86_64"], ["execve".to_owned()].into(), "{traced:?}");
}

/// A 32-bit child of a 64-bit parent, and 64-bit children of that child: modes are
/// inherited at fork and change at execve.
#[test]
fn mixed_modes_follow_fork_and_exec() {
    let static32 = workloads::build_workload("static32", &["-m32", "-static"]);
    let script = format!("{static32}; {static32} >/dev/null; /bin/true");
    let traced = strace::trace(&["sh", "-c", &script]);
    let ia32 = &traced["ia32"];
    assert!(
        ia32.contains("set_thread_area") && ia32.contains("getpid"),
        "{traced:?}"
    );
    let x86_64 = &traced["x86_64"];
    assert!(
        x86_64.contains("wait4") && x86_64.contains("arch_prctl"),
        "{traced:?}"
    );
    assert!(
        !x86_64.contains("set_thread_area") && !ia32.contains("arch_prctl"),
        "{traced:?}"
    );
}

#[test]
fn syscall_loop_makes_the_named_syscall() {
    let exe = workloads::syscall_loop();
    for name in [
        "sysinfo",
        "getpriority",
        "times",
        "getrusage",
        "uname",
        "sched_getaffinity",
    ] {
        let traced = strace::trace(&[&exe, name, "0.01"]);
        assert!(traced["x86_64"].contains(name), "{name}: {traced:?}");
    }
}
