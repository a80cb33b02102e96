//! The initramfs: static busybox, the modules that mount the host's root over virtio-9p (in
//! the order `modprobe --show-depends` loads them), and `/init`, which mounts the shares and
//! `switch_root`s into the host's root. Not `chroot`: AppArmor matches paths from the mount
//! namespace's root, so in a chroot every path would carry the initramfs' mount point.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The guest's `/init`. The writable share is mounted at its host path (`lp.share=` on the
/// kernel command line), so files the workloads write keep the paths they had when recorded
/// on the host. `/tmp` and `/run` are the guest's own tmpfs, as on a booted system.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in /modules/*.ko; do insmod "$m" || echo "leastpriv-vm: insmod $m failed"; done
share=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^lp.share=//p')
opts=trans=virtio,version=9p2000.L,msize=262144
if ! mount -t 9p -o "$opts,ro" hostroot /newroot; then
    echo "leastpriv-vm: cannot mount the host root"; echo b > /proc/sysrq-trigger
fi
mount -t 9p -o "$opts,rw" share "/newroot$share" || echo "leastpriv-vm: cannot mount $share"
mount -t tmpfs tmpfs /newroot/tmp
mount -t tmpfs tmpfs /newroot/run
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /bin/busybox sh "$share/guest.sh"
echo "leastpriv-vm: switch_root failed"; echo b > /proc/sysrq-trigger
"#;

/// Modules to load for the 9p root, from the unpacked kernel tree (made usable with
/// `depmod -b`), in load order.
fn modules(root: &Path, release: &str) -> Result<Vec<String>, String> {
    let depmod = Command::new("depmod")
        .arg("-b")
        .arg(root)
        .arg(release)
        .status()
        .map_err(|e| format!("run depmod (package kmod): {e}"))?;
    if !depmod.success() {
        return Err("depmod -b failed".into());
    }
    let mut list = Vec::new();
    for module in ["virtio_pci", "9pnet_virtio", "9p"] {
        let out = Command::new("modprobe")
            .arg("-d")
            .arg(root)
            .args(["-S", release, "--show-depends", module])
            .output()
            .map_err(|e| format!("run modprobe: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "modprobe --show-depends {module}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // "insmod /path/x.ko " ("builtin x" for what is built in).
            if let Some(path) = line.strip_prefix("insmod ") {
                let path = path.trim().to_owned();
                if !list.contains(&path) {
                    list.push(path);
                }
            }
        }
    }
    Ok(list)
}

/// Writes the gzipped newc cpio archive to `out`.
pub fn build(root: &Path, release: &str, out: &Path) -> Result<(), String> {
    let tree = out.with_extension("d");
    let _ = fs::remove_dir_all(&tree);
    for dir in ["bin", "modules"] {
        fs::create_dir_all(tree.join(dir)).map_err(|e| format!("create {dir}: {e}"))?;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .ok_or("busybox not found: install the Debian package busybox-static")?;
    fs::copy(busybox, tree.join("bin/busybox")).map_err(|e| format!("copy busybox: {e}"))?;
    for (n, module) in modules(root, release)?.iter().enumerate() {
        let name = Path::new(module).file_name().unwrap().to_string_lossy();
        let dest = tree.join(format!("modules/{n:02}-{name}"));
        if let Some(plain) = dest.to_str().and_then(|d| d.strip_suffix(".xz")) {
            let file = fs::File::create(plain).map_err(|e| format!("create {plain}: {e}"))?;
            let status = Command::new("xz")
                .arg("-dc")
                .arg(module)
                .stdout(file)
                .status()
                .map_err(|e| format!("run xz: {e}"))?;
            if !status.success() {
                return Err(format!("xz -d {module} failed"));
            }
        } else {
            fs::copy(module, &dest).map_err(|e| format!("copy {module}: {e}"))?;
        }
    }
    let init = tree.join("init");
    fs::write(&init, INIT).map_err(|e| format!("write init: {e}"))?;
    fs::set_permissions(&init, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod init: {e}"))?;
    let archive = fs::File::create(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let status = Command::new("sh")
        .args(["-c", "find . | cpio -o -H newc --quiet | gzip -1"])
        .current_dir(&tree)
        .stdout(archive)
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("run cpio: {e}"))?;
    let _ = fs::remove_dir_all(&tree);
    if !status.success() {
        return Err("cpio (package cpio) failed to pack the initramfs".into());
    }
    Ok(())
}
