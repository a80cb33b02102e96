//! `leastpriv generate apparmor` on hand-written recordings (`tests/fixtures/apparmor-*`): no
//! BPF needed. Every profile is checked by the real `apparmor_parser` (Debian package
//! `apparmor`; this kernel does not enforce AppArmor, so `-Q -K` parses and compiles without
//! loading), and the hostile names are checked against the parser's own compiled automaton:
//! each rule must match its recorded name and nothing else.
//!
//! Golden files: `tests/golden/apparmor-*.profile`; `LEASTPRIV_BLESS=1` rewrites them (as
//! `cargo xtask bless` does for `tests/tests/golden.rs`). Review their diff like code.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use leastpriv_tests::apparmor::{apparmor_parser, assert_parses};
use leastpriv_tests::{describe, leastpriv, run, tempdir, workspace_dir};

/// (fixture, extra `generate apparmor` arguments, golden file).
const CASES: &[(&str, &[&str], &str)] = &[
    ("apparmor-basic", &[], "apparmor-basic.profile"),
    (
        "apparmor-basic",
        &["--name", "web", "--mode", "complain"],
        "apparmor-basic.complain.profile",
    ),
    ("apparmor-hostile", &[], "apparmor-hostile.profile"),
    ("apparmor-glob", &[], "apparmor-glob.profile"),
    (
        "apparmor-glob",
        &["--glob-threshold", "21"],
        "apparmor-glob.threshold-21.profile",
    ),
];

fn fixture(name: &str) -> PathBuf {
    workspace_dir()
        .join("tests/fixtures")
        .join(format!("{name}.recording.json"))
}

/// A generated profile: its file, text and what leastpriv printed on stderr.
struct Generated {
    path: PathBuf,
    text: String,
    stderr: String,
}

/// Runs `leastpriv generate apparmor FIXTURE -o DIR/OUT ARGS...`; panics unless it succeeds.
fn generate(dir: &Path, fixture_name: &str, args: &[&str], out: &str) -> Generated {
    let path = dir.join(out);
    let mut cmd = leastpriv();
    cmd.args(["generate", "apparmor"])
        .arg(fixture(fixture_name))
        .arg("-o")
        .arg(&path)
        .args(args);
    let output = run(cmd);
    assert!(
        output.status.success(),
        "generate apparmor {fixture_name} {args:?}: {}",
        describe(&output)
    );
    Generated {
        text: fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        path,
    }
}

/// The lines inside the profile's braces, without blank lines.
fn body(text: &str) -> Vec<&str> {
    let start = text
        .lines()
        .position(|l| l.starts_with("profile "))
        .expect("a profile line");
    text.lines()
        .skip(start + 1)
        .take_while(|l| *l != "}")
        .filter(|l| !l.is_empty())
        .collect()
}

/// The file rule lines (quoted paths, with or without `owner`).
fn file_rules(text: &str) -> Vec<&str> {
    body(text)
        .into_iter()
        .filter(|l| l.starts_with("  \"") || l.starts_with("  owner \""))
        .collect()
}

/// How many rules the parser compiled (`-D rule-exprs` prints one `rule:` line per rule).
fn compiled_rules(file: &Path) -> usize {
    let output = apparmor_parser(file, &["-D", "rule-exprs"]);
    assert!(output.status.success(), "{}", describe(&output));
    let dump = String::from_utf8_lossy(&output.stderr);
    dump.lines().filter(|l| l.starts_with("rule: ")).count()
}

/// The strings the compiled file rules of `profile` accept, read from the parser's own DFA
/// (`-D dfa-states`): a transition on a byte class (AppArmor's `?`) is `None`. An error if the
/// automaton has a cycle (infinitely many strings: some rule is a glob).
fn accepted(profile: &Path) -> Result<BTreeSet<Vec<Option<u8>>>, String> {
    let output = apparmor_parser(profile, &["-D", "dfa-states"]);
    assert!(output.status.success(), "{}", describe(&output));
    let dump = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        dump.matches("<==").count(),
        1,
        "expected one automaton (file rules only):\n{dump}"
    );
    let mut accepting = BTreeSet::new();
    let mut edges: BTreeMap<u32, Vec<(Option<u8>, u32)>> = BTreeMap::new();
    let mut state = None;
    for line in dump.lines() {
        if let Some(rest) = line.strip_prefix('{') {
            let (n, tail) = rest.split_once('}').expect("state number");
            let n: u32 = n.parse().expect("state number");
            if tail.starts_with(" perms:") {
                state = Some(n);
                edges.entry(n).or_default();
            } else if tail.starts_with(" (0x") {
                accepting.insert(n);
            }
        } else if let (Some(from), Some((label, target))) = (state, line.split_once(" -> {")) {
            let to: u32 = target
                .split('}')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("target state");
            let byte = label
                .rsplit_once(" 0x")
                .and_then(|(_, hex)| u8::from_str_radix(hex, 16).ok());
            edges.entry(from).or_default().push((byte, to));
        }
    }
    fn walk(
        state: u32,
        prefix: &mut Vec<Option<u8>>,
        on_path: &mut Vec<u32>,
        edges: &BTreeMap<u32, Vec<(Option<u8>, u32)>>,
        accepting: &BTreeSet<u32>,
        out: &mut BTreeSet<Vec<Option<u8>>>,
    ) -> Result<(), String> {
        if on_path.contains(&state) {
            return Err(format!(
                "the automaton has a cycle after {prefix:?}: some rule matches infinitely many names"
            ));
        }
        if accepting.contains(&state) {
            out.insert(prefix.clone());
        }
        on_path.push(state);
        for &(byte, to) in edges.get(&state).map_or(&[][..], Vec::as_slice) {
            prefix.push(byte);
            walk(to, prefix, on_path, edges, accepting, out)?;
            prefix.pop();
        }
        on_path.pop();
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(
        1,
        &mut Vec::new(),
        &mut Vec::new(),
        &edges,
        &accepting,
        &mut out,
    )?;
    Ok(out)
}

fn exact(bytes: &[u8]) -> Vec<Option<u8>> {
    bytes.iter().map(|&b| Some(b)).collect()
}

#[test]
fn golden_profiles_match() {
    let bless = std::env::var_os("LEASTPRIV_BLESS").is_some_and(|v| v == "1");
    let dir = tempdir();
    let mut mismatches = Vec::new();
    for (fixture_name, args, golden) in CASES {
        let generated = generate(dir.path(), fixture_name, args, golden);
        let golden_path = workspace_dir().join("tests/golden").join(golden);
        if bless {
            fs::write(&golden_path, &generated.text).unwrap();
            continue;
        }
        match fs::read_to_string(&golden_path) {
            Ok(expected) if expected == generated.text => {}
            Ok(_) => mismatches.push(format!(
                "{golden} differs: diff {} {}",
                golden_path.display(),
                generated.path.display()
            )),
            Err(e) => mismatches.push(format!("{}: {e}", golden_path.display())),
        }
    }
    if !mismatches.is_empty() {
        let kept = dir.keep();
        panic!(
            "golden files differ (LEASTPRIV_BLESS=1 rewrites them if intended); generated in {}:\n{}",
            kept.display(),
            mismatches.join("\n")
        );
    }
}

#[test]
fn every_profile_parses_and_a_broken_one_does_not() {
    let dir = tempdir();
    for (fixture_name, args, out) in CASES {
        let generated = generate(dir.path(), fixture_name, args, out);
        assert_parses(&generated.path);
    }
    // The check can fail: the same profiles, each broken in one way, are rejected.
    let basic = generate(dir.path(), "apparmor-basic", &[], "basic.profile").text;
    let hostile = generate(dir.path(), "apparmor-hostile", &[], "hostile.profile").text;
    let broken = [
        (
            "no-comma",
            basic.replacen(
                "\"/etc/webapp/webapp.conf\" r,",
                "\"/etc/webapp/webapp.conf\" r",
                1,
            ),
        ),
        (
            "unescaped-quote",
            hostile.replacen("quote\\\"d", "quote\"d", 1),
        ),
        (
            "unknown-capability",
            basic.replacen("capability net_bind_service,", "capability frobnicate,", 1),
        ),
        (
            "unbalanced-brace",
            hostile.replacen("\\{braces\\}", "{braces", 1),
        ),
        (
            "undefined-variable",
            basic.replacen("@{HOME}", "@{NOPE}", 1),
        ),
    ];
    for (what, text) in broken {
        assert!(
            text != basic && text != hostile,
            "{what}: the replacement did not apply"
        );
        let path = dir.path().join(format!("broken-{what}.profile"));
        fs::write(&path, &text).unwrap();
        let output = apparmor_parser(&path, &[]);
        assert!(
            !output.status.success(),
            "apparmor_parser accepted a broken profile ({what}):\n{text}"
        );
    }
}

#[test]
fn known_files_give_exactly_the_expected_rules() {
    let dir = tempdir();
    let generated = generate(dir.path(), "apparmor-basic", &[], "basic.profile");
    assert_eq!(
        body(&generated.text),
        [
            "  include <abstractions/base>",
            "  include <abstractions/nameservice>  # leastpriv: /etc/nsswitch.conf was read",
            "  capability net_bind_service,",
            "  network inet stream,",
            "  network inet6 dgram,",
            "  network unix stream,",
            // A directory (a recorded path lies below it) and a read-only config file.
            "  \"/etc/webapp/\" r,",
            "  \"/etc/webapp/webapp.conf\" r,",
            // /proc/self stays; pids and tids become variables (two pids, one rule).
            "  \"/proc/self/mountinfo\" r,",
            "  \"/proc/@{pid}/cmdline\" r,  # leastpriv: proc-pid",
            "  \"/proc/@{pid}/task/@{tid}/stat\" r,  # leastpriv: proc-pid",
            // Created by the workload: owner.
            "  owner \"/run/webapp/webapp.sock\" w,",
            "  owner \"/tmp/tmp??????\" rw,  # leastpriv: temp-name",
            // Executed programs inherit the profile.
            "  \"/usr/libexec/webapp/helper\" ix,",
            "  \"/usr/local/bin/webapp\" ix,",
            // A versioned library outside what base covers.
            "  \"/usr/local/lib/libwebapp.so*\" mr,  # leastpriv: library-version",
            // Atomic save: the temporary file, then the renamed-over database (locked).
            "  owner \"/var/lib/webapp/.state.db.??????\" rw,  # leastpriv: temp-name",
            "  owner \"/var/lib/webapp/state.db\" rwk,",
            // An existing log appended to, a log created and written.
            "  \"/var/log/webapp/access.log\" a,",
            "  owner \"/var/log/webapp/error.log\" w,",
            "  owner \"@{HOME}/.cache/webapp/session\" w,  # leastpriv: home",
            "  \"@{HOME}/.config/webapp/settings.toml\" r,  # leastpriv: home",
        ]
    );
    assert!(generated
        .text
        .starts_with("# AppArmor profile generated by leastpriv from a recording.\n"));
    assert!(generated.text.contains(
        "\nabi <abi/3.0>,\n\ninclude <tunables/global>\n\nprofile webapp \"/usr/local/bin/webapp\" {\n"
    ));
    // What base and nameservice cover is not repeated: ld.so.cache, libc, the loader,
    // /dev/null, /proc/PID/status, /etc/passwd, /etc/nsswitch.conf.
    for covered in [
        "ld.so.cache",
        "libc.so",
        "ld-linux",
        "/dev/null",
        "status",
        "passwd",
        "nsswitch",
    ] {
        assert!(
            !file_rules(&generated.text)
                .iter()
                .any(|l| l.contains(covered)),
            "{covered} is covered by an abstraction but has a rule:\n{}",
            generated.text
        );
    }
    assert_parses(&generated.path);
}

#[test]
fn hostile_names_match_only_themselves() {
    let dir = tempdir();
    let generated = generate(dir.path(), "apparmor-hostile", &[], "hostile.profile");
    let rules = file_rules(&generated.text);
    assert_eq!(
        rules,
        [
            "  \"/opt/evil dir/run\\\"me\\{\\*\\}\" ix,",
            "  \"/proc/@{pid}/x\\*y\" r,  # leastpriv: proc-pid",
            "  \"/srv/hostile/#hash\" r,",
            "  \"/srv/hostile/@\\{HOME\\}\" r,",
            "  \"/srv/hostile/\\[x\\]\" r,",
            "  \"/srv/hostile/\\^caret\" r,",
            "  \"/srv/hostile/a,b\" r,",
            "  \"/srv/hostile/bad\\377byte\" r,",
            "  \"/srv/hostile/new\\012line\" r,",
            "  \"/srv/hostile/quote\\\"d\" r,",
            "  \"/srv/hostile/star\\*\" r,",
            "  \"/srv/hostile/what\\?\" r,",
            "  \"/srv/hostile/with space\" r,",
            "  \"/srv/hostile/\\{braces\\}\" r,",
            "  \"/srv/odd/$\\{bool\\}\" r,",
            "  \"/srv/odd/..dots..\" r,",
            "  \"/srv/odd/\\\\012literal\" r,",
            "  \"/srv/odd/back\\\\slash\" r,",
            "  \"/srv/odd/nul?byte\" r,",
            "  \"/srv/odd/tab\\011here\" r,",
            "  \"/srv/odd/x\\\", /\\*\\* rwlkmix,\\012/etc/shadow r\" r,",
            "  \"/srv/odd/\\303\\251t\\303\\251\" r,",
            "  \"/srv/odd/\\342\\200\\256evil\" r,",
            "  \"@{HOME}/.cfg\" r,  # leastpriv: home",
        ]
    );
    // The hostile command line, socket family and capability name add nothing.
    assert!(generated
        .text
        .contains("\nprofile run_me___ \"/opt/evil dir/run\\\"me\\{\\*\\}\" {\n"));
    assert_eq!(
        body(&generated.text)
            .iter()
            .filter(|l| l.starts_with("  network") || l.starts_with("  capability"))
            .collect::<Vec<_>>(),
        [&"  network unix dgram,"]
    );
    assert_parses(&generated.path);

    // The parser compiles exactly one rule per rule line: no name added a rule.
    let skeleton: String = generated
        .text
        .lines()
        .filter(|l| !rules.contains(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let skeleton_path = dir.path().join("skeleton.profile");
    fs::write(&skeleton_path, skeleton).unwrap();
    assert_parses(&skeleton_path);
    assert_eq!(
        compiled_rules(&generated.path) - compiled_rules(&skeleton_path),
        rules.len(),
        "the parser compiled a different number of file rules than the profile has lines"
    );

    // Each literal rule matches exactly its recorded name, per the parser's own automaton;
    // the NUL byte (which AppArmor cannot match) is one `?`: one character, never a '/'.
    let literal: Vec<&str> = rules
        .iter()
        .copied()
        .filter(|l| !l.contains("# leastpriv:"))
        .collect();
    let only_literal = dir.path().join("literal.profile");
    fs::write(
        &only_literal,
        format!("profile literal {{\n{}\n}}\n", literal.join("\n")),
    )
    .unwrap();
    let mut expected: BTreeSet<Vec<Option<u8>>> = [
        &b"/opt/evil dir/run\"me{*}"[..],
        b"/srv/hostile/#hash",
        b"/srv/hostile/@{HOME}",
        b"/srv/hostile/[x]",
        b"/srv/hostile/^caret",
        b"/srv/hostile/a,b",
        b"/srv/hostile/bad\xffbyte",
        b"/srv/hostile/new\nline",
        b"/srv/hostile/quote\"d",
        b"/srv/hostile/star*",
        b"/srv/hostile/what?",
        b"/srv/hostile/with space",
        b"/srv/hostile/{braces}",
        b"/srv/odd/${bool}",
        b"/srv/odd/..dots..",
        b"/srv/odd/\\012literal",
        b"/srv/odd/back\\slash",
        b"/srv/odd/tab\there",
        b"/srv/odd/x\", /** rwlkmix,\n/etc/shadow r",
        "/srv/odd/été".as_bytes(),
        "/srv/odd/\u{202e}evil".as_bytes(),
    ]
    .iter()
    .map(|b| exact(b))
    .collect();
    let mut nul = exact(b"/srv/odd/nul?byte");
    nul[b"/srv/odd/nul".len()] = None;
    expected.insert(nul);
    assert_eq!(accepted(&only_literal), Ok(expected.clone()));

    // The check can fail: without its escape, `*` matches any name and `?` any character.
    let unescaped = |from: &str, to: &str| {
        let path = dir.path().join("unescaped.profile");
        let text = fs::read_to_string(&only_literal).unwrap();
        assert!(text.contains(from));
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
        accepted(&path)
    };
    assert!(unescaped("star\\*", "star*").is_err());
    let widened = unescaped("what\\?", "what?").unwrap();
    assert_ne!(widened, expected);
    assert!(widened.contains(&[exact(b"/srv/hostile/what"), vec![None]].concat()));

    // What could not be written is named, escaped, on stderr.
    let stderr = &generated.stderr;
    for warning in [
        r#"warning: path "/srv/odd/nul\x00byte" holds a NUL byte"#,
        r#"warning: recorded path "/srv/hostile/../etc/shadow" is not a canonical absolute path"#,
        r#"warning: recorded path "relative/path" is not a canonical absolute path"#,
        r#"warning: socket AF_INET\n, /** rw SOCK_STREAM has no AppArmor network rule"#,
        r#"warning: capability CAP_X\n/** rwlkmix is unknown to AppArmor"#,
    ] {
        assert!(
            stderr.contains(warning),
            "missing {warning:?} in:\n{stderr}"
        );
    }
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("/etc/shadow") || l.starts_with("/** ")),
        "a hostile name broke a stderr line:\n{stderr}"
    );
    assert!(!generated.text.contains("shadow\" r"), "{}", generated.text);
}

#[test]
fn glob_threshold_controls_directory_globs() {
    let dir = tempdir();
    let globbed = |text: &str| -> Vec<String> {
        file_rules(text)
            .into_iter()
            .filter(|l| l.contains("dir-glob"))
            .map(str::to_owned)
            .collect()
    };
    // Default 20: 24 pages read, 20 uploads created; the 3 stylesheets and the file with
    // another access stay as they are.
    let default = generate(dir.path(), "apparmor-glob", &[], "default.profile");
    assert_eq!(
        file_rules(&default.text),
        [
            "  \"/srv/www/small/a.css\" r,",
            "  \"/srv/www/small/b.css\" r,",
            "  \"/srv/www/small/c.css\" r,",
            "  \"/srv/www/static/upload.bin\" rw,",
            "  \"/srv/www/static/*\" r,  # leastpriv: dir-glob (24 paths)",
            "  owner \"/srv/www/uploads/*\" w,  # leastpriv: dir-glob (20 paths)",
            "  \"/usr/sbin/httpd\" ix,",
        ]
    );
    let explicit = generate(
        dir.path(),
        "apparmor-glob",
        &["--glob-threshold", "20"],
        "20.profile",
    );
    assert_eq!(explicit.text, default.text);
    let t21 = generate(
        dir.path(),
        "apparmor-glob",
        &["--glob-threshold", "21"],
        "21.profile",
    );
    assert_eq!(
        globbed(&t21.text),
        ["  \"/srv/www/static/*\" r,  # leastpriv: dir-glob (24 paths)"]
    );
    assert_eq!(
        file_rules(&t21.text)
            .iter()
            .filter(|l| l.starts_with("  owner \"/srv/www/uploads/upload-"))
            .count(),
        20
    );
    for off in ["0", "25"] {
        let none = generate(
            dir.path(),
            "apparmor-glob",
            &["--glob-threshold", off],
            &format!("{off}.profile"),
        );
        assert!(globbed(&none.text).is_empty(), "{}", none.text);
        assert_eq!(file_rules(&none.text).len(), 49);
        assert_parses(&none.path);
    }
    for generated in [&default, &t21] {
        assert_parses(&generated.path);
    }
}

#[test]
fn complain_mode_and_name() {
    let dir = tempdir();
    let enforce = generate(dir.path(), "apparmor-basic", &[], "enforce.profile");
    let complain = generate(
        dir.path(),
        "apparmor-basic",
        &["--mode", "complain", "--name", "web"],
        "complain.profile",
    );
    assert!(complain
        .text
        .contains("\nprofile web \"/usr/local/bin/webapp\" flags=(complain) {\n"));
    assert!(!enforce.text.contains("flags="));
    assert_eq!(
        complain
            .text
            .replace(" web \"", " webapp \"")
            .replace(" flags=(complain)", ""),
        enforce.text
    );
    assert_parses(&complain.path);

    // A name that would need quoting is refused, not rewritten.
    let mut cmd = leastpriv();
    cmd.args(["generate", "apparmor"])
        .arg(fixture("apparmor-basic"))
        .args(["--name", "web {x}"]);
    let output = run(cmd);
    // Bad input: exit status 2, as for any unusable recording or argument.
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("profile name \"web {x}\" is not usable"),
        "{}",
        describe(&output)
    );
}

#[test]
fn the_same_recording_gives_the_same_bytes() {
    let dir = tempdir();
    for fixture_name in ["apparmor-basic", "apparmor-hostile", "apparmor-glob"] {
        let first = generate(dir.path(), fixture_name, &[], "1.profile");
        let second = generate(dir.path(), fixture_name, &[], "2.profile");
        assert_eq!(first.text, second.text, "{fixture_name}");
        // Standard output carries the same bytes as -o.
        let mut cmd = leastpriv();
        cmd.args(["generate", "apparmor"])
            .arg(fixture(fixture_name));
        let output = run(cmd);
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(output.stdout, first.text.as_bytes(), "{fixture_name}");
    }
}

#[test]
fn a_recording_without_files_is_refused() {
    let mut cmd = leastpriv();
    cmd.args(["generate", "apparmor"]).arg(fixture("ls"));
    let output = run(cmd);
    // Bad input: exit status 2, as for any unusable recording or argument.
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot derive an AppArmor profile from")
            && stderr.contains("holds no file accesses")
            && stderr.contains("before file recording existed"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
