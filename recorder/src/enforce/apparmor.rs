//! Enforcing an AppArmor profile on a command: load it with the real `apparmor_parser`,
//! switch the child into it at exec (`/proc/self/attr/apparmor/exec`, as `aa-exec` does), and
//! read what AppArmor denied (or, in complain mode, would have denied) from the kernel log.
//!
//! Only hosts whose kernel enforces AppArmor can do this (Ubuntu, Debian, SUSE); elsewhere
//! [`available`] names what is missing. Denials are read from `/dev/kmsg`, where the kernel
//! prints audit records when no audit daemon takes them; with `auditd` running they go to its
//! log instead, and this finds none (said in docs/apparmor.md).

use std::{
    ffi::CString,
    fs,
    io::{self, Read as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use crate::record::launch::PreExec;

#[derive(Debug, thiserror::Error)]
pub enum AppArmorError {
    #[error("this kernel does not enforce AppArmor: {why}. `run --apparmor` needs a kernel with AppArmor enabled (as on Ubuntu, Debian or SUSE; booted with `apparmor=1 security=apparmor` where it is not the default)")]
    Unavailable { why: String },
    #[error("apparmor_parser was not found (install the package `apparmor`): it loads the profile into the kernel")]
    NoParser,
    #[error("apparmor_parser could not load {}: {stderr}", path.display())]
    Load { path: PathBuf, stderr: String },
    #[error("{} holds no profile apparmor_parser can name", path.display())]
    NoProfile { path: PathBuf },
    #[error("cannot read the kernel log (/dev/kmsg), where AppArmor's denials are: {0}")]
    KernelLog(#[source] io::Error),
}

/// Whether this kernel enforces AppArmor, and if not, what is missing.
pub fn available() -> Result<(), AppArmorError> {
    let unavailable = |why: &str| AppArmorError::Unavailable {
        why: why.to_owned(),
    };
    match fs::read_to_string("/sys/module/apparmor/parameters/enabled") {
        Err(_) => {
            return Err(unavailable(
                "/sys/module/apparmor does not exist, so AppArmor is not built into it",
            ))
        }
        Ok(enabled) if enabled.trim() != "Y" => {
            return Err(unavailable(
                "AppArmor is built in but not enabled (/sys/module/apparmor/parameters/enabled is not Y)",
            ))
        }
        Ok(_) => {}
    }
    if !Path::new("/sys/kernel/security/apparmor").is_dir() {
        return Err(unavailable(
            "/sys/kernel/security/apparmor is missing (is securityfs mounted? `mount -t securityfs securityfs /sys/kernel/security`)",
        ));
    }
    Ok(())
}

/// `apparmor_parser`, from PATH or the sbin directories it is installed in.
fn parser() -> Result<PathBuf, AppArmorError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join("apparmor_parser"))
        .find(|p| p.is_file())
        .ok_or(AppArmorError::NoParser)
}

/// A profile loaded into the kernel for one run; removed again on drop.
#[derive(Debug)]
pub struct LoadedProfile {
    path: PathBuf,
    parser: PathBuf,
    /// The profiles the file defines, as the parser names them; the first is the one the
    /// command is switched into.
    pub names: Vec<String>,
}

impl LoadedProfile {
    /// Loads (or replaces) the profiles of `path`; `complain` forces complain mode.
    pub fn load(path: &Path, complain: bool) -> Result<LoadedProfile, AppArmorError> {
        let parser = parser()?;
        let run = |args: &[&str]| -> Result<String, AppArmorError> {
            let out = Command::new(&parser)
                .args(args)
                .arg(path)
                .output()
                .map_err(|e| AppArmorError::Load {
                    path: path.to_owned(),
                    stderr: e.to_string(),
                })?;
            if !out.status.success() {
                return Err(AppArmorError::Load {
                    path: path.to_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                });
            }
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let names: Vec<String> = run(&["-N"])?.lines().map(str::to_owned).collect();
        if names.is_empty() {
            return Err(AppArmorError::NoProfile {
                path: path.to_owned(),
            });
        }
        // -K: the system's cache is not ours to write.
        run(if complain {
            &["-r", "-K", "-C"]
        } else {
            &["-r", "-K"]
        })?;
        Ok(LoadedProfile {
            path: path.to_owned(),
            parser,
            names,
        })
    }
}

impl Drop for LoadedProfile {
    fn drop(&mut self) {
        let _ = Command::new(&self.parser)
            .args(["-R", "-K"])
            .arg(&self.path)
            .output();
    }
}

/// Switches the child into a profile at its exec: writes `exec NAME` to the task's exec
/// attribute (`/proc/self/attr/apparmor/exec`, or the older shared `/proc/self/attr/exec`).
#[derive(Debug, Clone)]
pub struct ExecInto {
    attr: CString,
    value: Vec<u8>,
}

impl ExecInto {
    pub fn new(profile: &str) -> ExecInto {
        let attr = if Path::new("/proc/self/attr/apparmor/exec").exists() {
            "/proc/self/attr/apparmor/exec"
        } else {
            "/proc/self/attr/exec"
        };
        ExecInto {
            attr: CString::new(attr).expect("no NUL"),
            value: format!("exec {profile}").into_bytes(),
        }
    }
}

impl PreExec for ExecInto {
    fn after_user_change(&self) -> io::Result<()> {
        // Only async-signal-safe calls between fork and exec: open, write, close.
        // SAFETY: a valid NUL-terminated path; the fd is closed below.
        let fd = unsafe { libc::open(self.attr.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `value` is a live buffer of that length.
        let written = unsafe { libc::write(fd, self.value.as_ptr().cast(), self.value.len()) };
        let result = if written < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        };
        // SAFETY: fd was opened above.
        unsafe { libc::close(fd) };
        result
    }
}

/// The kernel log from now on.
#[derive(Debug)]
pub struct KernelLog {
    file: fs::File,
}

impl KernelLog {
    /// Opens `/dev/kmsg` at its end: only records printed from now on are read.
    pub fn from_now() -> Result<KernelLog, AppArmorError> {
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .map_err(AppArmorError::KernelLog)?;
        // SAFETY: lseek on an fd we own.
        if unsafe { libc::lseek(std::os::fd::AsRawFd::as_raw_fd(&file), 0, libc::SEEK_END) } < 0 {
            return Err(AppArmorError::KernelLog(io::Error::last_os_error()));
        }
        Ok(KernelLog { file })
    }

    /// The messages printed since, one per record (a read returns one record).
    pub fn read_new(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let record = String::from_utf8_lossy(&buf[..n]);
                    // "PRIORITY,SEQUENCE,TIME,FLAGS;MESSAGE\n" and continuation lines.
                    if let Some((_, message)) = record.split_once(';') {
                        out.push(message.lines().next().unwrap_or_default().to_owned());
                    }
                }
                // EPIPE: records were overwritten while we read; go on with the next ones.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
        out
    }
}

/// One access AppArmor denied, or (complain mode) allowed and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `DENIED` or `ALLOWED`.
    pub verdict: String,
    pub operation: String,
    pub profile: String,
    /// The file, or for other operations what it was about (empty when none).
    pub name: String,
    pub requested: String,
    /// The program's command name and pid.
    pub comm: String,
    pub pid: String,
}

/// The value of `key=` in an audit record: quoted (`"..."`), or up to the next space (the
/// kernel writes names with unusual bytes in hex, unquoted).
fn field(line: &str, key: &str) -> String {
    let Some(start) = line.find(&format!(" {key}=")).map(|i| i + key.len() + 2) else {
        return String::new();
    };
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default().to_owned(),
        None => rest.split(' ').next().unwrap_or_default().to_owned(),
    }
}

/// The records about `profiles` (and their children, `NAME//...`) in kernel log messages.
pub fn denials(messages: &[String], profiles: &[String]) -> Vec<Denial> {
    messages
        .iter()
        .filter_map(|line| {
            let verdict = ["DENIED", "ALLOWED"]
                .into_iter()
                .find(|v| line.contains(&format!("apparmor=\"{v}\"")))?;
            let profile = field(line, "profile");
            let ours = profiles
                .iter()
                .any(|p| profile == *p || profile.starts_with(&format!("{p}//")));
            ours.then(|| Denial {
                verdict: verdict.to_owned(),
                operation: field(line, "operation"),
                profile,
                name: field(line, "name"),
                requested: field(line, "requested_mask"),
                comm: field(line, "comm"),
                pid: field(line, "pid"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_records_of_the_profile_are_parsed() {
        let messages = [
            r#"audit: type=1400 audit(1.2:6): apparmor="DENIED" operation="open" profile="app" name="/etc/passwd" pid=135 comm="cat" requested_mask="r" denied_mask="r" fsuid=0 ouid=0"#,
            r#"audit: type=1400 audit(1.2:7): apparmor="ALLOWED" operation="mknod" profile="app//null-/usr/bin/x" name=2F746D702F61206220 pid=136 comm="x" requested_mask="c" denied_mask="c""#,
            r#"audit: type=1400 audit(1.2:8): apparmor="DENIED" operation="open" profile="other" name="/x" pid=1 comm="y""#,
            "eth0: link up",
        ]
        .map(String::from);
        let found = denials(&messages, &["app".into()]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "/etc/passwd");
        assert_eq!(found[0].comm, "cat");
        assert_eq!(found[0].requested, "r");
        assert_eq!(found[1].verdict, "ALLOWED");
        assert_eq!(found[1].name, "2F746D702F61206220");
    }

    #[test]
    fn this_kernel_without_apparmor_says_what_is_missing() {
        if Path::new("/sys/module/apparmor").exists() {
            return;
        }
        let err = available().unwrap_err().to_string();
        assert!(err.contains("/sys/module/apparmor does not exist"), "{err}");
    }
}
