//! Following the containers a recorded command starts, and noting what leaves the recording.
//!
//! A container engine's CLI (`podman run`) starts the container through a runtime (runc,
//! under conmon) that stays in the recorded cgroup, and the runtime moves the container's
//! first process into the container's own cgroup (`/libpod_parent/libpod-<id>`) before that
//! process executes the entrypoint. The kernel programs report every move made by a task of
//! the recording and stop the mover (see `cgroup_moves` in the kernel programs); here a move
//! into a container's cgroup starts a recording of that cgroup of its own, and only then is
//! the mover let go. So the entrypoint's first syscall is recorded, two containers never
//! mix (each cgroup has its own programs and maps), and what the engine's own processes did
//! stays in the command's recording.
//!
//! Any other move out of the recording is noted (pid, executable, where it went) and warned
//! about: what the process does there is not recorded.
//!
//! Following by cgroup needs the runtime to be a descendant of the recorded command, as with
//! Podman. Docker starts containers from its daemon, outside the recording: the command then
//! talks to it through a proxy that tells the kernel programs which containers to expect
//! (see [`super::docker`]), and their moves are reported the same way.

use std::{
    collections::BTreeSet,
    os::unix::ffi::OsStrExt as _,
    path::{Path, PathBuf},
    time::SystemTime,
};

use nix::{
    sys::signal::{kill, Signal},
    unistd::Pid,
};

use super::{
    accumulator::Accumulator,
    assemble::{self, Outcome, RecordError},
    cgroup::Cgroup,
    docker::ContainerNames,
    kernel::{KernelError, KernelRecorder, LoadedRecorder},
};
use crate::recording::{path, Container, MovedOut, Target};

/// A container cgroup being recorded.
struct Followed {
    engine: &'static str,
    id: String,
    name: Option<String>,
    /// The image, as the engine named it when the container started.
    image: Option<String>,
    /// The cgroup's path within the hierarchy (`/libpod_parent/libpod-<id>`).
    path: String,
    kernel: KernelRecorder,
    accumulator: Accumulator,
    /// Held open for as long as its programs target it.
    _cgroup: Cgroup,
}

/// What the recording does with moves out of its cgroup.
pub struct Follower {
    /// Where the unified hierarchy is mounted.
    mount: PathBuf,
    /// The recorded cgroup's path within the hierarchy: moves below it stay in the recording.
    own: String,
    max_paths: usize,
    followed: Vec<Followed>,
    /// (moved pid, destination) pairs already acted on: a move is reported once per
    /// hierarchy on hybrid set-ups.
    seen: BTreeSet<(u32, String)>,
    moved_out: Vec<MovedOut>,
    /// Names of the containers started through the Docker proxy, by id.
    docker_names: Option<ContainerNames>,
    /// Programs being loaded for the next container, on a thread of their own (see
    /// [`Follower::expect_container`]).
    spare: Option<std::thread::JoinHandle<Result<LoadedRecorder, KernelError>>>,
}

impl Follower {
    /// For a recording of `cgroup`, under the unified hierarchy mounted at `mount`.
    pub fn new(mount: &Path, cgroup: &Cgroup, max_paths: usize) -> Follower {
        let own = cgroup
            .path()
            .strip_prefix(mount)
            .map(|p| format!("/{}", p.display()))
            .unwrap_or_default();
        Follower {
            mount: mount.to_path_buf(),
            own,
            max_paths,
            followed: Vec::new(),
            seen: BTreeSet::new(),
            moved_out: Vec::new(),
            docker_names: None,
            spare: None,
        }
    }

    /// Loads programs for a container ahead, on another thread, unless some are already
    /// being loaded. The runtime is stopped from its move of the container's first process
    /// until that container's programs are attached; loading them then kept it stopped for
    /// the verifier's 15 to 20 ms, a tenth of a `podman run`. Called when the command is a
    /// container engine's CLI, and at any other move out of the recording (Podman's conmon
    /// leaves first), so the load overlaps the engine's own preparations. Unused programs
    /// were never attached: dropping them leaves nothing behind.
    pub fn expect_container(&mut self) {
        if self.spare.is_none() {
            self.spare = Some(std::thread::spawn(|| LoadedRecorder::load(false)));
        }
    }

    /// A recorder started on `cgroup`: from the spare when there is one, else loaded now.
    fn recorder_for(&mut self, cgroup: &Cgroup) -> Result<KernelRecorder, KernelError> {
        match self.spare.take().map(std::thread::JoinHandle::join) {
            Some(Ok(Ok(loaded))) => loaded.start(cgroup),
            // A spare that could not load: loading again says why, as a start without one.
            _ => KernelRecorder::start(cgroup, false),
        }
    }

    /// Names Docker's containers from what the proxy learnt (see [`super::docker`]).
    pub fn with_docker_names(mut self, names: ContainerNames) -> Follower {
        self.docker_names = Some(names);
        self
    }

    /// Acts on one reported move, then lets the mover go on when it was stopped for this.
    /// `executable` is the moved process's program, when the recording saw it executed.
    pub fn on_move(
        &mut self,
        mover: u32,
        moved: u32,
        stopped: bool,
        executable: Option<String>,
        destination: &[u8],
    ) {
        if let Err(err) = self.act(mover, moved, executable, destination) {
            eprintln!("leastpriv: warning: {err}");
        }
        if stopped {
            // The mover waits for this whatever happened: never leave it stopped.
            let _ = kill(Pid::from_raw(mover as i32), Signal::SIGCONT);
        }
    }

    fn act(
        &mut self,
        mover: u32,
        moved: u32,
        executable: Option<String>,
        destination: &[u8],
    ) -> Result<(), RecordError> {
        let destination = path::display(destination);
        if destination == self.own || destination.starts_with(&format!("{}/", self.own)) {
            return Ok(());
        }
        // Moves on the unified hierarchy only (the kernel program leaves out the others).
        if !self.seen.insert((moved, destination.clone())) {
            return Ok(());
        }
        if let Some((engine, id)) = container_of(&destination) {
            let dir = self.mount.join(destination.trim_start_matches('/'));
            let cgroup = Cgroup::open_existing(&dir)?;
            let kernel = self.recorder_for(&cgroup)?;
            let (name, image) = match engine {
                "docker" => self
                    .docker_names
                    .as_ref()
                    .and_then(|names| names.lock().ok()?.get(&id).cloned())
                    .map_or((None, None), |(name, image)| {
                        (
                            Some(name).filter(|n| !n.is_empty()),
                            Some(image).filter(|i| !i.is_empty()),
                        )
                    }),
                _ => podman_name_and_image(mover, &id),
            };
            eprintln!(
                "leastpriv: recording {engine} container {}",
                name.as_deref()
                    .unwrap_or(&id[..id.len().min(12)])
                    .escape_debug()
            );
            self.followed.push(Followed {
                engine,
                id,
                name,
                image,
                path: destination,
                kernel,
                accumulator: Accumulator::with_max_paths(self.max_paths),
                _cgroup: cgroup,
            });
            return Ok(());
        }
        // Podman's conmon leaves before the container it will start.
        self.expect_container();
        // The recording's name for it, else the kernel's now (it may have exited since).
        let executable = executable.or_else(|| {
            std::fs::read_link(format!("/proc/{moved}/exe"))
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        });
        eprintln!(
            "leastpriv: WARNING: process {moved} ({}) was moved out of the recording into cgroup {}: what it does there is not recorded",
            executable.as_deref().unwrap_or("?").escape_debug(),
            destination.escape_debug()
        );
        self.moved_out.push(MovedOut {
            pid: moved,
            executable,
            by_pid: mover,
            cgroup: destination,
        });
        Ok(())
    }

    /// Decodes what the followed containers' programs have reported so far.
    pub fn drain(&mut self) {
        for followed in &mut self.followed {
            let accumulator = &mut followed.accumulator;
            followed
                .kernel
                .drain_events(|observation| accumulator.observe(observation));
        }
    }

    /// The recordings of the followed containers, cut to what their workloads did, and the
    /// processes that left the recording. Detaches the containers' programs.
    pub fn finish(
        mut self,
        started: SystemTime,
        outcome: &Outcome,
    ) -> Result<(Vec<Container>, Vec<MovedOut>), RecordError> {
        self.drain();
        let ended = Outcome {
            interrupted_by: outcome.interrupted_by,
            ..Outcome::default()
        };
        let mut containers = Vec::new();
        for mut followed in self.followed {
            let recording = assemble::recording(
                &followed.kernel,
                &mut followed.accumulator,
                Target::Cgroup(followed.path.clone()),
                started,
                &ended,
            )?;
            containers.push(Container {
                engine: followed.engine.into(),
                image: followed.image,
                id: followed.id,
                name: followed.name,
                cgroup: followed.path,
                recording: Box::new(recording.without_runtime_set_up()),
            });
        }
        containers.sort_by(|a, b| (&a.engine, &a.id).cmp(&(&b.engine, &b.id)));
        Ok((containers, self.moved_out))
    }
}

/// Whether `program` (a command's first word) is a container engine's CLI, whose run will
/// likely start a container: then its programs are loaded ahead (see
/// [`Follower::expect_container`]).
pub fn is_engine_cli(program: &std::ffi::OsStr) -> bool {
    let name = Path::new(program).file_name().unwrap_or(program);
    ["podman", "docker", "nerdctl"]
        .iter()
        .any(|engine| name == std::ffi::OsStr::new(engine))
}

/// The process's cgroup on the unified hierarchy (`0::` in /proc/PID/cgroup).
fn unified_cgroup(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::to_owned)
}

/// A container engine `record --container` asks where a container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Podman,
    Docker,
}

impl Engine {
    fn command(self) -> &'static str {
        match self {
            Engine::Podman => "podman",
            Engine::Docker => "docker",
        }
    }
}

/// Why a running container could not be found.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no running container {wanted:?} in {engines}{detail}")]
    NotFound {
        wanted: String,
        engines: String,
        detail: String,
    },
    #[error("{engine} could not be asked about container {wanted:?}: {detail}")]
    Engine {
        engine: &'static str,
        wanted: String,
        detail: String,
    },
    #[error("{engine} container {wanted:?} is not running (it may have exited before it could be recorded)")]
    NotRunning {
        engine: &'static str,
        wanted: String,
    },
    #[error("the process of {engine} container {wanted:?} ({pid}) exited before its cgroup could be read")]
    Gone {
        engine: &'static str,
        wanted: String,
        pid: u32,
    },
}

impl ContainerError {
    /// Whether the user named something that does not exist (bad input), rather than the
    /// machine failing to answer.
    pub fn is_unknown_container(&self) -> bool {
        matches!(self, ContainerError::NotFound { .. })
    }
}

/// A running container, found by name or id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub engine: Engine,
    pub id: String,
    pub name: String,
    /// Its cgroup's path within the unified hierarchy.
    pub cgroup: String,
}

/// Finds the running container `wanted` with `engine`, or with Podman and then Docker.
pub fn locate(engine: Option<Engine>, wanted: &str) -> Result<Located, ContainerError> {
    let engines = match engine {
        Some(engine) => vec![engine],
        None => vec![Engine::Podman, Engine::Docker],
    };
    let mut failures = Vec::new();
    for engine in &engines {
        match locate_with(*engine, wanted) {
            Ok(found) => return Ok(found),
            Err(err @ (ContainerError::NotRunning { .. } | ContainerError::Gone { .. })) => {
                return Err(err)
            }
            Err(ContainerError::Engine { detail, .. }) if engine_missing(&detail) => {
                failures.push(format!("{} is not installed", engine.command()));
            }
            Err(err @ ContainerError::Engine { .. }) if engines.len() == 1 => return Err(err),
            Err(err) => failures.push(err.to_string()),
        }
    }
    Err(ContainerError::NotFound {
        wanted: wanted.to_owned(),
        engines: engines
            .iter()
            .map(|e| e.command())
            .collect::<Vec<_>>()
            .join(" or "),
        detail: if failures.is_empty() {
            String::new()
        } else {
            format!(" ({})", failures.join("; "))
        },
    })
}

fn engine_missing(detail: &str) -> bool {
    detail.contains("No such file or directory")
}

fn locate_with(engine: Engine, wanted: &str) -> Result<Located, ContainerError> {
    let name = engine.command();
    let output = std::process::Command::new(name)
        .args([
            "container",
            "inspect",
            "--format",
            "{{.Id}} {{.State.Pid}} {{.State.Running}} {{.Name}}",
            wanted,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ContainerError::Engine {
            engine: name,
            wanted: wanted.to_owned(),
            detail: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let detail = stderr.trim().to_owned();
        let missing = detail.to_ascii_lowercase().contains("no such");
        return Err(if missing {
            ContainerError::NotFound {
                wanted: wanted.to_owned(),
                engines: name.to_owned(),
                detail: String::new(),
            }
        } else {
            ContainerError::Engine {
                engine: name,
                wanted: wanted.to_owned(),
                detail,
            }
        });
    }
    let mut fields = stdout.trim().splitn(4, ' ');
    let (Some(id), Some(pid), Some(running)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(ContainerError::Engine {
            engine: name,
            wanted: wanted.to_owned(),
            detail: format!("unexpected answer {stdout:?}"),
        });
    };
    let found_name = fields
        .next()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_owned();
    let pid: u32 = pid.parse().unwrap_or(0);
    if running != "true" || pid == 0 {
        return Err(ContainerError::NotRunning {
            engine: name,
            wanted: wanted.to_owned(),
        });
    }
    let cgroup = unified_cgroup(pid).ok_or(ContainerError::Gone {
        engine: name,
        wanted: wanted.to_owned(),
        pid,
    })?;
    Ok(Located {
        engine,
        id: id.to_owned(),
        name: found_name,
        cgroup,
    })
}

/// The engine and container id a cgroup path belongs to: Podman's `libpod-<id>` (cgroupfs:
/// `/libpod_parent/libpod-<id>`; systemd: `.../libpod-<id>.scope`) and Docker's
/// `/docker/<id>` or `docker-<id>.scope`, the id being 64 hex digits.
pub fn container_of(path: &str) -> Option<(&'static str, String)> {
    let last = path.rsplit('/').next()?;
    let last = last.strip_suffix(".scope").unwrap_or(last);
    let (engine, id) = if let Some(id) = last.strip_prefix("libpod-") {
        ("podman", id)
    } else if let Some(id) = last.strip_prefix("docker-") {
        ("docker", id)
    } else if path.rsplit('/').nth(1) == Some("docker") {
        ("docker", last)
    } else {
        return None;
    };
    (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| (engine, id.to_owned()))
}

/// A Podman container's name and image, from the command line of the conmon that started the
/// runtime (`-n NAME`, `-b BUNDLE`) when the mover is that runtime, and the image from the
/// storage's record of its containers.
///
/// The bundle is `<storage root>/<driver>-containers/<id>/userdata`, and the file beside the
/// per-container directories, `containers.json`, holds each container's `metadata` with its
/// `image-name`. Reading it costs a file read at the moment of the move; asking Podman
/// (`podman container inspect`) instead cost a whole second CLI start-up, contending for the
/// CPU and Podman's locks with the container being started, and could not answer after `--rm`.
fn podman_name_and_image(mover: u32, id: &str) -> (Option<String>, Option<String>) {
    let Some(args) = parent_cmdline(mover) else {
        return (None, None);
    };
    let value = |flag: &[u8]| {
        let at = args.iter().position(|a| a.as_slice() == flag)?;
        args.get(at + 1)
    };
    let name = value(b"-n").map(|name| path::display(name));
    let image = value(b"-b")
        .map(|bundle| Path::new(std::ffi::OsStr::from_bytes(bundle)))
        .and_then(|bundle| bundle.parent()?.parent())
        .and_then(|containers| std::fs::read(containers.join("containers.json")).ok())
        .and_then(|json| image_in_containers_json(&json, id));
    (name, image)
}

/// The command line (NUL-separated arguments) of `pid`'s parent.
fn parent_cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The parent pid is the second field after the parenthesised command name.
    let parent: u32 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let cmdline = std::fs::read(format!("/proc/{parent}/cmdline")).ok()?;
    Some(cmdline.split(|&b| b == 0).map(<[u8]>::to_vec).collect())
}

/// The `image-name` in the metadata of container `id` in containers-storage's
/// `containers.json`; none for a container made from a root filesystem (`--rootfs`).
fn image_in_containers_json(json: &[u8], id: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Stored {
        id: String,
        #[serde(default)]
        metadata: String,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(rename = "image-name", default)]
        image_name: String,
    }
    let stored: Vec<Stored> = serde_json::from_slice(json).ok()?;
    let entry = stored.into_iter().find(|c| c.id == id)?;
    let metadata: Metadata = serde_json::from_str(&entry.metadata).ok()?;
    Some(metadata.image_name).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{container_of, image_in_containers_json};

    #[test]
    fn podman_images_are_read_from_the_storage_metadata() {
        let id = "7ce10572f22fe881925aa4e12f42fde8b02c9e6311fbe83b20af6b69e0c459c5";
        let json = format!(
            r#"[{{"id":"{other}","metadata":"{{\"image-name\":\"other:1\"}}"}},
                {{"id":"{id}","names":["web"],"metadata":"{{\"image-name\":\"localhost/app:1\",\"name\":\"web\"}}"}},
                {{"id":"{rootfs}","metadata":"{{\"name\":\"from-rootfs\"}}"}}]"#,
            other = "0".repeat(64),
            rootfs = "1".repeat(64),
        );
        assert_eq!(
            image_in_containers_json(json.as_bytes(), id).as_deref(),
            Some("localhost/app:1")
        );
        assert_eq!(
            image_in_containers_json(json.as_bytes(), &"1".repeat(64)),
            None
        );
        assert_eq!(
            image_in_containers_json(json.as_bytes(), &"2".repeat(64)),
            None
        );
        assert_eq!(image_in_containers_json(b"not json", id), None);
    }

    #[test]
    fn container_cgroups_are_told_by_their_engine_and_id() {
        let id = "694c82d0a2bb5cc5db618c1531125cb495435d4409ac767879380c9930e2d6d3";
        assert_eq!(
            container_of(&format!("/libpod_parent/libpod-{id}")),
            Some(("podman", id.to_owned()))
        );
        assert_eq!(
            container_of(&format!("/machine.slice/libpod-{id}.scope")),
            Some(("podman", id.to_owned()))
        );
        assert_eq!(
            container_of(&format!("/docker/{id}")),
            Some(("docker", id.to_owned()))
        );
        assert_eq!(
            container_of(&format!("/system.slice/docker-{id}.scope")),
            Some(("docker", id.to_owned()))
        );
        assert_eq!(container_of("/libpod_parent/conmon"), None);
        assert_eq!(container_of("/docker/not-an-id"), None);
        assert_eq!(container_of("/user.slice/libpod-1234"), None);
    }
}
