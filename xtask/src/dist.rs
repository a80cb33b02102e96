//! `cargo xtask dist`: a Debian package of the release binary, built with nothing but
//! `dpkg-deb` (and `dpkg-shlibdeps` for the dependencies).
//!
//! The man pages and completion scripts come from the binary just built (`leastpriv
//! man-pages DIR`, `leastpriv completions SHELL`), so they describe exactly its command line.
//! The kernel programs are inside the binary already (recorder/build.rs embeds them).

use crate::cmd::{self, step};
use anyhow::{bail, Context, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What building the package needs besides the build: `dpkg-shlibdeps` (in dpkg-dev) works
/// out the shared-library dependencies; `binutils` strips the binary; gzip compresses the
/// man pages.
pub const DIST_PACKAGES: &[&str] = &["dpkg-dev", "binutils", "gzip"];

const MAINTAINER: &str = "leastpriv developers <leastpriv@users.noreply.github.com>";

/// Where each shell looks for the completions of a command installed by a package.
const COMPLETIONS: &[(&str, &str)] = &[
    ("bash", "usr/share/bash-completion/completions/leastpriv"),
    ("zsh", "usr/share/zsh/vendor-completions/_leastpriv"),
    ("fish", "usr/share/fish/vendor_completions.d/leastpriv.fish"),
];

/// Builds `<target>/dist/leastpriv_<version>_<arch>.deb` from the release binary `bin` and
/// returns its path.
pub fn build_deb(root: &Path, target_dir: &Path, bin: &Path) -> Result<PathBuf> {
    crate::packages::ensure(DIST_PACKAGES)?;
    let version = version(bin)?;
    let arch = cmd::output(Command::new("dpkg").arg("--print-architecture"))?
        .trim()
        .to_owned();
    let dist = target_dir.join("dist");
    let stage = dist.join(format!("leastpriv_{version}_{arch}"));
    if stage.exists() {
        fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot remove the old {}", stage.display()))?;
    }
    step!("staging the package in {}", stage.display());

    // The binary, stripped as Debian policy asks: the kernel programs are data in it, and
    // keep their own BTF.
    let installed_bin = stage.join("usr/bin/leastpriv");
    mkdir(installed_bin.parent().unwrap())?;
    fs::copy(bin, &installed_bin)
        .with_context(|| format!("cannot copy {} into the package", bin.display()))?;
    cmd::run(
        Command::new("strip")
            .args(["--strip-unneeded", "--remove-section=.comment"])
            .arg(&installed_bin),
    )?;
    mode(&installed_bin, 0o755)?;

    // A man page per command, compressed without a timestamp (gzip -n) so that the same
    // binary gives the same files.
    let man = stage.join("usr/share/man/man1");
    cmd::output(Command::new(bin).arg("man-pages").arg(&man))
        .context("the binary could not write its man pages")?;
    for page in list(&man)? {
        cmd::run(Command::new("gzip").args(["-9n"]).arg(&page))?;
    }

    for (shell, path) in COMPLETIONS {
        let script = cmd::output(Command::new(bin).args(["completions", shell]))?;
        write(&stage.join(path), &script)?;
    }

    let doc = stage.join("usr/share/doc/leastpriv");
    mkdir(&doc)?;
    let mut docs = vec![root.join("README.md")];
    docs.extend(
        list(&root.join("docs"))?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    for file in docs {
        let to = doc.join(file.file_name().unwrap());
        fs::copy(&file, &to).with_context(|| format!("cannot copy {}", file.display()))?;
        mode(&to, 0o644)?;
    }
    write(&doc.join("copyright"), COPYRIGHT)?;

    let depends = depends(&stage, &installed_bin)?;
    let installed_size = installed_size(&stage)?;
    let control = format!(
        "Package: leastpriv\n\
         Version: {version}\n\
         Architecture: {arch}\n\
         Maintainer: {MAINTAINER}\n\
         Installed-Size: {installed_size}\n\
         Depends: {depends}\n\
         Section: admin\n\
         Priority: optional\n\
         Homepage: https://github.com/leastpriv/leastpriv\n\
         Description: record what a program does in the kernel, write least-privilege profiles\n \
         leastpriv runs a command (or watches a cgroup or container) under eBPF programs that\n \
         record every syscall, file, socket, capability check and executed program of it and\n \
         its descendants, and turns the recording into seccomp, AppArmor, capability,\n \
         Kubernetes and systemd profiles. It diffs and checks profiles for code review and CI.\n \
         .\n \
         Recording needs root (or CAP_BPF and CAP_PERFMON), cgroup v2 and a kernel with BTF.\n"
    );
    write(&stage.join("DEBIAN/control"), &control)?;
    fix_modes(&stage)?;

    let deb = dist.join(format!("leastpriv_{version}_{arch}.deb"));
    step!("building {}", deb.display());
    let mut build = Command::new("dpkg-deb");
    build
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&stage)
        .arg(&deb);
    if let Some(epoch) = source_date_epoch(root) {
        // Timestamps in the archive from the last commit, not from now.
        build.env("SOURCE_DATE_EPOCH", epoch);
    }
    cmd::run(&mut build)?;
    Ok(deb)
}

/// The version the binary reports (`leastpriv 0.1.0`), which is the workspace's.
fn version(bin: &Path) -> Result<String> {
    let out = cmd::output(Command::new(bin).arg("--version"))?;
    match out.split_whitespace().collect::<Vec<_>>()[..] {
        ["leastpriv", version] => Ok(version.to_owned()),
        _ => bail!("unexpected `leastpriv --version` output: {out:?}"),
    }
}

/// The shared libraries the binary links, as package dependencies with the versions its
/// symbols need (libc6, libseccomp2, libgcc-s1 here), from `dpkg-shlibdeps`, which wants a
/// debian/control beside it.
fn depends(stage: &Path, bin: &Path) -> Result<String> {
    let work = stage.with_extension("shlibdeps");
    mkdir(&work.join("debian"))?;
    write(
        &work.join("debian/control"),
        "Source: leastpriv\n\nPackage: leastpriv\nArchitecture: any\n",
    )?;
    let out = cmd::output(
        Command::new("dpkg-shlibdeps")
            .current_dir(&work)
            .arg("-O")
            .arg(format!("-e{}", bin.display())),
    )
    .context("dpkg-shlibdeps could not work out the package's dependencies")?;
    let _ = fs::remove_dir_all(&work);
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out:?}"))?
        .trim()
        .to_owned();
    if !depends.contains("libc6") {
        bail!("dpkg-shlibdeps gave no libc6 dependency ({depends}); the binary is not what was expected");
    }
    Ok(depends)
}

/// Installed-Size: the staged files in KiB, without DEBIAN/.
fn installed_size(stage: &Path) -> Result<u64> {
    let out = cmd::output(
        Command::new("du")
            .args(["-sk", "--exclude=DEBIAN"])
            .arg(stage),
    )?;
    out.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("unexpected du output: {out:?}"))
}

/// Directories 0755, files 0644, except the binary (0755): whatever the umask was.
fn fix_modes(dir: &Path) -> Result<()> {
    for path in list(dir)? {
        if path.is_dir() {
            mode(&path, 0o755)?;
            fix_modes(&path)?;
        } else if !path.ends_with("usr/bin/leastpriv") {
            mode(&path, 0o644)?;
        }
    }
    mode(dir, 0o755)
}

fn source_date_epoch(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()?;
    let epoch = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !epoch.is_empty()).then_some(epoch)
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    out.sort();
    Ok(out)
}

fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    mkdir(path.parent().unwrap())?;
    fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot chmod {}", path.display()))
}

/// debian/copyright in the machine-readable format: the workspace's `MIT OR Apache-2.0`.
const COPYRIGHT: &str = "\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: leastpriv
Source: https://github.com/leastpriv/leastpriv

Files: *
Copyright: the leastpriv developers
License: MIT or Apache-2.0

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be
 found in /usr/share/common-licenses/Apache-2.0.

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the \"Software\"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.
";
