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

use std::{fs, path::Path, process::Output};

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
    assert_app_ran("podman (no-new-privileges)", &podman_run(&rootfs, &no_new_privs, &argv));

    let without_runtime = podman_run(&rootfs, &seccomp(&profiles.path("none.json")), &argv);
    assert_app_failed("podman", "under a profile without runc's calls", &without_runtime);
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
    assert!(removed.status.success(), "docker rmi:\n{}", describe(&removed));

    assert_app_ran("docker", &defaults);
    assert_app_ran("docker (no-new-privileges)", &with_no_new_privs);
    assert_app_failed("docker", "under a profile without runc's calls", &without_runtime);
    assert_app_failed("docker", "without listen", &missing_listen);
    assert!(Path::new(&without_listen).exists());
}
