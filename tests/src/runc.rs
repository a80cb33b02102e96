//! Running a command in a runc container under a seccomp profile, to check that a profile
//! generated with `--runtime runc` lets the workload run where it is meant to be used.
//!
//! The container's rootfs is an empty read-only directory with the host's /usr and /etc
//! bind-mounted read-only (the merged-/usr symlinks bin, lib, lib64 and sbin point into it),
//! a tmpfs on /tmp, and, for each absolute argument outside /usr and /etc, its directory
//! bind-mounted read-only at the same path, so compiled workloads and scripts are found.
//! The rest of the configuration is what `runc spec` writes (root user, default capabilities,
//! namespaces, PATH).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};

use crate::{describe, tempdir, Running, RUN_TIMEOUT};

/// Runs `argv` in a fresh runc container whose `linux.seccomp` is `seccomp` and returns its
/// exit status and output (runc reports a process killed by a signal as 128 + signal).
/// Panics if the container cannot be set up or runs longer than [`RUN_TIMEOUT`]; the
/// container is deleted in every case.
pub fn run(argv: &[&str], seccomp: &Value) -> Output {
    run_with_capabilities(argv, seccomp, &[])
}

/// [`run`], with `extra` capabilities (`CAP_NET_RAW`, ...) added to the container's default
/// ones (runc's default set is small: a call can fail for want of a capability before the
/// seccomp profile is asked).
pub fn run_with_capabilities(argv: &[&str], seccomp: &Value, extra: &[&str]) -> Output {
    let dir = tempdir();
    let bundle = dir.path();
    make_rootfs(&bundle.join("rootfs"), argv);

    let spec = Command::new("runc")
        .arg("spec")
        .arg("--bundle")
        .arg(bundle)
        .output()
        .unwrap_or_else(|e| panic!("run `runc spec` (is runc installed?): {e}"));
    assert!(
        spec.status.success(),
        "runc spec failed:\n{}",
        describe(&spec)
    );
    let config_path = bundle.join("config.json");
    let text = fs::read_to_string(&config_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", config_path.display()));
    let mut config: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parse {}: {e}", config_path.display()));
    configure(&mut config, argv, seccomp);
    for set in ["bounding", "effective", "permitted"] {
        if let Some(list) = config["process"]["capabilities"][set].as_array_mut() {
            list.extend(extra.iter().map(|c| Value::from(*c)));
        }
    }
    fs::write(&config_path, config.to_string())
        .unwrap_or_else(|e| panic!("write {}: {e}", config_path.display()));

    let container = Container::new();
    let mut cmd = Command::new("runc");
    cmd.arg("run")
        .arg("--bundle")
        .arg(bundle)
        .arg(&container.id)
        // runc would try to use a terminal on stdin as the container's console.
        .stdin(Stdio::null());
    Running::spawn(cmd).wait(RUN_TIMEOUT).0
}

/// The directories an empty rootfs needs as mount points, and the merged-/usr symlinks.
fn make_rootfs(rootfs: &Path, argv: &[&str]) {
    for dir in ["usr", "etc", "proc", "dev", "tmp", "sys"] {
        create_dir_all(&rootfs.join(dir));
    }
    for dir in host_dirs(argv) {
        create_dir_all(&rootfs.join(dir.trim_start_matches('/')));
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        let path = rootfs.join(link);
        symlink(target, &path).unwrap_or_else(|e| panic!("symlink {}: {e}", path.display()));
    }
}

/// Edits the configuration `runc spec` wrote: what to run, the rootfs and mounts, the profile.
fn configure(config: &mut Value, argv: &[&str], seccomp: &Value) {
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(argv);
    assert!(
        config["process"]["env"].as_array().is_some_and(|env| env
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.starts_with("PATH=")))),
        "runc spec wrote no PATH in process.env: {config:#}"
    );
    config["root"] = json!({"path": "rootfs", "readonly": true});

    let read_only_bind = |dir: &str| json!({"destination": dir, "type": "bind", "source": dir, "options": ["rbind", "ro"]});
    let mounts = config["mounts"]
        .as_array_mut()
        .expect("runc spec writes a mounts array");
    mounts.push(read_only_bind("/usr"));
    mounts.push(read_only_bind("/etc"));
    // Before the workload directories, in case one of them is under /tmp.
    mounts.push(json!({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777"]
    }));
    for dir in host_dirs(argv) {
        mounts.push(read_only_bind(&dir));
    }
    config["linux"]["seccomp"] = seccomp.clone();
}

/// The directories of the absolute arguments that /usr and /etc do not already provide.
fn host_dirs(argv: &[&str]) -> Vec<String> {
    let mut dirs: Vec<String> = argv
        .iter()
        .filter(|arg| arg.starts_with('/'))
        .filter(|arg| !arg.starts_with("/usr/") && !arg.starts_with("/etc/"))
        .filter_map(|arg| Path::new(arg).parent()?.to_str().map(str::to_owned))
        .filter(|dir| dir != "/")
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn create_dir_all(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
}

/// A container ID unique to this test process, deleted (with anything still running in it)
/// when dropped, so that a failed or timed-out test leaves nothing behind.
struct Container {
    id: String,
}

impl Container {
    fn new() -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        Self {
            id: format!("leastpriv-test-{}-{n}", std::process::id()),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let delete = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .output();
        // `runc run` normally deletes its container itself; --force succeeds when it did.
        match delete {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "runc delete --force {} failed: {}",
                self.id,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => eprintln!("run runc delete --force {}: {e}", self.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_dirs_are_the_directories_of_absolute_arguments_outside_usr_and_etc() {
        let argv = [
            "/usr/bin/python3",
            "/work/tests/workloads/a.py",
            "/work/tests/workloads/b.py",
            "-l",
            "/etc/passwd",
            "/x",
        ];
        assert_eq!(host_dirs(&argv), ["/work/tests/workloads"]);
    }
}
