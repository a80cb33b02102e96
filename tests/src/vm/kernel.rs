//! The guest kernel and initramfs: Debian's own kernel package, fetched with `apt-get
//! download` and unpacked with `dpkg-deb -x` (never installed on the host), and an initramfs
//! of static busybox plus the virtio and 9p modules. Both are cached, by the kernel package's
//! name, under `~/.cache/leastpriv/vm/` (or `$LEASTPRIV_VM_CACHE`), so only the first run
//! pays the ~70 MB download and the unpacking.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a boot needs, cached.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The uncompressed kernel (`vmlinux`): qemu boots it through the PVH entry, which is
    /// faster under emulation than the bzImage's own decompressor.
    pub vmlinux: PathBuf,
    pub initramfs: PathBuf,
    /// The kernel package it came from, such as `linux-image-6.1.0-57-amd64`.
    pub package: String,
}

/// The cache directory.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LEASTPRIV_VM_CACHE") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/leastpriv/vm")
}

/// Runs `cmd`, returning its stdout, or an error naming the command and what it printed.
fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The versioned kernel package `linux-image-amd64` depends on, from apt's lists.
fn kernel_package() -> Result<String, String> {
    let deps = output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))?;
    deps.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
        .map(str::to_owned)
        .ok_or_else(|| format!("apt-cache depends linux-image-amd64 names no kernel:\n{deps}"))
}

/// The kernel and initramfs, from the cache or made now. Any cached kernel is used when apt
/// cannot name one (no lists), so a machine offline after its first run still boots.
pub fn kernel() -> Result<Kernel, String> {
    let cache = cache_dir();
    let package = match kernel_package() {
        Ok(p) => p,
        Err(e) => cached_packages(&cache)
            .pop()
            .ok_or_else(|| format!("no kernel package: {e}"))?,
    };
    let dir = cache.join(&package);
    let kernel = Kernel {
        vmlinux: dir.join("vmlinux"),
        initramfs: dir.join("initramfs.cpio.gz"),
        package: package.clone(),
    };
    if kernel.vmlinux.is_file() && kernel.initramfs.is_file() {
        return Ok(kernel);
    }
    // Build in a directory of this process, then rename: test processes may race.
    let work = cache.join(format!(".build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let result = build(&package, &work);
    if result.is_ok() {
        let _ = fs::remove_dir_all(work.join("root"));
        for f in fs::read_dir(&work).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "deb") {
                let _ = fs::remove_file(f.path());
            }
        }
        if fs::rename(&work, &dir).is_err() && !kernel.vmlinux.is_file() {
            return Err(format!(
                "could not move {} to {}",
                work.display(),
                dir.display()
            ));
        }
    }
    let _ = fs::remove_dir_all(&work);
    result.map(|()| kernel)
}

/// Packages with a complete cache entry, sorted.
fn cached_packages(cache: &Path) -> Vec<String> {
    let mut found: Vec<String> = fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("vmlinux").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("linux-image-"))
        .collect();
    found.sort();
    found
}

/// Downloads and unpacks `package` in `work`, writes `vmlinux` and the initramfs there.
fn build(package: &str, work: &Path) -> Result<(), String> {
    output(
        Command::new("apt-get")
            .args(["download", "-q", package])
            .current_dir(work),
    )?;
    let deb = fs::read_dir(work)
        .map_err(|e| format!("read {}: {e}", work.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or_else(|| format!("apt-get download {package} left no .deb"))?;
    let root = work.join("root");
    output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    let release = package.trim_start_matches("linux-image-");
    extract_vmlinux(
        &root.join(format!("boot/vmlinuz-{release}")),
        &work.join("vmlinux"),
    )?;
    super::initramfs::build(&root, release, &work.join("initramfs.cpio.gz"))
}

/// Unpacks the xz stream inside a bzImage (it starts at the bytes `FD 37 7A 58 5A 00`) into
/// a plain ELF `vmlinux`.
fn extract_vmlinux(bzimage: &Path, out: &Path) -> Result<(), String> {
    let data = fs::read(bzimage).map_err(|e| format!("read {}: {e}", bzimage.display()))?;
    let magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
    let at = data
        .windows(magic.len())
        .position(|w| w == magic)
        .ok_or_else(|| format!("{} holds no xz stream", bzimage.display()))?;
    let xz = out.with_extension("xz");
    fs::write(&xz, &data[at..]).map_err(|e| format!("write {}: {e}", xz.display()))?;
    // --single-stream: the bzImage goes on after the stream; xz ignores what follows.
    let file = fs::File::create(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let status = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .arg(&xz)
        .stdout(file)
        .status()
        .map_err(|e| format!("run xz (package xz-utils): {e}"))?;
    let _ = fs::remove_file(&xz);
    if !status.success() {
        return Err(format!(
            "xz could not unpack the kernel of {}",
            bzimage.display()
        ));
    }
    let head = fs::read(out).map_err(|e| format!("read {}: {e}", out.display()))?;
    if !head.starts_with(b"\x7fELF") {
        return Err(format!("{} is not an ELF kernel", out.display()));
    }
    Ok(())
}
