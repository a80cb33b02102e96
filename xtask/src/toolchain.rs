//! The toolchain the eBPF build needs: nightly with rust-src (for `-Z build-std=core`) and a
//! bpf-linker that uses the same LLVM as that nightly. No distribution packages LLVM 22, so
//! bpf-linker is built against the libLLVM the nightly toolchain ships (see TOOLCHAIN.md).

use crate::cmd::{self, step};
use anyhow::{anyhow, bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BPF_LINKER_VERSION: &str = "0.13.0";
/// LLVM majors bpf-linker 0.13.0 has `llvm-<major>` features for.
const BPF_LINKER_LLVM_MAJORS: &[u32] = &[21, 22, 23];

/// What `rustc +nightly -vV` says about the nightly toolchain.
struct Nightly {
    /// e.g. `1.97.0-nightly`
    release: String,
    /// e.g. `22.1.4`
    llvm: String,
    /// The toolchain's root; `lib/` in it holds libLLVM.so.*.
    sysroot: PathBuf,
}

/// Makes sure nightly (with rust-src) and bpf-linker are there; returns the directory holding
/// `bpf-linker`, to be put in front of PATH for cargo.
pub fn ensure() -> Result<PathBuf> {
    let nightly = ensure_nightly()?;
    ensure_bpf_linker(&nightly)
}

fn rustup() -> Command {
    Command::new("rustup")
}

fn ensure_nightly() -> Result<Nightly> {
    if cmd::which("rustup").is_none() {
        bail!(
            "rustup not found on PATH; the eBPF build runs `rustup run nightly cargo ...`, \
             so install rustup from https://rustup.rs and run this again"
        );
    }
    let toolchains = cmd::output(rustup().args(["toolchain", "list"]))?;
    // `nightly-x86_64-unknown-linux-gnu`, but not a dated `nightly-2026-05-19-...`
    let has_nightly = toolchains
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|t| {
            t == "nightly"
                || t.strip_prefix("nightly-")
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        });
    if !has_nightly {
        step!("nightly toolchain missing; installing it (with rust-src)");
        cmd::run(rustup().args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ]))
        .context("could not install the nightly toolchain, which the eBPF build needs")?;
    } else {
        let components = cmd::output(rustup().args([
            "component",
            "list",
            "--toolchain",
            "nightly",
            "--installed",
        ]))?;
        if !components
            .lines()
            .any(|l| l.trim() == "rust-src" || l.starts_with("rust-src-"))
        {
            step!("adding rust-src to nightly (needed for -Z build-std=core)");
            cmd::run(rustup().args(["component", "add", "rust-src", "--toolchain", "nightly"]))
                .context("could not add rust-src to the nightly toolchain")?;
        }
    }

    let vv = cmd::output(rustup().args(["run", "nightly", "rustc", "-vV"]))?;
    let field = |name: &str| {
        vv.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| anyhow!("`rustc +nightly -vV` printed no `{name}` line:\n{vv}"))
    };
    let release = field("release:")?;
    let llvm = field("LLVM version:")?;
    let sysroot = cmd::output(rustup().args(["run", "nightly", "rustc", "--print", "sysroot"]))?;
    let nightly = Nightly {
        release,
        llvm,
        sysroot: PathBuf::from(sysroot.trim()),
    };
    step!(
        "rust {} (LLVM {}) with rust-src",
        nightly.release,
        nightly.llvm
    );
    Ok(nightly)
}

/// Where built bpf-linkers live: `${XDG_CACHE_HOME:-$HOME/.cache}/leastpriv/bpf-linker`.
fn cache_root() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => {
            let home = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .ok_or_else(|| anyhow!("neither XDG_CACHE_HOME nor HOME is set; set one to choose a cache directory"))?;
            PathBuf::from(home).join(".cache")
        }
    };
    Ok(base.join("leastpriv").join("bpf-linker"))
}

fn ensure_bpf_linker(nightly: &Nightly) -> Result<PathBuf> {
    let mut parts = nightly.llvm.split('.');
    let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or("0"));
    let major_num: u32 = major
        .parse()
        .with_context(|| format!("cannot read the LLVM major version from `{}`", nightly.llvm))?;
    if !BPF_LINKER_LLVM_MAJORS.contains(&major_num) {
        bail!(
            "nightly rustc uses LLVM {major_num}, but bpf-linker {BPF_LINKER_VERSION} supports only LLVM {:?}; \
             install a nightly with one of those (or update BPF_LINKER_VERSION in xtask/src/toolchain.rs)",
            BPF_LINKER_LLVM_MAJORS
        );
    }

    // The key names everything the binary depends on: our version, LLVM, and the exact libLLVM
    // file (which is named after the rust release), so a new nightly gets a fresh build.
    let root = cache_root()?;
    let key = format!(
        "{BPF_LINKER_VERSION}-llvm{major}.{minor}-rust-{}",
        nightly.release
    );
    let prefix = root.join(&key);
    let bin_dir = prefix.join("bin");
    let linker = bin_dir.join("bpf-linker");

    match probe(&linker) {
        Ok(version) => {
            step!("{version} (LLVM {major}) cached at {}", linker.display());
            return Ok(bin_dir);
        }
        Err(why) if linker.exists() => step!(
            "cached {} does not work ({why:#}); rebuilding it",
            linker.display()
        ),
        Err(_) => {}
    }

    // The binary keeps an rpath to `<prefix>/lib`, so the symlinks are made at their final
    // place; only the binary is built elsewhere and renamed in, which makes the cache appear
    // whole or not at all.
    link_llvm(nightly, &prefix.join("lib"), major, minor)?;
    let staging = root.join(format!(".{key}.tmp-{}", std::process::id()));
    remove_stale_staging(&root, &key);
    let _ = fs::remove_dir_all(&staging);
    let built = build_bpf_linker(&prefix, &staging, major);
    let result = built.and_then(|()| {
        fs::create_dir_all(&bin_dir)
            .with_context(|| format!("cannot create {}", bin_dir.display()))?;
        fs::rename(staging.join("bin/bpf-linker"), &linker)
            .with_context(|| format!("cannot move the built bpf-linker to {}", linker.display()))
    });
    let _ = fs::remove_dir_all(&staging);
    result?;

    let version = probe(&linker).context("the freshly built bpf-linker does not run")?;
    step!(
        "{version} (LLVM {major}) built and cached at {}",
        linker.display()
    );
    Ok(bin_dir)
}

/// `bpf-linker --version`, accepted only if it is the version we build.
fn probe(linker: &Path) -> Result<String> {
    let out = cmd::raw_output(Command::new(linker).arg("--version"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        bail!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    if stdout != format!("bpf-linker {BPF_LINKER_VERSION}") {
        bail!("it reports `{stdout}`, expected bpf-linker {BPF_LINKER_VERSION}");
    }
    Ok(stdout)
}

/// `lib/` gets the nightly's libLLVM under its soname (which the binary asks for at run time)
/// and as `libLLVM.so` (which the build links against).
fn link_llvm(nightly: &Nightly, lib: &Path, major: &str, minor: &str) -> Result<()> {
    let nightly_lib = nightly.sysroot.join("lib");
    let mut libs: Vec<PathBuf> = fs::read_dir(&nightly_lib)
        .with_context(|| format!("cannot list {}", nightly_lib.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("libLLVM.so."))
        .map(|e| e.path())
        .collect();
    libs.sort();
    let wanted = format!("libLLVM.so.{major}.{minor}");
    let main = match libs.as_slice() {
        [] => bail!(
            "no libLLVM.so.* in {}; the nightly toolchain should ship one (try `rustup update nightly`)",
            nightly_lib.display()
        ),
        [one] => one,
        many => many
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&wanted)))
            .ok_or_else(|| anyhow!("several libLLVM.so.* in {} and none is LLVM {major}.{minor}", nightly_lib.display()))?,
    };

    fs::create_dir_all(lib).with_context(|| format!("cannot create {}", lib.display()))?;
    for target in &libs {
        if let Some(name) = target.file_name() {
            symlink(target, &lib.join(name))?;
        }
    }
    symlink(main, &lib.join("libLLVM.so"))
}

/// `ln -sf target link`.
fn symlink(target: &Path, link: &Path) -> Result<()> {
    if link.symlink_metadata().is_ok() {
        fs::remove_file(link).with_context(|| format!("cannot replace {}", link.display()))?;
    }
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("cannot link {} -> {}", link.display(), target.display()))
}

fn build_bpf_linker(prefix: &Path, staging: &Path, major: &str) -> Result<()> {
    fs::create_dir_all(staging).with_context(|| format!("cannot create {}", staging.display()))?;
    step!("building bpf-linker {BPF_LINKER_VERSION} against nightly's libLLVM (a few minutes)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut install = Command::new(cargo);
    install
        .env("LLVM_PREFIX", prefix)
        .args([
            "install",
            "bpf-linker",
            "--version",
            BPF_LINKER_VERSION,
            "--locked",
        ])
        .args([
            "--no-default-features",
            "--features",
            &format!("llvm-{major}"),
        ])
        .arg("--root")
        .arg(staging)
        // Only to silence cargo's advice to put the staging bin dir on PATH.
        .env("PATH", cmd::path_with(&staging.join("bin"))?)
        // Outside the workspace, so no project config applies to this unrelated build.
        .current_dir(staging);
    cmd::run(&mut install).context(
        "building bpf-linker failed; see cargo's output above (it needs network access to crates.io \
         and a C toolchain)",
    )
}

/// Removes staging dirs of earlier, interrupted runs (their process is gone), not of running ones.
fn remove_stale_staging(root: &Path, key: &str) {
    let prefix = format!(".{key}.tmp-");
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
