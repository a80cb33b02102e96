//! The workloads in `tests/workloads/`: building them, and what each must show in a
//! recording (its distinctive syscalls per ABI, and the executables it runs).

use std::collections::HashMap;
use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::workspace_dir;

/// A command line to record and what its recording must contain.
#[derive(Debug, Clone)]
pub struct Workload {
    pub argv: Vec<String>,
    /// Per ABI key, syscalls that only the parts of the workload that a recorder can miss
    /// make (a child of a given kind, a thread, a late daemon): seeing them proves it followed.
    pub distinctive: Vec<(&'static str, &'static [&'static str])>,
    /// File names of executables the workload runs.
    pub executes: Vec<String>,
}

impl Workload {
    pub fn argv(&self) -> Vec<&str> {
        self.argv.iter().map(String::as_str).collect()
    }
}

/// A compiled workload run without arguments, with its distinctive syscalls.
fn compiled(
    name: &str,
    gcc_args: &[&str],
    distinctive: Vec<(&'static str, &'static [&'static str])>,
) -> Workload {
    let exe = build_workload(name, gcc_args);
    let file_name = exe.rsplit('/').next().expect("a path").to_owned();
    Workload {
        argv: vec![exe],
        distinctive,
        executes: vec![file_name],
    }
}

/// `ls -l /`: an ordinary dynamically linked program that walks a directory.
pub fn ls() -> Workload {
    Workload {
        argv: ["ls", "-l", "/"].map(String::from).to_vec(),
        distinctive: vec![("x86_64", &["getdents64", "statx"])],
        executes: vec!["ls".to_owned()],
    }
}

/// Python with threads (getrusage in each) and a subprocess (`/bin/true`).
pub fn python() -> Workload {
    let python = python3();
    let interpreter = python.rsplit('/').next().expect("a path").to_owned();
    let script = workload_source("py_workload.py")
        .to_str()
        .expect("UTF-8 path")
        .to_owned();
    Workload {
        argv: vec![python, script],
        distinctive: vec![("x86_64", &["getrusage", "times"])],
        executes: vec![interpreter, "true".to_owned()],
    }
}

pub fn threads() -> Workload {
    compiled(
        "threads",
        &[],
        vec![("x86_64", &["clone3", "gettid", "sched_yield"])],
    )
}

/// One child per kind of task creation, each with its own syscall (see `spawn_kinds.c`).
pub fn spawn_kinds() -> Workload {
    compiled(
        "spawn_kinds",
        &[],
        // glibc's fork() is the clone syscall.
        vec![(
            "x86_64",
            &[
                "clone",
                "vfork",
                "clone3",
                "sysinfo",
                "getpriority",
                "times",
                "getrusage",
                "sched_getaffinity",
            ],
        )],
    )
}

/// A double-forked daemon whose grandchild calls uname after the command has exited.
pub fn daemon() -> Workload {
    compiled("daemon", &[], vec![("x86_64", &["setsid", "uname"])])
}

/// A static 32-bit program: all its syscalls after execve are ia32 ones.
pub fn static32() -> Workload {
    compiled(
        "static32",
        &["-m32", "-static"],
        vec![("ia32", &["set_thread_area", "getpid", "uname", "write"])],
    )
}

/// The source file of a workload in `tests/workloads/` (the python script is run from here).
pub fn workload_source(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workloads")
        .join(file);
    assert!(path.is_file(), "no workload {}", path.display());
    path
}

/// Compiles `tests/workloads/<name>.c` with gcc and returns the executable's absolute path
/// (as a string, since it always ends up as a command argument).
///
/// Executables are named after a hash of the source and the flags, under
/// `target/leastpriv-workloads/`, so a changed source is rebuilt and nothing piles up in /tmp;
/// within one test process each is built once.
pub fn build_workload(name: &str, extra_gcc_args: &[&str]) -> String {
    static BUILT: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let key = format!("{name} {}", extra_gcc_args.join(" "));
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(path) = built.get(&key) {
        return path.clone();
    }

    let source = workload_source(&format!("{name}.c"));
    let text = fs::read(&source).unwrap_or_else(|e| panic!("read {}: {e}", source.display()));
    let mut hasher = DefaultHasher::new();
    (text, extra_gcc_args).hash(&mut hasher);
    let dir = workspace_dir().join("target/leastpriv-workloads");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let exe = dir.join(format!("{name}-{:016x}", hasher.finish()));

    if !exe.exists() {
        // Build under a name of our own, then rename: other test processes may build the
        // same workload at the same time.
        let partial = dir.join(format!("{name}.{}.partial", std::process::id()));
        let output = Command::new("gcc")
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
            .arg(&partial)
            .arg(&source)
            .args(extra_gcc_args)
            .output()
            .unwrap_or_else(|e| panic!("run gcc: {e}"));
        assert!(
            output.status.success(),
            "gcc failed to build {} ({extra_gcc_args:?}):\n{}",
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        fs::rename(&partial, &exe).unwrap_or_else(|e| panic!("rename to {}: {e}", exe.display()));
    }
    let path = exe.to_str().expect("workspace path is UTF-8").to_owned();
    built.insert(key, path.clone());
    path
}

/// The real python3 interpreter, not a version-manager shim on PATH (a shim is a shell script
/// that would add a shell and its helpers to every recording and trace).
pub fn python3() -> String {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let output = Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .unwrap_or_else(|e| panic!("run python3: {e}"));
            assert!(output.status.success(), "python3 failed: {output:?}");
            String::from_utf8(output.stdout)
                .expect("UTF-8 path")
                .trim()
                .to_owned()
        })
        .clone()
}

/// `syscall_loop NAME SECONDS`: makes one syscall in a loop (see `syscall_loop.c` for names).
pub fn syscall_loop() -> String {
    build_workload("syscall_loop", &[])
}
