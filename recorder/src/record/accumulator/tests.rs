use super::*;

fn exec(exe_inode: u64, path: &str) -> Observation {
    Observation::Exec {
        tgid: 1,
        exe_inode,
        path: path.as_bytes().to_vec(),
        truncated: false,
    }
}

#[test]
fn attributes_syscalls_to_executed_paths() {
    let mut accumulator = Accumulator::default();
    accumulator.observe(exec(10, "/usr/bin/sh"));
    accumulator.observe(exec(20, "/usr/bin/ls"));
    accumulator.observe(exec(20, "/usr/bin/ls"));
    let by_exe = BTreeMap::from([
        (10, vec![(Abi::X86_64, 59)]),
        (20, vec![(Abi::X86_64, 0), (Abi::X86_64, 59)]),
        (99, vec![(Abi::X86_64, 59)]),
    ]);
    let makers = accumulator.makers(&by_exe);
    let execve: Vec<&str> = makers[&(Abi::X86_64, 59)]
        .iter()
        .map(ExePath::as_str)
        .collect();
    assert_eq!(
        execve,
        ["(started before recording)", "/usr/bin/ls", "/usr/bin/sh"]
    );
    assert_eq!(makers[&(Abi::X86_64, 0)].len(), 1);
    // Once the kernel reports the resolved program file, that is the maker's name.
    accumulator.observe(Observation::File {
        access: recorder_common::access::EXEC,
        exe_inode: 10,
        path: b"/usr/bin/dash".to_vec(),
    });
    assert_eq!(
        accumulator.makers(&by_exe)[&(Abi::X86_64, 59)]
            .iter()
            .filter(|p| p.contains("dash"))
            .count(),
        1
    );
    let exes = accumulator.executables();
    assert_eq!((exes[0].path.as_str(), exes[0].execs), ("/usr/bin/ls", 2));
}

fn read(exe_inode: u64, path: &[u8]) -> Observation {
    Observation::File {
        access: recorder_common::access::READ,
        exe_inode,
        path: path.to_vec(),
    }
}

#[test]
fn keeps_at_most_max_paths_and_counts_the_rest_by_directory() {
    let mut accumulator = Accumulator::with_max_paths(2);
    for path in ["/a/1", "/a/2", "/a/3", "/b/4", "/a/3"] {
        accumulator.observe(read(7, path.as_bytes()));
    }
    // A path already kept still gathers accesses and makers after the limit.
    accumulator.observe(read(8, b"/a/1"));
    let over = accumulator.over_limit().expect("over the limit");
    assert_eq!((over.max_paths, over.accesses), (2, 3));
    assert_eq!(
        over.directories,
        [("/a".to_owned(), 2), ("/b".to_owned(), 1)]
    );
    accumulator.observe(exec(7, "/bin/seven"));
    accumulator.observe(exec(8, "/bin/eight"));
    let files = accumulator.take_files();
    let kept: Vec<(&str, usize)> = files
        .iter()
        .map(|f| (f.path.as_str(), f.by.len()))
        .collect();
    assert_eq!(kept, [("/a/1", 2), ("/a/2", 1)]);
    assert!(
        accumulator.take_files().is_empty(),
        "the files were moved out"
    );
}

#[test]
fn names_a_bounded_number_of_directories_over_the_limit() {
    let mut accumulator = Accumulator::with_max_paths(1);
    accumulator.observe(read(1, b"/kept"));
    for i in 0..100 {
        accumulator.observe(read(1, format!("/d{i}/x").as_bytes()));
    }
    // A hostile name is data: not UTF-8, and no directory at all.
    accumulator.observe(read(1, b"\xff\x1b[2J"));
    let over = accumulator.over_limit().expect("over the limit");
    assert_eq!(over.accesses, 101);
    assert_eq!(over.directories.len(), MAX_DIRECTORIES_OVER_LIMIT);
    assert!(over.directories.iter().all(|(_, n)| *n == 1));
    assert!(Accumulator::default().over_limit().is_none());
}

#[test]
fn keeps_paths_that_are_not_utf8_with_their_bytes() {
    let mut accumulator = Accumulator::default();
    accumulator.observe(read(1, b"/tmp/\xff"));
    let files = accumulator.take_files();
    assert_eq!(files[0].path_hex.as_deref(), Some("2f746d702fff"));
    assert_eq!(files[0].path, "/tmp/\u{fffd}");
}
