//! Running a command with exactly a set of capabilities: bounding, permitted, effective,
//! inheritable and ambient sets all equal to it, nothing else. Prepared in the parent, applied
//! in the child between fork and exec with plain syscalls.

use std::path::Path;

use crate::record::launch::PreExec;

#[derive(Debug, thiserror::Error)]
pub enum CapabilityListError {
    #[error("unknown capability {name:?} in {source_name} (expected names such as NET_BIND_SERVICE or CAP_CHOWN)")]
    Unknown { name: String, source_name: String },
    #[error("cannot read capability list {path}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read /proc/sys/kernel/cap_last_cap")]
    LastCap(#[source] std::io::Error),
}

/// An exact capability set to run a command with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactCapabilities {
    /// Bit n set: capability n is kept.
    pub mask: u64,
    /// The kernel's highest capability number.
    last_cap: u32,
}

impl ExactCapabilities {
    /// Parses `NET_BIND_SERVICE,CHOWN` (with or without `CAP_`, any case), or, when `spec`
    /// names an existing file, that file with one name per line (`#` comments; the output of
    /// `generate capabilities --format list`). An empty list means no capabilities.
    pub fn parse(spec: &str) -> Result<ExactCapabilities, CapabilityListError> {
        let (text, source_name) = if Path::new(spec).is_file() {
            let text =
                std::fs::read_to_string(spec).map_err(|source| CapabilityListError::Read {
                    path: spec.into(),
                    source,
                })?;
            (text, spec.to_owned())
        } else {
            (
                spec.replace(',', "\n"),
                "the --capabilities list".to_owned(),
            )
        };
        let mut mask = 0u64;
        for line in text.lines() {
            let name = line.split('#').next().unwrap_or_default().trim();
            if name.is_empty() {
                continue;
            }
            let canonical = caps::to_canonical(name);
            let cap: caps::Capability =
                canonical
                    .parse()
                    .map_err(|_| CapabilityListError::Unknown {
                        name: name.to_owned(),
                        source_name: source_name.clone(),
                    })?;
            mask |= cap.bitmask();
        }
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .map_err(CapabilityListError::LastCap)?
            .trim()
            .parse()
            .unwrap_or(40);
        Ok(ExactCapabilities { mask, last_cap })
    }

    fn keeps(&self, cap: u32) -> bool {
        cap < 64 && self.mask & (1 << cap) != 0
    }

    /// Drops every other capability from the bounding set (needs CAP_SETPCAP, so before any
    /// change of user). Async-signal-safe.
    pub fn limit_bounding_set(&self) -> std::io::Result<()> {
        for cap in 0..=self.last_cap {
            // SAFETY: prctl with integer arguments.
            if !self.keeps(cap) && unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Sets permitted, effective and inheritable to exactly the set and raises each in the
    /// ambient set, so a non-root user keeps them across exec. Async-signal-safe.
    pub fn set_process_sets(&self) -> std::io::Result<()> {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        let header = Header {
            version: VERSION_3,
            pid: 0,
        };
        let low = self.mask as u32;
        let high = (self.mask >> 32) as u32;
        let data = [
            Data {
                effective: low,
                permitted: low,
                inheritable: low,
            },
            Data {
                effective: high,
                permitted: high,
                inheritable: high,
            },
        ];
        // SAFETY: capset with valid header and two data structs (version 3 layout).
        unsafe {
            if libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            for cap in 0..=self.last_cap {
                if self.keeps(cap)
                    && libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

/// Applied at launch: the bounding set shrinks while the caller still may (CAP_SETPCAP),
/// the permitted set survives the change of user, and the process sets are set after it.
impl PreExec for ExactCapabilities {
    fn before_user_change(&self) -> std::io::Result<()> {
        self.limit_bounding_set()
    }

    fn keeps_capabilities(&self) -> bool {
        true
    }

    fn after_user_change(&self) -> std::io::Result<()> {
        self.set_process_sets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_in_any_spelling() {
        let caps = ExactCapabilities::parse("net_bind_service, CAP_CHOWN").unwrap();
        assert_eq!(caps.mask, (1 << 10) | 1);
        assert_eq!(ExactCapabilities::parse("").unwrap().mask, 0);
    }

    #[test]
    fn reads_the_list_format_and_names_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("caps.txt");
        std::fs::write(&file, "# from leastpriv\nKILL\nNET_RAW\n").unwrap();
        let caps = ExactCapabilities::parse(file.to_str().unwrap()).unwrap();
        assert_eq!(caps.mask, (1 << 5) | (1 << 13));
        std::fs::write(&file, "KILL\nFLY\n").unwrap();
        let err = ExactCapabilities::parse(file.to_str().unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("\"FLY\"") && err.to_string().contains("caps.txt"),
            "{err}"
        );
    }
}
