//! Running a command in a runc (or crun) container under a seccomp profile, to check that a
//! profile generated with `--runtime runc` (`crun`) lets the workload run where it is meant to
//! be used.
//!
//! crun refuses a hybrid cgroup hierarchy ("cgroups in hybrid mode not supported"), which
//! this machine has; it runs in a mount namespace of its own where the cgroup2 hierarchy is
//! bound over /sys/fs/cgroup, without the spec's resource limits (which would need cgroup v1
//! controllers), as a system with only cgroup v2 would run it.
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
    run_in(Runtime::Runc, argv, seccomp, extra, None)
}

/// The OCI runtime to run a container with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Runc,
    Crun,
}

impl Runtime {
    fn program(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }

    /// The command that runs this runtime with `args` (see the module's doc for crun).
    fn command(self, args: &[&str]) -> Command {
        let hybrid = Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists();
        if self == Runtime::Crun && hybrid {
            let mut cmd = Command::new("unshare");
            cmd.args(["-m", "sh", "-c"])
                .arg("mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && exec \"$@\"")
                .arg("sh")
                .arg(self.program())
                .args(args);
            cmd
        } else {
            let mut cmd = Command::new(self.program());
            cmd.args(args);
            cmd
        }
    }
}

/// [`run_with_capabilities`] in `runtime`, with the spec's `process.noNewPrivileges` set to
/// `no_new_privileges` when given (`runc spec` writes true; Docker, Podman and Kubernetes
/// default to false).
pub fn run_in(
    runtime: Runtime,
    argv: &[&str],
    seccomp: &Value,
    extra: &[&str],
    no_new_privileges: Option<bool>,
) -> Output {
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
    if let Some(no_new_privileges) = no_new_privileges {
        config["process"]["noNewPrivileges"] = json!(no_new_privileges);
    }
    if runtime == Runtime::Crun {
        if let Some(linux) = config["linux"].as_object_mut() {
            linux.remove("resources");
        }
    }
    fs::write(&config_path, config.to_string())
        .unwrap_or_else(|e| panic!("write {}: {e}", config_path.display()));

    let container = Container::new(runtime);
    let bundle = bundle.to_str().expect("a UTF-8 temporary directory");
    let mut cmd = runtime.command(&["run", "--bundle", bundle, &container.id]);
    // The runtime would try to use a terminal on stdin as the container's console.
    cmd.stdin(Stdio::null());
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
    runtime: Runtime,
}

impl Container {
    fn new(runtime: Runtime) -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        Self {
            id: format!("leastpriv-test-{}-{n}", std::process::id()),
            runtime,
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let program = self.runtime.program();
        let delete = self
            .runtime
            .command(&["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .output();
        // `run` normally deletes its container itself; runc's --force succeeds when it did,
        // crun's says the container does not exist.
        match delete {
            Ok(output) if output.status.success() => {}
            Ok(output) if String::from_utf8_lossy(&output.stderr).contains("does not exist") => {}
            Ok(output) => eprintln!(
                "{program} delete --force {} failed: {}",
                self.id,
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => eprintln!("run {program} delete --force {}: {e}", self.id),
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
