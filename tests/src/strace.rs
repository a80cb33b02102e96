//! Reading `strace -f` output into the syscall names seen per ABI, to compare with a
//! recording of the same run.
//!
//! strace names a syscall by the table of the tracee's personality (64 bit, 32 bit, x32) and
//! announces a change with `[ Process PID=N runs in 32 bit mode. ]`. It prints that line only
//! when the mode differs from the one it assumed for that pid, so a pid without such a line
//! runs in the mode of its parent when it was created (modes only change at execve).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::process::Command;

/// The strace invocation to put before the workload's command line: follow children, write to
/// `trace_file`, and keep quiet about everything except personality changes, which the
/// parser needs (`-qq` would hide them too).
pub fn command(trace_file: &str) -> Vec<&str> {
    vec![
        "strace",
        "-f",
        "--quiet=attach,exit,path-resolution,thread-execve",
        "-o",
        trace_file,
        "--",
    ]
}

/// Runs `argv` under strace (outside any recording) and returns its syscalls per ABI.
pub fn trace(argv: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let dir = crate::tempdir();
    let file = dir.path().join("strace.txt");
    let args = command(file.to_str().expect("temp path is UTF-8"));
    let output = Command::new(args[0])
        .args(&args[1..])
        .args(argv)
        .output()
        .expect("run strace");
    assert!(
        output.status.success(),
        "strace {argv:?} failed:\n{}",
        crate::describe(&output)
    );
    parse(&fs::read_to_string(&file).expect("read strace output"))
}

/// Syscalls that create a task and return its id to the parent.
const CREATES_TASK: [&str; 4] = ["clone", "clone3", "fork", "vfork"];

/// The names, per ABI key of a recording (`x86_64`, `ia32`, `x32`), of every syscall in an
/// `strace -f -o FILE` output. Lines that are not syscalls (signals, exits, messages) are
/// ignored.
pub fn parse(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut calls = Vec::new();
    let mut mode_changes: HashMap<u32, Vec<(usize, &'static str)>> = HashMap::new();
    let mut created_by: HashMap<u32, (u32, usize)> = HashMap::new();

    for (index, line) in text.lines().enumerate() {
        let Some((pid, body)) = split_pid(line) else {
            continue;
        };
        if let Some((pid, abi)) = personality_change(body) {
            mode_changes.entry(pid).or_default().push((index, abi));
        } else if let Some(name) = syscall_name(body) {
            if CREATES_TASK.contains(&name) {
                if let Some(child) = return_value(body) {
                    created_by.insert(child, (pid, index));
                }
            }
            calls.push((index, pid, name));
        }
    }

    let abi_at = |mut pid: u32, mut index: usize| -> &'static str {
        // Bounded walk up the creators: pid reuse could in theory make a cycle.
        for _ in 0..1000 {
            let changes = mode_changes
                .get(&pid)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if let Some((_, abi)) = changes.iter().rev().find(|(at, _)| *at < index) {
                return abi;
            }
            match created_by.get(&pid) {
                Some(&(parent, at)) => (pid, index) = (parent, at),
                None => break,
            }
        }
        // strace's own child starts in strace's mode.
        "x86_64"
    };

    let mut by_abi: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (index, pid, name) in calls {
        by_abi
            .entry(abi_at(pid, index).to_owned())
            .or_default()
            .insert(name.to_owned());
    }
    by_abi
}

/// The names the kernel's syscall table (and so a recording) may use for what strace printed
/// as `name` under `abi`. Where the two differ, the mapping is spelled out here; nothing is
/// dropped.
pub fn kernel_names<'a>(abi: &str, name: &'a str) -> Vec<&'a str> {
    // On i386, strace decodes socketcall(2) and ipc(2) and prints the subcall's name
    // (`socket`, `shmget`...), while the kernel saw socketcall or ipc: either is fine.
    const SOCKET_SUBCALLS: [&str; 20] = [
        "socket",
        "bind",
        "connect",
        "listen",
        "accept",
        "getsockname",
        "getpeername",
        "socketpair",
        "send",
        "recv",
        "sendto",
        "recvfrom",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "sendmsg",
        "recvmsg",
        "accept4",
        "recvmmsg",
        "sendmmsg",
    ];
    const IPC_SUBCALLS: [&str; 12] = [
        "semop",
        "semget",
        "semctl",
        "semtimedop",
        "msgsnd",
        "msgrcv",
        "msgget",
        "msgctl",
        "shmat",
        "shmdt",
        "shmget",
        "shmctl",
    ];
    match abi {
        "ia32" if SOCKET_SUBCALLS.contains(&name) => vec![name, "socketcall"],
        "ia32" if IPC_SUBCALLS.contains(&name) => vec![name, "ipc"],
        _ => vec![name],
    }
}

/// Splits `"1234  read(3, ..."` into the pid and the rest.
fn split_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, body) = line.split_once(' ')?;
    Some((pid.parse().ok()?, body.trim_start()))
}

/// `[ Process PID=1234 runs in 32 bit mode. ]` → (1234, "ia32").
fn personality_change(body: &str) -> Option<(u32, &'static str)> {
    let rest = body.strip_prefix("[ Process PID=")?;
    let (pid, mode) = rest.split_once(" runs in ")?;
    let abi = match mode.strip_suffix(" mode. ]")? {
        "64 bit" => "x86_64",
        "32 bit" => "ia32",
        "x32" => "x32",
        other => panic!("unknown strace personality {other:?} in {body:?}"),
    };
    Some((pid.parse().ok()?, abi))
}

/// The syscall a line is about: `name(...`, `<... name resumed>...`, or none.
fn syscall_name(body: &str) -> Option<&str> {
    let name = match body.strip_prefix("<... ") {
        Some(resumed) => resumed.split_once(" resumed>")?.0,
        None => body.split_once('(')?.0,
    };
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    (starts_well && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .then_some(name)
}

/// The non-negative return value at the end of a finished syscall line (`... = 1234`).
fn return_value(body: &str) -> Option<u32> {
    body.rsplit_once(" = ")?.1.split(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_inherit_mode_and_changes_apply_after_their_line() {
        let text = "\
100   execve(\"./a\", [\"./a\"], 0x7ffc /* 3 vars */) = 0
100   [ Process PID=100 runs in 32 bit mode. ]
100   brk(NULL)                         = 0x850b000
100   clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>
101   set_thread_area({entry_number=-1}) = 0
100   <... clone resumed>)              = 101
101   execve(\"/bin/true\", [\"true\"], 0x1 /* 3 vars */) = 0
101   [ Process PID=101 runs in 64 bit mode. ]
101   arch_prctl(ARCH_SET_FS, 0x7f) = 0
101   --- SIGCHLD {si_signo=SIGCHLD} ---
101   +++ exited with 0 +++
100   getpid(<unfinished ...>
100   <... getpid resumed>)             = 100
100   restart_syscall(<... resuming interrupted read ...>) = 0
100   syscall_0x1c3(0x1, 0x2)           = -1 ENOSYS (Function not implemented)
";
        let parsed = parse(text);
        let set = |names: &[&str]| {
            names
                .iter()
                .map(|n| (*n).to_owned())
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(parsed["x86_64"], set(&["arch_prctl", "execve"]));
        assert_eq!(
            parsed["ia32"],
            set(&[
                "brk",
                "clone",
                "execve",
                "getpid",
                "restart_syscall",
                "set_thread_area",
                "syscall_0x1c3"
            ])
        );
    }

    #[test]
    fn socketcall_subcalls_map_to_socketcall_on_ia32_only() {
        assert_eq!(kernel_names("ia32", "connect"), ["connect", "socketcall"]);
        assert_eq!(kernel_names("x86_64", "connect"), ["connect"]);
    }
}
