//! Benchmark 10: what recording adds to a container's start, as users record containers.
//!
//! `podman run ... true` and `docker run ... true` alone against the same under `leastpriv
//! record --`, which follows the container into its cgroup (Podman: the runtime's move;
//! Docker: through the proxy of the daemon's socket) and loads a second set of programs for
//! it. The root filesystem is a directory with the host's /usr bind-mounted read-only (no
//! registry is reachable): Podman runs it with `--rootfs`, Docker imports it as an image.
//! Docker's rows need a daemon: the machine's, else one started here and stopped after.

use super::harness::{Attach, Bench, Config};
use super::measure::{path_str, Measured, Series};
use super::report::{self, label, SummaryRow, Verdict};
use crate::cmd;
use anyhow::{bail, Context as _, Result};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The target of both rows: a recorded container start at most this much slower.
const TARGET: f64 = 1.10;
/// Calls of the loop in benchmark 10c: about half a second, so that a container's start
/// (a tenth to a fifth of a second, varying by tens of milliseconds) is small beside it.
const LOOP_CALLS: u64 = 5_000_000;
/// Benchmark 10c's target: recording a loop in a container costs what it costs on the host,
/// within this factor (the two are measured side by side; a few percent is run-to-run noise).
const LOOP_SAME: f64 = 1.03;

impl Bench {
    /// Benchmark 10.
    pub fn containers(&mut self) -> Result<()> {
        let rootfs = self.work.join("container-rootfs");
        make_rootfs(&rootfs)?;
        let truth = "/usr/bin/true";
        let mut sections = String::from("## 10. Container start-up\n\n");
        let _ = writeln!(sections, "`podman run` and `docker run` of `{truth}` in a container whose root is a directory with the host's /usr bind-mounted read-only, alone and under `leastpriv record --as-root --`, which follows the container into its own cgroup and loads a second set of programs for it. Target: recorded at most {TARGET:.2} × alone.\n");

        if cmd::which("podman").is_some() {
            let podman = podman_argv(&rootfs, truth);
            let rec = path_str(&self.recording_path("podman"));
            let mut recorded = self.lp(&["record", "--as-root", "-o", &rec, "--"]);
            recorded.extend(podman.iter().cloned());
            let configs = [
                Config::new(
                    "podman",
                    "`podman --runtime runc run --rm ... true`",
                    Attach::Nothing,
                    podman,
                    1,
                ),
                Config::new(
                    "podman-recorded",
                    "the same under `leastpriv record --as-root --`",
                    Attach::Nothing,
                    recorded,
                    1,
                ),
            ];
            let series = self.series("10 podman start-up", &configs, self.rounds)?;
            self.container_row("10", "Podman", "podman", &series, &mut sections);
            self.loop_in_container(&rootfs, &mut sections)?;
        } else {
            self.summary
                .push(not_measured("10", "Podman", "podman is not installed"));
        }

        if cmd::which("dockerd").is_some() {
            let daemon = Daemon::start(&self.work)?;
            let image = "leastpriv-bench:latest";
            daemon.import(&rootfs, image)?;
            let docker = daemon.run_argv(image, truth);
            let rec = path_str(&self.recording_path("docker"));
            // leastpriv proxies the daemon DOCKER_HOST names, as the command would reach it.
            let mut recorded = vec!["env".to_owned(), format!("DOCKER_HOST={}", daemon.host())];
            recorded.extend(self.lp(&["record", "--as-root", "-o", &rec, "--"]));
            recorded.extend(docker.iter().cloned());
            let mut plain = vec!["env".to_owned(), format!("DOCKER_HOST={}", daemon.host())];
            plain.extend(docker);
            let configs = [
                Config::new(
                    "docker",
                    "`docker run --rm ... true`",
                    Attach::Nothing,
                    plain,
                    1,
                ),
                Config::new(
                    "docker-recorded",
                    "the same under `leastpriv record --as-root --`",
                    Attach::Nothing,
                    recorded,
                    1,
                ),
            ];
            let series = self.series("10b docker start-up", &configs, self.rounds);
            drop(daemon);
            self.container_row("10b", "Docker", "docker", &series?, &mut sections);
        } else {
            self.summary
                .push(not_measured("10b", "Docker", "dockerd is not installed"));
        }
        self.sections.push((11, sections));
        Ok(())
    }

    /// Benchmark 10c: what recording adds to each syscall of a loop inside a Podman
    /// container, against what it adds to the same loop on the host. Each side is timed
    /// whole (start-up included) with the loop and with `true`; the difference is the loop's
    /// own time, so the container's start and the recorder's own start-up cancel out.
    fn loop_in_container(&mut self, rootfs: &Path, section: &mut String) -> Result<()> {
        let calls = LOOP_CALLS.to_string();
        let looper = path_str(&self.loop_bin);
        let loop_dir = self
            .loop_bin
            .parent()
            .map(path_str)
            .context("the loop program has no directory")?;
        let in_container = |program: &[&str]| {
            let mut argv = podman_argv(rootfs, program[0]);
            // The loop program's directory, read-only at the same path.
            let at = argv
                .iter()
                .position(|a| a == "--rootfs")
                .unwrap_or(argv.len());
            argv.splice(
                at..at,
                ["-v".to_owned(), format!("{loop_dir}:{loop_dir}:ro")],
            );
            argv.extend(program[1..].iter().map(|a| (*a).to_owned()));
            argv
        };
        let rec = path_str(&self.recording_path("loop"));
        let recorded = |argv: Vec<String>| {
            let mut all = self.lp(&["record", "--as-root", "-o", &rec, "--"]);
            all.extend(argv);
            all
        };
        let host_loop = vec![looper.clone(), calls.clone()];
        let host_true = vec!["/usr/bin/true".to_owned()];
        let ctr_loop = in_container(&[&looper, &calls]);
        let ctr_true = in_container(&["/usr/bin/true"]);
        let configs = [
            Config::new(
                "host-true",
                "`true` on the host",
                Attach::Nothing,
                host_true.clone(),
                1,
            ),
            Config::new(
                "host-loop",
                "the loop on the host",
                Attach::Nothing,
                host_loop.clone(),
                1,
            ),
            Config::new(
                "host-true-rec",
                "`true` recorded",
                Attach::Nothing,
                recorded(host_true),
                1,
            ),
            Config::new(
                "host-loop-rec",
                "the loop recorded",
                Attach::Nothing,
                recorded(host_loop),
                1,
            ),
            Config::new(
                "ctr-true",
                "`true` in a Podman container",
                Attach::Nothing,
                ctr_true.clone(),
                1,
            ),
            Config::new(
                "ctr-loop",
                "the loop in a Podman container",
                Attach::Nothing,
                ctr_loop.clone(),
                1,
            ),
            Config::new(
                "ctr-true-rec",
                "`true` in a container, recorded",
                Attach::Nothing,
                recorded(ctr_true),
                1,
            ),
            Config::new(
                "ctr-loop-rec",
                "the loop in a container, recorded",
                Attach::Nothing,
                recorded(ctr_loop),
                1,
            ),
        ];
        let series = self.series("10c loop in a container", &configs, self.rounds)?;
        let host = series.ratio_of_differences(
            ["host-loop-rec", "host-true-rec"],
            ["host-loop", "host-true"],
        );
        let ctr =
            series.ratio_of_differences(["ctr-loop-rec", "ctr-true-rec"], ["ctr-loop", "ctr-true"]);
        let (host_median, ctr_median) = (
            host.map_or(f64::NAN, |r| r.median),
            ctr.map_or(f64::NAN, |r| r.median),
        );
        let met = (host_median.is_finite() && ctr_median.is_finite())
            .then_some(ctr_median <= host_median * LOOP_SAME);
        self.summary.push(SummaryRow::new(
            "10c",
            "syscall loop in a Podman container, recorded against alone (loop time only)",
            format!("{} (host: {})", report::ratio(ctr), report::ratio(host)),
            &format!("≤ host × {LOOP_SAME:.2}"),
            met,
        ));
        let _ = writeln!(section, "A getppid loop of {LOOP_CALLS} calls, in a Podman container and on the host, each alone and under `leastpriv record --as-root --`. The loop's own time is the run with the loop minus the same run of `true`, so start-ups cancel out; the figure is recorded over alone, per round. Target: the container's at most {LOOP_SAME:.2} × the host's.\n");
        let rows: Vec<Vec<String>> = series
            .configs
            .iter()
            .map(|m| vec![m.label.clone(), report::time(m.median())])
            .collect();
        section.push_str(&report::table(
            &["configuration", "median wall time"],
            &rows,
        ));
        let _ = writeln!(
            section,
            "\nLoop time recorded over alone: in the container {}, on the host {}.\n",
            report::ratio(ctr),
            report::ratio(host)
        );
        Ok(())
    }

    fn container_row(
        &mut self,
        id: &str,
        engine: &str,
        key: &'static str,
        series: &Series,
        section: &mut String,
    ) {
        let recorded_key = if key == "podman" {
            "podman-recorded"
        } else {
            "docker-recorded"
        };
        let ratio = series.ratio(recorded_key, key);
        let median = ratio.as_ref().map_or(f64::NAN, |r| r.median);
        self.summary.push(SummaryRow::new(
            id,
            &format!("container start-up, {engine}: `{key} run ... true` recorded against alone"),
            report::ratio(ratio),
            &format!("≤ {TARGET:.2}"),
            median.is_finite().then_some(median <= TARGET),
        ));
        let rows = vec![
            vec![
                label(series, key),
                report::time(series.get(key).map_or(f64::NAN, Measured::median)),
                "1".into(),
            ],
            vec![
                label(series, recorded_key),
                report::time(series.get(recorded_key).map_or(f64::NAN, Measured::median)),
                report::ratio(ratio),
            ],
        ];
        let _ = writeln!(section, "{engine}:\n");
        section.push_str(&report::table(
            &["configuration", "median wall time", "× alone"],
            &rows,
        ));
        section.push('\n');
    }
}

fn not_measured(id: &str, engine: &str, why: &str) -> SummaryRow {
    SummaryRow {
        id: id.into(),
        what: format!("container start-up, {engine}"),
        figure: "—".into(),
        target: format!("≤ {TARGET:.2}"),
        verdict: Verdict::NotMeasured(why.into()),
    }
}

/// A directory to run as a container's root: mount points, the merged-/usr symlinks, and
/// /etc/passwd and /etc/group.
fn make_rootfs(root: &Path) -> Result<()> {
    for sub in ["usr", "etc", "proc", "dev", "sys", "tmp", "run"] {
        fs::create_dir_all(root.join(sub))?;
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        let path = root.join(link);
        if fs::symlink_metadata(&path).is_err() {
            symlink(target, &path)?;
        }
    }
    for file in ["passwd", "group"] {
        fs::copy(Path::new("/etc").join(file), root.join("etc").join(file))?;
    }
    Ok(())
}

fn podman_argv(rootfs: &Path, program: &str) -> Vec<String> {
    [
        "podman",
        "--runtime",
        "runc",
        "run",
        "--rm",
        "--network=none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "-v",
        "/usr:/usr:ro",
        "--rootfs",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([path_str(rootfs), program.to_owned()])
    .collect()
}

/// Debian's client, which matches its daemon's API version.
const DOCKER: &str = "/usr/bin/docker";

/// A Docker daemon: the machine's when one answers, else one started for the benchmark.
struct Daemon {
    socket: PathBuf,
    started: Option<Child>,
}

impl Daemon {
    fn start(work: &Path) -> Result<Daemon> {
        let system = PathBuf::from("/var/run/docker.sock");
        if answers(&system) {
            return Ok(Daemon {
                socket: system,
                started: None,
            });
        }
        let dir = work.join("dockerd");
        let _ = fs::remove_dir_all(dir.join("exec"));
        fs::create_dir_all(&dir)?;
        let socket = dir.join("docker.sock");
        let log = fs::File::create(dir.join("dockerd.log"))?;
        let child = Command::new("dockerd")
            .args(["--iptables=false", "--bridge=none"])
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start dockerd")?;
        let daemon = Daemon {
            socket,
            started: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !answers(&daemon.socket) {
            if Instant::now() > deadline {
                bail!(
                    "dockerd did not answer within a minute (see {})",
                    dir.join("dockerd.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(daemon)
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn import(&self, rootfs: &Path, image: &str) -> Result<()> {
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()?;
        let status = Command::new(DOCKER)
            .args(["-H", &self.host(), "import", "-", image])
            .stdin(tar.stdout.take().context("tar's output")?)
            .stdout(Stdio::null())
            .status()?;
        if !tar.wait()?.success() || !status.success() {
            bail!("docker import of {} failed", rootfs.display());
        }
        Ok(())
    }

    /// `docker run` of `program` in `image` (the daemon comes from `DOCKER_HOST`).
    fn run_argv(&self, image: &str, program: &str) -> Vec<String> {
        [
            DOCKER,
            "run",
            "--rm",
            "--network=none",
            "-v",
            "/usr:/usr:ro",
            image,
            program,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(child) = &mut self.started else {
            return;
        };
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

fn answers(socket: &Path) -> bool {
    socket.exists()
        && Command::new(DOCKER)
            .args(["-H", &format!("unix://{}", socket.display()), "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
