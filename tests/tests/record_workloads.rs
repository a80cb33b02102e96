//! `leastpriv record` (BPF) against strace: each workload runs under `strace -f` inside the
//! recorded cgroup, so both watch the same execution, and every syscall strace saw must be
//! in the recording under the same ABI. Then the workload's distinctive syscalls, those made
//! only by the parts a recorder could miss, must be there too.

use leastpriv_tests::workloads::{self, Workload};
use leastpriv_tests::{
    assert_executed, assert_not_recorded, assert_recorded, record, record_under_strace, require_bpf,
};

/// The strace comparison plus the workload's distinctive syscalls and executables.
fn assert_matches_strace(test: &str, workload: &Workload) {
    if !require_bpf(test) {
        return;
    }
    let (rec, _) = record_under_strace(&workload.argv());
    for (abi, names) in &workload.distinctive {
        assert_recorded(&rec.json, abi, names);
    }
    for file_name in &workload.executes {
        assert_executed(&rec.json, file_name);
    }
}

#[test]
fn bpf_ls_matches_strace() {
    assert_matches_strace("bpf_ls_matches_strace", &workloads::ls());
}

#[test]
fn bpf_python_matches_strace() {
    assert_matches_strace("bpf_python_matches_strace", &workloads::python());
}

#[test]
fn bpf_threads_matches_strace() {
    assert_matches_strace("bpf_threads_matches_strace", &workloads::threads());
}

#[test]
fn bpf_spawn_kinds_matches_strace() {
    assert_matches_strace("bpf_spawn_kinds_matches_strace", &workloads::spawn_kinds());
}

#[test]
fn bpf_daemon_matches_strace() {
    assert_matches_strace("bpf_daemon_matches_strace", &workloads::daemon());
}

#[test]
fn bpf_static32_matches_strace() {
    let test = "bpf_static32_matches_strace";
    if !require_bpf(test) {
        return;
    }
    let workload = workloads::static32();
    let (rec, traced) = record_under_strace(&workload.argv());
    // Without an ia32 process in the trace the comparison above proved nothing about ia32.
    assert!(
        traced.contains_key("ia32"),
        "strace saw no 32-bit process: {traced:?}"
    );
    for (abi, names) in &workload.distinctive {
        assert_recorded(&rec.json, abi, names);
    }
    // strace itself never calls set_thread_area: under x86_64 it could only come from the
    // static program's ia32 calls being filed under the wrong ABI.
    assert_not_recorded(&rec.json, "x86_64", &["set_thread_area"]);
}

/// Without strace, the only 64-bit syscall of a static 32-bit command is the execve that
/// starts it: anything else under x86_64 would be its ia32 numbers read with the wrong table
/// (ia32 getpid is 20, x86_64 writev), or syscalls from before the command's execve.
#[test]
fn bpf_static32_alone_is_all_ia32() {
    if !require_bpf("bpf_static32_alone_is_all_ia32") {
        return;
    }
    let workload = workloads::static32();
    let mut args = vec!["--as-root", "--"];
    args.extend(workload.argv());
    let rec = record(&args);
    rec.assert_success().assert_complete();
    assert_recorded(
        &rec.json,
        "ia32",
        &["set_thread_area", "getpid", "uname", "write", "exit_group"],
    );
    let x86_64 = leastpriv_tests::syscall_names(&rec.json, "x86_64");
    assert!(
        x86_64.iter().all(|name| name == "execve"),
        "x86_64 syscalls other than execve recorded for a static 32-bit program: {x86_64:?}\n{rec}"
    );
}

/// `int 0x80` from a 64-bit program uses the i386 table with the same number as the native
/// call just before it (x86_64 getpid and i386 mkdir are both 39): each one is recorded under
/// its own ABI and counted, although the recorder's cache holds the native call each time.
#[test]
fn bpf_int80_from_a_64_bit_program_is_ia32() {
    if !require_bpf("bpf_int80_from_a_64_bit_program_is_ia32") {
        return;
    }
    let exe = leastpriv_tests::workloads::build_workload("int80_mixed", &[]);
    let rec = record(&["--as-root", "--", &exe, "1000"]);
    rec.assert_success().assert_complete();
    assert_eq!(
        rec.stdout.trim(),
        "1000",
        "every int 0x80 mkdir(NULL) fails\n{rec}"
    );
    let count = |abi: &str, name: &str| {
        rec.json["syscalls"][abi]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .and_then(|e| e["count"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(count("ia32", "mkdir"), 1000, "ia32 mkdir count\n{rec}");
    assert!(
        count("x86_64", "getpid") >= 2000,
        "x86_64 getpid count\n{rec}"
    );
    assert_eq!(count("x86_64", "mkdir"), 0, "native mkdir recorded\n{rec}");
}

/// A number no syscall table knows is still recorded, by number and without a name, the way
/// strace shows it (`syscall_0x3e8`): an ENOSYS call is still a call a profile must decide on.
#[test]
fn bpf_unknown_syscall_number_is_recorded_without_name() {
    if !require_bpf("bpf_unknown_syscall_number_is_recorded_without_name") {
        return;
    }
    let (rec, _) = record_under_strace(&[&workloads::syscall_loop(), "nr1000", "0.1"]);
    let entry = rec.json["syscalls"]["x86_64"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["nr"] == 1000)
        .unwrap_or_else(|| panic!("syscall 1000 not recorded:\n{rec}"));
    assert!(
        entry.get("name").is_none(),
        "an unknown number got a name: {entry}"
    );
}
