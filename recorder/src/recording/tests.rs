use super::*;

fn sample() -> Recording {
    let mut counts = BTreeMap::new();
    counts.insert((Abi::X86_64, 0), 3);
    counts.insert((Abi::X86_64, 9999), 1);
    counts.insert((Abi::Ia32, 4), 2);
    Recording {
        format: FORMAT.into(),
        version: VERSION,
        tool: Tool::current(),
        host: Host {
            kernel: "6.18.0".into(),
            arch: "x86_64".into(),
        },
        target: Target::Command(vec!["ls".into(), "-l".into()]),
        started_at: "2026-11-25T19:00:00Z".into(),
        finished_at: "2026-11-25T19:00:01Z".into(),
        complete: true,
        run_id: None,
        runs: vec![],
        incomplete_reason: None,
        exit_status: Some(0),
        syscalls: syscall_entries(&counts, &BTreeMap::new()),
        executables: vec![Executable {
            path: "/usr/bin/ls".into(),
            execs: 1,
            runs: vec![],
        }],
        files: None,
        sockets: None,
        ports: None,
        capabilities: None,
        arguments: None,
        user: None,
        escalating_programs: vec![],
        left_running: vec![],
        started_late: false,
        moved_out: vec![],
        containers: vec![],
        lost: Lost::default(),
    }
}

#[test]
fn round_trips_and_is_deterministic() {
    let recording = sample();
    let text = recording.to_json();
    assert_eq!(text, sample().to_json());
    let back = Recording::from_json(Path::new("x.json"), &text).unwrap();
    assert_eq!(back, recording);
    // Unknown numbers are kept, without a name.
    let unknown = &back.syscalls[&Abi::X86_64][1];
    assert_eq!((unknown.nr, unknown.name.as_deref()), (9999, None));
    assert_eq!(back.syscalls[&Abi::Ia32][0].name.as_deref(), Some("write"));
    assert!(!text.contains("x32"), "an unused ABI is not listed");
}

#[test]
fn rejects_other_files_with_a_clear_error() {
    let path = Path::new("some.json");
    let err = Recording::from_json(path, "{\"format\": \"other\"}").unwrap_err();
    assert!(
        err.to_string()
            .contains("some.json is not a leastpriv recording"),
        "{err}"
    );
    let err = Recording::from_json(
        path,
        "{\"format\": \"leastpriv-recording\", \"version\": 7}",
    )
    .unwrap_err();
    assert!(err.to_string().contains("version 7"), "{err}");
    // A whole recording that parses is still held to its header.
    let text = sample().to_json();
    let newer = text.replacen("\"version\": 1", "\"version\": 2", 1);
    assert_ne!(newer, text);
    let err = Recording::from_json(path, &newer).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
    let other = text.replacen("leastpriv-recording", "other-recording", 1);
    let err = Recording::from_json(path, &other).unwrap_err();
    assert!(
        err.to_string().contains("not a leastpriv recording"),
        "{err}"
    );
    let err = Recording::from_json(path, "{not json").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("some.json is not a valid recording"),
        "{err}"
    );
}

#[test]
fn writes_atomically_without_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.json");
    sample().write(&path).unwrap();
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("rec.json")]);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(Recording::read(&path).unwrap(), sample());
    let err = sample()
        .write(&dir.path().join("missing/rec.json"))
        .unwrap_err();
    assert!(err.to_string().contains("missing/rec.json"), "{err}");
}

#[test]
fn access_sets_read_any_order_and_write_sorted() {
    let set: Accesses = serde_json::from_str(r#"["write", "read", "write", "exec"]"#).unwrap();
    assert!(set.contains(Access::Read) && set.contains(Access::Exec));
    assert!(!set.contains(Access::Append));
    assert_eq!(
        serde_json::to_string(&set).unwrap(),
        r#"["read","write","exec"]"#
    );
    let err = serde_json::from_str::<Accesses>(r#"["read", "fly"]"#).unwrap_err();
    assert!(err.to_string().contains("fly"), "{err}");
    assert!(serde_json::from_str::<Accesses>("[]").unwrap().is_empty());
}

#[test]
fn a_large_recording_is_mapped_and_read_the_same_as_a_small_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.json");
    let mut recording = sample();
    let files = (0..60_000)
        .map(|i| FileAccess {
            path: format!("/srv/data/item-{i:06}"),
            path_hex: None,
            access: Accesses::of(&[Access::Read]),
            by: ["/usr/bin/app".into()].into(),
            runs: vec![],
        })
        .collect();
    recording.files = Some(files);
    recording.write(&path).unwrap();
    assert!(fs::metadata(&path).unwrap().len() >= RecordingText::SMALLEST_MAPPED);
    let text = RecordingText::open(&path).unwrap();
    assert!(matches!(text, RecordingText::Mapped { .. }));
    assert!(!text.changed().unwrap());
    assert_eq!(Recording::read(&path).unwrap(), recording);

    // Changed in place while mapped: noticed.
    let mut file = fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"\n").unwrap();
    assert!(text.changed().unwrap());

    // Replaced by a rename, as recordings are written: the mapped text is the old one.
    drop(text);
    let text = RecordingText::open(&path).unwrap();
    let before = text.as_str().unwrap().to_owned();
    sample().write(&path).unwrap();
    assert_eq!(text.as_str().unwrap(), before);
    assert!(!text.changed().unwrap());
}

#[test]
fn a_recording_stores_each_executable_path_once() {
    let mut recording = sample();
    let file = |path: &str| FileAccess {
        path: path.into(),
        path_hex: None,
        access: Accesses::of(&[Access::Read]),
        by: ["/usr/bin/app".into()].into(),
        runs: vec![],
    };
    recording.files = Some(vec![file("/etc/a"), file("/etc/b")]);
    let read = Recording::from_json(Path::new("rec.json"), &recording.to_json()).unwrap();
    assert_eq!(read, recording);
    let files = read.files.unwrap();
    assert!(std::sync::Arc::ptr_eq(&files[0].by[0].0, &files[1].by[0].0));
    // Outside a recording being read, nothing is held on to.
    let again: ExePath = serde_json::from_str(r#""/usr/bin/app""#).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&again.0, &files[0].by[0].0));
}

#[test]
fn files_makers_can_be_left_out_but_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.json");
    let mut recording = sample();
    recording.files = Some(vec![FileAccess {
        path: "/etc/a".into(),
        path_hex: None,
        access: Accesses::of(&[Access::Read]),
        by: ["/usr/bin/app".into()].into(),
        runs: vec![],
    }]);
    recording.sockets = Some(vec![SocketUse {
        family: "AF_INET".into(),
        kind: "SOCK_STREAM".into(),
        protocol: 6,
        by: ["/usr/bin/app".into()].into(),
        runs: vec![],
    }]);
    recording.write(&path).unwrap();
    let lean = Recording::read_without_file_makers(&path).unwrap();
    let mut expected = recording.clone();
    expected.files.as_mut().unwrap()[0].by.clear();
    assert_eq!(lean, expected, "only files' makers are left out");
    // The next read on this thread keeps them again.
    assert_eq!(Recording::read(&path).unwrap(), recording);

    let text = recording.to_json();
    let bad = text.replacen("\"/usr/bin/app\"", "7", 1);
    assert_ne!(bad, text);
    fs::write(&path, bad).unwrap();
    let err = Recording::read_without_file_makers(&path).unwrap_err();
    assert!(
        format!("{err:?}").contains("an executable's path"),
        "{err:?}"
    );
}

#[test]
fn ports_merge_and_stay_unknown_when_a_run_lacks_them() {
    let port = |n: u16, by: &str| PortUse {
        protocol: "tcp".into(),
        op: PortOp::Bind,
        family: "AF_INET".into(),
        port: n,
        loopback: false,
        by: [ExePath::from(by)].into(),
        runs: vec![],
    };
    let mut a = sample();
    a.ports = Some(vec![port(80, "/a")]);
    let mut b = sample();
    b.ports = Some(vec![port(80, "/b"), port(443, "/b")]);
    let merged = merge::merge(&[(a.clone(), "a".into()), (b.clone(), "b".into())]).unwrap();
    let ports = merged.ports.unwrap();
    assert_eq!(ports.len(), 2);
    assert_eq!(ports[0].port, 80);
    assert_eq!(ports[0].by.len(), 2);
    // A recording from before ports were recorded: reads, and makes the merge's unknown.
    let mut old = sample();
    old.ports = None;
    let text = old.to_json();
    assert!(!text.contains("\"ports\""));
    assert_eq!(
        Recording::from_json(Path::new("old.json"), &text)
            .unwrap()
            .ports,
        None
    );
    let merged = merge::merge(&[(a, "a".into()), (old, "old".into())]).unwrap();
    assert_eq!(merged.ports, None);
}
