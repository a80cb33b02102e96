//! A recorded file path owns its encoding. The kernel gives bytes; the Recording is JSON
//! text, so a [`FileAccess`] keeps the path as text (`path`, exact when the bytes are
//! UTF-8, U+FFFD for each invalid byte otherwise) and, only when that text is not exact,
//! the exact bytes in hex (`path_hex`). Everything that needs the bytes, a display or an
//! access's name asks here; nothing else encodes or decodes them.
//!
//! Paths are data from the workload and may be hostile: these forms are for matching and
//! for display, never for building policy text without escaping.

use std::borrow::Cow;

use super::{Access, Accesses, ExePaths, FileAccess};

/// A recording whose `path_hex` does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path_hex {hex:?} of recorded path {path:?} is not an even number of hex digits")]
pub struct BadPathHex {
    pub path: String,
    pub hex: String,
}

/// Path bytes as text: bytes that are not UTF-8 become U+FFFD. For display and for names
/// (executables, directories) that the Recording keeps as text only.
pub fn display(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl FileAccess {
    /// A file seen with these accesses, by these programs, its path stored exactly.
    pub fn new(path: Vec<u8>, access: Accesses, by: ExePaths) -> FileAccess {
        let (path, path_hex) = match String::from_utf8(path) {
            Ok(text) => (text, None),
            Err(not_utf8) => {
                let bytes = not_utf8.into_bytes();
                (display(&bytes), Some(hex(&bytes)))
            }
        };
        FileAccess {
            path,
            path_hex,
            access,
            by,
            runs: vec![],
        }
    }

    /// The path's exact bytes: decoded from `path_hex` when present, else the text.
    pub fn exact_bytes(&self) -> Result<Cow<'_, [u8]>, BadPathHex> {
        let Some(hex) = &self.path_hex else {
            return Ok(Cow::Borrowed(self.path.as_bytes()));
        };
        let bad = || BadPathHex {
            path: self.path.clone(),
            hex: hex.clone(),
        };
        if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        hex.as_bytes()
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|s| u8::from_str_radix(s, 16).ok())
                    .ok_or_else(bad)
            })
            .collect::<Result<Vec<u8>, _>>()
            .map(Cow::Owned)
    }

    /// Whether `path` is the exact path (its bytes are UTF-8), so it can be used as a path
    /// on this machine as it stands.
    pub fn is_exact_text(&self) -> bool {
        self.path_hex.is_none()
    }

    /// The path for review: the text, followed by the exact bytes when the text is not
    /// exact (`/tmp/a\u{fffd} (bytes 2f746d702f61ff)`), so that two paths that display alike
    /// never compare equal.
    pub fn described(&self) -> String {
        match &self.path_hex {
            Some(hex) => format!("{} (bytes {hex})", self.path),
            None => self.path.clone(),
        }
    }
}

impl Access {
    /// The access's name as recordings spell it (`read`, `mmap_exec`, `rename_from`).
    pub fn name(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Append => "append",
            Access::Exec => "exec",
            Access::MmapExec => "mmap_exec",
            Access::Create => "create",
            Access::Unlink => "unlink",
            Access::RenameFrom => "rename_from",
            Access::RenameTo => "rename_to",
            Access::Mkdir => "mkdir",
            Access::Rmdir => "rmdir",
            Access::Link => "link",
            Access::Symlink => "symlink",
            Access::Chmod => "chmod",
            Access::Chown => "chown",
            Access::Lock => "lock",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_exact_when_the_bytes_are_utf8() {
        let file = FileAccess::new(
            b"/etc/passwd".to_vec(),
            Accesses::default(),
            ExePaths::new(),
        );
        assert!(file.is_exact_text());
        assert_eq!(file.path, "/etc/passwd");
        assert_eq!(&*file.exact_bytes().unwrap(), b"/etc/passwd");
        assert_eq!(file.described(), "/etc/passwd");
    }

    #[test]
    fn other_bytes_round_trip_through_hex() {
        let file = FileAccess::new(b"/tmp/\xff".to_vec(), Accesses::default(), ExePaths::new());
        assert!(!file.is_exact_text());
        assert_eq!(file.path, "/tmp/\u{fffd}");
        assert_eq!(file.path_hex.as_deref(), Some("2f746d702fff"));
        assert_eq!(&*file.exact_bytes().unwrap(), b"/tmp/\xff");
        assert_eq!(file.described(), "/tmp/\u{fffd} (bytes 2f746d702fff)");
    }

    #[test]
    fn access_names_are_the_recording_names() {
        for access in Accesses::ALL {
            let serialised = serde_json::to_value(access).unwrap();
            assert_eq!(serialised.as_str(), Some(access.name()));
        }
    }
}
