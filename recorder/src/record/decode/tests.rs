use super::*;

fn exec_event(tgid: u32, path: &[u8]) -> Vec<u8> {
    let mut event = ExecEvent {
        kind: EVENT_EXEC,
        tgid,
        path_len: path.len() as u32,
        _pad: 0,
        exe_inode: 0xffff_8880_1234_5678,
        path: [0; EXEC_PATH_MAX],
    };
    event.path[..path.len()].copy_from_slice(path);
    // SAFETY: ExecEvent is repr(C) plain data without implicit padding.
    unsafe { std::slice::from_raw_parts((&raw const event).cast::<u8>(), size_of::<ExecEvent>()) }
        .to_vec()
}

#[test]
fn decodes_an_exec() {
    let obs = decode(&exec_event(42, b"/usr/bin/ls")).unwrap();
    assert_eq!(
        obs,
        Observation::Exec {
            tgid: 42,
            exe_inode: 0xffff_8880_1234_5678,
            path: b"/usr/bin/ls".to_vec(),
            truncated: false
        }
    );
}

#[test]
fn keeps_non_utf8_bytes_and_stops_at_nul() {
    let mut bytes = exec_event(7, b"/tmp/\xff\xfe");
    // A length that overstates the string: the NUL wins.
    bytes[8..12].copy_from_slice(&100u32.to_ne_bytes());
    let Observation::Exec { path, .. } = decode(&bytes).unwrap() else {
        panic!("not an exec")
    };
    assert_eq!(path, b"/tmp/\xff\xfe");
}

fn file_event(flags: u32, components: &[u8], name: &[u8]) -> Vec<u8> {
    let mut event = FileEvent {
        kind: EVENT_FILE,
        access: 1,
        exe_inode: 7,
        flags,
        path_len: components.len() as u32,
        name_len: name.len() as u32,
        _pad: 0,
        data: [0; PATH_BUF + NAME_BUF],
    };
    event.data[..components.len()].copy_from_slice(components);
    event.data[PATH_BUF..PATH_BUF + name.len()].copy_from_slice(name);
    let used = if flags & file_flags::HAS_NAME != 0 {
        PATH_BUF + name.len()
    } else {
        components.len()
    };
    // SAFETY: FileEvent is repr(C) plain data without implicit padding.
    let all = unsafe {
        std::slice::from_raw_parts((&raw const event).cast::<u8>(), size_of::<FileEvent>())
    };
    all[..FILE_HEADER + used].to_vec()
}

#[test]
fn file_paths_come_out_absolute() {
    let obs = decode(&file_event(0, b"passwd/etc/", b"")).unwrap();
    assert_eq!(
        obs,
        Observation::File {
            access: 1,
            exe_inode: 7,
            path: b"/etc/passwd".to_vec()
        }
    );
    let obs = decode(&file_event(file_flags::HAS_NAME, b"tmp/", b"a/../b/./c\0")).unwrap();
    let Observation::File { path, .. } = obs else {
        panic!()
    };
    assert_eq!(path, b"/tmp/b/c");
    let obs = decode(&file_event(file_flags::HAS_NAME, b"tmp/", b"/etc/x\0")).unwrap();
    let Observation::File { path, .. } = obs else {
        panic!()
    };
    assert_eq!(path, b"/etc/x");
    assert_eq!(
        decode(&file_event(file_flags::TRUNCATED, b"x/", b"")).unwrap(),
        Observation::UnresolvedFile
    );
    let Observation::File { path, .. } =
        decode(&file_event(file_flags::DIRECTORY, b"etc/", b"")).unwrap()
    else {
        panic!()
    };
    assert_eq!(path, b"/etc/");
    let Observation::File { path, .. } = decode(&file_event(0, b"", b"")).unwrap() else {
        panic!()
    };
    assert_eq!(path, b"/");
}

#[test]
fn a_file_event_cannot_claim_more_than_it_carries() {
    let mut bytes = file_event(0, b"etc/", b"");
    bytes[20..24].copy_from_slice(&5000u32.to_ne_bytes());
    assert!(matches!(decode(&bytes), Err(DecodeError::WrongSize { .. })));
    assert!(matches!(
        decode(&file_event(file_flags::HAS_NAME, b"", b"x")[..40]),
        Err(DecodeError::WrongSize { .. })
    ));
}

#[test]
fn rejects_wrong_sizes_and_kinds() {
    assert_eq!(decode(&[1, 0]), Err(DecodeError::TooShort { len: 2 }));
    let short = &exec_event(1, b"/x")[..100];
    assert!(matches!(
        decode(short),
        Err(DecodeError::WrongSize { len: 100, .. })
    ));
    let mut unknown = exec_event(1, b"/x");
    unknown[0] = 99;
    assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind { kind: 99 }));
}

fn move_event(mover: u32, moved: u32, flags: u32, path: &[u8], path_len: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; size_of::<MoveEvent>()];
    let mut put = |offset: usize, value: u32| {
        bytes[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
    };
    put(std::mem::offset_of!(MoveEvent, kind), EVENT_MOVE);
    put(std::mem::offset_of!(MoveEvent, mover_tgid), mover);
    put(std::mem::offset_of!(MoveEvent, moved_tgid), moved);
    put(std::mem::offset_of!(MoveEvent, flags), flags);
    put(std::mem::offset_of!(MoveEvent, path_len), path_len);
    let at = std::mem::offset_of!(MoveEvent, path);
    bytes[at..at + path.len()].copy_from_slice(path);
    bytes
}

#[test]
fn move_events_decode_with_their_path() {
    let path = b"/libpod_parent/libpod-abc";
    let event = move_event(10, 11, move_flags::STOPPED, path, path.len() as u32);
    assert_eq!(
        decode(&event).unwrap(),
        Observation::Moved {
            mover_tgid: 10,
            moved_tgid: 11,
            stopped: true,
            moved_exe: 0,
            path: path.to_vec(),
            truncated: false,
        }
    );
    // A length past the buffer is held to it; the NUL ends the path first.
    let event = move_event(1, 1, 0, b"/a\0junk", 100_000);
    assert!(matches!(
        decode(&event).unwrap(),
        Observation::Moved { ref path, stopped: false, .. } if path == b"/a"
    ));
    assert!(decode(&event[..40]).is_err());
}

#[test]
fn decodes_a_port_and_refuses_a_short_one() {
    let event = recorder_common::PortEvent {
        kind: recorder_common::EVENT_PORT,
        op: recorder_common::port_op::CONNECT,
        family: 10,
        sock_type: 1,
        port: 8443,
        loopback: 1,
        exe_inode: 9,
    };
    // SAFETY: PortEvent is repr(C) plain data without implicit padding.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            (&raw const event).cast::<u8>(),
            size_of::<recorder_common::PortEvent>(),
        )
    }
    .to_vec();
    assert_eq!(
        decode(&bytes).unwrap(),
        Observation::Port {
            op: recorder_common::port_op::CONNECT,
            family: 10,
            sock_type: 1,
            port: 8443,
            loopback: true,
            exe_inode: 9,
        }
    );
    assert!(decode(&bytes[..bytes.len() - 1]).is_err());
}
