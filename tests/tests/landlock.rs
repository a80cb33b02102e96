//! Landlock configurations from real recordings, enforced by this kernel (no root needed to
//! apply them; root only to record): recorded workloads run under their generated
//! configuration, with `leastpriv run --landlock` and with an independent loader
//! (`landlock_apply.py`, raw syscalls); what the recorded run never did is refused with
//! EACCES; every generated file validates against the landlockconfig schema; bad
//! configurations exit 2 and run nothing.

use std::{fs, net::TcpListener, path::Path, process::Command};

use leastpriv_tests::{
    describe,
    landlock::{generate, run_under, run_under_raw_syscalls, validate},
    leastpriv, record, require_bpf, run, tempdir,
    workloads::{self, python3, workload_source},
};

/// Landlock as this kernel has it (TOOLCHAIN.md: ABI 7 here); a test that needs it fails
/// when it is missing under LEASTPRIV_REQUIRE_BPF=1, else skips.
fn require_landlock(test: &str) -> bool {
    let lsm = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    if lsm.split(',').any(|m| m.trim() == "landlock") {
        return true;
    }
    let reason = "Landlock is not in /sys/kernel/security/lsm";
    assert!(
        std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none(),
        "{test}: {reason}"
    );
    eprintln!("SKIP {test}: {reason}");
    false
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn bpf_foundation_workloads_run_under_their_generated_configuration() {
    let test = "bpf_foundation_workloads_run_under_their_generated_configuration";
    if !require_bpf(test) || !require_landlock(test) {
        return;
    }
    let scratch = tempdir();
    let workloads = [
        ("ls", workloads::ls()),
        ("python", workloads::python()),
        ("threads", workloads::threads()),
        ("spawn_kinds", workloads::spawn_kinds()),
        ("static32", workloads::static32()),
    ];
    for (name, workload) in workloads {
        let argv = workload.argv();
        let mut args = vec!["--as-root", "--"];
        args.extend(&argv);
        let rec = record(&args);
        rec.assert_success();
        let config = generate(&rec.json, scratch.path(), &format!("{name}.json"), &[]);
        validate(&config).unwrap_or_else(|e| panic!("{name}: schema: {e}"));
        let confined = run_under(&config, &argv);
        assert!(
            confined.status.success(),
            "{name} under its configuration:\n{}\n{}",
            describe(&confined),
            fs::read_to_string(&config).unwrap()
        );
        let raw = run_under_raw_syscalls(&config, &argv);
        assert!(
            raw.status.success(),
            "{name} under the independent loader:\n{}",
            describe(&raw)
        );
        // The TOML form says the same.
        let toml = generate(
            &rec.json,
            scratch.path(),
            &format!("{name}.toml"),
            &["--format", "toml"],
        );
        let confined = run_under(&toml, &argv);
        assert!(
            confined.status.success(),
            "{name} (TOML):\n{}",
            describe(&confined)
        );
    }
}

/// A free loopback TCP port (free now; the tests use it at once).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A work directory for `landlock_probe.py`: `input/config` (read), `output/` (written),
/// and `secret`, which the recorded run never touches.
fn work_dir(root: &Path) -> std::path::PathBuf {
    let work = root.join("work");
    fs::create_dir_all(work.join("input")).unwrap();
    fs::create_dir_all(work.join("output")).unwrap();
    fs::write(work.join("input/config"), "setting = 1\n").unwrap();
    fs::write(work.join("secret"), "not for the workload\n").unwrap();
    work
}

fn probe_argv<'a>(probe: &'a str, what: &'a str, arg: &'a str) -> Vec<&'a str> {
    vec![probe, "probe", what, arg]
}

#[test]
fn bpf_what_was_not_recorded_is_refused_with_eacces() {
    let test = "bpf_what_was_not_recorded_is_refused_with_eacces";
    if !require_bpf(test) || !require_landlock(test) {
        return;
    }
    let scratch = tempdir();
    let work = work_dir(scratch.path());
    let work_str = work.to_str().unwrap();
    let python = python3();
    let script = workload_source("landlock_probe.py");
    let script = script.to_str().unwrap();
    let port = free_port().to_string();
    let run_argv = [python.as_str(), script, "run", work_str, &port];

    let mut args = vec!["--as-root", "--"];
    args.extend(run_argv);
    let rec = record(&args);
    rec.assert_success();
    // The ports fact: the listen and the connect, on loopback, by python.
    let ports = rec.json["ports"].as_array().expect("ports recorded");
    for op in ["bind", "connect"] {
        assert!(
            ports.iter().any(|p| p["protocol"] == "tcp"
                && p["op"] == op
                && p["family"] == "AF_INET"
                && p["port"].to_string() == port
                && p["loopback"] == true),
            "no tcp {op} {port} on loopback in {ports:?}"
        );
    }
    let shown = scratch.path().join("probe.recording.json");
    fs::write(&shown, rec.json.to_string()).unwrap();
    let mut cmd = leastpriv();
    cmd.arg("show").arg(&shown);
    let show = run(cmd);
    assert!(
        stdout(&show).contains(&format!("tcp bind {port} (AF_INET, loopback) by ")),
        "{}",
        describe(&show)
    );
    let config = generate(&rec.json, scratch.path(), "probe.json", &[]);
    validate(&config).unwrap_or_else(|e| panic!("schema: {e}"));
    let text = fs::read_to_string(&config).unwrap();
    // Deterministic: the same recording gives the same bytes.
    let again = generate(&rec.json, scratch.path(), "probe-again.json", &[]);
    assert_eq!(text, fs::read_to_string(&again).unwrap());

    // The recorded run, under its configuration, with both loaders.
    let _ = fs::remove_file(work.join("output/log"));
    let confined = run_under(&config, &run_argv);
    assert!(confined.status.success(), "{}\n{text}", describe(&confined));
    assert_eq!(stdout(&confined), "done\n");
    assert_eq!(
        fs::read_to_string(work.join("output/log")).unwrap(),
        "ran\n"
    );
    let _ = fs::remove_file(work.join("output/log"));
    let raw = run_under_raw_syscalls(&config, &run_argv);
    assert!(raw.status.success(), "{}", describe(&raw));
    // With the seccomp profile of the same recording too: both apply (Landlock first).
    let seccomp = scratch.path().join("probe.seccomp.json");
    let mut cmd = leastpriv();
    cmd.args(["generate", "seccomp"])
        .arg(scratch.path().join("probe.json.recording.json"))
        .arg("-o")
        .arg(&seccomp);
    let generated = run(cmd);
    assert!(generated.status.success(), "{}", describe(&generated));
    let mut cmd = leastpriv();
    cmd.arg("run")
        .arg("--seccomp")
        .arg(&seccomp)
        .arg("--landlock")
        .arg(&config)
        .arg("--")
        .args(run_argv);
    let both = run(cmd);
    assert!(both.status.success(), "{}", describe(&both));
    assert_eq!(stdout(&both), "done\n");

    let py = |argv: &[&str]| {
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]);
        run(cmd)
    };
    let secret = work.join("secret");
    let secret = secret.to_str().unwrap();
    let into_input = work.join("input/new");
    let into_input = into_input.to_str().unwrap();
    let mut py_probe = vec![python.as_str()];
    py_probe.extend(probe_argv(script, "read", secret));
    // Controls: unconfined, each probe succeeds, so a refusal below is Landlock's.
    let plain = py(&py_probe);
    assert_eq!(stdout(&plain), "ok\n", "{}", describe(&plain));
    let mut write_probe = vec![python.as_str()];
    write_probe.extend(probe_argv(script, "write", into_input));
    let plain = py(&write_probe);
    assert_eq!(stdout(&plain), "ok\n", "{}", describe(&plain));
    fs::remove_file(into_input).unwrap();

    // The recorded port is a rule; another is not.
    let rules: serde_json::Value = serde_json::from_str(&text).unwrap();
    let port_number: u64 = port.parse().unwrap();
    assert_eq!(
        rules["netPort"],
        serde_json::json!([{"allowedAccess": ["bind_tcp", "connect_tcp"], "port": [port_number]}]),
        "{text}"
    );
    let other_port = free_port().to_string();
    let mut bind_probe = vec![python.as_str()];
    bind_probe.extend(probe_argv(script, "bind", &other_port));
    let plain = py(&bind_probe);
    assert_eq!(stdout(&plain), "ok\n", "{}", describe(&plain));
    let mut connect_probe = vec![python.as_str()];
    connect_probe.extend(probe_argv(script, "connect", &other_port));
    // Nothing listens there: unconfined, the kernel answers ECONNREFUSED; confined, Landlock
    // refuses before that.
    let plain = py(&connect_probe);
    assert_eq!(stdout(&plain), "ECONNREFUSED\n", "{}", describe(&plain));

    // A file outside the recorded set, a write into a directory that was only read, a port
    // not recorded.
    for (what, argv) in [
        ("read secret", &py_probe),
        ("write into input/", &write_probe),
        ("bind another port", &bind_probe),
        ("connect to another port", &connect_probe),
    ] {
        let confined = run_under(&config, argv);
        assert_eq!(
            confined.status.code(),
            Some(3),
            "{what}: {}",
            describe(&confined)
        );
        assert_eq!(stdout(&confined), "EACCES\n", "{what}");
        let raw = run_under_raw_syscalls(&config, argv);
        assert_eq!(stdout(&raw), "EACCES\n", "{what} (independent loader)");
    }
    assert!(!Path::new(into_input).exists());

    // A rule the run needs, removed: the run fails.
    let mut narrowed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let config_file = work.join("input/config");
    let config_file = config_file.to_str().unwrap();
    let mut removed = false;
    for rule in narrowed["pathBeneath"].as_array_mut().unwrap() {
        let parents = rule["parent"].as_array_mut().unwrap();
        let before = parents.len();
        parents.retain(|p| p != config_file);
        removed |= parents.len() != before;
    }
    assert!(removed, "no rule names {config_file}:\n{text}");
    narrowed["pathBeneath"]
        .as_array_mut()
        .unwrap()
        .retain(|rule| !rule["parent"].as_array().unwrap().is_empty());
    let narrowed_file = scratch.path().join("narrowed.json");
    fs::write(&narrowed_file, narrowed.to_string()).unwrap();
    let confined = run_under(&narrowed_file, &run_argv);
    assert!(!confined.status.success(), "{}", describe(&confined));
    assert!(
        String::from_utf8_lossy(&confined.stderr).contains("Permission denied"),
        "{}",
        describe(&confined)
    );

    // --complain runs unhindered and lists what the configuration would refuse, with the
    // program; check does the same from a profiles directory.
    let mut cmd = leastpriv();
    cmd.args(["run", "--landlock"])
        .arg(&config)
        .args(["--complain", "--as-root", "--"])
        .args(&py_probe);
    let complained = run(cmd);
    assert_eq!(
        complained.status.code(),
        Some(1),
        "{}",
        describe(&complained)
    );
    let listed = stdout(&complained);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{secret}\tread_file")) && l.contains(&python)),
        "{}",
        describe(&complained)
    );
    let profiles = scratch.path().join("profiles");
    fs::create_dir_all(&profiles).unwrap();
    fs::copy(&config, profiles.join("landlock.json")).unwrap();
    let mut cmd = leastpriv();
    cmd.args(["check", "--profiles"])
        .arg(&profiles)
        .args(["--as-root", "--"])
        .args(&py_probe);
    let checked = run(cmd);
    assert_eq!(checked.status.code(), Some(1), "{}", describe(&checked));
    assert!(
        stdout(&checked).contains(&format!("landlock read_file on {secret}")),
        "{}",
        describe(&checked)
    );
}

#[test]
fn diff_compares_landlock_configurations() {
    let dir = tempdir();
    let old = dir.path().join("old.json");
    fs::write(
        &old,
        r#"{"abi": 7, "ruleset": [{"handledAccessFs": ["read_file", "write_file"], "handledAccessNet": ["bind_tcp", "connect_tcp"]}],
            "pathBeneath": [{"allowedAccess": ["read_file"], "parent": ["/etc"]}]}"#,
    )
    .unwrap();
    let new = dir.path().join("new.toml");
    fs::write(
        &new,
        "abi = 7\n[[ruleset]]\nhandled_access_fs = [\"read_file\", \"write_file\"]\n\
         handled_access_net = [\"bind_tcp\"]\n\
         [[path_beneath]]\nallowed_access = [\"read_file\", \"write_file\"]\nparent = [\"/etc\"]\n\
         [[net_port]]\nallowed_access = [\"bind_tcp\"]\nport = [8080]\n",
    )
    .unwrap();
    let diff = |old: &Path, new: &Path| {
        let mut cmd = leastpriv();
        cmd.arg("diff")
            .arg(old)
            .arg(new)
            .args(["--fail-on", "widen"]);
        run(cmd)
    };
    let output = diff(&old, &new);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stdout(&output);
    for added in [
        "file /etc write_file",
        "tcp bind port 8080",
        "rule unrestricted connect_tcp",
    ] {
        assert!(text.contains(added), "{added} missing:\n{text}");
    }
    // The same configuration in the other form: nothing changes.
    let same = dir.path().join("same.toml");
    fs::write(
        &same,
        "abi = 7\n[[ruleset]]\nhandled_access_fs = [\"read_file\", \"write_file\"]\n\
         handled_access_net = [\"bind_tcp\", \"connect_tcp\"]\n\
         [[path_beneath]]\nallowed_access = [\"read_file\"]\nparent = [\"/etc\"]\n",
    )
    .unwrap();
    let output = diff(&old, &same);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
}

/// A recording from before ports were recorded still reads: its ports are unknown, and a
/// configuration from it leaves TCP alone, saying so.
#[test]
fn older_recordings_have_unknown_ports() {
    let fixture =
        leastpriv_tests::workspace_dir().join("tests/fixtures/bind_and_chown.recording.json");
    let mut cmd = leastpriv();
    cmd.arg("show").arg(&fixture);
    let show = run(cmd);
    assert!(show.status.success(), "{}", describe(&show));
    assert!(
        stdout(&show).contains("ports: not recorded"),
        "{}",
        describe(&show)
    );
    let dir = tempdir();
    let out = dir.path().join("c.json");
    let mut cmd = leastpriv();
    cmd.args(["generate", "landlock"])
        .arg(&fixture)
        .arg("-o")
        .arg(&out);
    let generated = run(cmd);
    assert!(generated.status.success(), "{}", describe(&generated));
    assert!(
        String::from_utf8_lossy(&generated.stderr).contains("holds no TCP ports"),
        "{}",
        describe(&generated)
    );
    let config: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        config["ruleset"][0].get("handledAccessNet").is_none(),
        "{config}"
    );
}

#[test]
fn the_schema_check_can_fail() {
    let dir = tempdir();
    let bad = dir.path().join("bad.json");
    fs::write(
        &bad,
        r#"{"abi": 7, "ruleset": [{"handledAccessFs": ["read_files"]}]}"#,
    )
    .unwrap();
    assert!(validate(&bad).is_err());
    let good = dir.path().join("good.json");
    fs::write(
        &good,
        r#"{"abi": 7, "ruleset": [{"handledAccessFs": ["read_file"]}], "pathBeneath": [{"allowedAccess": ["read_file"], "parent": ["/etc"]}]}"#,
    )
    .unwrap();
    validate(&good).unwrap();
}

#[test]
fn bad_configurations_exit_2_and_run_nothing() {
    let dir = tempdir();
    let marker = dir.path().join("ran");
    let cases: [(&str, Option<&str>, &str); 6] = [
        (
            "unknown-name.json",
            Some(
                r#"{"abi": 7, "ruleset": [{"handledAccessFs": ["read_file"]}], "pathBeneath": [{"allowedAccess": ["read_files"], "parent": ["/"]}]}"#,
            ),
            "unknown access right \"read_files\"",
        ),
        (
            "wrong-type.json",
            Some(r#"{"abi": 7, "ruleset": [{"handledAccessFs": "read_file"}]}"#),
            "not a LandlockConfig",
        ),
        (
            "wrong-type.toml",
            Some("abi = \"seven\"\n[[ruleset]]\nhandled_access_fs = [\"read_file\"]\n"),
            "not a LandlockConfig",
        ),
        (
            "newer-abi.json",
            Some(r#"{"abi": 8, "ruleset": [{"handledAccessFs": ["read_file"]}]}"#),
            "abi 8 is not one this leastpriv knows",
        ),
        (
            "abi-lacks.json",
            Some(r#"{"abi": 2, "ruleset": [{"handledAccessFs": ["truncate"]}]}"#),
            "abi 2 has no truncate",
        ),
        ("missing.json", None, "cannot read Landlock configuration"),
    ];
    for (name, text, message) in cases {
        let file = dir.path().join(name);
        if let Some(text) = text {
            fs::write(&file, text).unwrap();
        }
        let mut cmd = leastpriv();
        cmd.arg("run")
            .arg("--landlock")
            .arg(&file)
            .args(["--", "touch"])
            .arg(&marker);
        let output = run(cmd);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name}: {}",
            describe(&output)
        );
        assert!(stderr.contains(message), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name} not named: {stderr}");
        assert!(!marker.exists(), "{name}: the command ran");
    }
}
