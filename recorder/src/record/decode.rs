//! Ring buffer bytes → [`Observation`]. Pure and unit-tested: the bytes come from the kernel
//! but are checked as if they came from anywhere, size first, before any field is read.

use recorder_common::{
    file_flags, move_flags, ExecEvent, FileEvent, MoveEvent, PortEvent, SocketEvent, EVENT_EXEC,
    EVENT_FILE, EVENT_MOVE, EVENT_PORT, EVENT_SOCKET, EXEC_PATH_MAX, MOVE_PATH_MAX, NAME_BUF,
    PATH_BUF,
};

use crate::record::observation::Observation;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("event of {len} bytes is too short for its header")]
    TooShort { len: usize },
    #[error("{kind} event has {len} bytes, expected {expected}")]
    WrongSize {
        kind: &'static str,
        len: usize,
        expected: usize,
    },
    #[error("unknown event kind {kind}")]
    UnknownKind { kind: u32 },
}

/// Decodes one ring buffer record.
pub fn decode(bytes: &[u8]) -> Result<Observation, DecodeError> {
    let kind = read_u32(bytes, 0).ok_or(DecodeError::TooShort { len: bytes.len() })?;
    match kind {
        EVENT_EXEC => decode_exec(bytes),
        EVENT_FILE => decode_file(bytes),
        EVENT_SOCKET => decode_socket(bytes),
        EVENT_MOVE => decode_move(bytes),
        EVENT_PORT => decode_port(bytes),
        kind => Err(DecodeError::UnknownKind { kind }),
    }
}

/// Checks that an event of a fixed-size kind has exactly the size of its wire type `T`.
fn exact_size<T>(bytes: &[u8], kind: &'static str) -> Result<(), DecodeError> {
    let expected = size_of::<T>();
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(DecodeError::WrongSize {
            kind,
            len: bytes.len(),
            expected,
        })
    }
}

/// A string field of `max` bytes at `offset`, cut at its length (read at `len_offset`) or
/// its NUL, whichever comes first: the kernel copies up to the NUL, so the NUL is trusted
/// over the length when they disagree. Also whether the kernel's string filled the field.
fn string_field(bytes: &[u8], offset: usize, max: usize, len_offset: usize) -> (Vec<u8>, bool) {
    let claimed = read_u32(bytes, len_offset).unwrap_or_default() as usize;
    let field = &bytes[offset..offset + max];
    let len = claimed.min(max);
    let len = field[..len].iter().position(|&b| b == 0).unwrap_or(len);
    (field[..len].to_vec(), claimed >= max - 1)
}

fn decode_move(bytes: &[u8]) -> Result<Observation, DecodeError> {
    exact_size::<MoveEvent>(bytes, "move")?;
    let field = |offset: usize| read_u32(bytes, offset).unwrap_or_default();
    let (path, truncated) = string_field(
        bytes,
        std::mem::offset_of!(MoveEvent, path),
        MOVE_PATH_MAX,
        std::mem::offset_of!(MoveEvent, path_len),
    );
    Ok(Observation::Moved {
        mover_tgid: field(std::mem::offset_of!(MoveEvent, mover_tgid)),
        moved_tgid: field(std::mem::offset_of!(MoveEvent, moved_tgid)),
        stopped: field(std::mem::offset_of!(MoveEvent, flags)) & move_flags::STOPPED != 0,
        moved_exe: read_u64(bytes, std::mem::offset_of!(MoveEvent, moved_exe_inode))
            .unwrap_or_default(),
        path,
        truncated,
    })
}

fn decode_exec(bytes: &[u8]) -> Result<Observation, DecodeError> {
    exact_size::<ExecEvent>(bytes, "exec")?;
    let tgid = read_u32(bytes, std::mem::offset_of!(ExecEvent, tgid)).unwrap_or_default();
    let (path, truncated) = string_field(
        bytes,
        std::mem::offset_of!(ExecEvent, path),
        EXEC_PATH_MAX,
        std::mem::offset_of!(ExecEvent, path_len),
    );
    let exe_inode = read_u64(bytes, std::mem::offset_of!(ExecEvent, exe_inode)).unwrap_or_default();
    Ok(Observation::Exec {
        tgid,
        exe_inode,
        path,
        truncated,
    })
}

/// Bytes before `FileEvent::data`.
const FILE_HEADER: usize = std::mem::offset_of!(FileEvent, data);

fn decode_file(bytes: &[u8]) -> Result<Observation, DecodeError> {
    let short = || DecodeError::WrongSize {
        kind: "file",
        len: bytes.len(),
        expected: FILE_HEADER,
    };
    if bytes.len() < FILE_HEADER {
        return Err(short());
    }
    let field = |name_offset: usize| read_u32(bytes, name_offset).unwrap_or_default();
    let access = field(std::mem::offset_of!(FileEvent, access));
    let flags = field(std::mem::offset_of!(FileEvent, flags));
    let path_len = field(std::mem::offset_of!(FileEvent, path_len)) as usize;
    let name_len = field(std::mem::offset_of!(FileEvent, name_len)) as usize;
    let exe_inode = read_u64(bytes, std::mem::offset_of!(FileEvent, exe_inode)).unwrap_or_default();
    let data = &bytes[FILE_HEADER..];
    if path_len > PATH_BUF.min(data.len()) {
        return Err(DecodeError::WrongSize {
            kind: "file path",
            len: bytes.len(),
            expected: FILE_HEADER + path_len,
        });
    }
    if flags & file_flags::TRUNCATED != 0 {
        return Ok(Observation::UnresolvedFile);
    }
    let base = absolute_from_components(&data[..path_len]);
    let path = if flags & file_flags::HAS_NAME != 0 {
        let end = PATH_BUF + name_len.min(NAME_BUF);
        let name = data.get(PATH_BUF..end).ok_or(DecodeError::WrongSize {
            kind: "file name",
            len: bytes.len(),
            expected: FILE_HEADER + end,
        })?;
        // The kernel copies the terminating NUL too.
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        if flags & file_flags::NO_BASE != 0 && !name.starts_with(b"/") {
            return Ok(Observation::UnresolvedFile);
        }
        join_lexically(&base, name)
    } else {
        base
    };
    let mut path = path;
    // Directories end in '/', as AppArmor matches them; mkdir and rmdir name directories.
    let is_dir = flags & file_flags::DIRECTORY != 0
        || access & (recorder_common::access::MKDIR | recorder_common::access::RMDIR) != 0;
    if is_dir && !path.ends_with(b"/") {
        path.push(b'/');
    }
    Ok(Observation::File {
        access,
        exe_inode,
        path,
    })
}

fn decode_socket(bytes: &[u8]) -> Result<Observation, DecodeError> {
    exact_size::<SocketEvent>(bytes, "socket")?;
    let field = |offset: usize| read_u32(bytes, offset).unwrap_or_default();
    Ok(Observation::Socket {
        family: field(std::mem::offset_of!(SocketEvent, family)),
        sock_type: field(std::mem::offset_of!(SocketEvent, sock_type)),
        protocol: field(std::mem::offset_of!(SocketEvent, protocol)),
        exe_inode: read_u64(bytes, std::mem::offset_of!(SocketEvent, exe_inode))
            .unwrap_or_default(),
    })
}

fn decode_port(bytes: &[u8]) -> Result<Observation, DecodeError> {
    exact_size::<PortEvent>(bytes, "port")?;
    let field = |offset: usize| read_u32(bytes, offset).unwrap_or_default();
    Ok(Observation::Port {
        op: field(std::mem::offset_of!(PortEvent, op)),
        family: field(std::mem::offset_of!(PortEvent, family)),
        sock_type: field(std::mem::offset_of!(PortEvent, sock_type)),
        port: field(std::mem::offset_of!(PortEvent, port)) as u16,
        loopback: field(std::mem::offset_of!(PortEvent, loopback)) != 0,
        exe_inode: read_u64(bytes, std::mem::offset_of!(PortEvent, exe_inode)).unwrap_or_default(),
    })
}

/// The kernel writes components leaf first, each followed by '/'; names never contain '/'.
fn absolute_from_components(components: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = components
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    parts.reverse();
    let mut path = Vec::with_capacity(components.len() + 1);
    for part in parts {
        path.push(b'/');
        path.extend_from_slice(part);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// `base` (absolute) joined with `name` as the kernel would look it up, `.` and `..` applied
/// lexically (a `..` after a symlinked directory is the one place this can differ from the
/// kernel; documented). An absolute `name` ignores `base`.
fn join_lexically(base: &[u8], name: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let start: &[u8] = if name.starts_with(b"/") { b"" } else { base };
    for part in start
        .split(|&b| b == b'/')
        .chain(name.split(|&b| b == b'/'))
    {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut path = Vec::new();
    for part in parts {
        path.push(b'/');
        path.extend_from_slice(part);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

fn read_u64(bytes: &[u8], offset: usize) -> Option<u64> {
    let field = bytes.get(offset..offset + 8)?;
    Some(u64::from_ne_bytes(field.try_into().ok()?))
}

fn read_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes(field.try_into().ok()?))
}

#[cfg(test)]
mod tests;
