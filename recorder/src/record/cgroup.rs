//! The cgroup v2 a recording targets: finding the hierarchy, creating a run's own cgroup,
//! moving processes in, and removing it without leaving anything behind.

use std::{
    fs::{self, File},
    io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

/// Errors about cgroups; each names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot read {path}")]
    ReadMountInfo { path: PathBuf, source: io::Error },
    #[error("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo); mount one with `mount -t cgroup2 none /sys/fs/cgroup`")]
    NoCgroup2,
    #[error("cannot create cgroup {path}")]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot create cgroup {path}: this process lacks CAP_DAC_OVERRIDE, which writing to {parent} (mode {mode:04o}, owner uid {owner}) takes; run it with sudo (docs/privileges.md)")]
    CreateNeedsDacOverride {
        path: PathBuf,
        parent: PathBuf,
        mode: u32,
        owner: u32,
    },
    #[error("{path} is not a cgroup v2 directory (no cgroup.procs)")]
    NotACgroup { path: PathBuf },
    #[error("cannot open cgroup {path}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot move process {pid} into {path}")]
    Move {
        pid: u32,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot remove cgroup {path} (still in use: {pids:?})")]
    Remove {
        path: PathBuf,
        pids: Vec<u32>,
        source: io::Error,
    },
}

/// When creating `path` in `parent` was refused and this process lacks CAP_DAC_OVERRIDE:
/// the error that names the capability (a bare EACCES leaves the user guessing).
fn denied_for_lack_of_dac_override(
    parent: &Path,
    path: &Path,
    error: &io::Error,
) -> Option<CgroupError> {
    use std::os::unix::fs::MetadataExt as _;
    const CAP_DAC_OVERRIDE: u32 = 1;
    if error.kind() != io::ErrorKind::PermissionDenied {
        return None;
    }
    let effective = procfs::process::Process::myself()
        .and_then(|me| me.status())
        .ok()?
        .capeff;
    if effective & (1 << CAP_DAC_OVERRIDE) != 0 {
        return None;
    }
    let meta = fs::metadata(parent).ok()?;
    Some(CgroupError::CreateNeedsDacOverride {
        path: path.into(),
        parent: parent.into(),
        mode: meta.mode() & 0o7777,
        owner: meta.uid(),
    })
}

/// Finds where cgroup v2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a
/// hybrid hierarchy) from this process's mount table.
pub fn cgroup2_mount() -> Result<PathBuf, CgroupError> {
    let path = Path::new("/proc/self/mountinfo");
    let text = fs::read_to_string(path).map_err(|source| CgroupError::ReadMountInfo {
        path: path.into(),
        source,
    })?;
    cgroup2_mount_in(&text).ok_or(CgroupError::NoCgroup2)
}

/// The first cgroup2 mount point in mountinfo text (see proc(5): the mount point is the fifth
/// field; the filesystem type follows the " - " separator).
fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        before
            .split_whitespace()
            .nth(4)
            .map(|p| PathBuf::from(unescape_octal(p)))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cgroup being recorded: either one this run created (removed on drop) or an existing one.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    /// Open directory: the kernel programs take the target cgroup as this fd.
    dir: File,
    owned: bool,
}

/// Moves processes into a cgroup; owns nothing, so it can be sent to another thread (moving
/// a process waits for the kernel, see `launch::start_in_cgroup`).
#[derive(Debug, Clone)]
pub struct CgroupEntry {
    path: PathBuf,
}

impl CgroupEntry {
    /// Moves a process (all its threads) into the cgroup.
    pub fn add_process(&self, pid: u32) -> Result<(), CgroupError> {
        fs::write(self.path.join("cgroup.procs"), pid.to_string()).map_err(|source| {
            CgroupError::Move {
                pid,
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// Prefix of the cgroups leastpriv creates: `leastpriv-<recorder pid>-<n>`.
const RUN_PREFIX: &str = "leastpriv-";

impl Cgroup {
    /// Creates a fresh cgroup for one run directly under the cgroup2 mount. Empty cgroups
    /// left by a recorder that was killed outright are removed first.
    pub fn create_for_run(mount: &Path) -> Result<Cgroup, CgroupError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_stale(mount);
        let name = format!(
            "{RUN_PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = mount.join(name);
        if let Err(source) = fs::create_dir(&path) {
            return Err(denied_for_lack_of_dac_override(mount, &path, &source)
                .unwrap_or(CgroupError::Create { path, source }));
        }
        match File::open(&path) {
            Ok(dir) => Ok(Cgroup {
                path,
                dir,
                owned: true,
            }),
            Err(source) => {
                let _ = fs::remove_dir(&path);
                Err(CgroupError::Open { path, source })
            }
        }
    }

    /// Opens an existing cgroup v2 directory, which is left as it is afterwards.
    pub fn open_existing(path: &Path) -> Result<Cgroup, CgroupError> {
        if !path.join("cgroup.procs").exists() {
            return Err(CgroupError::NotACgroup { path: path.into() });
        }
        let dir = File::open(path).map_err(|source| CgroupError::Open {
            path: path.into(),
            source,
        })?;
        Ok(Cgroup {
            path: path.into(),
            dir,
            owned: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open directory, for the kernel programs' cgroup map.
    pub fn dir(&self) -> &File {
        &self.dir
    }

    /// Moves a process (all its threads) into this cgroup.
    pub fn add_process(&self, pid: u32) -> Result<(), CgroupError> {
        self.entry().add_process(pid)
    }

    /// A handle that moves processes into this cgroup from another thread.
    pub fn entry(&self) -> CgroupEntry {
        CgroupEntry {
            path: self.path.clone(),
        }
    }

    /// Processes in this cgroup and its descendants.
    pub fn processes(&self) -> Result<Vec<u32>, CgroupError> {
        let mut pids = Vec::new();
        collect_procs(&self.path, &mut pids)?;
        pids.sort_unstable();
        Ok(pids)
    }

    /// Kills every process in the cgroup (and below), with `cgroup.kill` where the kernel has
    /// it (5.14+), else one SIGKILL per process.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        if fs::write(self.path.join("cgroup.kill"), "1").is_ok() {
            return Ok(());
        }
        for pid in self.processes()? {
            // The process may have exited meanwhile; that is what we want anyway.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        Ok(())
    }

    /// Removes a cgroup this run created, killing what is left and waiting up to `wait` for
    /// the processes to be gone. Does nothing for an existing cgroup.
    pub fn remove(mut self) -> Result<(), CgroupError> {
        let result = self.remove_now(Duration::from_secs(2));
        self.owned = false;
        result
    }

    fn remove_now(&self, wait: Duration) -> Result<(), CgroupError> {
        if !self.owned {
            return Ok(());
        }
        let deadline = Instant::now() + wait;
        loop {
            match fs::remove_dir(&self.path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    let pids = self.processes().unwrap_or_default();
                    if Instant::now() >= deadline {
                        return Err(CgroupError::Remove {
                            path: self.path.clone(),
                            pids,
                            source,
                        });
                    }
                    if !pids.is_empty() {
                        let _ = self.kill_all();
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

impl Drop for Cgroup {
    /// Last line of defence on early returns and errors: never leave a run's cgroup behind.
    fn drop(&mut self) {
        if let Err(err) = self.remove_now(Duration::from_secs(2)) {
            log::warn!("{err}");
        }
    }
}

fn collect_procs(dir: &Path, pids: &mut Vec<u32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    let text = match fs::read_to_string(&procs) {
        Ok(text) => text,
        // Removed meanwhile: nothing is in it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: procs,
                source,
            })
        }
    };
    pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CgroupError::Read {
                path: dir.into(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_procs(&entry.path(), pids)?;
        }
    }
    Ok(())
}

/// Removes empty `leastpriv-<pid>-<n>` cgroups whose recorder is gone (killed with SIGKILL,
/// which no cleanup can catch), and says so. Best effort: a busy or foreign directory is left
/// alone.
fn remove_stale(mount: &Path) {
    let Ok(entries) = fs::read_dir(mount) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(RUN_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // rmdir fails on a cgroup that still has processes, which is what we want.
        if !Path::new(&format!("/proc/{pid}")).exists() && fs::remove_dir(entry.path()).is_ok() {
            eprintln!(
                "leastpriv: removed {}, left behind by a recorder (pid {pid}) that is gone",
                entry.path().display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hybrid_and_the_unified_mount() {
        let hybrid = "25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                      42 25 0:39 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(
            cgroup2_mount_in(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified =
            "30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup2_mount_in(unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(
            cgroup2_mount_in("25 30 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro\n"),
            None
        );
    }

    #[test]
    fn unescapes_mount_points() {
        let line = "41 31 0:38 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount_in(line),
            Some(PathBuf::from("/mnt/my cgroups"))
        );
    }

    #[test]
    fn an_ordinary_directory_is_not_a_cgroup() {
        let dir = tempfile::tempdir().unwrap();
        let err = Cgroup::open_existing(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("is not a cgroup v2 directory"),
            "{err}"
        );
    }
}
