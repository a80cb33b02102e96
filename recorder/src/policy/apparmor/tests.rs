//! Tests of the AppArmor decision: rules from recordings, generalisation, abstractions.

use super::generalise::temp_name_random_part;
use super::*;
use serde_json::json;

fn file(path: &str, access: &[Access]) -> FileAccess {
    serde_json::from_value(json!({
        "path": path,
        "access": access,
        "by": ["/usr/bin/app"],
    }))
    .unwrap()
}

/// A recording of `app` (executed as /usr/bin/app) with these files.
fn recording(files: Option<Vec<FileAccess>>) -> Recording {
    let mut r: Recording = serde_json::from_value(json!({
        "format": crate::recording::FORMAT,
        "version": crate::recording::VERSION,
        "tool": {"name": "leastpriv", "version": "0"},
        "host": {"kernel": "6.18", "arch": "x86_64"},
        "target": {"command": ["app"]},
        "started_at": "",
        "finished_at": "",
        "complete": true,
        "syscalls": {},
        "executables": [{"path": "/usr/bin/app", "execs": 1}],
        "sockets": [],
        "capabilities": [],
        "lost": {"exec_events": 0, "syscall_numbers": 0},
    }))
    .unwrap();
    r.files = files;
    r
}

/// The file rules, without `/usr/bin/app ix` (the executed program, in every test).
fn rules(policy: &AppArmorPolicy) -> Vec<(Pattern, bool, Perms)> {
    policy
        .files
        .iter()
        .filter(|(k, _)| k.pattern != p("/usr/bin/app"))
        .map(|(k, r)| (k.pattern.clone(), k.owner, r.perms))
        .collect()
}

fn p(s: &str) -> Pattern {
    Pattern::literal(s.as_bytes())
}

#[test]
fn patterns_order_compare_and_split_as_their_tokens_do() {
    let byte = |b: u8| Token::Byte(b);
    let alphabet = [
        byte(0),
        byte(1),
        byte(5),
        byte(b'/'),
        byte(b'a'),
        byte(0xfe),
        byte(0xff),
        Token::Var(Var::Home),
        Token::Var(Var::Pid),
        Token::Var(Var::Tid),
        Token::AnyChar,
        Token::AnyRun,
    ];
    // Every sequence of up to two tokens, and some longer ones.
    let mut sequences: Vec<Vec<Token>> = vec![vec![]];
    for &a in &alphabet {
        sequences.push(vec![a]);
        for &b in &alphabet {
            sequences.push(vec![a, b]);
            sequences.push(vec![byte(b'/'), a, byte(b'/'), b]);
        }
    }
    for x in &sequences {
        let px: Pattern = x.iter().copied().collect();
        assert_eq!(px.tokens().collect::<Vec<_>>(), *x);
        assert_eq!(px.is_dir(), x.last() == Some(&byte(b'/')), "{x:?}");
        let (dir, name) = px.split_last();
        let cut = x
            .iter()
            .rposition(|&t| t == byte(b'/'))
            .map_or(0, |i| i + 1);
        assert_eq!(
            (
                Token::decode_all(dir).collect::<Vec<_>>(),
                Token::decode_all(name).collect::<Vec<_>>()
            ),
            (x[..cut].to_vec(), x[cut..].to_vec()),
            "{x:?}"
        );
        for y in &sequences {
            let py: Pattern = y.iter().copied().collect();
            assert_eq!(px.cmp(&py), x.cmp(y), "{x:?} against {y:?}");
        }
    }
}

#[test]
fn a_recording_without_files_is_an_error() {
    let err = decide(&recording(None), &AppArmorOptions::default()).unwrap_err();
    assert!(matches!(err, AppArmorPolicyError::FilesNotRecorded));
    assert!(
        err.to_string().contains("before file recording existed"),
        "{err}"
    );
}

#[test]
fn accesses_become_the_fewest_permissions() {
    let perms = |a: &[Access]| perms_for(Accesses::of(a));
    assert_eq!(perms(&[Access::Read]), Perms::parse("r"));
    assert_eq!(perms(&[Access::Append]), Perms::parse("a"));
    assert_eq!(perms(&[Access::Append, Access::Create]), Perms::parse("w"));
    assert_eq!(
        perms(&[Access::Read, Access::Write, Access::Lock]),
        Perms::parse("rwk")
    );
    assert_eq!(
        perms(&[Access::Exec, Access::MmapExec]),
        Perms::parse("mix")
    );
    assert_eq!(perms(&[Access::RenameFrom]), Perms::parse("rw"));
    assert_eq!(perms(&[Access::Link]), Perms::parse("l"));
    assert_eq!(perms(&[Access::Chmod]), Perms::parse("w"));
}

#[test]
fn base_covers_the_loader_and_libraries_and_is_not_repeated() {
    let rec = recording(Some(vec![
        file("/etc/ld.so.cache", &[Access::Read, Access::MmapExec]),
        file(
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            &[Access::Read, Access::MmapExec],
        ),
        file("/dev/null", &[Access::Read, Access::Write]),
        file("/proc/4242/status", &[Access::Read]),
        file("/etc/app.conf", &[Access::Read]),
    ]));
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(
        rules(&policy),
        [(p("/etc/app.conf"), false, Perms::parse("r"))]
    );
    assert_eq!(
        policy.abstractions.keys().copied().collect::<Vec<_>>(),
        ["base"]
    );
    assert_eq!(policy.abstractions["base"].covered, 4);
    assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
    assert_eq!(policy.name, "app");
}

#[test]
fn nameservice_only_when_nss_is_in_use() {
    let passwd = file("/etc/passwd", &[Access::Read]);
    let policy = decide(
        &recording(Some(vec![passwd.clone()])),
        &AppArmorOptions::default(),
    )
    .unwrap();
    assert!(!policy.abstractions.contains_key("nameservice"));
    assert_eq!(
        rules(&policy),
        [(p("/etc/passwd"), false, Perms::parse("r"))]
    );
    let policy = decide(
        &recording(Some(vec![
            passwd,
            file("/etc/nsswitch.conf", &[Access::Read]),
        ])),
        &AppArmorOptions::default(),
    )
    .unwrap();
    assert_eq!(policy.abstractions["nameservice"].covered, 2);
    assert!(rules(&policy).is_empty());
}

#[test]
fn partial_coverage_keeps_what_the_abstraction_lacks() {
    let policy = decide(
        &recording(Some(vec![file(
            "/dev/urandom",
            &[Access::Read, Access::Write],
        )])),
        &AppArmorOptions::default(),
    )
    .unwrap();
    assert_eq!(
        rules(&policy),
        [(p("/dev/urandom"), false, Perms::parse("w"))]
    );
}

#[test]
fn generalisation_rules() {
    let made = BTreeSet::from([
        &b"/tmp/tmpab12CD"[..],
        b"/tmp/dir.Xy12zw",
        b"/tmp/ab12cd/work/made.txt",
    ]);
    let notes = std::cell::RefCell::new(BTreeSet::new());
    let gen = |path: &str, perms: &str| {
        let (pattern, rules) = generalise(
            path.as_bytes(),
            Perms::parse(perms),
            &made,
            &mut notes.borrow_mut(),
        );
        let text: String = pattern
            .tokens()
            .map(|t| match t {
                Token::Byte(b) => char::from(b).to_string(),
                Token::Var(v) => format!("@{{{}}}", v.name()),
                Token::AnyChar => "?".into(),
                Token::AnyRun => "*".into(),
            })
            .collect();
        (
            text,
            rules.iter().map(Generalisation::name).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        gen("/proc/1234/stat", "r"),
        ("/proc/@{pid}/stat".into(), vec!["proc-pid"])
    );
    assert_eq!(
        gen("/proc/1234/task/1240/comm", "r"),
        ("/proc/@{pid}/task/@{tid}/comm".into(), vec!["proc-pid"])
    );
    assert_eq!(
        gen("/proc/self/status", "r"),
        ("/proc/self/status".into(), vec![])
    );
    assert_eq!(
        gen("/proc/0123/status", "r"),
        ("/proc/0123/status".into(), vec![])
    );
    assert_eq!(
        gen("/home/alice/.app/x", "r"),
        ("@{HOME}/.app/x".into(), vec!["home"])
    );
    assert_eq!(
        gen("/root/.app/x", "r"),
        ("@{HOME}/.app/x".into(), vec!["home"])
    );
    assert_eq!(gen("/home/alice/", "r"), ("@{HOME}/".into(), vec!["home"]));
    assert_eq!(
        gen("/tmp/tmpab12CD", "rw"),
        ("/tmp/tmp??????".into(), vec!["temp-name"])
    );
    // Not made by the workload: literal.
    assert_eq!(
        gen("/tmp/tmpzz99ZZ", "r"),
        ("/tmp/tmpzz99ZZ".into(), vec![])
    );
    assert_eq!(
        gen("/tmp/dir.Xy12zw/out.txt", "w"),
        ("/tmp/dir.??????/out.txt".into(), vec!["temp-name"])
    );
    // A random-looking directory the workload only made something in (a checkout in
    // /tmp/ab12cd): literal, or the rule would allow every directory of that shape.
    assert_eq!(
        gen("/tmp/ab12cd/work/made.txt", "w"),
        ("/tmp/ab12cd/work/made.txt".into(), vec![])
    );
    assert_eq!(
        gen("/opt/app/lib/libfoo.so.1.2.3", "mr"),
        ("/opt/app/lib/libfoo.so*".into(), vec!["library-version"])
    );
    // A library the workload writes keeps its exact name.
    assert_eq!(
        gen("/opt/app/lib/libfoo.so.1", "w"),
        ("/opt/app/lib/libfoo.so.1".into(), vec![])
    );
    assert_eq!(gen("/", "r"), ("/".into(), vec![]));
    assert!(notes.borrow().is_empty());
    assert_eq!(gen("/tmp/a\0b", "r"), ("/tmp/a?b".into(), vec![]));
    assert_eq!(notes.borrow().len(), 1);
}

#[test]
fn temporary_names() {
    let t = |s: &str| temp_name_random_part(s.as_bytes()).map(|r| (r.start, r.end));
    assert_eq!(t("tmpa1b2c3"), Some((3, 9)));
    assert_eq!(t("tmp.AbCdEfGhIj"), Some((4, 14)));
    assert_eq!(t("tmp_k2j3h4g5.json"), Some((4, 12)));
    assert_eq!(t(".out.txt.Ab12Cd"), Some((9, 15)));
    assert_eq!(t("sedAb12Cd"), Some((3, 9)));
    assert_eq!(t("5vxlull0"), Some((0, 8)));
    assert_eq!(t(".goutputstream-Q2X7KZ"), Some((15, 21)));
    assert_eq!(t("passwd"), None);
    assert_eq!(t("config.yaml"), None);
    assert_eq!(t("output-final"), None);
    assert_eq!(t(".#notes.txt"), None);
    assert_eq!(t("libfoo.so.1.2.3"), None);
}

#[test]
fn owner_for_created_files_and_directories_from_descendants() {
    let rec = recording(Some(vec![
        file("/srv/data", &[Access::Read]),
        file("/srv/data/in", &[Access::Read]),
        file("/srv/out", &[Access::Create, Access::Write]),
        file("/srv/chowned", &[Access::Create, Access::Chown]),
        file("/srv/newdir", &[Access::Mkdir]),
    ]));
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(
        rules(&policy),
        [
            (p("/srv/chowned"), false, Perms::parse("w")),
            (p("/srv/data/"), false, Perms::parse("r")),
            (p("/srv/data/in"), false, Perms::parse("r")),
            (p("/srv/newdir/"), true, Perms::parse("w")),
            (p("/srv/out"), true, Perms::parse("w")),
        ]
    );
}

#[test]
fn many_siblings_with_the_same_access_become_a_directory_glob() {
    let mut files: Vec<FileAccess> = (0..5)
        .map(|i| file(&format!("/srv/www/page{i}.html"), &[Access::Read]))
        .collect();
    files.push(file("/srv/www/upload", &[Access::Read, Access::Write]));
    let rec = recording(Some(files));
    let options = |n| AppArmorOptions {
        glob_threshold: n,
        ..AppArmorOptions::default()
    };
    let policy = decide(&rec, &options(5)).unwrap();
    let key = FileKey {
        pattern: p("/srv/www/").tokens().chain([Token::AnyRun]).collect(),
        owner: false,
    };
    assert_eq!(rules(&policy).len(), 2);
    assert_eq!(policy.files[&key].paths, 5);
    assert_eq!(policy.files[&key].perms, Perms::parse("r"));
    assert!(policy.files[&key]
        .generalised
        .contains(Generalisation::DirGlob));
    assert_eq!(rules(&decide(&rec, &options(6)).unwrap()).len(), 6);
    assert_eq!(rules(&decide(&rec, &options(0)).unwrap()).len(), 6);
}

#[test]
fn nul_becomes_one_any_char_and_other_bytes_stay_exact() {
    let made = BTreeSet::new();
    let mut notes = BTreeSet::new();
    let path = b"/srv/a\0b\0\0/\xffc\xff";
    let (pattern, rules) = generalise(path, Perms::parse("r"), &made, &mut notes);
    let byte = |b: u8| Token::Byte(b);
    let expected: Vec<Token> = b"/srv/a"
        .iter()
        .map(|&b| byte(b))
        .chain([Token::AnyChar, byte(b'b'), Token::AnyChar, Token::AnyChar])
        .chain([byte(b'/'), byte(0xff), byte(b'c'), byte(0xff)])
        .collect();
    assert_eq!(pattern.tokens().collect::<Vec<_>>(), expected);
    assert!(rules.is_empty());
    assert_eq!(
        notes.into_iter().collect::<Vec<_>>(),
        vec![Note::Inexact {
            path: path.to_vec()
        }]
    );
    let literal = Pattern::literal(b"/a\xff/b");
    assert_eq!(
        literal.tokens().collect::<Vec<_>>(),
        [b'/', b'a', 0xff, b'/', b'b'].map(byte)
    );
    assert_eq!(literal.split_last().1, b"b");
}

#[test]
fn a_directory_glob_counts_its_files_across_interleaved_accesses_and_subdirectories() {
    let mut files: Vec<FileAccess> = (0..10)
        .map(|i| {
            let access: &[Access] = if i % 2 == 0 {
                &[Access::Read]
            } else {
                &[Access::Read, Access::Write]
            };
            file(&format!("/srv/d/f{i:02}"), access)
        })
        .collect();
    files.push(file("/srv/d/m/x", &[Access::Read]));
    files.extend((0..3).map(|i| file(&format!("/srv/d/z{i}"), &[Access::Read])));
    let rec = recording(Some(files));
    let options = AppArmorOptions {
        glob_threshold: 6,
        ..AppArmorOptions::default()
    };
    let policy = decide(&rec, &options).unwrap();
    let glob = FileKey {
        pattern: p("/srv/d/").tokens().chain([Token::AnyRun]).collect(),
        owner: false,
    };
    // Eight read-only files (five before the subdirectory's, three after) are one glob; the
    // five written ones stay below the threshold, each a rule.
    assert_eq!(policy.files[&glob].paths, 8);
    assert_eq!(policy.files[&glob].perms, Perms::parse("r"));
    assert_eq!(rules(&policy).len(), 1 + 5 + 1);
    assert!(policy.files.keys().any(|k| k.pattern == p("/srv/d/m/x")));
}

#[test]
fn exact_bytes_come_from_path_hex() {
    let mut f = file("/tmp/a\u{fffd}", &[Access::Read]);
    f.path_hex = Some("2f746d702f61ff".into());
    assert_eq!(*exact_bytes(&f).unwrap(), *b"/tmp/a\xff");
    f.path_hex = Some("2f7".into());
    assert!(matches!(
        exact_bytes(&f),
        Err(AppArmorPolicyError::BadPathHex { .. })
    ));
    f.path_hex = Some("zz".into());
    assert!(exact_bytes(&f).is_err());
    f.path_hex = Some("+f".into());
    assert!(exact_bytes(&f).is_err());
}

#[test]
fn non_canonical_paths_are_noted_not_ruled() {
    assert!(is_canonical(b"/"));
    assert!(is_canonical(b"/a/..b/c.."));
    assert!(!is_canonical(b"/a/../b"));
    assert!(!is_canonical(b"/a//b"));
    assert!(!is_canonical(b"relative"));
    assert!(!is_canonical(b"/a/./b"));
    let policy = decide(
        &recording(Some(vec![file("/tmp/../etc/shadow", &[Access::Read])])),
        &AppArmorOptions::default(),
    )
    .unwrap();
    assert!(rules(&policy).is_empty());
    assert!(matches!(policy.notes.first(), Some(Note::NotAPath { .. })));
}

#[test]
fn names_are_checked_or_derived() {
    let rec = recording(Some(vec![]));
    let bad = AppArmorOptions {
        name: Some("a b{".into()),
        ..AppArmorOptions::default()
    };
    assert!(matches!(
        decide(&rec, &bad),
        Err(AppArmorPolicyError::InvalidName { .. })
    ));
    assert_eq!(default_name(Some(b"/tmp/x\ny {z}"), &rec.target), "x_y__z_");
    assert_eq!(
        default_name(None, &Target::Cgroup("/sys/fs/cgroup/a.service".into())),
        "a.service"
    );
    assert_eq!(default_name(Some(b"/tmp/.."), &rec.target), "leastpriv");
}

#[test]
fn sockets_and_capabilities() {
    let mut rec = recording(Some(vec![]));
    let socket = |family: &str, kind: &str| -> SocketUse {
        serde_json::from_value(json!({
            "family": family, "type": kind, "protocol": 0, "by": ["/usr/bin/app"],
        }))
        .unwrap()
    };
    rec.sockets = Some(vec![
        socket("AF_INET", "SOCK_STREAM"),
        socket("AF_UNIX", "SOCK_DGRAM"),
        socket("AF_INET", "SOCK_DCCP"),
        socket("99", "SOCK_STREAM"),
    ]);
    rec.capabilities = Some(vec![serde_json::from_value(json!({
        "capability": "CAP_NET_BIND_SERVICE", "number": 10, "audit": "audited",
        "granted": true, "count": 1, "via": [], "syscalls": [], "by": ["/usr/bin/app"],
    }))
    .unwrap()]);
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(
        policy.network.keys().collect::<Vec<_>>(),
        [&("inet", "stream"), &("unix", "dgram")]
    );
    assert_eq!(
        policy.capabilities.keys().collect::<Vec<_>>(),
        ["net_bind_service"]
    );
    assert_eq!(
        policy
            .notes
            .iter()
            .filter(|n| matches!(n, Note::Socket { .. }))
            .count(),
        2
    );
    rec.sockets = None;
    rec.capabilities = None;
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert!(policy.notes.contains(&Note::SocketsNotRecorded));
    assert!(policy.notes.contains(&Note::CapabilitiesNotRecorded));
}

#[test]
fn programs_executed_by_name_get_ix_too() {
    // A script: the kernel reports its interpreter as the executed file; the name it was
    // executed as is in the executables list, and that is what AppArmor checks.
    let mut rec = recording(Some(vec![
        file("/usr/bin/app", &[Access::Exec]),
        file("/usr/bin/bash", &[Access::Exec]),
        file("/opt/app/run.sh", &[Access::Read]),
    ]));
    rec.executables
        .push(serde_json::from_value(json!({"path": "/opt/app/run.sh", "execs": 2})).unwrap());
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(
        rules(&policy),
        [
            (p("/opt/app/run.sh"), false, Perms::parse("rix")),
            (p("/usr/bin/bash"), false, Perms::parse("ix")),
        ]
    );
}

#[test]
fn a_merged_recording_attaches_to_its_one_program() {
    let mut rec = recording(Some(vec![file("/usr/bin/app", &[Access::Exec])]));
    rec.target = Target::Merged(2);
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
    assert_eq!(policy.name, "app");
}

#[test]
fn the_attachment_is_the_resolved_executable() {
    let exe = |path: &str| file(path, &[Access::Exec]);
    // Same name as executed.
    let policy = decide(
        &recording(Some(vec![exe("/usr/bin/app"), exe("/usr/bin/true")])),
        &AppArmorOptions::default(),
    )
    .unwrap();
    assert_eq!(policy.attachment, Some(p("/usr/bin/app")));
    // Executed through a symlink: the one executed file no name matches.
    let mut rec = recording(Some(vec![exe("/usr/bin/app-1.2"), exe("/usr/bin/true")]));
    rec.executables
        .push(serde_json::from_value(json!({"path": "/usr/bin/true", "execs": 1})).unwrap());
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, Some(p("/usr/bin/app-1.2")));
    // Not UTF-8: the exact bytes of the executed file.
    let mut odd = exe("/usr/bin/a\u{fffd}");
    odd.path_hex = Some("2f7573722f62696e2f61ff".into());
    let mut rec = recording(Some(vec![odd]));
    rec.target = Target::Command(vec!["/usr/bin/a\u{fffd}".into()]);
    rec.executables[0].path = "/usr/bin/a\u{fffd}".into();
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, Some(Pattern::literal(b"/usr/bin/a\xff")));
    assert_eq!(policy.name, "a_");
    // A cgroup: none.
    rec.target = Target::Cgroup("/sys/fs/cgroup/web.service".into());
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, None);
    assert_eq!(policy.name, "web.service");
    assert!(matches!(
        policy.notes.first(),
        Some(Note::NoAttachment { .. })
    ));
}

/// The files of one run of a workload that commits to a fresh git repository and uses
/// Python's tempfile module, with the names that run chose: `obj` (a commit's 2+38 hex
/// digits), `probe` (tempfile's 8 of `[a-z0-9_]`), `tmpdir` (mkdtemp's), `inode`, `addr`.
fn run_files(obj: &str, probe: &str, tmpdir: &str, inode: &str, addr: &str) -> Vec<FileAccess> {
    use Access::*;
    let (fan, rest) = obj.split_at(2);
    let git = "/w/repo/.git";
    vec![
        file(&format!("{git}/objects/{fan}/"), &[Mkdir]),
        file(
            &format!("{git}/objects/{fan}/tmp_obj_{}", &probe[..6]),
            &[Create, Write, RenameFrom],
        ),
        file(&format!("{git}/objects/{fan}/{rest}"), &[RenameTo, Read]),
        file(&format!("{git}/config.lock"), &[Create, Write, RenameFrom]),
        file(&format!("{git}/config"), &[RenameTo, Read]),
        file(&format!("/tmp/{probe}"), &[Create, Write, Unlink]),
        file(&format!("/tmp/#{inode}"), &[Read, Write]),
        file(&format!("/tmp/{tmpdir}/"), &[Mkdir, Read, Rmdir]),
        file(&format!("/tmp/{tmpdir}/__pycache__/"), &[Mkdir, Rmdir]),
        file(
            &format!("/tmp/{tmpdir}/__pycache__/t.pyc.{addr}"),
            &[Create, Write, RenameFrom],
        ),
        file(
            &format!("/tmp/{tmpdir}/__pycache__/t.pyc"),
            &[RenameTo, Unlink],
        ),
        file("/w/report.txt", &[Create, Write]),
    ]
}

fn policy_of(files: Vec<FileAccess>) -> AppArmorPolicy {
    decide(&recording(Some(files)), &AppArmorOptions::default()).unwrap()
}

fn pattern_text(pattern: &Pattern) -> String {
    pattern
        .tokens()
        .map(|t| match t {
            Token::Byte(b) => char::from(b).to_string(),
            Token::Var(v) => format!("@{{{}}}", v.name()),
            Token::AnyChar => "?".into(),
            Token::AnyRun => "*".into(),
        })
        .collect()
}

#[test]
fn two_runs_give_the_same_rules_and_what_varies_is_named() {
    let one = policy_of(run_files(
        "e3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3",
        "k2_ab9zq",
        "pytest-nf4u6ksd",
        "10010720",
        "139703402479776",
    ));
    // All letters this time: Python's names need not look random.
    let two = policy_of(run_files(
        "07ffd1c2b3a4958677a6b5c4d3e2f1a0b9c8d7e6",
        "abcdefgh",
        "pytest-qwertyui",
        "99",
        "94211133001",
    ));
    assert_eq!(one.files, two.files);
    let rules: Vec<(String, Vec<&str>)> = one
        .files
        .iter()
        .map(|(k, r)| {
            let names = r.generalised.iter().map(Generalisation::name).collect();
            (pattern_text(&k.pattern), names)
        })
        .collect();
    let q = |n: usize| "?".repeat(n);
    let expect = [
        ("/tmp/#*".to_owned(), vec!["o-tmpfile"]),
        (format!("/tmp/{}", q(8)), vec!["temp-name"]),
        (format!("/tmp/pytest-{}/", q(8)), vec!["temp-name"]),
        (
            format!("/tmp/pytest-{}/__pycache__/", q(8)),
            vec!["temp-name"],
        ),
        (
            format!("/tmp/pytest-{}/__pycache__/t.pyc", q(8)),
            vec!["temp-name"],
        ),
        (
            format!("/tmp/pytest-{}/__pycache__/t.pyc.*", q(8)),
            vec!["temp-name"],
        ),
        ("/w/report.txt".to_owned(), vec![]),
        ("/w/repo/.git/config".to_owned(), vec![]),
        ("/w/repo/.git/config.lock".to_owned(), vec![]),
        (
            "/w/repo/.git/objects/??/".to_owned(),
            vec!["content-address"],
        ),
        (
            format!("/w/repo/.git/objects/??/{}", q(38)),
            vec!["content-address"],
        ),
        (
            format!("/w/repo/.git/objects/??/tmp_{}", q(10)),
            vec!["temp-name", "content-address"],
        ),
    ];
    let have: BTreeSet<(String, Vec<&str>)> = rules
        .into_iter()
        .filter(|(p, _)| p != "/usr/bin/app")
        .collect();
    let want: BTreeSet<(String, Vec<&str>)> = expect.into_iter().collect();
    assert_eq!(have, want);
}

#[test]
fn what_the_workload_did_not_make_stays_exact() {
    use Access::*;
    let policy = policy_of(vec![
        // Not made here: an existing repository's objects are read by their names.
        file("/w/repo/.git/objects/ab/", &[Read]),
        file(
            "/w/repo/.git/objects/ab/cdef0123456789abcdef0123456789abcdef01",
            &[Read],
        ),
        // Made but kept: a file of 8 letters is the workload's own name.
        file("/w/settings", &[Create, Write]),
        // Made and removed, but not a name Python makes (length 11): `__pycache__`.
        file("/w/__pycache__/", &[Mkdir, Rmdir]),
        // `#` and not only digits.
        file("/tmp/#notes", &[Read]),
        // A pid file made and removed: a word, not mkstemp's six characters.
        file("/w/service.pid", &[Create, Write, Unlink]),
    ]);
    for (key, rule) in &policy.files {
        assert!(
            rule.generalised.is_empty() && key.pattern.is_literal(),
            "{:?} was generalised",
            pattern_text(&key.pattern)
        );
    }
}

#[test]
fn run_varying_patterns_are_those_generation_makes() {
    let rec = recording(Some(run_files(
        "e3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3",
        "k2_ab9zq",
        "pytest-nf4u6ksd",
        "10010720",
        "139703402479776",
    )));
    let varying = run_varying_patterns(&rec);
    let text = |p: &str| varying.get(p.as_bytes()).map(pattern_text);
    assert_eq!(text("/tmp/#10010720").as_deref(), Some("/tmp/#*"));
    assert_eq!(text("/tmp/k2_ab9zq").as_deref(), Some("/tmp/????????"));
    assert_eq!(
        text("/w/repo/.git/objects/e3/").as_deref(),
        Some("/w/repo/.git/objects/??/")
    );
    assert_eq!(text("/w/report.txt"), None);
    assert_eq!(text("/w/repo/.git/config.lock"), None);
}

#[test]
fn a_symlinked_attachment_is_resolved_only_to_an_executed_file() {
    // Two links executed (`sh -c true`): the recording alone cannot pair names and files.
    let mut rec = recording(Some(vec![
        file("/usr/bin/dash", &[Access::Exec]),
        file("/usr/bin/true", &[Access::Exec]),
    ]));
    rec.target = Target::Command(vec!["/bin/sh".into()]);
    rec.executables[0].path = "/bin/sh".into();
    let mut second = rec.executables[0].clone();
    second.path = "/bin/true".into();
    rec.executables.push(second);
    let mut policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, Some(Pattern::literal(b"/bin/sh")));
    // Resolved to a file the recording does not show executed: ignored.
    assert!(!resolve_attachment(&mut policy, &rec, |_| Some(
        b"/usr/bin/bash".to_vec()
    )));
    assert!(resolve_attachment(&mut policy, &rec, |p| {
        (p == b"/bin/sh").then(|| b"/usr/bin/dash".to_vec())
    }));
    assert_eq!(policy.attachment, Some(Pattern::literal(b"/usr/bin/dash")));
}

#[test]
fn a_merge_of_runs_of_one_command_attaches_like_one_run() {
    let mut rec = recording(Some(vec![
        file("/usr/bin/app", &[Access::Exec]),
        file("/usr/bin/helper", &[Access::Exec]),
    ]));
    let mut helper = rec.executables[0].clone();
    helper.path = "/usr/bin/helper".into();
    rec.executables.push(helper);
    rec.target = Target::Merged(2);
    let run: crate::recording::RunInfo = serde_json::from_value(json!({
        "id": "1", "target": "/usr/bin/app --flag x", "host": "h",
        "started_at": "", "finished_at": "", "complete": true,
    }))
    .unwrap();
    rec.runs = vec![run.clone(), run.clone()];
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, Some(Pattern::literal(b"/usr/bin/app")));
    // Runs of different commands: no attachment.
    let mut other = run;
    other.target = "/usr/bin/helper".into();
    rec.runs[1] = other;
    let policy = decide(&rec, &AppArmorOptions::default()).unwrap();
    assert_eq!(policy.attachment, None);
}
