//! Golden files for every generator: the profiles generated from the recordings in
//! `tests/fixtures/` (real recordings made by the tool; `hostile` is the `ls` one with a
//! hostile command line and executable path and an unnamed syscall number added) must equal
//! the files in `tests/golden/` byte for byte. No BPF needed.
//!
//! After an intended change, `cargo xtask bless` (LEASTPRIV_BLESS=1) rewrites the golden files;
//! review their diff like any other change.

use std::{fs, path::Path};

use leastpriv_tests::{describe, leastpriv, run, tempdir, workspace_dir};

/// (fixture, `generate` arguments, golden file).
const CASES: &[(&str, &[&str], &str)] = &[
    ("ls", &["seccomp"], "ls.seccomp.json"),
    (
        "ls",
        &["seccomp", "--runtime", "runc"],
        "ls.seccomp.runc.json",
    ),
    (
        "ls",
        &["seccomp", "--runtime", "crun", "--no-vdso"],
        "ls.seccomp.crun-novdso.json",
    ),
    ("ls", &["seccomp", "--format", "crd"], "ls.seccomp.crd.yaml"),
    ("static32", &["seccomp"], "static32.seccomp.json"),
    (
        "python",
        &["seccomp", "--format", "crd", "--name", "Python Demo!"],
        "python.seccomp.crd.yaml",
    ),
    ("hostile", &["seccomp"], "hostile.seccomp.json"),
    (
        "hostile",
        &["seccomp", "--format", "crd"],
        "hostile.seccomp.crd.yaml",
    ),
    (
        "bind_and_chown",
        &["capabilities"],
        "bind_and_chown.capabilities.txt",
    ),
    (
        "bind_and_chown",
        &["capabilities", "--format", "k8s"],
        "bind_and_chown.capabilities.k8s.yaml",
    ),
    (
        "bind_and_chown",
        &["capabilities", "--format", "docker"],
        "bind_and_chown.capabilities.docker.txt",
    ),
    (
        "bind_and_chown",
        &["capabilities", "--format", "systemd"],
        "bind_and_chown.capabilities.systemd.conf",
    ),
    ("bind_and_chown", &["apparmor"], "bind_and_chown.apparmor"),
    ("args_sockets", &["seccomp"], "args_sockets.seccomp.json"),
    (
        "args_sockets",
        &["seccomp", "--no-args"],
        "args_sockets.seccomp.no-args.json",
    ),
    ("bind_and_chown", &["k8s"], "bind_and_chown.k8s.yaml"),
    (
        "bind_and_chown",
        &["systemd"],
        "bind_and_chown.systemd.conf",
    ),
    (
        "apparmor-basic",
        &["landlock"],
        "apparmor-basic.landlock.json",
    ),
    (
        "apparmor-basic",
        &["landlock", "--format", "toml"],
        "apparmor-basic.landlock.toml",
    ),
    (
        "apparmor-hostile",
        &["landlock", "--format", "toml"],
        "apparmor-hostile.landlock.toml",
    ),
    (
        "bind_and_chown",
        &["landlock", "--abi", "3"],
        "bind_and_chown.landlock.abi3.json",
    ),
];

/// Runs `leastpriv generate KIND` on a fixture (`args` starts with the kind), writing to
/// `out`; returns the text.
fn generate(fixture: &str, args: &[&str], out: &Path) -> String {
    let recording = workspace_dir()
        .join("tests/fixtures")
        .join(format!("{fixture}.recording.json"));
    let mut cmd = leastpriv();
    cmd.arg("generate")
        .arg(args[0])
        .arg(&recording)
        .arg("-o")
        .arg(out)
        .args(&args[1..]);
    let output = run(cmd);
    assert!(
        output.status.success(),
        "generate {fixture} {args:?}: {}",
        describe(&output)
    );
    fs::read_to_string(out).unwrap()
}

/// (`diff` arguments, golden file): the review outputs.
const DIFF_CASES: &[(&[&str], &str)] = &[
    (
        &[
            "tests/fixtures/ls.recording.json",
            "tests/fixtures/python.recording.json",
            "--format",
            "markdown",
        ],
        "diff.ls-python.md",
    ),
    (
        &[
            "tests/fixtures/ls.recording.json",
            "tests/fixtures/python.recording.json",
            "--format",
            "json",
        ],
        "diff.ls-python.json",
    ),
    (
        &[
            "tests/golden/ls.seccomp.json",
            "tests/golden/ls.seccomp.runc.json",
        ],
        "diff.seccomp-runc.txt",
    ),
    (
        &[
            "tests/golden/apparmor-basic.profile",
            "tests/golden/apparmor-glob.profile",
            "--format",
            "markdown",
        ],
        "diff.apparmor-basic-glob.md",
    ),
    (
        &[
            "tests/golden/apparmor-basic.profile",
            "tests/golden/apparmor-hostile.profile",
            "--format",
            "markdown",
        ],
        "diff.apparmor-basic-hostile.md",
    ),
];

#[test]
fn diff_outputs_match_the_golden_files() {
    let bless = std::env::var_os("LEASTPRIV_BLESS").is_some_and(|v| v == "1");
    let mut mismatches = Vec::new();
    for (args, golden) in DIFF_CASES {
        let mut cmd = leastpriv();
        cmd.current_dir(workspace_dir()).arg("diff").args(*args);
        let output = run(cmd);
        assert_eq!(
            output.status.code(),
            Some(0),
            "diff {args:?}: {}",
            describe(&output)
        );
        let generated = String::from_utf8(output.stdout).unwrap();
        let golden_path = workspace_dir().join("tests/golden").join(golden);
        if bless {
            fs::write(&golden_path, &generated).unwrap();
        } else if fs::read_to_string(&golden_path).ok().as_deref() != Some(generated.as_str()) {
            mismatches.push(format!(
                "{golden} differs from `leastpriv diff {}`",
                args.join(" ")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "run `cargo xtask bless` if intended:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn generated_profiles_match_the_golden_files() {
    let bless = std::env::var_os("LEASTPRIV_BLESS").is_some_and(|v| v == "1");
    let dir = tempdir();
    let mut mismatches = Vec::new();
    for (fixture, args, golden) in CASES {
        let out = dir.path().join(golden);
        let generated = generate(fixture, args, &out);
        let golden_path = workspace_dir().join("tests/golden").join(golden);
        if bless {
            fs::write(&golden_path, &generated).unwrap();
            continue;
        }
        match fs::read_to_string(&golden_path) {
            Ok(expected) if expected == generated => {}
            Ok(_) => mismatches.push(format!(
                "{golden} differs: diff {} {}",
                golden_path.display(),
                out.display()
            )),
            Err(e) => mismatches.push(format!("{}: {e}", golden_path.display())),
        }
    }
    if !mismatches.is_empty() {
        // Keep the generated files for the diff in the message.
        let kept = dir.keep();
        panic!(
            "golden files differ (run `cargo xtask bless` if intended); generated in {}:\n{}",
            kept.display(),
            mismatches.join("\n")
        );
    }
}

/// Workload data never leaks into a profile as structure: the hostile command line becomes a
/// sanitised resource name, the hostile executable path appears nowhere, the unnamed number
/// is not allowed.
#[test]
fn hostile_recordings_render_as_data() {
    let dir = tempdir();
    let crd = generate(
        "hostile",
        &["seccomp", "--format", "crd"],
        &dir.path().join("p.yaml"),
    );
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&crd).unwrap();
    let name = doc["metadata"]["name"].as_str().unwrap();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "{name}"
    );
    assert_eq!(
        crd.matches("action:").count(),
        2,
        "only the generator's two rules:\n{crd}"
    );
    let json = generate("hostile", &["seccomp"], &dir.path().join("p.json"));
    for text in [&crd, &json] {
        assert!(
            !text.contains("/tmp/a"),
            "an executable path leaked into a profile"
        );
        assert!(!text.contains("1000"), "an unnamed number became a rule");
    }
}
