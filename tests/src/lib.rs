//! Helpers for the end-to-end tests: they run the real `leastpriv` binary as root with real
//! eBPF, on small workloads built from `tests/workloads/`, and compare what it recorded with
//! what `strace` saw of the same run.
//!
//! Everything here panics with context instead of returning `Result`: a test either passes or
//! says exactly what went wrong.
//!
//! Running them: as root, `cargo test -p leastpriv-tests` against
//! `target/release/leastpriv` (or `LEASTPRIV_BIN=/abs/path`). Tests that load BPF have `bpf`
//! in their names and print `SKIP` and pass when not root or without BTF, unless
//! `LEASTPRIV_REQUIRE_BPF=1` (CI), which makes that a failure. Workloads need gcc with
//! multilib (`gcc -m32 -static`), strace, python3, setpriv and, for the seccomp tests, runc.

pub mod apparmor;
pub mod engines;
pub mod landlock;
pub mod pod;
pub mod runc;
pub mod strace;
pub mod vm;
pub mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use std::{env, fs, thread};

use serde_json::Value;
use tempfile::TempDir;

/// The ABIs a recording can hold syscalls for, as spelled in its `syscalls` keys.
pub const ABIS: [&str; 3] = ["x86_64", "ia32", "x32"];

/// How long any single `leastpriv` run may take before the test kills it and fails: long
/// enough for loading BPF on a busy machine, short enough that a hang is reported.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (the parent of this package).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The `leastpriv` binary under test: `$LEASTPRIV_BIN`, else the workspace's release build.
///
/// Panics when it does not exist: a missing binary must fail the run, never skip it.
pub fn bin() -> PathBuf {
    let path = env::var_os("LEASTPRIV_BIN").map_or_else(
        || workspace_dir().join("target/release/leastpriv"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "leastpriv binary not found at {} (build it with `cargo xtask build`, or set LEASTPRIV_BIN \
         to an absolute path)",
        path.display()
    );
    path
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a test that loads BPF can run here. When it cannot, prints `SKIP <test>: <reason>`
/// and returns false, unless `LEASTPRIV_REQUIRE_BPF=1` (as in CI), where it panics instead so
/// that a skipped test cannot pass unnoticed.
pub fn require_bpf(test: &str) -> bool {
    let missing = if !is_root() {
        Some("not running as root")
    } else if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        Some("the kernel has no BTF (/sys/kernel/btf/vmlinux is missing)")
    } else {
        None
    };
    let Some(reason) = missing else { return true };
    assert!(
        env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
        "{test} needs BPF but {reason}, and LEASTPRIV_REQUIRE_BPF=1"
    );
    println!("SKIP {test}: {reason}");
    false
}

/// A fresh temporary directory.
pub fn tempdir() -> TempDir {
    tempfile::Builder::new()
        .prefix("leastpriv-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("create a temporary directory: {e}"))
}

/// A `Command` for the binary under test, with stdin closed and without the `SUDO_*`
/// variables this test process may have inherited (with them, leastpriv would run the
/// command as the sudo user; tests that want that set them explicitly).
pub fn leastpriv() -> Command {
    let mut cmd = Command::new(bin());
    cmd.stdin(Stdio::null());
    for var in ["SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND"] {
        cmd.env_remove(var);
    }
    cmd
}

/// A child process whose output is collected in the background, so that the test can signal
/// it while it runs and can stop waiting for it after a deadline.
pub struct Running {
    pid: u32,
    started: Instant,
    done: Receiver<std::io::Result<Output>>,
}

impl Running {
    /// Starts `cmd` with stdout and stderr captured.
    pub fn spawn(mut cmd: Command) -> Self {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let pid = child.id();
        let (tx, done) = mpsc::channel();
        thread::spawn(move || tx.send(child.wait_with_output()));
        Self {
            pid,
            started: Instant::now(),
            done,
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal` to this process only (not its process group).
    pub fn signal(&self, signal: libc::c_int) {
        send_signal(self.pid, signal);
    }

    /// Waits for the process to exit and returns its output with how long it ran. Stops it
    /// and panics, with what it printed so far, if it runs for longer than `limit` from
    /// its start.
    ///
    /// Stopping is SIGTERM twice (leastpriv passes the first to its command and kills what
    /// is left in its cgroup at the second, so nothing of a recorded run outlives the test),
    /// then SIGKILL; the output is waited for a few seconds only, as a process the command
    /// left behind can hold the pipes open.
    pub fn wait(self, limit: Duration) -> (Output, Duration) {
        let left = limit.saturating_sub(self.started.elapsed());
        match self.done.recv_timeout(left) {
            Ok(output) => {
                let output = output.unwrap_or_else(|e| panic!("wait for pid {}: {e}", self.pid));
                (output, self.started.elapsed())
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut output = None;
                for (signal, grace) in [
                    (libc::SIGTERM, Duration::from_secs(2)),
                    (libc::SIGTERM, Duration::from_secs(5)),
                    (libc::SIGKILL, Duration::from_secs(5)),
                ] {
                    // SAFETY: kill has no memory-safety preconditions; the process may be gone.
                    unsafe { libc::kill(self.pid as libc::pid_t, signal) };
                    if let Ok(done) = self.done.recv_timeout(grace) {
                        output = done.ok();
                        break;
                    }
                }
                panic!(
                    "pid {} still running after {limit:?}; killed it. Output:\n{}",
                    self.pid,
                    output.as_ref().map(describe).unwrap_or_default()
                );
            }
            Err(RecvTimeoutError::Disconnected) => unreachable!("the waiting thread always sends"),
        }
    }
}

/// Sends `signal` to `pid`, panicking if the process does not exist.
pub fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Runs `cmd` to completion within [`RUN_TIMEOUT`].
pub fn run(cmd: Command) -> Output {
    Running::spawn(cmd).wait(RUN_TIMEOUT).0
}

/// Exit status and output of a command, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What one `leastpriv record` run produced.
#[derive(Debug)]
pub struct Recorded {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The parsed recording file.
    pub json: Value,
    /// The pid leastpriv ran as, which names its cgroups (`leastpriv-<pid>-<n>`).
    pub pid: u32,
    pub elapsed: Duration,
}

impl Recorded {
    /// Panics, showing leastpriv's output, unless it exited with status 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "leastpriv record failed:\n{self}");
        self
    }

    /// Panics unless `complete` is true and nothing was lost.
    pub fn assert_complete(&self) -> &Self {
        let rec = &self.json;
        assert_eq!(
            rec["complete"],
            Value::Bool(true),
            "recording not complete:\n{self}"
        );
        for counter in ["exec_events", "syscall_numbers"] {
            assert_eq!(rec["lost"][counter], 0, "lost.{counter} is not 0:\n{self}");
        }
        self
    }
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- recording ---\n{:#}",
            self.status, self.stdout, self.stderr, self.json
        )
    }
}

/// Runs `leastpriv record -o <temp file> ARGS...` and reads the recording it wrote.
///
/// `args` is everything after `record`, such as `["--as-root", "--", "true"]`. Panics, with
/// leastpriv's output, when no readable recording was written.
pub fn record(args: &[&str]) -> Recorded {
    record_with_env(args, &[])
}

/// As [`record`], with these variables set in leastpriv's environment.
pub fn record_with_env(args: &[&str], env: &[(&str, &str)]) -> Recorded {
    let dir = tempdir();
    let file = dir.path().join("recording.json");
    let mut cmd = leastpriv();
    cmd.arg("record")
        .arg("-o")
        .arg(&file)
        .args(args)
        .envs(env.iter().copied());
    let running = Running::spawn(cmd);
    let pid = running.pid();
    let (output, elapsed) = running.wait(RUN_TIMEOUT);
    let json = read_recording(&file).unwrap_or_else(|e| panic!("{e}\n{}", describe(&output)));
    Recorded {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        json,
        pid,
        elapsed,
    }
}

/// Reads and parses a recording file.
pub fn read_recording(file: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parse {}: {e}\n{text}", file.display()))
}

/// Syscall names the recording holds for `abi`. Entries without a name (numbers the table
/// does not know) are spelled `syscall_0x<nr>`, the way strace prints them.
pub fn syscall_names(rec: &Value, abi: &str) -> BTreeSet<String> {
    let Some(entries) = rec["syscalls"].get(abi) else {
        return BTreeSet::new();
    };
    let entries = entries
        .as_array()
        .unwrap_or_else(|| panic!("syscalls.{abi} is not an array"));
    entries
        .iter()
        .map(|entry| match entry["name"].as_str() {
            Some(name) => name.to_owned(),
            None => {
                let nr = entry["nr"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("entry without nr: {entry}"));
                format!("syscall_{nr:#x}")
            }
        })
        .collect()
}

/// Panics unless the recording holds each of `names` for `abi`, listing the missing ones.
pub fn assert_recorded(rec: &Value, abi: &str, names: &[&str]) {
    let have = syscall_names(rec, abi);
    let missing: Vec<_> = names.iter().filter(|name| !have.contains(**name)).collect();
    assert!(
        missing.is_empty(),
        "{abi}: not recorded: {missing:?}\nrecorded {abi}: {have:?}"
    );
}

/// Panics if the recording holds any of `names` for `abi`.
pub fn assert_not_recorded(rec: &Value, abi: &str, names: &[&str]) {
    let have = syscall_names(rec, abi);
    let present: Vec<_> = names.iter().filter(|name| have.contains(**name)).collect();
    assert!(
        present.is_empty(),
        "{abi}: recorded but must not be: {present:?}"
    );
}

/// The `path`s of the recording's `executables`.
pub fn executables(rec: &Value) -> Vec<String> {
    string_fields(rec, "executables", "path")
}

/// The `comm`s of the recording's `left_running` (empty when absent).
pub fn left_running_comms(rec: &Value) -> Vec<String> {
    string_fields(rec, "left_running", "comm")
}

fn string_fields(rec: &Value, list: &str, field: &str) -> Vec<String> {
    let Some(items) = rec.get(list) else {
        return Vec::new();
    };
    let items = items
        .as_array()
        .unwrap_or_else(|| panic!("{list} is not an array: {items}"));
    items
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{list} item without {field}: {item}"))
                .to_owned()
        })
        .collect()
}

/// Panics unless some recorded executable's path ends with `/<file_name>`.
pub fn assert_executed(rec: &Value, file_name: &str) {
    let paths = executables(rec);
    let suffix = format!("/{file_name}");
    assert!(
        paths.iter().any(|path| path.ends_with(&suffix)),
        "no executable named {file_name} recorded; executables: {paths:?}"
    );
}

/// Records `workload` running under `strace -f` inside the recorded cgroup, so that both see
/// the same execution, and asserts that for every ABI each syscall strace saw was recorded.
/// Returns the recording and strace's syscalls per ABI for further checks.
pub fn record_under_strace(workload: &[&str]) -> (Recorded, BTreeMap<String, BTreeSet<String>>) {
    let dir = tempdir();
    let trace = dir.path().join("strace.txt");
    let trace_arg = trace.to_str().expect("temp path is UTF-8");
    let mut args = vec!["--as-root", "--"];
    args.extend(strace::command(trace_arg));
    args.extend(workload);
    let rec = record(&args);
    rec.assert_success().assert_complete();

    let text =
        fs::read_to_string(&trace).unwrap_or_else(|e| panic!("read {}: {e}", trace.display()));
    let traced = strace::parse(&text);
    assert!(
        traced
            .get("x86_64")
            .is_some_and(|names| names.contains("execve")),
        "strace output has no 64-bit execve; was it parsed right?\n{text}"
    );
    let mut missing = BTreeMap::new();
    for (abi, names) in &traced {
        let recorded = syscall_names(&rec.json, abi);
        let not_recorded: Vec<_> = names
            .iter()
            .filter(|name| {
                !strace::kernel_names(abi, name)
                    .iter()
                    .any(|k| recorded.contains(*k))
            })
            .collect();
        if !not_recorded.is_empty() {
            missing.insert(abi.clone(), not_recorded);
        }
    }
    assert!(
        missing.is_empty(),
        "syscalls strace saw but leastpriv did not record: {missing:?}\nstrace saw: {traced:?}\n{rec}"
    );
    (rec, traced)
}

/// The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo (it is
/// /sys/fs/cgroup on most systems, /sys/fs/cgroup/unified on hybrid ones).
pub fn cgroup2_mount() -> PathBuf {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    mountinfo
        .lines()
        .find_map(|line| {
            // "<id> <parent> <dev> <root> <mount point> <options> [optional...] - <fstype> ..."
            let (fields, rest) = line.split_once(" - ")?;
            let mount_point = fields.split(' ').nth(4)?;
            (rest.split(' ').next() == Some("cgroup2")).then(|| unescape_mountinfo(mount_point))
        })
        .expect("no cgroup2 mount in /proc/self/mountinfo")
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape_mountinfo(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt as _;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    std::ffi::OsString::from_vec(out).into()
}

/// The cgroups that leastpriv process `pid` created and has not removed.
pub fn leastpriv_cgroups(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("leastpriv-{pid}-");
    let mount = cgroup2_mount();
    let entries = fs::read_dir(&mount).unwrap_or_else(|e| panic!("read {}: {e}", mount.display()));
    entries
        .map(|entry| entry.expect("read cgroup2 mount entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect()
}

/// Panics if leastpriv process `pid` left a cgroup behind.
pub fn assert_no_leftover_cgroup(pid: u32) {
    let left = leastpriv_cgroups(pid);
    assert!(
        left.is_empty(),
        "leastpriv (pid {pid}) left its cgroups behind: {left:?}"
    );
}

/// The pids in a cgroup (empty if it does not exist any more).
pub fn cgroup_procs(cgroup: &Path) -> Vec<u32> {
    fs::read_to_string(cgroup.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// The command name of a process, if it still exists.
pub fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim_end().to_owned())
}

/// The `comm` the kernel gives a process that executed `exe`: its file name, cut to 15 bytes.
pub fn comm_of(exe: &str) -> String {
    let file_name = exe.rsplit('/').next().unwrap_or(exe);
    file_name
        .chars()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= 15).then_some(c)
        })
        .collect()
}

/// Whether `pid` has exited (gone, or a zombie waiting to be reaped).
pub fn has_exited(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised comm, which may itself contain ") ".
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => true,
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, panicking after `limit` with `what`.
pub fn wait_until<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until leastpriv process `pid` runs a process named `comm` in one of its cgroups,
/// and returns that cgroup: by then leastpriv has set up everything and waits for it.
pub fn wait_for_recorded_process(pid: u32, comm_name: &str) -> PathBuf {
    wait_until(
        Duration::from_secs(60),
        &format!("leastpriv {pid} to run {comm_name}"),
        || {
            leastpriv_cgroups(pid).into_iter().find(|cgroup| {
                cgroup_procs(cgroup)
                    .into_iter()
                    .any(|p| comm(p).as_deref() == Some(comm_name))
            })
        },
    )
}

/// A cgroup made by a test, under the cgroup2 mount; killed and removed on drop.
pub struct TestCgroup {
    path: PathBuf,
}

impl TestCgroup {
    pub fn new() -> Self {
        static COUNT: Mutex<u32> = Mutex::new(0);
        let mut count = COUNT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *count += 1;
        let name = format!("leastpriv-tests-{}-{count}", std::process::id());
        let path = cgroup2_mount().join(name);
        fs::create_dir(&path).unwrap_or_else(|e| panic!("create cgroup {}: {e}", path.display()));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().expect("cgroup path is UTF-8")
    }
}

impl Default for TestCgroup {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // cgroup.kill (Linux 5.14) kills every process in it; rmdir succeeds once they are gone.
        if let Ok(mut kill) = fs::OpenOptions::new()
            .write(true)
            .open(self.path.join("cgroup.kill"))
        {
            let _ = kill.write_all(b"1");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while fs::remove_dir(&self.path).is_err() && self.path.exists() && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A background process that is killed and reaped when the test ends, even on panic.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_is_the_file_name_cut_to_15_bytes() {
        assert_eq!(
            comm_of("/x/syscall_loop-0123456789abcdef"),
            "syscall_loop-01"
        );
        assert_eq!(comm_of("sleep"), "sleep");
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(
            unescape_mountinfo(r"/sys/fs/cgroup/a\040b\134c"),
            PathBuf::from(r"/sys/fs/cgroup/a b\c")
        );
    }

    #[test]
    fn recorded_names_spell_unknown_numbers_like_strace() {
        let rec = serde_json::json!({"syscalls": {"x86_64": [
            {"nr": 0, "name": "read", "count": 1},
            {"nr": 451, "count": 2}
        ]}});
        let names: Vec<_> = syscall_names(&rec, "x86_64").into_iter().collect();
        assert_eq!(names, ["read", "syscall_0x1c3"]);
        assert!(syscall_names(&rec, "ia32").is_empty());
    }
}
