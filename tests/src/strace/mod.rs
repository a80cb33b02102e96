//! Reading `strace -f -o FILE` output, the oracle the end-to-end tests compare recordings with.
//! One reader of strace's line format, two views of it:
//!
//! - [`parse`]: the syscall names seen per ABI, compared with a recording's `syscalls`
//!   ([`crate::record_under_strace`], `tests/tests/strace_oracle.rs`);
//! - [`calls`]: every finished call with its arguments and return value, which [`files`] turns
//!   into the file accesses and sockets compared with a recording's `files` and `sockets`
//!   (`tests/tests/files.rs`).
//!
//! Every line starts with the pid. A call that another pid's line interrupts is printed in two
//! halves: `read(3,  <unfinished ...>`, then later `<... read resumed>"abc", 3) = 3`. Other
//! lines are signals (`--- SIGCHLD {...} ---`), exits (`+++ exited with 0 +++`) and messages.
//!
//! strace names a syscall by the table of the tracee's personality (64 bit, 32 bit, x32) and
//! announces a change with `[ Process PID=N runs in 32 bit mode. ]`. It prints that line only
//! when the mode differs from the one it assumed for that pid, so a pid without such a line
//! runs in the mode of its parent when it was created (modes only change at execve).
//!
//! The two views read the same lines with rules that differ where their uses differ; each
//! function below says which rule it keeps and why.

pub mod files;

#[cfg(test)]
mod tests;

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
///
/// Each half of a split call counts on its own line, since each carries the name: a call that
/// was entered but never returned (its process was killed) still counts, as the kernel saw
/// it, and a resumed half whose start is not in the output is no error. Names must pass
/// [`is_syscall_name`].
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

/// One finished syscall as strace printed it.
#[derive(Debug)]
pub struct Call {
    pub pid: u32,
    pub name: String,
    /// The top-level arguments, as printed.
    pub args: Vec<String>,
    /// The return value, as printed (`3</tmp/x>`, `0`, `-1 ENOENT (...)`, `?`).
    pub ret: String,
    /// The whole call, for messages.
    pub line: String,
}

impl Call {
    pub fn succeeded(&self) -> bool {
        !self.ret.starts_with('-') && !self.ret.starts_with('?')
    }

    fn arg(&self, i: usize) -> &str {
        self.args
            .get(i)
            .unwrap_or_else(|| panic!("no argument {i} in {}", self.line))
    }
}

/// The calls in an `strace -f` output, `<unfinished ...>` and `<... resumed>` halves joined.
///
/// Unlike [`parse`], only finished calls come out (the arguments and return value need both
/// halves), and a resumed half without its start, or a line that opens like one but is not,
/// panics: it means the joining is off, and accesses in that call would go unchecked. Names
/// pass the looser [`is_call_name`].
pub fn calls(text: &str) -> Vec<Call> {
    let mut unfinished: BTreeMap<u32, String> = BTreeMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        let Some((pid, body)) = split_pid(line) else {
            continue;
        };
        if let Some(start) = body.strip_suffix(UNFINISHED) {
            unfinished.insert(pid, start.to_owned());
            continue;
        }
        let whole = if opens_resumed(body) {
            let (_, rest) = resumed(body).unwrap_or_else(|| panic!("odd strace line: {line}"));
            let start = unfinished
                .remove(&pid)
                .unwrap_or_else(|| panic!("resumed without start: {line}"));
            start + rest
        } else {
            body.to_owned()
        };
        calls.extend(parse_call(pid, &whole));
    }
    calls
}

/// The pid that executed `program` first, and every process it and they created.
pub fn process_tree(calls: &[Call], program: &str) -> BTreeSet<u32> {
    let root = calls
        .iter()
        .find(|c| c.name == "execve" && unquote(c.arg(0)).as_deref() == Some(program.as_bytes()))
        .unwrap_or_else(|| panic!("strace shows no execve of {program}"))
        .pid;
    let children: Vec<(u32, u32)> = calls
        .iter()
        .filter(|c| CREATES_TASK.contains(&c.name.as_str()))
        .filter_map(|c| Some((c.pid, c.ret.parse().ok()?)))
        .collect();
    let mut tree = BTreeSet::from([root]);
    // Children may be printed before their parent's clone returns: repeat to a fixpoint.
    loop {
        let new: Vec<u32> = children
            .iter()
            .filter(|(parent, child)| tree.contains(parent) && !tree.contains(child))
            .map(|&(_, child)| child)
            .collect();
        if new.is_empty() {
            return tree;
        }
        tree.extend(new);
    }
}

/// The bytes of a quoted strace string (`"a\nb\377"`), None when `arg` is not one.
pub fn unquote(arg: &str) -> Option<Vec<u8>> {
    let inner = arg.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let next = *bytes.get(i + 1)?;
        i += 2;
        out.push(match next {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'x' => {
                i += 2;
                u8::from_str_radix(std::str::from_utf8(bytes.get(i - 2..i)?).ok()?, 16).ok()?
            }
            b'0'..=b'7' => {
                let digits = bytes[i - 1..]
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                i += digits - 1;
                u8::from_str_radix(std::str::from_utf8(&bytes[i - digits..i]).ok()?, 8).ok()?
            }
            other => other,
        });
    }
    Some(out)
}

/// Splits `"1234  read(3, ..."` into the pid and the rest.
fn split_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, body) = line.split_once(' ')?;
    Some((pid.parse().ok()?, body.trim_start()))
}

/// What ends the first half of a split call: `read(3,  <unfinished ...>`.
const UNFINISHED: &str = "<unfinished ...>";

/// Whether a line opens like the second half of a split call (`<... `).
fn opens_resumed(body: &str) -> bool {
    body.starts_with("<... ")
}

/// `<... read resumed>"abc", 3) = 3` → (`read`, `"abc", 3) = 3`); None when the line is not a
/// resumed half, or opens like one without its ` resumed>`.
fn resumed(body: &str) -> Option<(&str, &str)> {
    body.strip_prefix("<... ")?.split_once(" resumed>")
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

/// The syscall a line is about, for [`parse`]: `name(...`, `<... name resumed>...`, or none.
fn syscall_name(body: &str) -> Option<&str> {
    let name = if opens_resumed(body) {
        resumed(body)?.0
    } else {
        body.split_once('(')?.0
    };
    is_syscall_name(name).then_some(name)
}

/// [`parse`]'s rule for a syscall name: a lowercase letter or `_`, then lowercase letters,
/// digits and `_`, as in the kernel's syscall tables and strace's `syscall_0x1c3`. Strict
/// because every name it accepts goes into the sets compared with a recording: anything else
/// would be reported as a syscall leastpriv failed to record.
fn is_syscall_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    starts_well && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// [`calls`]' rule for a call name: one or more ASCII letters, digits and `_`. It only has to
/// tell calls from signals, exits and messages, whose text before a `(` has spaces or
/// punctuation; the file oracle then picks calls by exact name, so a name strace never prints
/// is never looked at. Every name [`is_syscall_name`] accepts passes here too.
fn is_call_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The non-negative return value at the end of a finished syscall line (`... = 1234`).
fn return_value(body: &str) -> Option<u32> {
    body.rsplit_once(" = ")?.1.split(' ').next()?.parse().ok()
}

/// `name(arg, arg) = ret` → a Call; None for signals, exits and messages.
fn parse_call(pid: u32, body: &str) -> Option<Call> {
    let (name, rest) = body.split_once('(')?;
    if !is_call_name(name) {
        return None;
    }
    let mut args = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    let mut current = String::new();
    let mut end = None;
    for (i, c) in rest.char_indices() {
        if in_string {
            current.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' | '<' => depth += 1,
            ')' if depth == 0 => {
                end = Some(i);
                break;
            }
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                args.push(current.trim().to_owned());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    let end = end?;
    if !current.trim().is_empty() {
        args.push(current.trim().to_owned());
    }
    let ret = rest[end + 1..]
        .trim_start()
        .strip_prefix("= ")?
        .trim()
        .to_owned();
    Some(Call {
        pid,
        name: name.to_owned(),
        args,
        ret,
        line: format!("{pid} {body}"),
    })
}
