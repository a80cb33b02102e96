//! Ring buffer bytes → [`Observation`]. Pure and unit-tested: the bytes come from the kernel
//! but are checked as if they came from anywhere, size first, before any field is read.

use recorder_common::{ExecEvent, EVENT_EXEC, EXEC_PATH_MAX};

use crate::observation::Observation;

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
        kind => Err(DecodeError::UnknownKind { kind }),
    }
}

fn decode_exec(bytes: &[u8]) -> Result<Observation, DecodeError> {
    let expected = size_of::<ExecEvent>();
    if bytes.len() != expected {
        return Err(DecodeError::WrongSize {
            kind: "exec",
            len: bytes.len(),
            expected,
        });
    }
    let path_offset = std::mem::offset_of!(ExecEvent, path);
    let tgid = read_u32(bytes, std::mem::offset_of!(ExecEvent, tgid)).unwrap_or_default();
    let path_len =
        read_u32(bytes, std::mem::offset_of!(ExecEvent, path_len)).unwrap_or_default() as usize;
    let path_field = &bytes[path_offset..path_offset + EXEC_PATH_MAX];
    // The kernel copies up to the NUL; trust the NUL over the length in case they disagree.
    let len = path_len.min(EXEC_PATH_MAX);
    let len = path_field[..len]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(len);
    let exe_inode = read_u64(bytes, std::mem::offset_of!(ExecEvent, exe_inode)).unwrap_or_default();
    Ok(Observation::Exec {
        tgid,
        exe_inode,
        path: path_field[..len].to_vec(),
        truncated: path_len >= EXEC_PATH_MAX - 1,
    })
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
mod tests {
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
        unsafe {
            std::slice::from_raw_parts((&raw const event).cast::<u8>(), size_of::<ExecEvent>())
        }
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
        let Observation::Exec { path, .. } = decode(&bytes).unwrap();
        assert_eq!(path, b"/tmp/\xff\xfe");
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
}
