//! Debian packages the tests (and the features that follow) need on the machine.

use crate::cmd::{self, step};
use anyhow::{bail, Context, Result};
use std::process::Command;

/// What building leastpriv needs: `leastpriv run` compiles seccomp profiles with libseccomp,
/// the reference implementation behind runc and crun, so the build links against it.
pub const BUILD_PACKAGES: &[&str] = &["libseccomp-dev"];

/// What the tests need besides the build. One list, so CI and developers agree.
pub const TEST_PACKAGES: &[&str] = &[
    // Tests: reference trace to compare recordings with.
    "strace",
    // Tests: compile the small C test programs.
    "gcc",
    // Tests: 32-bit (`gcc -m32 -static`) program, to check the compat syscall table.
    "gcc-multilib",
    // Tests: scripted workloads, and a virtual environment for kubernetes-validate.
    "python3",
    "python3-venv",
    // Tests: `setpriv` runs a workload with reduced credentials and capabilities.
    "util-linux",
    // Tests: `ps`/`pkill`-style process inspection.
    "procps",
    // Tests: the recorder's peak memory (`/usr/bin/time`) with 300,000 paths.
    "time",
    // Tests: run workloads in real OCI runtimes under generated seccomp profiles, and as
    // the Kubernetes settings `generate k8s` decides (crun only through `crun run`: it
    // refuses hybrid cgroup hierarchies, see tests/src/runc.rs).
    "runc",
    "crun",
    // Tests: `setcap` gives a workload file capabilities (tests/tests/k8s_readiness.rs).
    "libcap2-bin",
    // Tests: the container engines users deploy seccomp profiles with (Podman runs runc here,
    // as its default crun refuses hybrid cgroup hierarchies; the tests start dockerd).
    "podman",
    "docker.io",
    // Tests: generated SELinux modules compile into Debian's reference policy (its store is
    // built when the package is installed) with `semodule`; file types are checked against
    // libselinux's own lookup, `matchpathcon`.
    "selinux-policy-default",
    "semodule-utils",
    "selinux-utils",
    // Later: `apparmor_parser` checks generated AppArmor profiles.
    "apparmor",
    // Tests: AppArmor profiles enforced in a VM (tests/src/vm): qemu boots Debian's kernel
    // (fetched with `apt-get download`, never installed) over a 9p share of `/`, from an
    // initramfs made of static busybox and the kernel's modules (`cpio`, `depmod` from kmod,
    // `xz` for the compressed kernel); `aa-exec` comes with `apparmor`.
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "kmod",
    "xz-utils",
    // Later: inspect loaded BPF programs and maps when debugging.
    "bpftool",
    // Later: measure recording overhead.
    "hyperfine",
    // Tests: tests/action/run-action.py reads action.yml.
    "python3-yaml",
    // Tests: the generated zsh and fish completion scripts parse (`zsh -n`, `fish -n`).
    "zsh",
    "fish",
];

/// What `cargo xtask bench` needs besides the build: the timing and measuring tools and the
/// alternatives it compares against.
pub const BENCH_PACKAGES: &[&str] = &[
    // Wall times of every configuration, run after run.
    "hyperfine",
    // Peak memory (`/usr/bin/time`).
    "time",
    // Compiles the getppid loop and is benchmark 3's workload.
    "gcc",
    // Finds attached programs (ours and anyone else's) and reads their run-time statistics.
    "bpftool",
    // Alternatives compared with leastpriv.
    "strace",
    "bpftrace",
    "linux-perf",
    // Benchmark 10: container start-up, recorded and not.
    "podman",
    "docker.io",
];

/// Installs the missing ones of `packages`; with nothing missing it runs no apt at all.
pub fn ensure(packages: &[&str]) -> Result<()> {
    if cmd::which("dpkg-query").is_none() {
        step!(
            "dpkg-query not found (not Debian-like?); skipping package check; \
             make sure equivalents of these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let mut missing = Vec::new();
    for pkg in packages {
        if !installed(pkg)? {
            missing.push(*pkg);
        }
    }
    if missing.is_empty() {
        step!("Debian packages: all {} installed", packages.len());
        return Ok(());
    }
    let list = missing.join(" ");
    if !cmd::is_root() {
        bail!(
            "missing Debian packages: {list}\n\
             installing them needs root; run:\n    \
             sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y \
             --no-install-recommends {list}\n\
             then run this again (or pass --no-packages to `cargo xtask setup` to skip them)"
        );
    }
    step!("installing Debian packages: {list}");
    cmd::run(Command::new("apt-get").arg("update"))?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
    .context("installing Debian packages failed; see apt's output above")?;
    Ok(())
}

/// `dpkg-query` status is e.g. `install ok installed`; unknown packages make it exit non-zero.
fn installed(pkg: &str) -> Result<bool> {
    let out = cmd::raw_output(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))?;
    let status = String::from_utf8_lossy(&out.stdout);
    Ok(out.status.success() && status.split_whitespace().last() == Some("installed"))
}
