//! Capabilities end to end: small workloads that each need one known capability (or none)
//! are recorded as root, and `leastpriv generate capabilities` must name exactly that set.
//! Each workload must then run with exactly that set, both under `leastpriv run
//! --capabilities` and under setpriv (an enforcer leastpriv did not write), and fail
//! without it, which shows the set is both sufficient and minimal. Then the output formats,
//! the memory-accounting probe every program makes, the recorder's own privilege drop, and
//! bad input.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use leastpriv_tests::workloads::build_workload;
use leastpriv_tests::{
    comm, describe, leastpriv, read_recording, record_with_env, require_bpf, run, tempdir,
    wait_until, workspace_dir, KillOnDrop,
};

/// The numbers of the capabilities these workloads need, for the masks in
/// /proc/PID/status.
const NUMBERS: [(&str, u32); 4] = [
    ("CHOWN", 0),
    ("KILL", 5),
    ("NET_BIND_SERVICE", 10),
    ("NET_RAW", 13),
];

/// A port below net.ipv4.ip_unprivileged_port_start (1024) that nothing here listens on.
/// cap_bind sets SO_REUSEADDR and never listens, so tests binding it at once do not clash.
const PRIVILEGED_PORT: &str = "83";

/// What `generate capabilities --format list` prints for an empty add-list.
const NONE_NEEDED: &str = "# no capabilities needed: drop them all\n";

/// Status the cap_* workloads exit with when the operation they exist for fails.
const WORKLOAD_FAILED: i32 = 1;

/// How the workloads' perror spells EPERM and EACCES: a failure for any other reason does
/// not show that a capability was missing.
const DENIED: [&str; 2] = ["Operation not permitted", "Permission denied"];

/// A workload's recording in a directory of its own, next to what is generated from it.
struct CapRecording {
    dir: TempDir,
    path: PathBuf,
    json: Value,
    /// What `record --verbose` printed.
    stderr: String,
}

impl CapRecording {
    /// Records `argv` as root, as a container's process runs.
    fn new(argv: &[&str]) -> Self {
        Self::with_env(argv, &[])
    }

    /// As [`new`](Self::new), with these variables in the recorder's environment.
    fn with_env(argv: &[&str], env: &[(&str, &str)]) -> Self {
        let mut args = vec!["--verbose", "--as-root", "--"];
        args.extend(argv);
        let rec = record_with_env(&args, env);
        rec.assert_success().assert_complete();
        // A check whose stack is lost has an unknown caller and is counted as a need: the
        // add-list would grow. Every stack must be kept, also under the tests' parallel load.
        assert_eq!(
            rec.json["lost"]["capability_stacks"], 0,
            "capability stacks lost recording {argv:?}: {}",
            rec.json["lost"]
        );
        let dir = tempdir();
        let path = dir.path().join("recording.json");
        write_json(&path, &rec.json);
        Self {
            dir,
            path,
            json: rec.json,
            stderr: rec.stderr,
        }
    }

    /// How many checks the kernel program decided from their caller alone, without walking
    /// their stacks, as `record --verbose` reports it.
    fn decided_by_caller(&self) -> u64 {
        let line = self
            .stderr
            .lines()
            .find(|l| l.contains("decided by their caller"))
            .unwrap_or_else(|| {
                panic!(
                    "record --verbose printed no capability check note:\n{}",
                    self.stderr
                )
            });
        let (_, made) = line.split_once(" made, ").expect("the note's format");
        made.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line:?}"))
    }

    /// The recording's `capabilities` entries, shown in every failure message as evidence.
    fn checks(&self) -> String {
        serde_json::to_string_pretty(&self.json["capabilities"]).expect("a Value serializes")
    }

    /// `generate capabilities --format FORMAT` to standard output, which must succeed.
    fn generate(&self, format: &str) -> String {
        let output = generate(&self.path, &["--format", format]);
        assert!(
            output.status.success(),
            "generate capabilities --format {format} failed:\n{}",
            describe(&output)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// `generate capabilities --format list -o FILE`, which must succeed: the file that
    /// `run --capabilities` takes.
    fn list_file(&self) -> PathBuf {
        let file = self.dir.path().join("capabilities.txt");
        let output = generate(
            &self.path,
            &["--format", "list", "-o", file.to_str().expect("UTF-8 path")],
        );
        assert!(
            output.status.success(),
            "generate capabilities -o {} failed:\n{}",
            file.display(),
            describe(&output)
        );
        file
    }
}

/// `leastpriv generate capabilities RECORDING ARGS...`.
fn generate(recording: &Path, args: &[&str]) -> Output {
    let mut cmd = leastpriv();
    cmd.args(["generate", "capabilities"])
        .arg(recording)
        .args(args);
    run(cmd)
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("a Value serializes");
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `leastpriv run --as-root --capabilities SPEC -- ARGV...`: SPEC is a list or a list file.
fn under_leastpriv(spec: &str, argv: &[&str]) -> Command {
    let mut cmd = leastpriv();
    cmd.args(["run", "--as-root", "--capabilities", spec, "--"])
        .args(argv);
    cmd
}

/// `ARGV` under setpriv with exactly `caps`. Staying uid 0 with a limited bounding set is
/// what makes the set exact: on exec root gets its inheritable set plus its bounding set,
/// so both, and the ambient set, are reduced to `caps`.
fn under_setpriv(caps: &[&str], argv: &[&str]) -> Command {
    let added: String = caps
        .iter()
        .map(|cap| format!(",+{}", cap.to_lowercase()))
        .collect();
    let mut cmd = Command::new("setpriv");
    for set in ["--inh-caps", "--ambient-caps", "--bounding-set"] {
        cmd.arg(format!("{set}=-all{added}"));
    }
    cmd.arg("--").args(argv).stdin(Stdio::null());
    cmd
}

/// `argv` run with exactly `caps` both ways, labelled for messages. `leastpriv_spec` is
/// what `run --capabilities` gets for `caps` (a generated list file, or a typed list).
fn enforced(caps: &[&str], leastpriv_spec: &str, argv: &[&str]) -> [(String, Output); 2] {
    [
        (
            format!("leastpriv run --capabilities {leastpriv_spec:?}"),
            run(under_leastpriv(leastpriv_spec, argv)),
        ),
        (
            format!("setpriv with {caps:?}"),
            run(under_setpriv(caps, argv)),
        ),
    ]
}

/// The capability mask with `caps` set.
fn mask(caps: &[&str]) -> u64 {
    caps.iter()
        .map(|cap| {
            let (_, number) = NUMBERS
                .iter()
                .find(|(name, _)| name == cap)
                .unwrap_or_else(|| panic!("no number for {cap}; add it to NUMBERS"));
            1u64 << number
        })
        .fold(0, |all, bit| all | bit)
}

/// Panics unless a process started both ways holds exactly `caps` in each of its five
/// sets, so that a workload passing or failing under them says something about `caps`.
fn assert_exact_sets(caps: &[&str], leastpriv_spec: &str) {
    let want = mask(caps);
    for (how, output) in enforced(caps, leastpriv_spec, &["cat", "/proc/self/status"]) {
        assert!(output.status.success(), "{how}: {}", describe(&output));
        let status = String::from_utf8_lossy(&output.stdout);
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            let have = status
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{set}:")))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .unwrap_or_else(|| panic!("{how}: no {set} in /proc/self/status:\n{status}"));
            assert_eq!(
                have, want,
                "{how}: {set} is {have:#x}, expected exactly {caps:?} ({want:#x})"
            );
        }
    }
}

/// The add-list a list file names (its lines other than comments).
fn listed(text: &str) -> BTreeSet<&str> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect()
}

/// Records `argv` as root and checks that its add-list is exactly `needs` (short names),
/// and that the workload passes with exactly that set and fails with any one of them
/// removed, under both `leastpriv run` and setpriv. Also checks that the CAP_SYS_ADMIN
/// probe every program makes was recorded, as a probe, and not added.
fn assert_needs_exactly(argv: &[&str], needs: &[&str]) -> CapRecording {
    let rec = CapRecording::new(argv);
    let file = rec.list_file();
    let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let mut want: Vec<&str> = needs.to_vec();
    want.sort_unstable();
    let want_text = if want.is_empty() {
        NONE_NEEDED.to_owned()
    } else {
        want.iter().map(|cap| format!("{cap}\n")).collect()
    };
    assert_eq!(
        text,
        want_text,
        "{argv:?}: add-list {:?}, expected exactly {want:?}; the recording's checks:\n{}",
        listed(&text),
        rec.checks()
    );
    assert_memory_probe_is_not_a_need(&rec, &text);

    let spec = file.to_str().expect("UTF-8 path");
    assert_exact_sets(needs, spec);
    for (how, output) in enforced(needs, spec, argv) {
        assert!(
            output.status.success(),
            "{argv:?} failed under {how}, its own add-list:\n{}",
            describe(&output)
        );
    }

    for missing in needs {
        let fewer: Vec<&str> = needs.iter().copied().filter(|c| c != missing).collect();
        let spec = fewer.join(",");
        assert_exact_sets(&fewer, &spec);
        for (how, output) in enforced(&fewer, &spec, argv) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.code() == Some(WORKLOAD_FAILED)
                    && DENIED.iter().any(|message| stderr.contains(message)),
                "{argv:?} must be denied without {missing} (under {how}):\n{}",
                describe(&output)
            );
        }
    }
    rec
}

/// Every program makes the memory accounting's CAP_SYS_ADMIN check (CAP_OPT_NOAUDIT, on
/// mmap and brk): it must be in the recording, as a probe, so that leaving SYS_ADMIN out of
/// the add-list `list_text` is a decision, not a check that was never seen.
fn assert_memory_probe_is_not_a_need(rec: &CapRecording, list_text: &str) {
    let checks = rec.json["capabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("no capabilities array in the recording:\n{:#}", rec.json));
    let sys_admin: Vec<&Value> = checks
        .iter()
        .filter(|check| check["capability"] == "CAP_SYS_ADMIN")
        .collect();
    assert!(
        sys_admin.iter().any(|check| check["audit"] == "probe"),
        "no CAP_SYS_ADMIN probe recorded; the recording's checks:\n{}",
        rec.checks()
    );
    assert!(
        sys_admin.iter().all(|check| check["audit"] == "probe"),
        "CAP_SYS_ADMIN checked other than as a probe; the recording's checks:\n{}",
        rec.checks()
    );
    assert!(
        !listed(list_text).contains("SYS_ADMIN"),
        "SYS_ADMIN (only probed) is in the add-list:\n{list_text}"
    );
}

/// The path of a directory for the file workloads. The test (root) made it, so working in
/// it needs no CAP_DAC_OVERRIDE or CAP_FOWNER.
fn path_str(dir: &TempDir) -> &str {
    dir.path().to_str().expect("UTF-8 temp path")
}

#[test]
fn bpf_binding_a_privileged_port_needs_net_bind_service() {
    if !require_bpf("bpf_binding_a_privileged_port_needs_net_bind_service") {
        return;
    }
    let workload = build_workload("cap_bind", &[]);
    assert_needs_exactly(&[&workload, PRIVILEGED_PORT], &["NET_BIND_SERVICE"]);
}

#[test]
fn bpf_giving_a_file_away_needs_chown() {
    if !require_bpf("bpf_giving_a_file_away_needs_chown") {
        return;
    }
    let workload = build_workload("cap_chown", &[]);
    let dir = tempdir();
    assert_needs_exactly(&[&workload, path_str(&dir)], &["CHOWN"]);
}

#[test]
fn bpf_raw_socket_needs_net_raw() {
    if !require_bpf("bpf_raw_socket_needs_net_raw") {
        return;
    }
    let workload = build_workload("cap_raw", &[]);
    assert_needs_exactly(&[&workload], &["NET_RAW"]);
}

/// cap_kill sends signal 0, which makes the same permission check as a real signal and
/// leaves the target alive for every run.
#[test]
fn bpf_signalling_another_users_process_needs_kill() {
    if !require_bpf("bpf_signalling_another_users_process_needs_kill") {
        return;
    }
    let workload = build_workload("cap_kill", &[]);
    let target = KillOnDrop(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(["sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start sleep as 65534 with setpriv: {e}")),
    );
    let pid = target.0.id();
    // Once it runs sleep, setpriv has changed its user: before that it is still root's, and
    // signalling it would need nothing.
    wait_until(Duration::from_secs(10), "the target to run sleep", || {
        (comm(pid).as_deref() == Some("sleep")).then_some(())
    });
    assert_needs_exactly(&[&workload, &pid.to_string()], &["KILL"]);
}

#[test]
fn bpf_plain_file_work_needs_nothing() {
    if !require_bpf("bpf_plain_file_work_needs_nothing") {
        return;
    }
    let workload = build_workload("cap_files", &[]);
    let dir = tempdir();
    let rec = assert_needs_exactly(&[&workload, path_str(&dir)], &[]);
    // Every form must say "drop everything, add nothing".
    assert_eq!(
        rec.generate("k8s"),
        "securityContext:\n  capabilities:\n    drop:\n    - ALL\n    add: []\n"
    );
    assert_eq!(rec.generate("docker"), "--cap-drop=ALL\n");
    assert_eq!(
        rec.generate("systemd"),
        "[Service]\nCapabilityBoundingSet=\nAmbientCapabilities=\n"
    );
}

#[test]
fn bpf_every_format_renders_the_add_list() {
    if !require_bpf("bpf_every_format_renders_the_add_list") {
        return;
    }
    let workload = build_workload("cap_bind", &[]);
    let rec = CapRecording::new(&[&workload, PRIVILEGED_PORT]);
    let expected = [
        ("list", "NET_BIND_SERVICE\n"),
        (
            "k8s",
            "securityContext:\n  capabilities:\n    drop:\n    - ALL\n    add:\n    - NET_BIND_SERVICE\n",
        ),
        ("docker", "--cap-drop=ALL --cap-add=NET_BIND_SERVICE\n"),
        (
            "systemd",
            "[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n",
        ),
    ];
    for (format, text) in expected {
        assert_eq!(
            rec.generate(format),
            text,
            "--format {format}; the recording's checks:\n{}",
            rec.checks()
        );
    }
}

/// Without --as-root under sudo, leastpriv drops to the sudo user before the command runs.
/// That drop (setgroups, setresgid, setresuid) is leastpriv's doing, not the command's: its
/// CAP_SETUID and CAP_SETGID checks must not be in the recording, nor make an add-list.
#[test]
fn bpf_the_recorders_privilege_drop_is_not_recorded() {
    if !require_bpf("bpf_the_recorders_privilege_drop_is_not_recorded") {
        return;
    }
    let dir = tempdir();
    let out = dir.path().join("recording.json");
    let mut cmd = leastpriv();
    cmd.arg("record")
        .arg("-o")
        .arg(&out)
        .args(["--", "id", "-u"])
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534");
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "65534\n",
        "the command did not run as 65534, so there was no drop to leak"
    );
    let json = read_recording(&out).unwrap_or_else(|e| panic!("{e}"));
    let rec = CapRecording {
        json,
        path: out,
        dir,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let checks = rec.json["capabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("no capabilities array in the recording:\n{:#}", rec.json));
    // The command's own checks are there (its memory accounting), so their absence below
    // is not a recorder that saw nothing.
    assert!(
        checks
            .iter()
            .any(|check| check["capability"] == "CAP_SYS_ADMIN"),
        "the command's CAP_SYS_ADMIN probe was not recorded:\n{}",
        rec.checks()
    );
    let leaked: Vec<&Value> = checks
        .iter()
        .filter(|check| {
            ["CAP_SETUID", "CAP_SETGID"].contains(&check["capability"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "the recorder's own privilege drop is in the recording: {leaked:#?}"
    );
    // As 65534 the command holds no capability, so nothing it checked can be granted.
    assert_eq!(rec.generate("list"), NONE_NEEDED, "{}", rec.checks());
}

/// A name that is no capability: exit status 2 (bad input) naming it, and the command never runs;
/// in a list file too.
#[test]
fn run_rejects_an_unknown_capability_without_running() {
    let dir = tempdir();
    let marker = dir.path().join("ran");
    let list_file = dir.path().join("capabilities.txt");
    fs::write(&list_file, "KILL\nFLY\n").unwrap();
    for spec in ["FLY", "CHOWN,FLY", list_file.to_str().unwrap()] {
        let output = run(under_leastpriv(spec, &["touch", marker.to_str().unwrap()]));
        assert_eq!(
            output.status.code(),
            Some(2),
            "--capabilities {spec}:\n{}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("FLY"),
            "--capabilities {spec}: the message does not name FLY:\n{stderr}"
        );
        assert!(
            !marker.exists(),
            "the command ran with --capabilities {spec}"
        );
    }
}

/// A recording made without capability checks (an older leastpriv, or a kernel without the
/// tracepoint) is not an empty add-list: exit status 2 (bad input) saying so, and no output file.
#[test]
fn generate_refuses_a_recording_without_capability_checks() {
    let fixture = workspace_dir().join("tests/fixtures/ls.recording.json");
    let mut json = read_recording(&fixture).unwrap_or_else(|e| panic!("{e}"));
    json.as_object_mut()
        .expect("a recording is an object")
        .remove("capabilities");
    let dir = tempdir();
    let recording = dir.path().join("old.recording.json");
    write_json(&recording, &json);
    let out = dir.path().join("capabilities.txt");

    let output = generate(&recording, &["-o", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("holds no capability checks") && stderr.contains("old.recording.json"),
        "the message does not say that old.recording.json holds no capability checks:\n{stderr}"
    );
    assert!(!out.exists(), "{} was written", out.display());
}

/// Names of kernel functions are kept per boot, root-only (addresses defeat KASLR), and a
/// recording named from that cache classifies its checks exactly as one named from
/// /proc/kallsyms: the same workload recorded with and without the cache. With the cache,
/// the kernel program also decides the memory accounting's probes from their caller without
/// walking their stacks; the first recording walks every stack, and both must say the same
/// about every check (capability, audit, verdict, caller, syscalls, executables).
#[test]
fn bpf_kernel_symbol_cache_is_private_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    if !require_bpf("bpf_kernel_symbol_cache_is_private_and_changes_nothing") {
        return;
    }
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot_id");
    let cache = Path::new("/var/cache/leastpriv/kernel-symbols").join(boot_id.trim());
    let exe = build_workload("cap_bind", &[]);
    let argv = [exe.as_str(), "81"];
    // Another test may be filling the cache at the same time: compare what each recording
    // says, not whether the file was there.
    let _ = fs::remove_file(&cache);
    let fresh = CapRecording::with_env(&argv, &[("LEASTPRIV_WHOLE_CAPABILITY_STACKS", "1")]);
    assert_eq!(fresh.decided_by_caller(), 0, "{}", fresh.stderr);
    let meta = fs::metadata(&cache).expect("the recording wrote the symbol cache");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "{}",
        cache.display()
    );
    let dir_mode = fs::metadata(cache.parent().expect("a directory"))
        .expect("cache directory")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "the cache directory is open to others");
    let cached = CapRecording::new(&argv);
    assert!(
        cached.decided_by_caller() > 0,
        "no check was decided by its caller with the cache in place:\n{}",
        cached.stderr
    );
    let summary = |rec: &CapRecording| -> Vec<[Value; 6]> {
        rec.json["capabilities"]
            .as_array()
            .expect("capabilities")
            .iter()
            .map(|c| {
                ["capability", "audit", "granted", "via", "syscalls", "by"].map(|k| c[k].clone())
            })
            .collect()
    };
    assert_eq!(
        summary(&fresh),
        summary(&cached),
        "fresh:\n{}\ncached:\n{}",
        fresh.checks(),
        cached.checks()
    );
    assert!(
        summary(&cached)
            .iter()
            .any(|[cap, audit, _, via, ..]| cap == "CAP_NET_BIND_SERVICE"
                && audit == "audited"
                && via.to_string().contains("inet_bind")),
        "{}",
        cached.checks()
    );
}
