//! The Debian package that `cargo xtask dist` builds (`cargo xtask test` builds it and sets
//! `LEASTPRIV_DEB`): what it holds, that dpkg accepts it here, and that the installed binary
//! records from /usr/bin.
//!
//! "Installed" without touching the machine: the package is unpacked with `dpkg -x`, and in
//! a private mount namespace its usr/ is laid over the machine's /usr (overlayfs), so that
//! /usr/bin/leastpriv, the man pages and the completions are where the package puts them,
//! next to everything the system has, and nothing stays behind.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use leastpriv_tests::{describe, engines::require_tool, require_bpf, run, tempdir};

/// The .deb under test, or `None` (printing SKIP) when `LEASTPRIV_DEB` is not set; a missing
/// package fails under `LEASTPRIV_REQUIRE_BPF=1`, where `cargo xtask test` always builds it.
fn deb(test: &str) -> Option<PathBuf> {
    match env::var_os("LEASTPRIV_DEB") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "LEASTPRIV_DEB={} does not exist",
                path.display()
            );
            Some(path)
        }
        None => {
            assert!(
                env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
                "{test} needs the package, but LEASTPRIV_DEB is not set (cargo xtask test \
                 builds it with cargo xtask dist and sets it)"
            );
            println!("SKIP {test}: LEASTPRIV_DEB is not set (build it with `cargo xtask dist`)");
            None
        }
    }
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = run({
        let mut cmd = Command::new("dpkg-deb");
        cmd.args(args).arg(deb);
        cmd
    });
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// The commands that must have a man page: every visible one (groups included).
const PAGES: &[&str] = &[
    "leastpriv",
    "leastpriv-record",
    "leastpriv-show",
    "leastpriv-check",
    "leastpriv-merge",
    "leastpriv-diff",
    "leastpriv-run",
    "leastpriv-completions",
    "leastpriv-generate",
    "leastpriv-generate-seccomp",
    "leastpriv-generate-capabilities",
    "leastpriv-generate-apparmor",
    "leastpriv-generate-k8s",
    "leastpriv-generate-systemd",
];

#[test]
fn package_holds_binary_man_pages_completions_and_docs() {
    let Some(deb) = deb("package_holds_binary_man_pages_completions_and_docs") else {
        return;
    };
    let listing = dpkg_deb(&["-c"], &deb);
    // "-rwxr-xr-x root/root 8033136 2026-12-07 23:21 ./usr/bin/leastpriv"
    let entries: Vec<(&str, &str, &str)> = listing
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((*fields.first()?, *fields.get(1)?, *fields.last()?))
        })
        .collect();
    let entry = |path: &str| {
        entries
            .iter()
            .find(|(_, _, p)| *p == format!(".{path}"))
            .unwrap_or_else(|| panic!("the package has no {path}:\n{listing}"))
    };
    assert_eq!(entry("/usr/bin/leastpriv").0, "-rwxr-xr-x");
    for (mode, owner, path) in &entries {
        assert_eq!(*owner, "root/root", "{path} is not owned by root");
        assert!(
            mode.starts_with('d') || *mode == "-rw-r--r--" || path.ends_with("/usr/bin/leastpriv"),
            "{path} has mode {mode}"
        );
    }
    for page in PAGES {
        entry(&format!("/usr/share/man/man1/{page}.1.gz"));
    }
    // No page for the hidden commands.
    assert!(!listing.contains("man-pages.1") && !listing.contains("bench-floor.1"));
    for path in [
        "/usr/share/bash-completion/completions/leastpriv",
        "/usr/share/zsh/vendor-completions/_leastpriv",
        "/usr/share/fish/vendor_completions.d/leastpriv.fish",
        "/usr/share/doc/leastpriv/README.md",
        "/usr/share/doc/leastpriv/copyright",
        "/usr/share/doc/leastpriv/recording-format.md",
        "/usr/share/doc/leastpriv/review.md",
    ] {
        entry(path);
    }

    // The dependencies: libc6 with a version, and libseccomp2 (run compiles profiles with
    // it); each is installed here, so dpkg would install the package.
    let depends = dpkg_deb(&["-f"], &deb)
        .lines()
        .find_map(|l| l.strip_prefix("Depends: ").map(str::to_owned))
        .expect("the control file has no Depends");
    assert!(depends.contains("libc6 (>= 2."), "Depends: {depends}");
    assert!(depends.contains("libseccomp2"), "Depends: {depends}");
    let output = run({
        let mut cmd = Command::new("dpkg");
        cmd.args(["--no-act", "--install"]).arg(&deb);
        cmd
    });
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "dpkg would not install it here:\n{}",
        describe(&output)
    );
}

/// Runs `script` with sh in a private mount namespace where the package's usr/ (unpacked in
/// `root`) lies over /usr.
fn with_package_installed(root: &Path, script: &str) -> Output {
    let mount = format!(
        "mount -t overlay leastpriv-package -o lowerdir={}/usr:/usr /usr || exit 99\n{script}",
        root.display()
    );
    run({
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-ec", &mount]);
        cmd
    })
}

#[test]
fn bpf_installed_package_records_from_usr_bin() {
    let test = "bpf_installed_package_records_from_usr_bin";
    let Some(deb) = deb(test) else { return };
    if !require_bpf(test) || !require_tool(test, "unshare") {
        return;
    }
    let dir = tempdir();
    let root = dir.path().join("root");
    let output = run({
        let mut cmd = Command::new("dpkg");
        cmd.arg("-x").arg(&deb).arg(&root);
        cmd
    });
    assert!(output.status.success(), "{}", describe(&output));
    let recording = dir.path().join("true.recording.json");
    let script = format!(
        "test \"$(command -v leastpriv)\" = /usr/bin/leastpriv\n\
         /usr/bin/leastpriv record -o {rec} -- true\n\
         /usr/bin/leastpriv show --format json {rec} > {rec}.summary\n\
         man -w leastpriv-record\n\
         zcat /usr/share/man/man1/leastpriv-record.1.gz | grep -c 'EXIT STATUS'\n\
         bash -c '. /usr/share/bash-completion/completions/leastpriv && complete -p leastpriv'",
        rec = recording.display()
    );
    let output = with_package_installed(&root, &script);
    assert_ne!(
        output.status.code(),
        Some(99),
        "cannot lay the package over /usr here (overlayfs):\n{}",
        describe(&output)
    );
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("/usr/share/man/man1/leastpriv-record.1.gz"),
        "man does not find the installed page:\n{stdout}"
    );
    assert!(
        stdout.contains("-F _leastpriv leastpriv"),
        "the installed bash completion does not load:\n{stdout}"
    );
    let rec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&recording).expect("no recording written"))
            .unwrap();
    assert_eq!(rec["exit_status"], 0, "{rec:#}");
    assert_eq!(rec["complete"], true, "{rec:#}");
    leastpriv_tests::assert_recorded(&rec, "x86_64", &["execve", "exit_group"]);
    leastpriv_tests::assert_executed(&rec, "true");
}
