//! SELinux modules: recorded workloads' modules compile into Debian's reference policy with
//! its own compiler (`semodule`, into a copy of the machine's policy store), a module naming
//! a type the policy lacks does not (so the compile means something), generation is
//! deterministic, the Security Profiles Operator form carries the same rules, and bad input
//! is refused with exit 2 and nothing written.
//!
//! Enforcement in an SELinux kernel (a VM) is not here yet: docs/selinux.md says what is
//! proven and what is not.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use leastpriv_tests::workloads::{self, Workload};
use leastpriv_tests::{describe, leastpriv, record, require_bpf, tempdir};
use tempfile::TempDir;

const POLICY: &str = "/etc/selinux/default";

/// Whether the reference policy and its compiler are installed; in CI (where `cargo xtask
/// test` installs them) their absence fails the test.
fn require_policy(test: &str) -> bool {
    let found = Path::new(POLICY)
        .join("contexts/files/file_contexts")
        .exists()
        && Path::new("/var/lib/selinux/default/active").exists()
        && Command::new("semodule").arg("-h").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
            "{test} needs selinux-policy-default and semodule-utils (cargo xtask test installs them)"
        );
        println!("SKIP {test}: the reference policy or semodule is not installed");
    }
    found
}

/// A copy of the machine's policy store and configuration under a root of its own, for
/// `semodule -p ROOT -n`, which compiles the whole policy with the modules but changes
/// nothing of the machine's.
struct Store {
    root: TempDir,
}

impl Store {
    fn new() -> Store {
        let root = tempdir();
        for (from, to) in [("/etc/selinux", "etc"), ("/var/lib/selinux", "var/lib")] {
            let dest = root.path().join(to);
            fs::create_dir_all(&dest).unwrap();
            let copied = Command::new("cp")
                .args(["-a", from])
                .arg(&dest)
                .output()
                .unwrap();
            assert!(copied.status.success(), "{}", describe(&copied));
        }
        Store { root }
    }

    /// `semodule -p ROOT -n -s default -i MODULE...`: the policy compiled with them.
    fn install(&self, modules: &[&Path]) -> std::process::Output {
        let mut cmd = Command::new("semodule");
        cmd.arg("-p")
            .arg(self.root.path())
            .args(["-n", "-s", "default"]);
        for module in modules {
            cmd.arg("-i").arg(module);
        }
        cmd.output().unwrap()
    }
}

/// Records `workload` as root and writes its recording into `dir`.
fn recorded(workload: &Workload, dir: &Path, name: &str) -> PathBuf {
    let argv = workload.argv();
    let mut args = vec!["--as-root", "--"];
    args.extend(argv.iter().copied());
    let rec = record(&args);
    rec.assert_success().assert_complete();
    let path = dir.join(format!("{name}.recording.json"));
    fs::write(&path, rec.json.to_string()).unwrap();
    path
}

fn generate(recording: &Path, extra: &[&str]) -> std::process::Output {
    leastpriv()
        .args(["generate", "selinux"])
        .arg(recording)
        .args(extra)
        .output()
        .unwrap()
}

fn generate_to(recording: &Path, out: &Path, extra: &[&str]) -> String {
    let output = leastpriv()
        .args(["generate", "selinux"])
        .arg(recording)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    fs::read_to_string(out).unwrap()
}

#[test]
fn bpf_recorded_modules_compile_into_the_reference_policy() {
    let test = "bpf_recorded_modules_compile_into_the_reference_policy";
    if !require_bpf(test) || !require_policy(test) {
        return;
    }
    let dir = tempdir();
    let ls = recorded(&workloads::ls(), dir.path(), "ls");
    let python = recorded(&workloads::python(), dir.path(), "python");
    let ls_module = dir.path().join("lpls.cil");
    let text = generate_to(&ls, &ls_module, &["--name", "lpls"]);
    let python_module = dir.path().join("lppython.cil");
    let python_text = generate_to(&python, &python_module, &["--name", "lppython"]);

    // What ls did, in the policy's terms.
    assert!(text.contains("(type lpls_t)"), "{text}");
    assert!(
        text.contains("(allow lpls_t bin_t (file (entrypoint execute execute_no_trans getattr map open read)))"),
        "{text}"
    );
    assert!(text.contains("(allow lpls_t root_t (dir ("), "{text}");
    assert!(text.contains("(allow lpls_t lib_t (file ("), "{text}");
    assert!(
        text.contains("(allow lpls_t root_t (dir (getattr open read search)))"),
        "ls lists /:\n{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("(file (") && l.contains("write")),
        "ls wrote no file:\n{text}"
    );
    assert!(
        python_text.contains("(allow lppython_t self (process (fork"),
        "{python_text}"
    );

    // Deterministic.
    assert_eq!(
        text,
        generate_to(&ls, &dir.path().join("again.cil"), &["--name", "lpls"])
    );

    let store = Store::new();
    let compiled = store.install(&[&ls_module, &python_module]);
    assert!(
        compiled.status.success(),
        "the modules do not compile into the reference policy:\n{}",
        describe(&compiled)
    );
    // The compiler checks what it is given: a type the policy lacks is refused.
    let broken = dir.path().join("lpbroken.cil");
    fs::write(
        &broken,
        text.replace("lpls_t", "lpbroken_t")
            .replace(" bin_t ", " leastpriv_no_such_t "),
    )
    .unwrap();
    let refused = store.install(&[&broken]);
    assert!(
        !refused.status.success(),
        "a module naming a type the policy lacks compiled:\n{}",
        describe(&refused)
    );

    // The operator's form: the same rules by type, the domain as '@self'.
    let spo = generate(&python, &["--name", "lppython", "--format", "spo"]);
    assert!(spo.status.success(), "{}", describe(&spo));
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&spo.stdout).unwrap();
    assert_eq!(yaml["kind"], "SelinuxProfile");
    assert_eq!(yaml["spec"]["inherit"][0]["name"], "container");
    assert!(yaml["spec"]["allow"]["@self"]["process"]
        .as_sequence()
        .is_some_and(|p| p.iter().any(|v| v == "fork")));
    assert!(yaml["spec"]["allow"]["lib_t"]["file"]
        .as_sequence()
        .is_some());
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    if !require_policy("bad_input_is_refused_and_nothing_is_written") {
        return;
    }
    let dir = tempdir();
    let recording = dir.path().join("old.recording.json");
    // A recording with no file facts, as an older leastpriv wrote them.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/static32.recording.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixture).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("files");
    fs::write(&recording, value.to_string()).unwrap();
    let out = dir.path().join("module.cil");
    for (args, says) in [
        (
            vec!["--policy", "/nonexistent/policy"],
            "--policy /nonexistent/policy",
        ),
        (vec!["--name", "Bad-Name"], "--name"),
        (vec![], "holds no file accesses"),
    ] {
        let output = leastpriv()
            .args(["generate", "selinux"])
            .arg(&recording)
            .arg("-o")
            .arg(&out)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
