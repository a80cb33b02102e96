//! A virtual machine whose kernel enforces AppArmor, for proving generated profiles by real
//! enforcement (this host's kernel has AppArmor compiled out).
//!
//! Debian's own kernel package boots under qemu with the host's `/` shared read-only over
//! virtio-9p, so the guest runs the host's programs at the host's paths; one writable folder
//! (the [`Vm::work_dir`] and the check files) is mounted at its host path too. A test hands a
//! batch of [`Check`]s to [`Vm::run`]: one boot loads each check's profile, runs its command
//! confined (by path attachment or with `aa-exec -p NAME`), and brings back its exit status,
//! output and AppArmor's denials. A boot costs 4-7 s under emulation, a check well under 1 s
//! plus its command, so tests put all their checks in one batch.
//!
//! Modules: `kernel` (fetch, unpack, cache), `initramfs` (busybox, modules, `/init`),
//! `qemu` (accelerator, command line, waiting), `guest` (the script the guest runs).

mod guest;
mod initramfs;
mod kernel;
mod qemu;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use guest::quote;
pub use kernel::{cache_dir, Kernel};
pub use qemu::Accel;

use crate::workspace_dir;

/// How a check's command is confined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confine {
    /// Not at all (a profile, if any, is loaded but the command is not its program).
    Unconfined,
    /// By the profile's attachment: the command is simply executed.
    ByPath,
    /// `aa-exec -p NAME -- COMMAND`.
    ByName(String),
}

/// One thing to do in the guest.
#[derive(Debug, Clone)]
pub struct Check {
    /// For messages.
    pub name: String,
    /// Profile text loaded before the command and removed after it.
    pub profile: Option<String>,
    pub confine: Confine,
    pub argv: Vec<String>,
    /// Working directory (a host path, the same in the guest).
    pub cwd: PathBuf,
    /// The command's whole environment.
    pub env: Vec<(String, String)>,
    /// Shell commands run unconfined before the profile's command (not before loading).
    pub setup: Option<String>,
}

impl Check {
    /// A check of `argv` in `cwd` with [`default_env`], confined as `confine`.
    pub fn new(name: &str, profile: Option<String>, confine: Confine, argv: &[&str]) -> Check {
        Check {
            name: name.to_owned(),
            profile,
            confine,
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            cwd: PathBuf::from("/"),
            env: default_env(),
            setup: None,
        }
    }
}

/// The environment workloads run with, on the host when recorded and in the guest: the same
/// few variables in both places, so that they behave the same.
pub fn default_env() -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"),
        ("HOME", "/root"),
        ("LANG", "C.UTF-8"),
        ("TMPDIR", "/tmp"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

/// What the guest saw of one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    /// `apparmor_parser -r`'s exit status and output, when the check had a profile.
    pub load: Option<(i32, String)>,
    /// The command's exit status (143 when busybox's `timeout` stopped it after 300 s).
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// AppArmor's `DENIED` lines (`ALLOWED` in complain mode) from the kernel log.
    pub denials: Vec<String>,
    pub allowed: Vec<String>,
    pub kernel_log: String,
    /// How long loading the profile took, the command (with its setup) ran, and the whole check (load, command, log, unload), in the
    /// guest's clock.
    pub load_time: Duration,
    pub command_time: Duration,
    pub check_time: Duration,
}

impl Outcome {
    /// Panics unless the profile loaded, the command exited 0 and nothing was denied.
    pub fn assert_clean(&self) {
        self.assert_loaded();
        assert!(
            self.status == 0 && self.denials.is_empty(),
            "{}: expected exit 0 and no denial\n{self}",
            self.name
        );
    }

    pub fn assert_loaded(&self) {
        if let Some((rc, out)) = &self.load {
            assert_eq!(*rc, 0, "{}: apparmor_parser -r failed: {out}", self.name);
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "check {}: status {} (load {:.2?}, command {:.2?}, check {:.2?})\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- denials ---\n{}",
            self.name,
            self.status,
            self.load_time,
            self.command_time,
            self.check_time,
            self.stdout,
            self.stderr,
            self.denials.join("\n")
        )
    }
}

/// A guest, ready to boot: the kernel is fetched and the shared folder made.
#[derive(Debug)]
pub struct Vm {
    kernel: Kernel,
    share: PathBuf,
    accels: Vec<Accel>,
}

/// Whether the VM tests can run here; as [`crate::require_bpf`]: prints `SKIP` with the
/// reason and returns `None`, unless `LEASTPRIV_REQUIRE_BPF=1` (CI), where it panics.
pub fn require_vm(test: &str) -> Option<Vm> {
    match Vm::new() {
        Ok(vm) => Some(vm),
        Err(reason) => {
            assert!(
                std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
                "{test} needs a VM with AppArmor but {reason}, and LEASTPRIV_REQUIRE_BPF=1"
            );
            println!("SKIP {test}: {reason}");
            None
        }
    }
}

impl Vm {
    /// Finds qemu and the kernel (fetching and caching it when needed); the reason when the
    /// VM cannot run here.
    pub fn new() -> Result<Vm, String> {
        if qemu::qemu().is_none() {
            return Err(
                "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)".into(),
            );
        }
        let kernel = kernel::kernel().map_err(|e| format!("no guest kernel: {e}"))?;
        static COUNT: AtomicU32 = AtomicU32::new(0);
        // Not under /tmp or /run: the guest has its own there, and the share must be seen
        // at the same path.
        let share = workspace_dir().join(format!(
            "target/leastpriv-vm/{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&share);
        fs::create_dir_all(share.join("work"))
            .map_err(|e| format!("create {}: {e}", share.display()))?;
        Ok(Vm {
            kernel,
            share,
            accels: qemu::accelerators(),
        })
    }

    /// A writable directory at the same path on the host and in the guest, for workloads.
    pub fn work_dir(&self) -> PathBuf {
        self.share.join("work")
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Boots once and runs `checks` in order; their outcomes in the same order. Panics with
    /// the guest's console when the boot fails.
    pub fn run(&self, checks: &[Check]) -> Vec<Outcome> {
        let dir = self.share.join("checks");
        let _ = fs::remove_dir_all(&dir);
        for marker in ["started", "done"] {
            let _ = fs::remove_file(self.share.join(marker));
        }
        for (n, check) in checks.iter().enumerate() {
            let c = dir.join(format!("{n:03}"));
            fs::create_dir_all(&c).unwrap_or_else(|e| panic!("create {}: {e}", c.display()));
            if let Some(profile) = &check.profile {
                fs::write(c.join("profile"), profile).unwrap();
                if let Some(name) = profile_name(profile) {
                    fs::write(c.join("profile.name"), name).unwrap();
                }
            }
            if let Some(setup) = &check.setup {
                fs::write(c.join("setup.sh"), setup).unwrap();
            }
            fs::write(c.join("run.sh"), run_script(check)).unwrap();
        }
        let guest = self.share.join("guest.sh");
        fs::write(&guest, guest::GUEST_SH).unwrap();
        fs::set_permissions(&guest, fs::Permissions::from_mode(0o755)).unwrap();

        // Boot, command and checks; a few seconds per check is generous under emulation.
        let limit = Duration::from_secs(120 + 60 * checks.len() as u64);
        let mut failures = Vec::new();
        for &accel in &self.accels {
            let start_limit = Duration::from_secs(if accel == Accel::Kvm { 20 } else { 90 });
            match qemu::boot(&self.kernel, &self.share, accel, start_limit, limit) {
                qemu::Boot::Done { elapsed } => {
                    println!(
                        "vm: {} checks in one boot ({accel:?}) took {elapsed:.1?}",
                        checks.len()
                    );
                    return checks
                        .iter()
                        .enumerate()
                        .map(|(n, check)| outcome(&dir.join(format!("{n:03}")), check))
                        .collect();
                }
                qemu::Boot::NoStart { console } => failures.push(format!("{accel:?}: {console}")),
                qemu::Boot::Failed { console } => {
                    panic!("the VM ({accel:?}) did not finish its checks:\n{console}")
                }
            }
        }
        panic!("the VM did not start:\n{}", failures.join("\n"));
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // Kept when a test failed, or with LEASTPRIV_VM_KEEP=1, to look at.
        if !std::thread::panicking() && std::env::var_os("LEASTPRIV_VM_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.share);
        }
    }
}

/// `run.sh`: change directory, then run the command with exactly the check's environment,
/// under `timeout`, confined as asked.
fn run_script(check: &Check) -> String {
    let mut line = vec![
        "exec".to_owned(),
        "/usr/bin/env".to_owned(),
        "-i".to_owned(),
    ];
    line.extend(check.env.iter().map(|(k, v)| quote(&format!("{k}={v}"))));
    line.push("/bin/busybox timeout 300".to_owned());
    if let Confine::ByName(name) = &check.confine {
        line.extend([
            "/usr/bin/aa-exec".to_owned(),
            "-p".to_owned(),
            quote(name),
            "--".to_owned(),
        ]);
    }
    // The program by its absolute path: busybox would run its own applet for a bare `ls`.
    let mut argv = check.argv.clone();
    if let Some(first) = argv.first_mut().filter(|a| !a.contains('/')) {
        *first = resolve_on_path(first, &check.env);
    }
    line.extend(argv.iter().map(|a| quote(a)));
    format!(
        "cd {} || exit 125\n{}\n",
        quote(check.cwd.to_str().expect("UTF-8 cwd")),
        line.join(" ")
    )
}

/// `program` found on the check's `PATH`, as on the host (the guest sees the same files).
fn resolve_on_path(program: &str, env: &[(String, String)]) -> String {
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or("/usr/bin:/bin", |(_, v)| v.as_str());
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .map_or_else(|| program.to_owned(), |p| p.to_string_lossy().into_owned())
}

/// Reads what the guest left for one check.
fn outcome(dir: &Path, check: &Check) -> Outcome {
    let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
    let number = |name: &str| read(name).trim().parse::<i32>().unwrap_or(-1);
    let kernel_log = read("kernel.log");
    let times: Vec<f64> = read("times")
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let apparmor_lines = |kind: &str| -> Vec<String> {
        kernel_log
            .lines()
            .filter(|l| l.contains(&format!("apparmor=\"{kind}\"")))
            .filter(|l| !l.contains("name=\"leastpriv-vm-end-"))
            .map(str::to_owned)
            .collect()
    };
    Outcome {
        name: check.name.clone(),
        load: check
            .profile
            .as_ref()
            .map(|_| (number("load.rc"), read("load.out"))),
        status: number("rc"),
        stdout: read("stdout"),
        stderr: read("stderr"),
        denials: apparmor_lines("DENIED"),
        allowed: apparmor_lines("ALLOWED"),
        kernel_log,
        load_time: span(&times, 0, 1),
        command_time: span(&times, 1, 2),
        check_time: span(&times, 0, 3),
    }
}

/// The `name="…"` of a kernel log line about AppArmor.
pub fn denied_name(line: &str) -> Option<&str> {
    let start = line.find(" name=\"")? + 7;
    let rest = &line[start..];
    Some(&rest[..rest.find('"')?])
}

/// From the `from`th to the `to`th of the guest's times.
fn span(times: &[f64], from: usize, to: usize) -> Duration {
    match (times.get(from), times.get(to)) {
        (Some(a), Some(b)) if b >= a => Duration::from_secs_f64(b - a),
        _ => Duration::ZERO,
    }
}

/// The name of the (first) profile in an AppArmor policy text: `profile NAME ...{`, or the
/// attachment path a profile without `profile` is named by. Quotes are kept off.
pub fn profile_name(text: &str) -> Option<String> {
    text.lines().map(str::trim).find_map(|line| {
        if !line.ends_with('{') || line.starts_with('#') {
            return None;
        }
        let rest = line.strip_prefix("profile ").unwrap_or(line);
        if let Some(quoted) = rest.strip_prefix('"') {
            return quoted.split_once('"').map(|(name, _)| name.to_owned());
        }
        let name = rest.split_whitespace().next()?;
        (name != "{").then(|| name.to_owned())
    })
}
