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

use leastpriv_tests::strace::{self, files::SocketKind};
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
    argv.extend(strace::files::OPTIONS);
    argv.extend(["-o", utf8(&trace), "--", &exe, utf8(&dir)]);
    let rec = record_ok(&argv);

    let text = fs::read_to_string(&trace).expect("read strace output");
    let calls = strace::calls(&text);
    let workload = strace::process_tree(&calls, &exe);
    let recorded = files(&rec.json);
    let mut seen: BTreeMap<Vec<u8>, Kinds> = BTreeMap::new();
    let mut not_recorded = Vec::new();
    let mut seen_sockets = BTreeSet::new();
    for call in calls
        .iter()
        .filter(|c| workload.contains(&c.pid) && c.succeeded())
    {
        for (path, kind) in strace::files::accesses(call) {
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
        seen_sockets.extend(strace::files::socket(call));
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
