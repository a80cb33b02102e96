//! Starting qemu: software emulation (TCG) unless the CPU shows hardware virtualisation and
//! KVM really boots; the host's `/` read-only and one writable folder over virtio-9p.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::kernel::Kernel;

/// How qemu runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// The qemu binary, if installed.
pub fn qemu() -> Option<PathBuf> {
    [
        "/usr/bin/qemu-system-x86_64",
        "/usr/local/bin/qemu-system-x86_64",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// KVM first where it may work: /dev/kvm exists and the CPU flags show vmx or svm (a nested
/// paravirtual /dev/kvm without them stops a stock kernel with "emulation failure").
pub fn accelerators() -> Vec<Accel> {
    let flags = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hardware = flags
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if hardware && Path::new("/dev/kvm").exists() {
        vec![Accel::Kvm, Accel::Tcg]
    } else {
        vec![Accel::Tcg]
    }
}

/// How a boot ended.
#[derive(Debug)]
pub enum Boot {
    /// The guest wrote `done` into the share.
    Done { elapsed: Duration },
    /// It did not start within `start_limit` (a broken accelerator, say): try another.
    NoStart { console: String },
    /// It started but did not finish, or qemu failed.
    Failed { console: String },
}

/// Boots the guest, which runs `share/guest.sh`, and waits for it to finish within `limit`.
/// The console goes to `share/console.log`.
pub fn boot(
    kernel: &Kernel,
    share: &Path,
    accel: Accel,
    start_limit: Duration,
    limit: Duration,
) -> Boot {
    let console_path = share.join("console.log");
    let console = fs::File::create(&console_path).expect("create console.log");
    let mut cmd = Command::new(qemu().expect("checked by the caller"));
    match accel {
        Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
        Accel::Tcg => cmd.args(["-accel", "tcg,thread=multi", "-cpu", "qemu64"]),
    };
    let share_str = share.to_str().expect("share path is UTF-8");
    cmd.args([
        "-smp",
        "2",
        "-m",
        "1024",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
    ])
    .arg("-kernel")
    .arg(&kernel.vmlinux)
    .arg("-initrd")
    .arg(&kernel.initramfs)
    .arg("-append")
    .arg(format!(
        "console=ttyS0 panic=-1 quiet apparmor=1 security=apparmor lp.share={share_str}"
    ))
    .args([
        "-fsdev",
        "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
        "-device",
        "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
        "-fsdev",
    ])
    .arg(format!(
        "local,id=share,path={share_str},security_model=none,multidevs=remap"
    ))
    .args(["-device", "virtio-9p-pci,fsdev=share,mount_tag=share"])
    .stdin(Stdio::null())
    .stdout(console.try_clone().expect("dup console"))
    .stderr(console);
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Boot::Failed {
                console: format!("cannot start {cmd:?}: {e}"),
            }
        }
    };
    let read_console = || fs::read_to_string(&console_path).unwrap_or_default();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return if share.join("done").is_file() {
                Boot::Done {
                    elapsed: started.elapsed(),
                }
            } else if !share.join("started").is_file() {
                Boot::NoStart {
                    console: format!(
                        "qemu exited ({status}) before the guest started\n{}",
                        read_console()
                    ),
                }
            } else {
                Boot::Failed {
                    console: format!(
                        "qemu exited ({status}) before the guest finished\n{}",
                        read_console()
                    ),
                }
            };
        }
        let elapsed = started.elapsed();
        let no_start = elapsed > start_limit && !share.join("started").is_file();
        if no_start || elapsed > limit {
            let _ = child.kill();
            let _ = child.wait();
            let console = format!("killed qemu after {elapsed:?}\n{}", read_console());
            return if no_start {
                Boot::NoStart { console }
            } else {
                Boot::Failed { console }
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
