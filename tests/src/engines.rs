//! Container engines for the tests, as users run them: Podman 4 (with runc: its default crun
//! refuses hybrid cgroup hierarchies) and Docker Engine, from Debian's packages, each with its
//! default settings (no_new_privs off). No registry is reachable, so the root filesystem is a
//! directory: Podman runs it with `--rootfs`, Docker imports it as an image. Its `/usr` is the
//! host's, bind-mounted read-only (the merged-/usr symlinks bin, lib, lib64 and sbin point
//! into it), and each absolute argument's directory outside /usr is bind-mounted read-only at
//! the same path, so scripts are found.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use tempfile::TempDir;

use crate::{describe, tempdir, Running, RUN_TIMEOUT};

/// Whether `tool` is installed; when it is not, prints `SKIP <test>: <reason>` and returns
/// false, unless `LEASTPRIV_REQUIRE_BPF=1` (as in CI, which installs it), where it panics.
pub fn require_tool(test: &str, tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    assert!(
        std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
        "{test} needs {tool}, which is not installed (cargo xtask test installs it)"
    );
    println!("SKIP {test}: {tool} is not installed");
    false
}

/// A root filesystem directory: mount points, merged-/usr symlinks, and the few files in
/// /etc that the engines and programs look up.
pub struct Rootfs {
    dir: TempDir,
}

impl Rootfs {
    pub fn new() -> Rootfs {
        let dir = tempdir();
        let root = dir.path();
        for sub in ["usr", "etc", "proc", "dev", "sys", "tmp", "run", "var/tmp"] {
            fs::create_dir_all(root.join(sub)).unwrap();
        }
        for (link, target) in [
            ("bin", "usr/bin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
            ("sbin", "usr/sbin"),
        ] {
            symlink(target, root.join(link)).unwrap();
        }
        for file in ["passwd", "group"] {
            fs::copy(Path::new("/etc").join(file), root.join("etc").join(file))
                .unwrap_or_else(|e| panic!("copy /etc/{file}: {e}"));
        }
        Rootfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Rootfs {
    fn default() -> Rootfs {
        Rootfs::new()
    }
}

/// The read-only bind mounts a command needs: /usr, and the directory of each absolute
/// argument outside /usr.
fn volumes(argv: &[&str]) -> Vec<String> {
    let mut dirs: Vec<String> = argv
        .iter()
        .filter(|arg| arg.starts_with('/') && !arg.starts_with("/usr/"))
        .filter_map(|arg| Path::new(arg).parent()?.to_str().map(str::to_owned))
        .filter(|dir| dir != "/")
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs.insert(0, "/usr".into());
    dirs.iter()
        .flat_map(|dir| ["-v".to_owned(), format!("{dir}:{dir}:ro")])
        .collect()
}

/// `podman --runtime runc run` of `argv` in `rootfs` with `security` (`--security-opt`
/// values), without a network; the open-files and process limits are set because Podman's
/// defaults are above this machine's hard limits.
pub fn podman_run(rootfs: &Rootfs, security: &[String], argv: &[&str]) -> Output {
    let mut cmd = Command::new("podman");
    cmd.args(["--runtime", "runc", "run", "--rm", "--network=none"])
        .args([
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ])
        .args(volumes(argv));
    for option in security {
        cmd.args(["--security-opt", option]);
    }
    cmd.arg("--rootfs").arg(rootfs.path()).args(argv);
    cmd.stdin(Stdio::null());
    Running::spawn(cmd).wait(RUN_TIMEOUT).0
}

/// A Docker daemon for a test: the machine's own when one answers, else one started here
/// (`dockerd --iptables=false --bridge=none`, state in a temporary directory) and stopped
/// when dropped.
pub struct Dockerd {
    socket: PathBuf,
    started: Option<(Child, TempDir)>,
}

/// Debian's client, which matches its daemon's API version.
const DOCKER: &str = "/usr/bin/docker";

impl Dockerd {
    pub fn start() -> Dockerd {
        let system = PathBuf::from("/var/run/docker.sock");
        if system.exists() && docker_info(&system) {
            return Dockerd {
                socket: system,
                started: None,
            };
        }
        let dir = tempdir();
        let socket = dir.path().join("docker.sock");
        let log = fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .args(["--iptables=false", "--bridge=none"])
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start dockerd: {e}"));
        let daemon = Dockerd {
            socket,
            started: Some((child, dir)),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !docker_info(&daemon.socket) {
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within a minute:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        daemon
    }

    fn log(&self) -> String {
        self.started
            .as_ref()
            .and_then(|(_, dir)| fs::read_to_string(dir.path().join("dockerd.log")).ok())
            .unwrap_or_default()
    }

    /// `DOCKER_HOST` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker` talking to this daemon.
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new(DOCKER);
        cmd.arg("-H")
            .arg(format!("unix://{}", self.socket.display()));
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Imports `rootfs` as image `name` (`docker import` of its tar).
    pub fn import(&self, rootfs: &Rootfs, name: &str) {
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs.path())
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let output = self
            .docker()
            .args(["import", "-", name])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(tar.wait().unwrap().success(), "tar of the rootfs failed");
        assert!(
            output.status.success(),
            "docker import:\n{}",
            describe(&output)
        );
    }

    /// `docker run` of `argv` in `image` with `security` (`--security-opt` values), without a
    /// network.
    pub fn run(&self, image: &str, security: &[String], argv: &[&str]) -> Output {
        let mut cmd = self.docker();
        cmd.args(["run", "--rm", "--network=none"])
            .args(volumes(argv));
        for option in security {
            cmd.args(["--security-opt", option]);
        }
        cmd.arg(image).args(argv);
        Running::spawn(cmd).wait(RUN_TIMEOUT).0
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let Some((child, _dir)) = &mut self.started else {
            return;
        };
        // SIGTERM lets dockerd stop its containerd and unmount its layers.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn docker_info(socket: &Path) -> bool {
    Command::new(DOCKER)
        .arg("-H")
        .arg(format!("unix://{}", socket.display()))
        .arg("info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
