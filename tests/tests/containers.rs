//! Containers: a profile generated with `--runtime runc` must start the workload's container
//! under Podman and Docker with their default settings (no_new_privs off: runc then loads the
//! filter before it drops capabilities and changes user, so more of its own calls pass
//! through it), and with `--security-opt no-new-privileges`. Negative controls: the same
//! profile without a syscall the workload needs (listen) stops it (and `run --complain` names that
//! syscall), and a profile without the runtime's calls does not start the container at all.
//! The profile allows none of the runtime's set-up calls that the workload never makes.
//!
//! The workload is recorded outside a container, as a user does who profiles a test run and
//! deploys the profile on the container.

use std::{
    fs,
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;

use leastpriv_tests::{
    describe,
    engines::{podman_run, require_tool, Dockerd, Rootfs},
    leastpriv, record, require_bpf, tempdir,
    workloads::workload_source,
};

/// Calls runc makes to set a container up (before loading the filter) that a profile must
/// not allow when the workload itself never made them.
const RUNTIME_SET_UP: &[&str] = &[
    "pivot_root",
    "mount",
    "umount2",
    "setns",
    "unshare",
    "sethostname",
    "mknodat",
    "keyctl",
];

const PYTHON: &str = "/usr/bin/python3";

/// The app's recording and profiles, in a directory of their own.
struct Profiles {
    dir: tempfile::TempDir,
    app: String,
}

impl Profiles {
    fn new() -> Profiles {
        let dir = tempdir();
        // The script in a directory of its own: the engines bind-mount it read-only.
        let app_dir = dir.path().join("app");
        fs::create_dir(&app_dir).unwrap();
        let app = app_dir.join("container_app.py");
        fs::copy(workload_source("container_app.py"), &app).unwrap();
        let app = app.to_str().unwrap().to_owned();
        let rec = record(&["--as-root", "--", PYTHON, &app]);
        rec.assert_success().assert_complete();
        assert!(rec.stdout.contains("app ok"), "the app failed:\n{rec}");
        let recording = dir.path().join("recording.json");
        fs::write(&recording, rec.json.to_string()).unwrap();
        let profiles = Profiles { dir, app };
        profiles.generate("runc.json", &["--runtime", "runc"]);
        profiles.generate("none.json", &["--runtime", "none"]);
        profiles
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn generate(&self, name: &str, args: &[&str]) {
        let output = leastpriv()
            .args(["generate", "seccomp"])
            .arg(self.dir.path().join("recording.json"))
            .args(args)
            .arg("-o")
            .arg(self.path(name))
            .output()
            .unwrap();
        assert!(output.status.success(), "generate:\n{}", describe(&output));
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_str(&fs::read_to_string(self.path(name)).unwrap()).unwrap()
    }

    /// A copy of profile `from` without `syscall` in its allow rule.
    fn without(&self, from: &str, syscall: &str) -> String {
        let mut profile = self.json(from);
        let names = profile["syscalls"][0]["names"].as_array_mut().unwrap();
        let before = names.len();
        names.retain(|n| n != syscall);
        assert_eq!(names.len() + 1, before, "{from} does not allow {syscall}");
        let name = format!("{from}-without-{syscall}.json");
        fs::write(self.path(&name), profile.to_string()).unwrap();
        self.path(&name)
    }

    fn argv(&self) -> [&str; 2] {
        [PYTHON, &self.app]
    }

    /// What the profile must hold before any container runs under it.
    fn check_runc_profile(&self) {
        let profile = self.json("runc.json");
        let allowed: Vec<&str> = profile["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for call in RUNTIME_SET_UP {
            assert!(
                !allowed.contains(call),
                "the profile allows the runtime's {call}, which the app never made"
            );
        }
        // The calls runc makes after loading the filter with no_new_privs off.
        for call in ["capset", "setgroups", "setgid", "setuid", "prctl"] {
            assert!(allowed.contains(&call), "the profile lacks runc's {call}");
        }
    }
}

fn seccomp(profile: &str) -> Vec<String> {
    vec![format!("seccomp={profile}")]
}

fn assert_app_ran(engine: &str, output: &Output) {
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("app ok"),
        "{engine}: the app did not run under its profile:\n{}",
        describe(output)
    );
}

fn assert_app_failed(engine: &str, what: &str, output: &Output) {
    assert!(
        !output.status.success() && !String::from_utf8_lossy(&output.stdout).contains("app ok"),
        "{engine}: the app ran {what}:\n{}",
        describe(output)
    );
}

/// `leastpriv run --complain` of the app under `profile` names exactly `syscall` as missing
/// (denied with EPERM; the calls the profile answers ENOSYS on purpose, such as clone3, are
/// listed too, with that verdict).
fn assert_complain_names(profiles: &Profiles, profile: &str, syscall: &str) {
    let output = leastpriv()
        .args(["run", "--as-root", "--complain", "--seccomp", profile, "--"])
        .args(profiles.argv())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let named: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.contains("SCMP_ACT_ERRNO(ENOSYS)"))
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(named, [syscall], "{}", describe(&output));
}

#[test]
fn bpf_runc_profile_runs_the_app_under_podman_defaults() {
    let test = "bpf_runc_profile_runs_the_app_under_podman_defaults";
    if !require_bpf(test) || !require_tool(test, "podman") {
        return;
    }
    let profiles = Profiles::new();
    profiles.check_runc_profile();
    let rootfs = Rootfs::new();
    let argv = profiles.argv();

    let defaults = podman_run(&rootfs, &seccomp(&profiles.path("runc.json")), &argv);
    assert_app_ran("podman", &defaults);
    let mut no_new_privs = seccomp(&profiles.path("runc.json"));
    no_new_privs.push("no-new-privileges".into());
    assert_app_ran(
        "podman (no-new-privileges)",
        &podman_run(&rootfs, &no_new_privs, &argv),
    );

    let without_runtime = podman_run(&rootfs, &seccomp(&profiles.path("none.json")), &argv);
    assert_app_failed(
        "podman",
        "under a profile without runc's calls",
        &without_runtime,
    );
    let without_listen = profiles.without("runc.json", "listen");
    assert_app_failed(
        "podman",
        "without listen",
        &podman_run(&rootfs, &seccomp(&without_listen), &argv),
    );
    assert_complain_names(&profiles, &without_listen, "listen");
}

#[test]
fn bpf_runc_profile_runs_the_app_under_docker_defaults() {
    let test = "bpf_runc_profile_runs_the_app_under_docker_defaults";
    if !require_bpf(test) || !require_tool(test, "dockerd") {
        return;
    }
    let profiles = Profiles::new();
    profiles.check_runc_profile();
    let daemon = Dockerd::start();
    let rootfs = Rootfs::new();
    let image = format!("leastpriv-test-{}:latest", std::process::id());
    daemon.import(&rootfs, &image);
    let argv = profiles.argv();

    let defaults = daemon.run(&image, &seccomp(&profiles.path("runc.json")), &argv);
    let mut no_new_privs = seccomp(&profiles.path("runc.json"));
    no_new_privs.push("no-new-privileges".into());
    let with_no_new_privs = daemon.run(&image, &no_new_privs, &argv);
    let without_runtime = daemon.run(&image, &seccomp(&profiles.path("none.json")), &argv);
    let without_listen = profiles.without("runc.json", "listen");
    let missing_listen = daemon.run(&image, &seccomp(&without_listen), &argv);
    let removed = daemon.docker().args(["rmi", &image]).output().unwrap();
    assert!(
        removed.status.success(),
        "docker rmi:\n{}",
        describe(&removed)
    );

    assert_app_ran("docker", &defaults);
    assert_app_ran("docker (no-new-privileges)", &with_no_new_privs);
    assert_app_failed(
        "docker",
        "under a profile without runc's calls",
        &without_runtime,
    );
    assert_app_failed("docker", "without listen", &missing_listen);
    assert!(Path::new(&without_listen).exists());
}

/// `leastpriv record --as-root -- sh -c SCRIPT` (podman command lines): the recording, and
/// where it was written.
fn record_podman(profiles: &Profiles, script: &str) -> (leastpriv_tests::Recorded, String) {
    let out = profiles.path("podman.recording.json");
    let rec = record(&["--as-root", "--", "sh", "-c", script]);
    fs::write(&out, rec.json.to_string()).unwrap();
    (rec, out)
}

/// The podman command line of the tests, as shell words.
fn podman_words(rootfs: &Rootfs, name: &str, argv: &[&str]) -> String {
    let mut words = vec![
        "podman".to_owned(),
        "--runtime".into(),
        "runc".into(),
        "run".into(),
        "--rm".into(),
        "--name".into(),
        name.into(),
        "--network=none".into(),
        "--ulimit".into(),
        "nofile=1024:1024".into(),
        "--ulimit".into(),
        "nproc=1024:1024".into(),
        "-v".into(),
        "/usr:/usr:ro".into(),
    ];
    for arg in argv
        .iter()
        .filter(|a| a.starts_with('/') && !a.starts_with("/usr/"))
    {
        let dir = Path::new(arg).parent().unwrap().display().to_string();
        words.extend(["-v".into(), format!("{dir}:{dir}:ro")]);
    }
    words.extend(["--rootfs".into(), rootfs.path().display().to_string()]);
    words.extend(argv.iter().map(|a| (*a).to_owned()));
    // Each word quoted for the shell that runs it.
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn container_names(container: &Value, abi: &str) -> Vec<String> {
    container["recording"]["syscalls"][abi]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect()
}

/// The app's container part holds the app's own calls and none of the runtime's set-up.
fn assert_the_apps_part(container: &Value) {
    let inside = container_names(container, "x86_64");
    for call in ["listen", "accept4", "bind"] {
        assert!(
            inside.iter().any(|n| n == call),
            "the container's {call} is missing: {inside:?}"
        );
    }
    for call in RUNTIME_SET_UP {
        assert!(
            !inside.iter().any(|n| n == call),
            "the runtime's {call} is in the container's part"
        );
    }
}

/// `record -- podman run` records the container apart from the engine: from its entrypoint
/// on, none of the runtime's set-up; the command's own part has podman, conmon and runc. The
/// profile generated from it runs the container under Podman's defaults, and without a
/// syscall the app needs it does not.
#[test]
fn bpf_record_podman_run_records_the_container_apart() {
    let test = "bpf_record_podman_run_records_the_container_apart";
    if !require_bpf(test) || !require_tool(test, "podman") {
        return;
    }
    let profiles = Profiles::new();
    let rootfs = Rootfs::new();
    let name = format!("leastpriv-app-{}", std::process::id());
    let (rec, recording) =
        record_podman(&profiles, &podman_words(&rootfs, &name, &profiles.argv()));
    rec.assert_success().assert_complete();
    assert!(rec.stdout.contains("app ok"), "{rec}");
    let containers = rec.json["containers"]
        .as_array()
        .expect("a containers list");
    assert_eq!(containers.len(), 1, "{rec}");
    let container = &containers[0];
    assert_eq!(container["engine"], "podman");
    assert_eq!(container["name"], name.as_str());
    let id = container["id"].as_str().unwrap();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_the_apps_part(container);
    let engine_programs: Vec<String> = leastpriv_tests::executables(&rec.json);
    for program in ["podman", "conmon", "runc"] {
        assert!(
            engine_programs
                .iter()
                .any(|p| p.ends_with(&format!("/{program}"))),
            "{program} is not in the command's part: {engine_programs:?}"
        );
    }
    let container_programs: Vec<String> = leastpriv_tests::executables(&container["recording"]);
    assert!(
        container_programs
            .iter()
            .all(|p| !p.ends_with("/podman") && !p.ends_with("/runc")),
        "the engine is in the container's part: {container_programs:?}"
    );

    // The container's profile, as the user generates it (the only container is taken).
    let profile = profiles.path("from-podman.json");
    let output = leastpriv()
        .args([
            "generate",
            "seccomp",
            "--runtime",
            "runc",
            &recording,
            "-o",
            &profile,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let argv = profiles.argv();
    assert_app_ran("podman", &podman_run(&rootfs, &seccomp(&profile), &argv));
    fs::copy(&profile, profiles.path("from-podman-copy.json")).unwrap();
    let without_listen = profiles.without("from-podman-copy.json", "listen");
    assert_app_failed(
        "podman",
        "without listen",
        &podman_run(&rootfs, &seccomp(&without_listen), &argv),
    );

    // Bad input: a container the recording does not hold.
    let output = leastpriv()
        .args([
            "generate",
            "seccomp",
            &recording,
            "--container",
            "no-such-container",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no container no-such-container") && stderr.contains(&name),
        "{stderr}"
    );
}

/// Two containers started by one command are recorded apart: each has its own syscalls.
#[test]
fn bpf_two_containers_of_one_command_do_not_mix() {
    let test = "bpf_two_containers_of_one_command_do_not_mix";
    if !require_bpf(test) || !require_tool(test, "podman") {
        return;
    }
    let profiles = Profiles::new();
    let rootfs = Rootfs::new();
    let app = format!("leastpriv-app-{}", std::process::id());
    let quiet = format!("leastpriv-quiet-{}", std::process::id());
    // The quiet one runs from an image (imported from the same root), so that the recording
    // shows where its image name is read from; the app's root is a directory, with no image.
    let image = format!("localhost/{quiet}:latest");
    let imported = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -c . | podman import -q - '{image}'",
            rootfs.path().display()
        ))
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", describe(&imported));
    let quiet_words = podman_words(&rootfs, &quiet, &["/usr/bin/sleep", "1"]).replace(
        &format!("'--rootfs' '{}'", rootfs.path().display()),
        &format!("'{image}'"),
    );
    assert!(quiet_words.contains(&image), "{quiet_words}");
    let script = format!(
        "{} & {}; wait",
        podman_words(&rootfs, &app, &profiles.argv()),
        quiet_words
    );
    let (rec, recording) = record_podman(&profiles, &script);
    let removed = Command::new("podman")
        .args(["rmi", &image])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", describe(&removed));
    rec.assert_success().assert_complete();
    let containers = rec.json["containers"]
        .as_array()
        .expect("a containers list");
    assert_eq!(containers.len(), 2, "{rec}");
    let by_name = |wanted: &str| {
        containers
            .iter()
            .find(|c| c["name"] == wanted)
            .unwrap_or_else(|| panic!("no container {wanted}:\n{rec}"))
    };
    assert_eq!(by_name(&quiet)["image"], image.as_str(), "{rec}");
    assert!(by_name(&app)["image"].is_null(), "{rec}");
    let app_calls = container_names(by_name(&app), "x86_64");
    let quiet_calls = container_names(by_name(&quiet), "x86_64");
    assert!(app_calls.iter().any(|n| n == "listen"), "{app_calls:?}");
    for call in ["socket", "listen", "bind", "accept4"] {
        assert!(
            !quiet_calls.iter().any(|n| n == call),
            "sleep's container has the app's {call}: {quiet_calls:?}"
        );
    }
    assert!(
        quiet_calls.iter().any(|n| n == "clock_nanosleep"),
        "{quiet_calls:?}"
    );
    // With two, generate asks which.
    let output = leastpriv()
        .args(["generate", "seccomp", &recording])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--container"));
    let output = leastpriv()
        .args(["generate", "seccomp", &recording, "--container", &quiet])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
}

/// `record --container` records a running container until it exits, and says it started
/// late; an unknown container is bad input (exit 2), an engine that cannot answer a failure
/// (125), and neither leaves anything behind.
#[test]
fn bpf_record_a_running_container() {
    let test = "bpf_record_a_running_container";
    if !require_bpf(test) || !require_tool(test, "podman") {
        return;
    }
    let rootfs = Rootfs::new();
    let name = format!("leastpriv-running-{}", std::process::id());
    // Runs for a few seconds, then makes a call nothing else in it makes, then exits.
    let words = podman_words(
        &rootfs,
        &name,
        &["/usr/bin/sh", "-c", "sleep 3; /usr/bin/uname -a; sleep 1"],
    );
    let mut container = Command::new("sh");
    container
        .args(["-c", &words])
        .stdin(std::process::Stdio::null());
    let running = leastpriv_tests::Running::spawn(container);
    leastpriv_tests::wait_until(
        std::time::Duration::from_secs(60),
        "the container to run",
        || {
            let out = Command::new("podman")
                .args([
                    "container",
                    "inspect",
                    "--format",
                    "{{.State.Running}}",
                    &name,
                ])
                .output()
                .ok()?;
            (String::from_utf8_lossy(&out.stdout).trim() == "true").then_some(())
        },
    );
    let rec = record(&["--container", &name]);
    rec.assert_success();
    let (output, _) = running.wait(leastpriv_tests::RUN_TIMEOUT);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(rec.json["started_late"], true, "{rec}");
    leastpriv_tests::assert_executed(&rec.json, "uname");
    assert!(
        rec.stderr.contains("from now on"),
        "record does not say it starts late:\n{rec}"
    );

    let unknown = leastpriv()
        .args(["record", "--container", "leastpriv-no-such-container"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no running container"));
    let exited = leastpriv()
        .args(["record", "--container", &name, "--engine", "podman"])
        .output()
        .unwrap();
    assert_eq!(exited.status.code(), Some(2), "{}", describe(&exited));
    // Docker with no daemon on this socket: the engine cannot answer.
    let no_daemon = leastpriv()
        .args(["record", "--container", &name, "--engine", "docker"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(
        no_daemon.status.code(),
        Some(125),
        "{}",
        describe(&no_daemon)
    );
    assert!(
        String::from_utf8_lossy(&no_daemon.stderr).contains("docker could not be asked"),
        "{}",
        describe(&no_daemon)
    );
}

/// `record -- docker run` records the container apart too, though Docker's daemon starts it
/// outside the recording (leastpriv proxies the daemon's socket and expects the containers
/// the command starts); its profile runs the container under Docker's defaults.
#[test]
fn bpf_record_docker_run_records_the_container_apart() {
    let test = "bpf_record_docker_run_records_the_container_apart";
    if !require_bpf(test) || !require_tool(test, "dockerd") {
        return;
    }
    let profiles = Profiles::new();
    let daemon = Dockerd::start();
    let rootfs = Rootfs::new();
    let image = format!("leastpriv-test-{}:latest", std::process::id());
    daemon.import(&rootfs, &image);
    let name = format!("leastpriv-docker-app-{}", std::process::id());
    let argv = profiles.argv();
    let app_dir = Path::new(argv[1]).parent().unwrap().display().to_string();
    let rec = leastpriv_tests::record_with_env(
        &[
            "--as-root",
            "--",
            "/usr/bin/docker",
            "run",
            "--rm",
            "--name",
            &name,
            "--network=none",
            "-v",
            "/usr:/usr:ro",
            "-v",
            &format!("{app_dir}:{app_dir}:ro"),
            &image,
            argv[0],
            argv[1],
        ],
        &[("DOCKER_HOST", &daemon.host())],
    );
    let profile = profiles.path("from-docker.json");
    let recording = profiles.path("docker.recording.json");
    fs::write(&recording, rec.json.to_string()).unwrap();
    let generated = leastpriv()
        .args([
            "generate",
            "seccomp",
            "--runtime",
            "runc",
            &recording,
            "-o",
            &profile,
        ])
        .output()
        .unwrap();
    let under_profile = daemon.run(&image, &seccomp(&profile), &argv);
    let removed = daemon.docker().args(["rmi", &image]).output().unwrap();
    assert!(
        removed.status.success(),
        "docker rmi:\n{}",
        describe(&removed)
    );

    rec.assert_success().assert_complete();
    assert!(rec.stdout.contains("app ok"), "{rec}");
    let containers = rec.json["containers"]
        .as_array()
        .expect("a containers list");
    assert_eq!(containers.len(), 1, "{rec}");
    let container = &containers[0];
    assert_eq!(container["engine"], "docker");
    assert_eq!(container["name"], name.as_str());
    assert_eq!(container["image"], image.as_str());
    assert_the_apps_part(container);
    assert_eq!(leastpriv_tests::executables(&rec.json), ["/usr/bin/docker"]);
    assert!(generated.status.success(), "{}", describe(&generated));
    assert_app_ran("docker", &under_profile);
    // The proxy socket is gone with the recording.
    let left: Vec<_> = fs::read_dir("/run/leastpriv")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|p| !p.starts_with(format!("/run/leastpriv/docker-"))),
        "left behind: {left:?}"
    );
}
