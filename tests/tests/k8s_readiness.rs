//! Kubernetes readiness (issue 32): seven small workloads (tests/workloads/k8s_ready.c) are
//! recorded with the real recorder, `generate k8s --format json` must decide `hostUsers`,
//! `runAsNonRoot`/`runAsUser`, `allowPrivilegeEscalation` and `readOnlyRootFilesystem` as
//! expected, with evidence, and every decision is then proven by running the workload that
//! way in runc (tests/src/pod.rs): with all the decided settings at once it must succeed, and
//! each setting a decision says it cannot take (a user namespace, a non-root user,
//! no_new_privs, a read-only root) must make it fail when added alone. Then the whole Pod and
//! Namespace against the Kubernetes API schema, and recordings lacking the facts.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use leastpriv_tests::engines::require_tool;
use leastpriv_tests::pod::{self, PodSettings};
use leastpriv_tests::workloads::build_workload;
use leastpriv_tests::{
    bin, describe, leastpriv, read_recording, record_with_env, require_bpf, run, tempdir,
    workspace_dir, Running, RUN_TIMEOUT,
};

/// The user non-root workloads are recorded as, and that a root workload that can do
/// without root is given (`generate k8s` chooses it too).
const NOBODY: u32 = 65534;
const SUDO_NOBODY: [(&str, &str); 2] = [("SUDO_UID", "65534"), ("SUDO_GID", "65534")];

/// How the workload's messages spell EPERM and EACCES, and EROFS: a stricter run must fail
/// for the reason the decision gives, not for another.
const DENIED: &[&str] = &["Operation not permitted", "Permission denied"];
const READ_ONLY: &[&str] = &["Read-only file system"];

/// A workload's recording, in a directory others may enter (non-root workloads and runc's
/// mapped root reach into it).
struct Case {
    dir: TempDir,
    recording: PathBuf,
}

impl Case {
    fn dir() -> TempDir {
        let dir = tempdir();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// A directory in the case's directory that every user may write (a volume's path).
    fn volume(dir: &TempDir) -> String {
        let volume = dir.path().join("volume");
        fs::create_dir(&volume).unwrap();
        fs::set_permissions(&volume, fs::Permissions::from_mode(0o777)).unwrap();
        volume.to_str().unwrap().to_owned()
    }

    /// Records `argv` as root (`--as-root`) or as nobody (through SUDO_UID).
    fn record(dir: TempDir, argv: &[&str], as_root: bool) -> Case {
        let mut args = if as_root { vec!["--as-root"] } else { vec![] };
        args.push("--");
        args.extend(argv);
        let env: &[(&str, &str)] = if as_root { &[] } else { &SUDO_NOBODY };
        let rec = record_with_env(&args, env);
        rec.assert_success().assert_complete();
        let recording = dir.path().join("recording.json");
        fs::write(&recording, serde_json::to_string_pretty(&rec.json).unwrap()).unwrap();
        Case { dir, recording }
    }

    /// `generate k8s --format json` with these volumes.
    fn decisions(&self, volumes: &[&str]) -> Value {
        generate_json(&self.recording, volumes)
    }
}

fn generate_json(recording: &Path, volumes: &[&str]) -> Value {
    let mut cmd = leastpriv();
    cmd.args(["generate", "k8s", "--format", "json"])
        .arg(recording);
    for volume in volumes {
        cmd.args(["--volume", volume]);
    }
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("generate k8s --format json: {e}\n{}", describe(&output)))
}

/// A decision's value (`null` when unknown) and its evidence as one string.
fn decision(decisions: &Value, name: &str) -> (Value, String) {
    let d = &decisions["decisions"][name];
    (d["value"].clone(), d["evidence"].to_string())
}

fn level(decisions: &Value) -> &str {
    decisions["podSecurityStandards"]["level"].as_str().unwrap()
}

/// The settings the decisions claim the workload runs with. An unknown decision is not a
/// claim: the test asserts none is unknown before this is used.
fn claimed(decisions: &Value, volumes: &[&str]) -> PodSettings {
    let flag = |name: &str| {
        decisions["decisions"][name]["value"]
            .as_bool()
            .unwrap_or_else(|| panic!("{name} is unknown: {decisions:#}"))
    };
    let id = |key: &str| {
        decisions["decisions"]["runAsNonRoot"][key]
            .as_u64()
            .unwrap() as u32
    };
    let capabilities = decisions["securityContext"]["capabilities"]["add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("CAP_{}", c.as_str().unwrap()))
        .collect();
    PodSettings {
        user_namespace: !flag("hostUsers"),
        uid: id("runAsUser"),
        gid: id("runAsGroup"),
        capabilities,
        ambient: true,
        no_new_privs: !flag("allowPrivilegeEscalation"),
        read_only_root: flag("readOnlyRootFilesystem"),
        volumes: volumes.iter().map(|v| v.to_string()).collect(),
    }
}

/// Runs `argv` as the decisions claim, which must succeed; then, for each decision that says
/// the workload cannot take the stricter setting, with that setting alone made strict, which
/// must fail. Returns how many runs were made.
fn prove(argv: &[&str], decisions: &Value, volumes: &[&str]) -> usize {
    prove_with(argv, claimed(decisions, volumes))
}

/// [`prove`] from the claimed settings.
fn prove_with(argv: &[&str], settings: PodSettings) -> usize {
    let output = pod::run(argv, &settings);
    assert!(
        output.status.success(),
        "{argv:?} failed as claimed, {settings:?}:\n{}",
        describe(&output)
    );
    let mut runs = 1;
    let mut stricter = Vec::new();
    if !settings.user_namespace {
        stricter.push((
            "hostUsers: false",
            PodSettings {
                user_namespace: true,
                ..settings.clone()
            },
            DENIED,
        ));
    }
    if settings.uid == 0 {
        stricter.push((
            "runAsNonRoot: true",
            PodSettings {
                uid: NOBODY,
                gid: NOBODY,
                ..settings.clone()
            },
            DENIED,
        ));
    }
    if !settings.no_new_privs {
        stricter.push((
            "allowPrivilegeEscalation: false",
            PodSettings {
                no_new_privs: true,
                ..settings.clone()
            },
            DENIED,
        ));
    }
    if !settings.read_only_root {
        stricter.push((
            "readOnlyRootFilesystem: true",
            PodSettings {
                read_only_root: true,
                ..settings.clone()
            },
            READ_ONLY,
        ));
    }
    for (what, strict, errors) in stricter {
        let output = pod::run(argv, &strict);
        assert!(
            !output.status.success(),
            "{argv:?} was decided unable to run with {what}, yet it ran, {strict:?}:\n{}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code() == Some(1) && errors.iter().any(|e| stderr.contains(e)),
            "{argv:?} with {what} must fail in the workload itself, with {errors:?}:\n{}",
            describe(&output)
        );
        runs += 1;
    }
    runs
}

fn prerequisites(test: &str) -> bool {
    require_bpf(test) && require_tool(test, "runc")
}

fn workload() -> String {
    build_workload("k8s_ready", &[])
}

/// (a) A non-root workload that writes only into a volume: every setting at its strictest,
/// restricted; without the volume the root filesystem must stay writable, and the write is
/// listed with its program.
#[test]
fn bpf_k8s_volume_writer_as_non_root() {
    if !prerequisites("bpf_k8s_volume_writer_as_non_root") {
        return;
    }
    let exe = workload();
    let dir = Case::dir();
    let volume = Case::volume(&dir);
    let argv = [exe.as_str(), "volume", volume.as_str()];
    let case = Case::record(dir, &argv, false);
    let d = case.decisions(&[&volume]);
    assert_eq!(decision(&d, "hostUsers").0, false, "{d:#}");
    assert_eq!(decision(&d, "runAsNonRoot").0, true, "{d:#}");
    assert_eq!(d["decisions"]["runAsNonRoot"]["runAsUser"], NOBODY);
    assert!(decision(&d, "runAsNonRoot")
        .1
        .contains("recorded running as uid 65534"));
    assert_eq!(decision(&d, "allowPrivilegeEscalation").0, false);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true, "{d:#}");
    assert_eq!(level(&d), "restricted");
    assert_eq!(prove(&argv, &d, &[&volume]), 1);

    // Without --volume, the write is on the root filesystem, named with its program.
    let d = case.decisions(&[]);
    let (value, evidence) = decision(&d, "readOnlyRootFilesystem");
    assert_eq!(value, false);
    let written = &d["decisions"]["readOnlyRootFilesystem"]["writtenOutsideVolumes"];
    assert_eq!(written[0]["path"], format!("{volume}/out"), "{d:#}");
    assert!(written[0]["by"][0]
        .as_str()
        .unwrap()
        .ends_with(exe.rsplit('/').next().unwrap()));
    assert!(evidence.contains("/out"), "{evidence}");
    let _ = case.dir;
}

/// (b) A setuid-root helper that needs euid 0 (it calls setuid(0)), run by nobody:
/// escalation is allowed, because of that program's granted CAP_SETUID check, and the run
/// with no_new_privs fails.
#[test]
fn bpf_k8s_setuid_helper_needs_escalation() {
    if !prerequisites("bpf_k8s_setuid_helper_needs_escalation") {
        return;
    }
    let dir = Case::dir();
    let helper = dir.path().join("suid_helper");
    fs::copy(workload(), &helper).unwrap();
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o4755)).unwrap();
    let helper = helper.to_str().unwrap().to_owned();
    let argv = [helper.as_str(), "suid"];
    let case = Case::record(dir, &argv, false);
    let d = case.decisions(&[]);
    let (value, evidence) = decision(&d, "allowPrivilegeEscalation");
    assert_eq!(value, true, "{d:#}");
    assert!(
        evidence.contains(&helper)
            && evidence.contains("CAP_SETUID")
            && evidence.contains("setuid"),
        "{evidence}"
    );
    assert_eq!(decision(&d, "runAsNonRoot").0, true);
    assert_eq!(decision(&d, "hostUsers").0, false);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true);
    assert_eq!(
        d["securityContext"]["capabilities"]["add"],
        serde_json::json!(["SETUID"])
    );
    assert_eq!(level(&d), "baseline");
    // As claimed, then with no_new_privs (which must fail). The helper's SETUID comes from
    // its setuid bit, out of the bounding set, as in Kubernetes, whose runtimes set no
    // ambient capabilities: held as an ambient capability it would let nobody call
    // setuid(0) without any setuid program.
    let settings = PodSettings {
        ambient: false,
        ..claimed(&d, &[])
    };
    assert_eq!(prove_with(&argv, settings.clone()), 2);
    // The negative control of the bounding set: without SETUID the helper's euid 0 has no
    // CAP_SETUID and setuid(0) fails.
    let output = pod::run(
        &argv,
        &PodSettings {
            capabilities: vec![],
            ..settings
        },
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
}

/// (b') The same helper with file capabilities (cap_setuid+ep) instead of the setuid bit:
/// it used CAP_SETUID, which is in the add-list, and no_new_privs leaves a program the file
/// capabilities the container holds permitted, so escalation is not needed; the run with
/// no_new_privs and no ambient capabilities succeeds, and without SETUID in the container's
/// set it fails (the negative control).
#[test]
fn bpf_k8s_file_capabilities_need_no_escalation() {
    if !prerequisites("bpf_k8s_file_capabilities_need_no_escalation")
        || !require_tool("bpf_k8s_file_capabilities_need_no_escalation", "setcap")
    {
        return;
    }
    let dir = Case::dir();
    let helper = dir.path().join("fcap_helper");
    fs::copy(workload(), &helper).unwrap();
    let helper = helper.to_str().unwrap().to_owned();
    let setcap = run({
        let mut cmd = Command::new("setcap");
        cmd.args(["cap_setuid+ep", &helper]);
        cmd
    });
    assert!(setcap.status.success(), "{}", describe(&setcap));
    let argv = [helper.as_str(), "suid"];
    let case = Case::record(dir, &argv, false);
    let d = case.decisions(&[]);
    let (value, evidence) = decision(&d, "allowPrivilegeEscalation");
    assert_eq!(value, false, "{d:#}");
    assert!(
        evidence.contains(&helper)
            && evidence.contains("file capabilities")
            && evidence.contains("CAP_SETUID"),
        "{evidence}"
    );
    assert_eq!(
        d["securityContext"]["capabilities"]["add"],
        serde_json::json!(["SETUID"])
    );
    assert_eq!(decision(&d, "runAsNonRoot").0, true);
    assert_eq!(decision(&d, "hostUsers").0, false);
    assert_eq!(level(&d), "baseline");
    // The program's own file capabilities, not ambient ones, as in Kubernetes.
    let settings = PodSettings {
        ambient: false,
        ..claimed(&d, &[])
    };
    assert!(
        settings.no_new_privs && settings.user_namespace,
        "{settings:?}"
    );
    assert_eq!(prove_with(&argv, settings.clone()), 1);
    // Also on the host's user namespace.
    let output = pod::run(
        &argv,
        &PodSettings {
            user_namespace: false,
            ..settings.clone()
        },
    );
    assert!(output.status.success(), "{}", describe(&output));
    let output = pod::run(
        &argv,
        &PodSettings {
            capabilities: vec![],
            ..settings
        },
    );
    assert!(!output.status.success(), "{}", describe(&output));
}

/// (c) chown as root, to ids inside a pod's range: CAP_CHOWN is honoured in a user
/// namespace, and root gave nothing else, so it runs as nobody with CHOWN.
#[test]
fn bpf_k8s_chown_as_root() {
    if !prerequisites("bpf_k8s_chown_as_root") {
        return;
    }
    let exe = workload();
    let dir = Case::dir();
    let volume = Case::volume(&dir);
    let argv = [exe.as_str(), "chown", volume.as_str()];
    let case = Case::record(dir, &argv, true);
    let d = case.decisions(&[&volume]);
    let (host, evidence) = decision(&d, "hostUsers");
    assert_eq!(host, false, "{d:#}");
    assert!(evidence.contains("below 65536"), "{evidence}");
    let (non_root, evidence) = decision(&d, "runAsNonRoot");
    assert_eq!(non_root, true, "{d:#}");
    assert!(
        evidence.contains("CAP_CHOWN") && evidence.contains("ran as root"),
        "{evidence}"
    );
    assert_eq!(d["decisions"]["runAsNonRoot"]["runAsUser"], NOBODY);
    assert_eq!(decision(&d, "allowPrivilegeEscalation").0, false);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true);
    assert_eq!(level(&d), "baseline");
    assert!(d["podSecurityStandards"]["firstRuleKeepingFromNextLevel"]
        .as_str()
        .unwrap()
        .contains("CHOWN"));
    assert_eq!(prove(&argv, &d, &[&volume]), 1);
    // The negative control: the same user without the capability fails.
    let output = pod::run(
        &argv,
        &PodSettings {
            capabilities: vec![],
            ..claimed(&d, &[&volume])
        },
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
}

/// (d) A device node: CAP_MKNOD is asked of the initial user namespace, so hostUsers must
/// be true, and the run in a user namespace fails.
#[test]
fn bpf_k8s_mknod_needs_host_users() {
    if !prerequisites("bpf_k8s_mknod_needs_host_users") {
        return;
    }
    let exe = workload();
    let dir = Case::dir();
    let volume = Case::volume(&dir);
    let argv = [exe.as_str(), "mknod", volume.as_str()];
    let case = Case::record(dir, &argv, true);
    let d = case.decisions(&[&volume]);
    let (host, evidence) = decision(&d, "hostUsers");
    assert_eq!(host, true, "{d:#}");
    assert!(
        evidence.contains("CAP_MKNOD")
            && evidence.contains("vfs_mknod")
            && evidence.contains("mknod"),
        "{evidence}"
    );
    assert_eq!(decision(&d, "runAsNonRoot").0, true);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true);
    assert_eq!(level(&d), "baseline");
    // As claimed, then in a user namespace (which must fail).
    assert_eq!(prove(&argv, &d, &[&volume]), 2);
}

/// (e) Binding port 80 as nobody with NET_BIND_SERVICE (the recorder itself runs as nobody
/// with ambient capabilities, which the command inherits): restricted, and it runs in a
/// user namespace with its own network namespace.
#[test]
fn bpf_k8s_bind_80_as_non_root() {
    if !prerequisites("bpf_k8s_bind_80_as_non_root") {
        return;
    }
    let exe = workload();
    let dir = Case::dir();
    let out_dir = Case::volume(&dir);
    let recording = Path::new(&out_dir).join("recording.json");
    let caps = "-all,+bpf,+perfmon,+dac_override,+syslog,+net_bind_service";
    let base = leastpriv();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(format!("--inh-caps={caps}"))
        .arg(format!("--ambient-caps={caps}"))
        .arg("--")
        .arg(bin())
        .args(["record", "-o"])
        .arg(&recording)
        .args(["--", &exe, "bind", "80"])
        .stdin(Stdio::null());
    for (key, value) in base.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    // cargo's library path names directories under /root (mode 0700): the loader would
    // search them with the inherited CAP_DAC_OVERRIDE, which would then be recorded as a need.
    cmd.env_remove("LD_LIBRARY_PATH");
    let output = Running::spawn(cmd).wait(RUN_TIMEOUT).0;
    assert!(output.status.success(), "{}", describe(&output));
    let json = read_recording(&recording).unwrap();
    assert_eq!(json["user"]["uid"], NOBODY, "{json:#}");
    let d = generate_json(&recording, &[]);
    assert_eq!(
        d["securityContext"]["capabilities"]["add"],
        serde_json::json!(["NET_BIND_SERVICE"]),
        "{:#}",
        json["capabilities"]
    );
    assert_eq!(decision(&d, "hostUsers").0, false, "{d:#}");
    assert_eq!(decision(&d, "runAsNonRoot").0, true);
    assert_eq!(decision(&d, "allowPrivilegeEscalation").0, false);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true);
    assert_eq!(level(&d), "restricted", "{d:#}");
    let argv = [exe.as_str(), "bind", "80"];
    assert_eq!(prove(&argv, &d, &[]), 1);
    let output = pod::run(
        &argv,
        &PodSettings {
            capabilities: vec![],
            ..claimed(&d, &[])
        },
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "without NET_BIND_SERVICE: {}",
        describe(&output)
    );
}

/// (f) State under /var/lib on the root filesystem, as root: the root filesystem must stay
/// writable (the path listed) and root's ownership of /var/lib was relied on; both stricter
/// runs fail. A user namespace is fine: the image's /var/lib is the pod's root's.
#[test]
fn bpf_k8s_state_under_var_lib() {
    if !prerequisites("bpf_k8s_state_under_var_lib") {
        return;
    }
    let exe = workload();
    let state = format!("/var/lib/leastpriv-k8s-test-{}", std::process::id());
    let argv = [exe.as_str(), "state", state.as_str()];
    let case = Case::record(Case::dir(), &argv, true);
    let _ = fs::remove_dir_all(&state);
    let d = case.decisions(&[]);
    let (ro, evidence) = decision(&d, "readOnlyRootFilesystem");
    assert_eq!(ro, false, "{d:#}");
    assert!(evidence.contains(&state), "{evidence}");
    let written: Vec<&str> = d["decisions"]["readOnlyRootFilesystem"]["writtenOutsideVolumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["path"].as_str().unwrap())
        .collect();
    assert!(
        written.contains(&format!("{state}/state").as_str()),
        "{written:?}"
    );
    let (non_root, evidence) = decision(&d, "runAsNonRoot");
    assert_eq!(non_root, false);
    assert!(evidence.contains(&state), "{evidence}");
    assert_eq!(d["decisions"]["runAsNonRoot"]["runAsUser"], 0);
    assert_eq!(decision(&d, "hostUsers").0, false);
    assert_eq!(level(&d), "baseline");
    assert!(d["podSecurityStandards"]["firstRuleKeepingFromNextLevel"]
        .as_str()
        .unwrap()
        .contains("runAsNonRoot"));
    // As claimed, then as nobody and with a read-only root (both must fail).
    assert_eq!(prove(&argv, &d, &[]), 3);
    // With /var/lib as a volume, both become possible.
    let d = case.decisions(&["/var/lib"]);
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, true, "{d:#}");
    assert_eq!(decision(&d, "runAsNonRoot").0, true, "{d:#}");
    assert_eq!(prove(&argv, &d, &["/var/lib"]), 1);
}

/// (g) A workload that only reads, recorded as root: everything at its strictest.
#[test]
fn bpf_k8s_reader() {
    if !prerequisites("bpf_k8s_reader") {
        return;
    }
    let exe = workload();
    let argv = [exe.as_str(), "read"];
    let case = Case::record(Case::dir(), &argv, true);
    let d = case.decisions(&[]);
    for (name, expected) in [
        ("hostUsers", false),
        ("runAsNonRoot", true),
        ("allowPrivilegeEscalation", false),
        ("readOnlyRootFilesystem", true),
    ] {
        assert_eq!(decision(&d, name).0, expected, "{name}: {d:#}");
    }
    assert_eq!(level(&d), "restricted");
    assert_eq!(prove(&argv, &d, &[]), 1);
}

/// kubernetes-validate (PyPI; `cargo xtask test` installs it under target/py).
fn kubernetes_validate() -> PathBuf {
    let tool = std::env::var_os("LEASTPRIV_K8S_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target/py/bin/kubernetes-validate"));
    assert!(
        tool.exists(),
        "{} is missing: run `cargo xtask test`, which installs it",
        tool.display()
    );
    tool
}

fn validate(file: &Path) -> std::process::Output {
    let mut cmd = Command::new(kubernetes_validate());
    cmd.args(["--strict", "-k", "1.33.0"]).arg(file);
    run(cmd)
}

fn generate_yaml(recording: &Path, args: &[&str]) -> String {
    let mut cmd = leastpriv();
    cmd.args(["generate", "k8s"]).arg(recording).args(args);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// `--pod --namespace`: a Namespace with the Pod Security Admission labels at the level met
/// and a Pod carrying every decision, both valid against the Kubernetes API schema; a
/// Namespace with a misspelt field is refused (so the check can fail).
#[test]
fn k8s_pod_and_namespace_are_valid_against_the_api_schema() {
    let dir = tempdir();
    let recording = workspace_dir().join("tests/fixtures/bind_and_chown.recording.json");
    let text = generate_yaml(
        &recording,
        &[
            "--pod",
            "--namespace",
            "demo",
            "--volume",
            "/tmp",
            "--image",
            "busybox",
        ],
    );
    let file = dir.path().join("all.yaml");
    fs::write(&file, &text).unwrap();
    let validated = validate(&file);
    assert!(
        validated.status.success(),
        "{}\n{text}",
        describe(&validated)
    );
    let log = String::from_utf8_lossy(&validated.stderr).into_owned()
        + &String::from_utf8_lossy(&validated.stdout);
    assert!(
        log.contains("namespace/demo") && log.contains("pod/python3"),
        "{log}"
    );

    let docs: Vec<serde_yaml_ng::Value> = text
        .split("\n---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    let ns = &docs[0];
    assert_eq!(ns["kind"], "Namespace");
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(
            ns["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")],
            "baseline"
        );
        assert_eq!(
            ns["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}-version")],
            "latest"
        );
    }
    let pod = &docs[1];
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["namespace"], "demo");
    let spec = &pod["spec"];
    assert_eq!(spec["hostUsers"], false);
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    let container = &spec["containers"][0];
    assert_eq!(container["image"], "busybox");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["seccompProfile"]["type"],
        "Localhost"
    );
    assert_eq!(container["volumeMounts"][0]["mountPath"], "/tmp");
    assert!(spec["volumes"][0]["emptyDir"].is_mapping(), "{spec:?}");
    assert!(docs.iter().any(|d| d["kind"] == "SeccompProfile"));

    let bad = dir.path().join("bad.yaml");
    fs::write(&bad, text.replacen("labels:", "label:", 1)).unwrap();
    assert!(
        !validate(&bad).status.success(),
        "kubernetes-validate accepted an unknown field"
    );
}

/// A recording lacking a fact (made by an older leastpriv, by `record --cgroup`, or with
/// lost events) makes the decision that needs it unknown: `null` in JSON, the field left
/// out of the YAML, and said so in a comment, never a guess.
#[test]
fn k8s_decisions_are_unknown_without_their_facts() {
    let dir = tempdir();
    let fixture = workspace_dir().join("tests/fixtures/bind_and_chown.recording.json");
    let mut json: Value = serde_json::from_str(&fs::read_to_string(&fixture).unwrap()).unwrap();
    let obj = json.as_object_mut().unwrap();
    obj.remove("user");
    obj.remove("files");
    let old = dir.path().join("old.json");
    fs::write(&old, json.to_string()).unwrap();
    let d = generate_json(&old, &[]);
    assert_eq!(decision(&d, "runAsNonRoot").0, Value::Null, "{d:#}");
    assert!(decision(&d, "runAsNonRoot").1.contains("which user"));
    assert_eq!(decision(&d, "readOnlyRootFilesystem").0, Value::Null);
    assert!(decision(&d, "readOnlyRootFilesystem")
        .1
        .contains("no file accesses"));
    // Capability checks are still there: hostUsers is decided.
    assert_eq!(decision(&d, "hostUsers").0, false);
    assert_eq!(level(&d), "baseline");
    let yaml = generate_yaml(&old, &[]);
    assert!(yaml.contains("#   runAsNonRoot: unknown"), "{yaml}");
    let first: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(yaml.split("\n---\n").next().unwrap()).unwrap();
    assert!(
        first["pod"]["securityContext"]
            .get("runAsNonRoot")
            .is_none(),
        "{yaml}"
    );
    assert!(
        first["securityContext"]
            .get("readOnlyRootFilesystem")
            .is_none(),
        "{yaml}"
    );

    json.as_object_mut().unwrap().remove("capabilities");
    fs::write(&old, json.to_string()).unwrap();
    // Without capability checks no add-list can be made at all: generate k8s refuses.
    let mut cmd = leastpriv();
    cmd.args(["generate", "k8s"]).arg(&old);
    let output = run(cmd);
    assert!(!output.status.success(), "{}", describe(&output));
}

/// Recorded paths and program names are data: one with newlines and YAML in it stays in its
/// comment line (escaped) and its JSON string, and adds no document or field.
#[test]
fn k8s_hostile_paths_stay_data() {
    let dir = tempdir();
    let fixture = workspace_dir().join("tests/fixtures/bind_and_chown.recording.json");
    let mut json: Value = serde_json::from_str(&fs::read_to_string(&fixture).unwrap()).unwrap();
    let hostile = "/var/lib/x\n---\nkind: Evil\nhostUsers: true\n# ";
    json["files"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "path": hostile,
            "access": ["create", "write"],
            "by": ["/tmp/a\nkind: Evil"],
        }));
    let recording = dir.path().join("hostile.json");
    fs::write(&recording, json.to_string()).unwrap();
    let yaml = generate_yaml(&recording, &[]);
    let docs: Vec<serde_yaml_ng::Value> = text_documents(&yaml);
    assert!(docs.iter().all(|d| d["kind"] != "Evil"), "{yaml}");
    assert_eq!(
        docs.len(),
        3,
        "the settings and the two SPO resources:\n{yaml}"
    );
    assert_eq!(docs[0]["pod"]["hostUsers"], false, "{yaml}");
    assert!(yaml.lines().all(|l| !l.starts_with("kind: Evil")), "{yaml}");
    let d = generate_json(&recording, &[]);
    let written = &d["decisions"]["readOnlyRootFilesystem"]["writtenOutsideVolumes"];
    assert!(
        written
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["path"] == hostile),
        "{d:#}"
    );
}

fn text_documents(yaml: &str) -> Vec<serde_yaml_ng::Value> {
    yaml.split("\n---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
        .collect()
}

/// Bad flags exit 2 with a message naming the flag, and write nothing.
#[test]
fn k8s_bad_volume_and_namespace_are_refused() {
    let dir = tempdir();
    let recording = workspace_dir().join("tests/fixtures/bind_and_chown.recording.json");
    let out = dir.path().join("out.yaml");
    for (args, named) in [
        (&["--volume", "tmp"][..], "--volume tmp"),
        (&["--volume", "/"][..], "--volume /"),
        (&["--volume", "/a/../b"][..], "--volume /a/../b"),
        (&["--namespace", "Bad_Name"][..], "--namespace Bad_Name"),
    ] {
        let mut cmd = leastpriv();
        cmd.args(["generate", "k8s"])
            .arg(&recording)
            .args(args)
            .arg("-o")
            .arg(&out);
        let output = run(cmd);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(named),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
