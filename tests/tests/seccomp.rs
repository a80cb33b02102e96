//! Seccomp profiles end to end: a workload recorded with `leastpriv record` (BPF), turned into
//! a profile with `leastpriv generate seccomp --runtime runc`, must run under it both with
//! `leastpriv run --seccomp` and inside runc. Negative controls show that the profile is
//! really enforced (a workload missing one needed syscall fails, and `--complain` names
//! exactly that syscall; a 32-bit program is stopped by a 64-bit profile). Then the SPO
//! resource format, determinism, and bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use tempfile::TempDir;

use leastpriv_tests::workloads::{self, Workload};
use leastpriv_tests::{describe, leastpriv, record, require_bpf, run, runc, tempdir, ABIS};

/// A workload's recording and the profile generated from it for runc, in a directory of
/// their own (which also holds any variants a test writes).
struct Profiled {
    dir: TempDir,
    recording: PathBuf,
    profile: PathBuf,
}

impl Profiled {
    /// Records `argv` as root, as the container's process runs, and generates its profile
    /// with `--runtime runc`.
    fn new(argv: &[&str]) -> Self {
        let mut args = vec!["--as-root", "--"];
        args.extend(argv);
        let rec = record(&args);
        rec.assert_success().assert_complete();

        let dir = tempdir();
        let recording = dir.path().join("recording.json");
        write_json(&recording, &rec.json);
        let profile = dir.path().join("profile.json");
        generate_to(&recording, &profile, &["--runtime", "runc"]);
        Self {
            dir,
            recording,
            profile,
        }
    }

    fn json(&self) -> Value {
        read_json(&self.profile)
    }

    /// Writes a copy of the profile that no longer allows `name`, so that it falls to the
    /// default action (EPERM), and returns its path and contents.
    fn without(&self, name: &str) -> (PathBuf, Value) {
        let mut profile = self.json();
        assert_eq!(profile["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
        let allowed = profile["syscalls"][0]["names"]
            .as_array_mut()
            .expect("syscalls[0].names is an array");
        let before = allowed.len();
        allowed.retain(|n| n != name);
        assert_eq!(
            allowed.len() + 1,
            before,
            "{name} was not allowed: {allowed:?}"
        );
        let path = self.dir.path().join(format!("without-{name}.json"));
        write_json(&path, &profile);
        (path, profile)
    }
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", path.display()))
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("a Value serializes");
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `leastpriv generate seccomp RECORDING ARGS...`.
fn generate(recording: &Path, args: &[&str]) -> Output {
    let mut cmd = leastpriv();
    cmd.args(["generate", "seccomp"]).arg(recording).args(args);
    run(cmd)
}

/// `generate` into `out`, which must succeed; returns the file's bytes.
fn generate_to(recording: &Path, out: &Path, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["-o", out.to_str().expect("temp path is UTF-8")];
    all.extend(args);
    let output = generate(recording, &all);
    assert!(
        output.status.success(),
        "generate seccomp {} {all:?} failed:\n{}",
        recording.display(),
        describe(&output)
    );
    fs::read(out).unwrap_or_else(|e| panic!("read {}: {e}", out.display()))
}

/// `leastpriv run --seccomp PROFILE [EXTRA...] -- ARGV...`.
fn run_under(profile: &Path, extra: &[&str], argv: &[&str]) -> Output {
    let mut cmd = leastpriv();
    cmd.arg("run")
        .arg("--seccomp")
        .arg(profile)
        .args(extra)
        .arg("--")
        .args(argv);
    run(cmd)
}

/// `leastpriv run --complain`, as root like the recording.
fn complain(profile: &Path, argv: &[&str]) -> Output {
    run_under(profile, &["--complain", "--as-root"], argv)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Panics unless `output` exited with status `code`.
fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: expected exit status {code}\n{}",
        describe(output)
    );
}

/// One line of `run --complain`'s report: `ABI<TAB>NAME<TAB>VERDICT  by EXE1, EXE2`.
#[derive(Debug)]
struct Denial {
    abi: String,
    name: String,
    verdict: String,
    by: Vec<String>,
}

/// The report lines in `run --complain`'s stdout, which it shares with the command's
/// (the workloads here print no tab-separated lines starting with an ABI).
fn denials(output: &Output) -> Vec<Denial> {
    stdout(output)
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (abi, name, rest) = (fields.next()?, fields.next()?, fields.next()?);
            if !ABIS.contains(&abi) {
                return None;
            }
            let (verdict, by) = rest
                .split_once("  by ")
                .unwrap_or_else(|| panic!("report line without '  by ': {line:?}"));
            Some(Denial {
                abi: abi.to_owned(),
                name: name.to_owned(),
                verdict: verdict.to_owned(),
                by: by.split(", ").map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// The python workload with the system interpreter, the one the runc container has (a
/// version manager's python under /root is not mounted there); recorded with it too, so
/// that the profile matches.
fn system_python() -> Workload {
    let mut workload = workloads::python();
    workload.argv[0] = "/usr/bin/python3".to_owned();
    workload
}

/// Records `workload`, generates its runc profile, and runs it under that profile with
/// `leastpriv run` and in runc: both must exit 0 and print `expect` (if given).
fn assert_runs_under_its_profile(test: &str, workload: &Workload, expect: Option<&str>) {
    if !require_bpf(test) {
        return;
    }
    let argv = workload.argv();
    let profiled = Profiled::new(&argv);
    let check = |output: &Output, how: &str| {
        assert_exit(output, 0, &format!("{argv:?} {how} under its own profile"));
        if let Some(expect) = expect {
            assert!(
                stdout(output).contains(expect),
                "{argv:?} {how}: no {expect:?} in its output\n{}",
                describe(output)
            );
        }
    };
    check(
        &run_under(&profiled.profile, &[], &argv),
        "with leastpriv run",
    );
    check(&runc::run(&argv, &profiled.json()), "in runc");
}

#[test]
fn bpf_ls_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_ls_runs_under_its_profile",
        &workloads::ls(),
        Some(" usr\n"),
    );
}

#[test]
fn bpf_python_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_python_runs_under_its_profile",
        &system_python(),
        Some("threads done 4"),
    );
}

#[test]
fn bpf_threads_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_threads_runs_under_its_profile",
        &workloads::threads(),
        Some("total "),
    );
}

#[test]
fn bpf_spawn_kinds_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_spawn_kinds_runs_under_its_profile",
        &workloads::spawn_kinds(),
        None,
    );
}

#[test]
fn bpf_daemon_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_daemon_runs_under_its_profile",
        &workloads::daemon(),
        None,
    );
}

#[test]
fn bpf_static32_runs_under_its_profile() {
    assert_runs_under_its_profile(
        "bpf_static32_runs_under_its_profile",
        &workloads::static32(),
        Some("pid "),
    );
}

/// Without getdents64, `ls` cannot list a directory and exits 2; in runc too (which shows
/// that the container really applies the profile, so its passing runs above mean something).
/// `--complain` lets it run and names exactly that syscall, nothing else.
#[test]
fn bpf_profile_missing_a_needed_syscall_fails_and_complain_names_it() {
    if !require_bpf("bpf_profile_missing_a_needed_syscall_fails_and_complain_names_it") {
        return;
    }
    let workload = workloads::ls();
    let argv = workload.argv();
    let profiled = Profiled::new(&argv);
    let (reduced, reduced_json) = profiled.without("getdents64");

    let enforced = run_under(&reduced, &[], &argv);
    assert!(
        !enforced.status.success(),
        "ls succeeded without getdents64:\n{}",
        describe(&enforced)
    );
    let contained = runc::run(&argv, &reduced_json);
    assert!(
        !contained.status.success(),
        "ls succeeded in runc without getdents64:\n{}",
        describe(&contained)
    );

    let complained = complain(&reduced, &argv);
    assert_exit(&complained, 1, "run --complain with a syscall missing");
    assert!(
        stdout(&complained).contains(" usr\n"),
        "ls did not list / unhindered under --complain:\n{}",
        describe(&complained)
    );
    let denied = denials(&complained);
    assert!(
        matches!(denied.as_slice(), [d] if d.abi == "x86_64" && d.name == "getdents64"),
        "--complain must report exactly x86_64 getdents64, reported {denied:#?}\n{}",
        describe(&complained)
    );
    let denial = &denied[0];
    assert!(
        denial.verdict.starts_with("SCMP_ACT_ERRNO")
            && denial.by.iter().any(|e| e.ends_with("/ls")),
        "unexpected verdict or executables: {denial:?}"
    );
}

/// A profile recorded from a 64-bit program lists only SCMP_ARCH_X86_64, so a static 32-bit
/// program is killed at its first ia32 syscall; `--complain` lets it run and reports its
/// syscalls under ia32 with the architecture verdict.
#[test]
fn bpf_static32_under_a_64_bit_profile_is_stopped() {
    if !require_bpf("bpf_static32_under_a_64_bit_profile_is_stopped") {
        return;
    }
    let profiled = Profiled::new(&workloads::ls().argv());
    assert_eq!(
        profiled.json()["architectures"],
        serde_json::json!(["SCMP_ARCH_X86_64"]),
        "the ls profile should be 64-bit only"
    );
    let workload = workloads::static32();
    let argv = workload.argv();

    let enforced = run_under(&profiled.profile, &[], &argv);
    assert!(
        !enforced.status.success() && !stdout(&enforced).contains("pid "),
        "a 32-bit program ran under a 64-bit profile:\n{}",
        describe(&enforced)
    );

    let complained = complain(&profiled.profile, &argv);
    assert_exit(
        &complained,
        1,
        "run --complain of a 32-bit program under a 64-bit profile",
    );
    let denied = denials(&complained);
    let wrong: Vec<_> = denied
        .iter()
        .filter(|d| {
            d.abi != "ia32"
                || !d
                    .verdict
                    .contains("architecture ia32 is not in the profile")
        })
        .collect();
    assert!(
        !denied.is_empty() && wrong.is_empty(),
        "expected only ia32 lines with the architecture verdict; unexpected: {wrong:#?}\n{}",
        describe(&complained)
    );
    let names: Vec<&str> = denied.iter().map(|d| d.name.as_str()).collect();
    for (abi, expected) in &workload.distinctive {
        assert_eq!(*abi, "ia32");
        let missing: Vec<_> = expected.iter().filter(|n| !names.contains(n)).collect();
        assert!(
            missing.is_empty(),
            "--complain did not report ia32 {missing:?}; reported {names:?}"
        );
    }
}

/// Whether `name` is a DNS-1123 subdomain, as Kubernetes requires of metadata.name.
fn is_dns1123_subdomain(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=253).contains(&name.len())
        && name.split('.').all(|label| {
            label.starts_with(alnum)
                && label.ends_with(alnum)
                && label.chars().all(|c| alnum(c) || c == '-')
        })
}

/// The SPO resource carries the same rules as the OCI profile, under a name Kubernetes
/// accepts, whether taken from the command or given with `--name`.
#[test]
fn bpf_crd_format_is_a_seccomp_profile_resource() {
    if !require_bpf("bpf_crd_format_is_a_seccomp_profile_resource") {
        return;
    }
    let profiled = Profiled::new(&workloads::threads().argv());
    let oci = profiled.json();
    for extra in [&[][..], &["--name", "Python Demo!"]] {
        let out = profiled.dir.path().join("profile.yaml");
        let mut args = vec!["--format", "crd", "--runtime", "runc"];
        args.extend(extra);
        let text = generate_to(&profiled.recording, &out, &args);
        let crd: Value = serde_yaml_ng::from_slice(&text).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not YAML: {e}\n{}",
                String::from_utf8_lossy(&text)
            )
        });
        assert_eq!(
            crd["apiVersion"], "security-profiles-operator.x-k8s.io/v1beta1",
            "{crd:#}"
        );
        assert_eq!(crd["kind"], "SeccompProfile", "{crd:#}");
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        assert!(
            is_dns1123_subdomain(name),
            "{args:?}: metadata.name {name:?} is not DNS-1123"
        );
        for field in ["defaultAction", "architectures", "syscalls"] {
            assert_eq!(
                crd["spec"][field], oci[field],
                "{args:?}: spec.{field} differs from the OCI profile's"
            );
        }
    }
}

/// The same recording gives byte-identical profiles, in both formats, to a file or stdout.
#[test]
fn bpf_generation_is_deterministic() {
    if !require_bpf("bpf_generation_is_deterministic") {
        return;
    }
    let profiled = Profiled::new(&workloads::spawn_kinds().argv());
    for format in ["oci", "crd"] {
        let args = ["--format", format, "--runtime", "runc"];
        let first = generate_to(
            &profiled.recording,
            &profiled.dir.path().join("first"),
            &args,
        );
        let second = generate_to(
            &profiled.recording,
            &profiled.dir.path().join("second"),
            &args,
        );
        assert!(first == second, "{format}: two generations differ");
        let printed = generate(&profiled.recording, &args);
        assert!(printed.status.success(), "{}", describe(&printed));
        assert!(
            printed.stdout == first,
            "{format}: stdout differs from the -o file"
        );
    }
}

/// A missing file, a JSON file that is not a recording, and a recording given where a
/// profile is expected: exit status 2 (bad input) with the file named, and no output file.
#[test]
fn generate_rejects_bad_input_without_writing() {
    let dir = tempdir();
    let not_a_recording = dir.path().join("profile.json");
    fs::write(&not_a_recording, r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#).unwrap();
    let truncated = dir.path().join("truncated.json");
    fs::write(&truncated, r#"{"format": "leastpriv-recording", "#).unwrap();
    for input in [dir.path().join("missing.json"), not_a_recording, truncated] {
        let out = dir.path().join("out.json");
        let output = generate(&input, &["-o", out.to_str().unwrap()]);
        assert_exit(&output, 2, &format!("generate seccomp {}", input.display()));
        assert_names_file(&output, &input);
        assert!(
            !out.exists(),
            "{} was written for bad input {}",
            out.display(),
            input.display()
        );
    }
}

/// A profile that is not valid JSON, names an unknown action, or is a recording: exit status
/// 2 (bad input) with the file named, and the command never runs.
#[test]
fn run_rejects_a_malformed_profile_without_running() {
    let dir = tempdir();
    let cases = [
        ("truncated.json", r#"{"defaultAction": "#),
        (
            "unknown-action.json",
            r#"{"defaultAction": "SCMP_ACT_BOGUS"}"#,
        ),
        (
            "recording.json",
            r#"{"format": "leastpriv-recording", "syscalls": {}}"#,
        ),
    ];
    let marker = dir.path().join("ran");
    for (file, text) in cases {
        let profile = dir.path().join(file);
        fs::write(&profile, text).unwrap();
        let output = run_under(&profile, &[], &["touch", marker.to_str().unwrap()]);
        assert_exit(&output, 2, &format!("run --seccomp {file}"));
        assert_names_file(&output, &profile);
        assert!(
            !marker.exists(),
            "the command ran under the malformed profile {file}"
        );
    }
}

/// Panics unless stderr names `file` (by its file name at least).
fn assert_names_file(output: &Output, file: &Path) {
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(name),
        "the message does not name {name}:\n{}",
        describe(output)
    );
}

/// crun, Podman's default runtime, runs the workload under the profile generated with
/// `--runtime crun` whether it loads the filter with no_new_privs off (Docker's, Podman's and
/// Kubernetes' default, when crun still drops privileges through the filter) or on. The
/// recording's own profile, without crun's list, does not start with no_new_privs off, and
/// without a syscall the workload needs the workload fails: the runs above mean something.
#[test]
fn bpf_crun_profile_runs_with_and_without_no_new_privs() {
    let test = "bpf_crun_profile_runs_with_and_without_no_new_privs";
    if !require_bpf(test) || !leastpriv_tests::engines::require_tool(test, "crun") {
        return;
    }
    let workload = workloads::ls();
    let argv = workload.argv();
    let profiled = Profiled::new(&argv);
    let crun_profile = profiled.dir.path().join("crun.json");
    generate_to(&profiled.recording, &crun_profile, &["--runtime", "crun"]);
    let none_profile = profiled.dir.path().join("none.json");
    generate_to(&profiled.recording, &none_profile, &["--runtime", "none"]);
    let crun = |profile: &Path, no_new_privileges: bool| {
        runc::run_in(
            runc::Runtime::Crun,
            &argv,
            &read_json(profile),
            &[],
            Some(no_new_privileges),
        )
    };
    for no_new_privileges in [false, true] {
        let output = crun(&crun_profile, no_new_privileges);
        assert_exit(
            &output,
            0,
            &format!("ls in crun, no_new_privs {no_new_privileges}"),
        );
        assert!(stdout(&output).contains(" usr\n"), "{}", describe(&output));
    }
    let without_runtime = crun(&none_profile, false);
    assert!(
        !without_runtime.status.success(),
        "crun started the container under a profile without its own syscalls:\n{}",
        describe(&without_runtime)
    );
    let mut reduced = read_json(&crun_profile);
    reduced["syscalls"][0]["names"]
        .as_array_mut()
        .expect("syscalls[0].names")
        .retain(|n| n != "getdents64");
    let reduced_path = profiled.dir.path().join("crun-without-getdents64.json");
    write_json(&reduced_path, &reduced);
    let failed = crun(&reduced_path, false);
    assert!(
        !failed.status.success(),
        "ls succeeded in crun without getdents64:\n{}",
        describe(&failed)
    );
}
