//! Files, executables and sockets end to end: workloads that work in a temporary directory of
//! their own are recorded as root, and the recording's `files` and `sockets` must say exactly
//! what they did. First against strace's view of the same run, then against exact
//! expectations for names the kernel resolves (relative, dirfd-relative, symlinks, `..`, bind
//! mounts, a chroot in another mount namespace), hostile bytes in names, 100,000 files, a
//! static 32-bit program and a script run through its interpreter.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use tempfile::TempDir;

use leastpriv_tests::workloads::build_workload;
use leastpriv_tests::{describe, record, require_bpf, run, tempdir, Recorded};

/// Access kinds as a recording spells them (`read`, `rename_from`...).
type Kinds = BTreeSet<String>;

fn kinds(names: &[&str]) -> Kinds {
    names.iter().map(|&k| k.to_owned()).collect()
}

/// One entry of a recording's `files`.
#[derive(Debug)]
struct Entry {
    access: Kinds,
    by: BTreeSet<String>,
}

/// A path for messages: lossy, with control characters escaped.
fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).escape_debug().to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    let list = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"));
    list.iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("not a string: {item}"))
                .to_owned()
        })
        .collect()
}

/// The recording's `files` by exact path bytes (`path_hex` when present, else `path`).
/// Panics on a malformed entry: `path_hex` not the lowercase hex of bytes that are not UTF-8
/// (and `path` not their lossy text), an access listed twice, or a path listed twice.
fn files(rec: &Value) -> BTreeMap<Vec<u8>, Entry> {
    let list = rec["files"]
        .as_array()
        .unwrap_or_else(|| panic!("the recording has no files list: {:#}", rec["files"]));
    let mut files = BTreeMap::new();
    for item in list {
        let path = item["path"]
            .as_str()
            .unwrap_or_else(|| panic!("file entry without path: {item}"));
        let bytes = match item.get("path_hex") {
            None => path.as_bytes().to_vec(),
            Some(path_hex) => {
                let path_hex = path_hex.as_str().expect("path_hex is a string");
                let bytes: Vec<u8> = (0..path_hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&path_hex[i..i + 2], 16).expect("hex digits"))
                    .collect();
                assert_eq!(
                    hex(&bytes),
                    path_hex,
                    "path_hex is not lowercase hex: {item}"
                );
                assert!(
                    std::str::from_utf8(&bytes).is_err(),
                    "path_hex on a UTF-8 path: {item}"
                );
                assert_eq!(
                    path,
                    String::from_utf8_lossy(&bytes),
                    "path vs path_hex: {item}"
                );
                bytes
            }
        };
        let access = strings(&item["access"]);
        assert_eq!(
            access.len(),
            item["access"].as_array().map_or(0, Vec::len),
            "an access kind listed twice: {item}"
        );
        let entry = Entry {
            access,
            by: strings(&item["by"]),
        };
        let before = files.insert(bytes, entry);
        assert!(before.is_none(), "path listed twice: {item}");
    }
    files
}

/// `path` relative to `dir`, when it is below it.
fn below(dir: &Path, path: &[u8]) -> Option<Vec<u8>> {
    let rest = path.strip_prefix(dir.as_os_str().as_bytes())?;
    Some(rest.strip_prefix(b"/")?.to_vec())
}

/// The entries below `dir`, keyed by their path relative to it.
fn files_under(rec: &Value, dir: &Path) -> BTreeMap<Vec<u8>, Entry> {
    files(rec)
        .into_iter()
        .filter_map(|(path, entry)| Some((below(dir, &path)?, entry)))
        .collect()
}

/// Expected entries: name (or path) → access kinds.
fn expect<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], &'a [&'a str])>,
) -> BTreeMap<Vec<u8>, Kinds> {
    entries
        .into_iter()
        .map(|(name, access)| (name.to_vec(), kinds(access)))
        .collect()
}

fn show_kinds(map: &BTreeMap<Vec<u8>, Kinds>) -> String {
    map.iter()
        .map(|(path, kinds)| format!("  {}: {kinds:?}\n", show(path)))
        .collect()
}

/// Panics unless the entries below `dir` are exactly `expected`, each made by `by` alone.
fn assert_files_under(rec: &Recorded, dir: &Path, expected: &BTreeMap<Vec<u8>, Kinds>, by: &str) {
    let under = files_under(&rec.json, dir);
    let got: BTreeMap<Vec<u8>, Kinds> = under
        .iter()
        .map(|(name, entry)| (name.clone(), entry.access.clone()))
        .collect();
    assert!(
        got == *expected,
        "files under {}:\n--- recorded ---\n{}--- expected ---\n{}",
        dir.display(),
        show_kinds(&got),
        show_kinds(expected)
    );
    for (name, entry) in &under {
        assert_eq!(
            entry.by,
            BTreeSet::from([by.to_owned()]),
            "{}: by",
            show(name)
        );
    }
}

/// Panics unless the recording lists `path` with exactly `access`, made by `by` alone.
fn assert_file(rec: &Value, path: &str, access: &[&str], by: &str) {
    let files = files(rec);
    let entry = files
        .get(path.as_bytes())
        .unwrap_or_else(|| panic!("{path} is not in the recording's files: {:#}", rec["files"]));
    assert_eq!(entry.access, kinds(access), "{path}: access");
    assert_eq!(entry.by, BTreeSet::from([by.to_owned()]), "{path}: by");
}

/// A socket kind as (family, type, protocol).
type SocketKind = (String, String, u64);

/// The recording's sockets: kind → makers.
fn sockets(rec: &Value) -> BTreeMap<SocketKind, BTreeSet<String>> {
    let list = rec["sockets"]
        .as_array()
        .unwrap_or_else(|| panic!("the recording has no sockets list: {:#}", rec["sockets"]));
    list.iter()
        .map(|s| {
            let field = |name: &str| s[name].as_str().unwrap_or_else(|| panic!("{s}")).to_owned();
            let protocol = s["protocol"].as_u64().unwrap_or_else(|| panic!("{s}"));
            (
                (field("family"), field("type"), protocol),
                strings(&s["by"]),
            )
        })
        .collect()
}

/// Panics unless the recording's sockets are exactly `expected` (family, type), protocol 0,
/// each made by `by` alone.
fn assert_sockets(rec: &Value, expected: &[(&str, &str)], by: &str) {
    let want: BTreeMap<SocketKind, BTreeSet<String>> = expected
        .iter()
        .map(|(family, kind)| {
            (
                ((*family).to_owned(), (*kind).to_owned(), 0),
                BTreeSet::from([by.to_owned()]),
            )
        })
        .collect();
    assert_eq!(sockets(rec), want, "sockets: {:#}", rec["sockets"]);
}

/// Records `argv` as root and checks the run: it succeeded, is complete and lost nothing.
fn record_ok(argv: &[&str]) -> Recorded {
    let mut args = vec!["--as-root", "--"];
    args.extend(argv);
    let rec = record(&args);
    rec.assert_success().assert_complete();
    for counter in ["file_events", "file_calls", "unresolved_paths"] {
        assert_eq!(
            rec.json["lost"][counter], 0,
            "lost.{counter} is not 0:\n{rec}"
        );
    }
    rec
}

/// A fresh temporary directory and its path with symlinks resolved (as the kernel reports it).
fn workdir() -> (TempDir, PathBuf) {
    let dir = tempdir();
    let path = fs::canonicalize(dir.path()).expect("canonicalize the temporary directory");
    (dir, path)
}

/// `path` with symlinks resolved, as text.
fn canonical(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    fs::canonicalize(path)
        .unwrap_or_else(|e| panic!("canonicalize {}: {e}", path.display()))
        .to_str()
        .expect("UTF-8 path")
        .to_owned()
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Creates each of `names` (files, or directories when they end with '/') below `dir`.
fn populate(dir: &Path, names: &[&str]) {
    for name in names {
        let path = dir.join(name);
        let made = match name.strip_suffix('/') {
            Some(_) => fs::create_dir_all(&path),
            None => fs::write(&path, "content\n"),
        };
        made.unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    }
}

/// Reading `strace -f -y` output into the file accesses and sockets it shows, spelled the way
/// a recording spells them. `-y` makes strace print, after every fd, the path the kernel has
/// for it (`3</usr/lib/x86_64-linux-gnu/libc.so.6>`, `AT_FDCWD</tmp/dir>`), so opened files
/// come out resolved by the kernel itself: an oracle independent of the recorder's path walk.
mod oracle {
    use super::*;

    /// The strace options: follow children, fds with their paths, and just the calls needed
    /// (file and fd calls, process creation for the process tree, sockets).
    pub const OPTIONS: [&str; 5] = [
        "-f",
        "-qq",
        "-y",
        "-e",
        "trace=%file,%desc,%process,%network",
    ];

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
    pub fn calls(text: &str) -> Vec<Call> {
        let mut unfinished: BTreeMap<u32, String> = BTreeMap::new();
        let mut calls = Vec::new();
        for line in text.lines() {
            let Some((pid, body)) = line.split_once(' ') else {
                continue;
            };
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            let body = body.trim_start();
            if let Some(start) = body.strip_suffix("<unfinished ...>") {
                unfinished.insert(pid, start.to_owned());
                continue;
            }
            let whole = match body.strip_prefix("<... ") {
                Some(resumed) => {
                    let (_, rest) = resumed
                        .split_once(" resumed>")
                        .unwrap_or_else(|| panic!("odd strace line: {line}"));
                    let start = unfinished
                        .remove(&pid)
                        .unwrap_or_else(|| panic!("resumed without start: {line}"));
                    start + rest
                }
                None => body.to_owned(),
            };
            calls.extend(parse_call(pid, &whole));
        }
        calls
    }

    /// `name(arg, arg) = ret` → a Call; None for signals, exits and messages.
    fn parse_call(pid: u32, body: &str) -> Option<Call> {
        let (name, rest) = body.split_once('(')?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
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

    /// The pid that executed `program` first, and every process it and they created.
    pub fn process_tree(calls: &[Call], program: &str) -> BTreeSet<u32> {
        let root = calls
            .iter()
            .find(|c| {
                c.name == "execve" && unquote(c.arg(0)).as_deref() == Some(program.as_bytes())
            })
            .unwrap_or_else(|| panic!("strace shows no execve of {program}"))
            .pid;
        let children: Vec<(u32, u32)> = calls
            .iter()
            .filter(|c| matches!(c.name.as_str(), "clone" | "clone3" | "fork" | "vfork"))
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

    /// The path strace's `-y` shows for an fd (`3</tmp/x>`); None for pipes, sockets and
    /// anonymous inodes, which have no absolute path.
    fn fd_path(arg: &str) -> Option<Vec<u8>> {
        let (_, rest) = arg.split_once('<')?;
        let path = rest.strip_suffix('>')?;
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        path.starts_with('/')
            .then(|| unquote(&format!("\"{path}\"")))
            .flatten()
    }

    /// `name` (a quoted argument) looked up from `dirfd` (an fd or `AT_FDCWD` with its `-y`
    /// path), `.` and `..` applied lexically.
    fn resolve(call: &Call, dirfd: Option<usize>, name: usize) -> Vec<u8> {
        let name = unquote(call.arg(name)).unwrap_or_else(|| panic!("no name in {}", call.line));
        let base = if name.starts_with(b"/") {
            Vec::new()
        } else {
            dirfd
                .and_then(|i| fd_path(call.arg(i)))
                .unwrap_or_else(|| panic!("relative name without a directory: {}", call.line))
        };
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in base.split(|&b| b == b'/').chain(name.split(|&b| b == b'/')) {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                part => parts.push(part),
            }
        }
        parts
            .iter()
            .flat_map(|p| [b"/".as_slice(), p])
            .flatten()
            .copied()
            .collect()
    }

    /// The access kinds of an open's flags (`O_WRONLY|O_CREAT|O_TRUNC`, or openat2's
    /// `{flags=O_RDONLY|O_CLOEXEC, ...}`), as the recorder derives them.
    fn open_kinds(flags: &str) -> Vec<&'static str> {
        let flags = match flags.split_once("flags=") {
            Some((_, rest)) => rest.split([',', '}']).next().unwrap_or_default(),
            None => flags,
        };
        let flags: BTreeSet<&str> = flags.split('|').collect();
        if flags.contains("O_PATH") {
            return Vec::new();
        }
        let writes = if flags.contains("O_APPEND") {
            "append"
        } else {
            "write"
        };
        let mut kinds = if flags.contains("O_WRONLY") {
            vec![writes]
        } else if flags.contains("O_RDWR") {
            vec!["read", writes]
        } else {
            vec!["read"]
        };
        if flags.contains("O_CREAT") {
            kinds.push("create");
        }
        kinds
    }

    /// What a successful call did to files, as (path, access kind) pairs.
    pub fn accesses(call: &Call) -> Vec<(Vec<u8>, &'static str)> {
        let on_fd = |fd: &str, kinds: Vec<&'static str>| -> Vec<(Vec<u8>, &'static str)> {
            fd_path(fd).map_or_else(Vec::new, |path| {
                kinds.into_iter().map(|k| (path.clone(), k)).collect()
            })
        };
        let named =
            |dirfd: Option<usize>, name: usize, kind| vec![(resolve(call, dirfd, name), kind)];
        match call.name.as_str() {
            "open" => on_fd(&call.ret, open_kinds(call.arg(1))),
            "openat" | "openat2" => on_fd(&call.ret, open_kinds(call.arg(2))),
            "creat" => on_fd(&call.ret, vec!["write", "create"]),
            "execve" => {
                let program = unquote(call.arg(0)).expect("execve's path");
                assert!(program.starts_with(b"/"), "relative execve: {}", call.line);
                let resolved = fs::canonicalize(OsStr::from_bytes(&program))
                    .unwrap_or_else(|e| panic!("canonicalize {}: {e}", show(&program)));
                vec![(resolved.as_os_str().as_bytes().to_vec(), "exec")]
            }
            "mmap" | "mmap2"
                if call.arg(2).contains("PROT_EXEC") && !call.arg(3).contains("MAP_ANONYMOUS") =>
            {
                on_fd(call.arg(4), vec!["mmap_exec"])
            }
            "flock" if !call.arg(1).contains("LOCK_UN") => on_fd(call.arg(0), vec!["lock"]),
            "fcntl" | "fcntl64"
                if matches!(
                    call.arg(1),
                    "F_SETLK"
                        | "F_SETLKW"
                        | "F_SETLK64"
                        | "F_SETLKW64"
                        | "F_OFD_SETLK"
                        | "F_OFD_SETLKW"
                ) =>
            {
                on_fd(call.arg(0), vec!["lock"])
            }
            "fchmod" => on_fd(call.arg(0), vec!["chmod"]),
            "fchown" | "fchown32" => on_fd(call.arg(0), vec!["chown"]),
            "unlink" => named(None, 0, "unlink"),
            "unlinkat" if call.arg(2).contains("AT_REMOVEDIR") => named(Some(0), 1, "rmdir"),
            "unlinkat" => named(Some(0), 1, "unlink"),
            "rmdir" => named(None, 0, "rmdir"),
            "mkdir" => named(None, 0, "mkdir"),
            "mkdirat" => named(Some(0), 1, "mkdir"),
            "chmod" => named(None, 0, "chmod"),
            "fchmodat" | "fchmodat2" => named(Some(0), 1, "chmod"),
            "chown" | "lchown" | "chown32" | "lchown32" => named(None, 0, "chown"),
            "fchownat" => named(Some(0), 1, "chown"),
            "mknod" => named(None, 0, "create"),
            "mknodat" => named(Some(0), 1, "create"),
            "rename" => [named(None, 0, "rename_from"), named(None, 1, "rename_to")].concat(),
            "renameat" | "renameat2" => [
                named(Some(0), 1, "rename_from"),
                named(Some(2), 3, "rename_to"),
            ]
            .concat(),
            "link" => named(None, 1, "link"),
            "linkat" => named(Some(2), 3, "link"),
            "symlink" => named(None, 1, "symlink"),
            "symlinkat" => named(Some(1), 2, "symlink"),
            _ => Vec::new(),
        }
    }

    /// The kind of socket a successful `socket` call created.
    pub fn socket(call: &Call) -> Option<SocketKind> {
        if call.name != "socket" {
            return None;
        }
        let kind = call.arg(1).split('|').next().unwrap_or_default();
        let protocol = match call.arg(2) {
            "IPPROTO_IP" => 0,
            "IPPROTO_TCP" => 6,
            "IPPROTO_UDP" => 17,
            number => number
                .parse()
                .unwrap_or_else(|_| panic!("unknown protocol in {}", call.line)),
        };
        Some((call.arg(0).to_owned(), kind.to_owned(), protocol))
    }

    #[test]
    fn parses_calls_escapes_and_fd_paths() {
        let text = "\
7 openat(AT_FDCWD</d>, \"a,b\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 3</d/a,b>
7 wait4(8,  <unfinished ...>
8 unlinkat(3</d>, \"../x\\n\\377\", 0) = 0
7 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 8
7 --- SIGCHLD {si_signo=SIGCHLD} ---
7 renameat2(AT_FDCWD</d>, \"o\", 4</e>, \"n\", 0) = -1 ENOENT (No such file or directory)
";
        let calls = calls(text);
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["openat", "unlinkat", "wait4", "renameat2"]);
        assert_eq!(
            accesses(&calls[0]),
            [
                (b"/d/a,b".to_vec(), "write"),
                (b"/d/a,b".to_vec(), "create")
            ]
        );
        assert_eq!(accesses(&calls[1]), [(b"/x\n\xff".to_vec(), "unlink")]);
        assert_eq!(
            calls[2].args,
            ["8", "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]", "0", "NULL"]
        );
        assert!(calls[2].succeeded() && !calls[3].succeeded());
    }
}

/// Everything `files_basic` does, under strace in the recorded cgroup (so both see one run):
/// every access strace shows the workload's processes making (paths from the kernel via
/// `-y`) is recorded with its kind, and the temporary directory's entries, the helper's exec
/// and the sockets are exactly as expected.
#[test]
fn bpf_files_match_strace() {
    if !require_bpf("bpf_files_match_strace") {
        return;
    }
    let (_dir, dir) = workdir();
    populate(&dir, &["config", "appended", "old", "modes", "lockfile"]);
    let exe = build_workload("files_basic", &[]);
    let trace_dir = tempdir();
    let trace = trace_dir.path().join("strace.txt");
    let mut argv = vec!["strace"];
    argv.extend(oracle::OPTIONS);
    argv.extend(["-o", utf8(&trace), "--", &exe, utf8(&dir)]);
    let rec = record_ok(&argv);

    let text = fs::read_to_string(&trace).expect("read strace output");
    let calls = oracle::calls(&text);
    let workload = oracle::process_tree(&calls, &exe);
    let recorded = files(&rec.json);
    let mut seen: BTreeMap<Vec<u8>, Kinds> = BTreeMap::new();
    let mut not_recorded = Vec::new();
    let mut seen_sockets = BTreeSet::new();
    for call in calls
        .iter()
        .filter(|c| workload.contains(&c.pid) && c.succeeded())
    {
        for (path, kind) in oracle::accesses(call) {
            // A directory is recorded with a trailing '/', as AppArmor matches it; strace
            // prints it without.
            let entry = recorded
                .get(&path)
                .or_else(|| recorded.get(&[path.as_slice(), b"/"].concat()));
            if !entry.is_some_and(|e| e.access.contains(kind)) {
                let has = entry.map(|e| format!("{:?}", e.access));
                not_recorded.push(format!(
                    "{} {kind}: recorded {}; strace: {}",
                    show(&path),
                    has.as_deref().unwrap_or("nothing"),
                    call.line
                ));
            }
            seen.entry(path).or_default().insert(kind.to_owned());
        }
        seen_sockets.extend(oracle::socket(call));
    }
    assert!(
        not_recorded.is_empty(),
        "accesses strace saw that the recording lacks:\n{}\n(recorder: {})",
        not_recorded.join("\n"),
        rec.stderr.trim()
    );

    // The mkstemp name is random: the one entry named tmp.*.
    let under = files_under(&rec.json, &dir);
    let temp: Vec<&Vec<u8>> = under.keys().filter(|n| n.starts_with(b"tmp.")).collect();
    assert_eq!(temp.len(), 1, "mkstemp files recorded: {temp:?}");
    let expected = expect([
        (b"config".as_slice(), ["read"].as_slice()),
        (b"log", &["write", "create"]),
        (b"appended", &["append"]),
        (temp[0], &["read", "write", "create", "unlink"]),
        (b"dir/", &["mkdir", "rmdir"]),
        (b"old", &["rename_from"]),
        (b"new", &["rename_to"]),
        (b"hardlink", &["link"]),
        (b"symlink", &["symlink"]),
        (b"modes", &["chmod"]),
        (b"lockfile", &["read", "lock"]),
    ]);
    // The oracle itself must see exactly that, or its parsing is off (it names directories
    // without the trailing '/').
    let seen_under: BTreeMap<Vec<u8>, Kinds> = seen
        .iter()
        .filter_map(|(path, kinds)| {
            let mut name = below(&dir, path)?;
            let made_or_removed = kinds.contains("mkdir") || kinds.contains("rmdir");
            if made_or_removed || dir.join(OsStr::from_bytes(&name)).is_dir() {
                name.push(b'/');
            }
            Some((name, kinds.clone()))
        })
        .collect();
    assert!(
        seen_under == expected,
        "strace shows, under {}:\n{}",
        dir.display(),
        show_kinds(&seen_under)
    );
    let exe_path = canonical(&exe);
    assert_files_under(&rec, &dir, &expected, &exe_path);
    assert_file(&rec.json, &exe_path, &["exec"], &exe_path);
    let truth = canonical("/bin/true");
    assert_file(&rec.json, &truth, &["exec"], &truth);

    let stream = |family: &str| (family.to_owned(), "SOCK_STREAM".to_owned(), 0);
    assert_eq!(
        seen_sockets,
        BTreeSet::from([stream("AF_UNIX"), stream("AF_INET")])
    );
    assert_sockets(
        &rec.json,
        &[("AF_INET", "SOCK_STREAM"), ("AF_UNIX", "SOCK_STREAM")],
        &exe_path,
    );
}

/// Names the kernel resolves: relative to the cwd and to a dirfd, through a symlink, with
/// `..`, through a bind mount and inside a chroot in another mount namespace (see
/// `files_resolve.c`). Each must come out as the path the kernel used: the symlink's target,
/// the bind mount's path, a path relative to the chroot.
#[test]
fn bpf_files_resolved_like_the_kernel() {
    if !require_bpf("bpf_files_resolved_like_the_kernel") {
        return;
    }
    let (_dir, dir) = workdir();
    populate(
        &dir,
        &[
            "a/",
            "b",
            "sub/",
            "sub/e",
            "target",
            "d",
            "src/",
            "src/file",
            "mnt/",
            "root/inner/",
            "root/inside-chroot",
        ],
    );
    std::os::unix::fs::symlink(dir.join("target"), dir.join("link")).expect("create symlink");
    let exe = build_workload("files_resolve", &[]);
    let rec = record_ok(&[&exe, utf8(&dir)]);

    let exe_path = canonical(&exe);
    let expected = expect([
        (b"b".as_slice(), ["read"].as_slice()),
        (b"sub/", &["read"]),
        (b"sub/c", &["write", "create"]),
        (b"sub/e", &["unlink"]),
        (b"f/", &["mkdir"]),
        (b"target", &["read"]),
        (b"d", &["read"]),
        (b"mnt/file", &["read"]),
    ]);
    assert_files_under(&rec, &dir, &expected, &exe_path);
    assert_file(&rec.json, "/inside-chroot", &["read"], &exe_path);
    assert_file(&rec.json, "/inner/made-in-chroot/", &["mkdir"], &exe_path);
    assert!(
        dir.join("root/inner/made-in-chroot").is_dir() && !dir.join("src/made-in-chroot").exists(),
        "the chroot's mkdir did not land where expected"
    );
}

/// A name holding each character that means something in JSON, shells, globs or AppArmor
/// rules, and bytes that are not UTF-8.
const HOSTILE_NAMES: [&[u8]; 16] = [
    b"new\nline",
    b"com,ma",
    b"dq\"uote",
    b"{braces}",
    b"@{HOME}",
    b"#hash",
    b"star*",
    b"q?mark",
    b"[x]",
    b"caret^",
    b"with spaces",
    b"back\\slash",
    b"tab\there",
    b"ff-\xff-byte",
    b"latin1-caf\xe9",
    b"all ,\"{}@{HOME}#*?[x]^\n\xff",
];

/// Writes `names` NUL-separated into a file of a new temporary directory, for `files_names`.
fn names_file(names: impl IntoIterator<Item = impl AsRef<[u8]>>) -> (TempDir, PathBuf) {
    let dir = tempdir();
    let path = dir.path().join("names");
    let mut bytes = Vec::new();
    for name in names {
        bytes.extend_from_slice(name.as_ref());
        bytes.push(0);
    }
    fs::write(&path, bytes).expect("write the names file");
    (dir, path)
}

/// Each hostile name is listed once, with its exact bytes (`files` takes them from `path_hex`
/// for those that are not UTF-8, which must be there: the lossy `path` would not match), and
/// nothing else below the directory.
#[test]
fn bpf_files_hostile_names() {
    if !require_bpf("bpf_files_hostile_names") {
        return;
    }
    let (_dir, dir) = workdir();
    let (_names_dir, names) = names_file(HOSTILE_NAMES);
    let exe = build_workload("files_names", &[]);
    let rec = record_ok(&[&exe, utf8(&dir), utf8(&names), "--read-back"]);

    let expected = expect(HOSTILE_NAMES.map(|name| (name, ["read", "write", "create"].as_slice())));
    assert_files_under(&rec, &dir, &expected, &canonical(&exe));
}

/// 100,000 distinct files: every one is listed, or the ones missing are accounted for by
/// `lost.file_events`. Prints the recorder's wall time next to the workload's alone.
#[test]
fn bpf_files_hundred_thousand() {
    if !require_bpf("bpf_files_hundred_thousand") {
        return;
    }
    const COUNT: usize = 100_000;
    let (_names_dir, names) = names_file((0..COUNT).map(|i| format!("f{i:06}")));
    let exe = build_workload("files_names", &[]);

    let (_bare_dir, bare_dir) = workdir();
    let started = Instant::now();
    let mut bare = Command::new(&exe);
    bare.args([utf8(&bare_dir), utf8(&names)]);
    let output = run(bare);
    assert!(output.status.success(), "{}", describe(&output));
    let bare_time = started.elapsed();

    let (_dir, dir) = workdir();
    let rec = record(&["--as-root", "--", &exe, utf8(&dir), utf8(&names)]);
    rec.assert_success().assert_complete();
    let under = files_under(&rec.json, &dir);
    let lost = rec.json["lost"]["file_events"]
        .as_u64()
        .expect("lost.file_events");
    println!(
        "{} of {COUNT} files listed, lost.file_events {lost}; recorded run {:?}, workload alone {bare_time:?}",
        under.len(),
        rec.elapsed
    );
    let write_create = kinds(&["write", "create"]);
    let odd: Vec<_> = under
        .iter()
        .filter(|(name, entry)| {
            entry.access != write_create
                || name.len() != 7
                || !name.starts_with(b"f")
                || !name[1..].iter().all(u8::is_ascii_digit)
        })
        .map(|(name, entry)| format!("{}: {:?}", show(name), entry.access))
        .collect();
    assert!(
        odd.is_empty(),
        "{} unexpected entries, the first: {:?}",
        odd.len(),
        &odd[..odd.len().min(10)]
    );
    assert!(
        under.len() as u64 + lost >= COUNT as u64,
        "{} listed + {lost} lost < {COUNT}",
        under.len()
    );
    for counter in ["file_calls", "unresolved_paths"] {
        assert_eq!(rec.json["lost"][counter], 0, "lost.{counter}");
    }
}

/// A static 32-bit program: opens through openat and the old open, renames, and creates
/// sockets through socket and socketcall, all with ia32 numbers and registers.
#[test]
fn bpf_files_static32() {
    if !require_bpf("bpf_files_static32") {
        return;
    }
    let (_dir, dir) = workdir();
    let exe = build_workload("files_static32", &["-m32", "-static"]);
    let rec = record_ok(&[&exe, utf8(&dir)]);

    let exe_path = canonical(&exe);
    let expected = expect([
        (b"openat32".as_slice(), ["write", "create"].as_slice()),
        (b"open32", &["write", "create", "rename_from"]),
        (b"renamed32", &["rename_to"]),
    ]);
    assert_files_under(&rec, &dir, &expected, &exe_path);
    assert_file(&rec.json, &exe_path, &["exec"], &exe_path);
    assert_sockets(
        &rec.json,
        &[("AF_INET", "SOCK_STREAM"), ("AF_UNIX", "SOCK_DGRAM")],
        &exe_path,
    );
}

/// A `#!/bin/sh` script run directly: the interpreter, as resolved, is what is executed, and
/// the script is a file it reads.
#[test]
fn bpf_files_script_exec() {
    if !require_bpf("bpf_files_script_exec") {
        return;
    }
    let (_dir, dir) = workdir();
    let script = dir.join("script.sh");
    fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write the script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod the script");
    let rec = record_ok(&[utf8(&script)]);

    let shell = canonical("/bin/sh");
    assert_file(&rec.json, &shell, &["exec"], &shell);
    let expected = expect([(b"script.sh".as_slice(), ["read"].as_slice())]);
    assert_files_under(&rec, &dir, &expected, &shell);
}
