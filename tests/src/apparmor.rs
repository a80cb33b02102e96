//! The real `apparmor_parser`, which every generated AppArmor profile must get through.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::{describe, run};

/// `apparmor_parser`, which must be installed (a missing parser fails, never skips).
fn parser() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into()]);
    for dir in candidates {
        let path = dir.join("apparmor_parser");
        if path.is_file() {
            return path;
        }
    }
    panic!("apparmor_parser not found: install the Debian package `apparmor` (`cargo xtask test` does)")
}

/// `apparmor_parser -Q -K [extra] FILE`: parse and compile, skip the kernel and the cache.
pub fn apparmor_parser(file: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(parser());
    cmd.args(["-Q", "-K"]).args(extra).arg(file);
    run(cmd)
}

/// Asserts that `apparmor_parser` accepts the profile in `file`.
pub fn assert_parses(file: &Path) {
    let output = apparmor_parser(file, &[]);
    assert!(
        output.status.success(),
        "apparmor_parser rejects {}: {}\n--- profile ---\n{}",
        file.display(),
        describe(&output),
        fs::read_to_string(file).unwrap_or_default()
    );
}
