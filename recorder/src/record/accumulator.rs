//! Accumulates a run's [`Observation`]s into the parts of a Recording that come from events.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    record::{
        kernel_symbols::{classify, KernelSymbols},
        observation::{ArgValues, CapCheck, Observation},
    },
    recording::{
        arguments::{family_name, socket_type_name},
        capabilities::{capability_name, Audit},
        path,
        syscalls::Abi,
    },
    recording::{
        Access, Accesses, ArgumentValues, CapabilityCheck, ExePath, ExePaths, Executable,
        FileAccess, PortOp, PortUse, SocketUse, SyscallArguments,
    },
};

pub use crate::recording::UNKNOWN_EXECUTABLE;

/// Distinct file paths `record` keeps unless told otherwise (`--max-paths`): an estimated 170 MiB
/// of recorder memory at the peak (0.3 KiB per path, measured: RELIABILITY.md).
pub const DEFAULT_MAX_PATHS: usize = 500_000;

/// Directories named in the over-the-limit report; the rest are counted together.
const MAX_DIRECTORIES_OVER_LIMIT: usize = 16;

/// What the run's events said so far.
#[derive(Debug)]
pub struct Accumulator {
    /// Executed paths and how often.
    executions: BTreeMap<Vec<u8>, u64>,
    /// Inode address (as the kernel programs key executables) → the paths it was run as.
    paths_of_exe: BTreeMap<u64, BTreeSet<Vec<u8>>>,
    /// Path → access bits and the executables (inode addresses) that made them.
    files: BTreeMap<Box<[u8]>, FileSeen>,
    /// At most this many distinct paths are kept in `files`: a workload choosing its file
    /// names must not choose the recorder's memory use.
    max_paths: usize,
    /// Accesses to new paths after `max_paths` was reached, by parent directory (the first
    /// few directories; the rest under `None`).
    over_limit: BTreeMap<Option<Box<[u8]>>, u64>,
    /// (family, type, protocol) → executables.
    sockets: BTreeMap<(u32, u32, u32), BTreeSet<u64>>,
    /// (op, family, type, port, loopback) → the executables.
    ports: BTreeMap<(u32, u32, u32, u16, bool), BTreeSet<u64>>,
    /// File accesses whose path could not be resolved completely.
    pub unresolved_paths: u64,
    /// Inode address → the program file's path as the kernel resolved it at exec (symlinks
    /// followed; for a script, its interpreter).
    resolved_exe: BTreeMap<u64, Vec<u8>>,
}

/// Accesses to one path so far.
#[derive(Debug)]
struct FileSeen {
    /// `recorder_common::access` bits.
    access: u32,
    makers: Makers,
}

/// The executables (inode addresses) behind a path's accesses: nearly always one, kept
/// inline so that a path costs no second allocation.
#[derive(Debug)]
enum Makers {
    One(u64),
    Many(BTreeSet<u64>),
}

impl Makers {
    fn insert(&mut self, exe: u64) {
        match self {
            Makers::One(first) if *first == exe => {}
            Makers::One(first) => *self = Makers::Many([*first, exe].into()),
            Makers::Many(set) => {
                set.insert(exe);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (one, many) = match self {
            Makers::One(exe) => (Some(*exe), None),
            Makers::Many(set) => (None, Some(set.iter().copied())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// What `record --max-paths` left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OverLimit {
    /// The limit: how many distinct paths were kept.
    pub max_paths: usize,
    /// Accesses to paths that were not kept.
    pub accesses: u64,
    /// (directory, accesses) for the directories that held them, most first; accesses in
    /// directories beyond the first few are only in the total.
    pub directories: Vec<(String, u64)>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator::with_max_paths(DEFAULT_MAX_PATHS)
    }
}

impl Accumulator {
    /// An empty observer that keeps at most `max_paths` distinct file paths.
    pub fn with_max_paths(max_paths: usize) -> Self {
        Accumulator {
            executions: BTreeMap::new(),
            paths_of_exe: BTreeMap::new(),
            files: BTreeMap::new(),
            max_paths,
            over_limit: BTreeMap::new(),
            sockets: BTreeMap::new(),
            ports: BTreeMap::new(),
            unresolved_paths: 0,
            resolved_exe: BTreeMap::new(),
        }
    }

    pub fn observe(&mut self, observation: Observation) {
        match observation {
            Observation::Exec {
                path, exe_inode, ..
            } => {
                self.paths_of_exe
                    .entry(exe_inode)
                    .or_default()
                    .insert(path.clone());
                *self.executions.entry(path).or_default() += 1;
            }
            Observation::File {
                access,
                exe_inode,
                path,
            } => {
                if access & recorder_common::access::EXEC != 0 {
                    // Sent at exec with the new program's own inode: its resolved path.
                    self.resolved_exe
                        .entry(exe_inode)
                        .or_insert_with(|| path.clone());
                }
                if let Some(seen) = self.files.get_mut(path.as_slice()) {
                    seen.access |= access;
                    seen.makers.insert(exe_inode);
                } else if self.files.len() < self.max_paths {
                    self.files.insert(
                        path.into_boxed_slice(),
                        FileSeen {
                            access,
                            makers: Makers::One(exe_inode),
                        },
                    );
                } else {
                    self.count_over_limit(&path);
                }
            }
            Observation::UnresolvedFile => self.unresolved_paths += 1,
            Observation::Socket {
                family,
                sock_type,
                protocol,
                exe_inode,
            } => {
                self.sockets
                    .entry((family, sock_type, protocol))
                    .or_default()
                    .insert(exe_inode);
            }
            Observation::Port {
                op,
                family,
                sock_type,
                port,
                loopback,
                exe_inode,
            } => {
                self.ports
                    .entry((op, family, sock_type, port, loopback))
                    .or_default()
                    .insert(exe_inode);
            }
            // Acted on by the session, which decides whether to follow the destination.
            Observation::Moved { .. } => {}
        }
    }

    /// Notes an access to a new path that the limit keeps out, under its directory.
    fn count_over_limit(&mut self, path: &[u8]) {
        let dir = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => &path[..1],
            Some(end) => &path[..end],
            None => path,
        };
        let key = if self.over_limit.contains_key(&Some(dir.into()))
            || self.over_limit.len() < MAX_DIRECTORIES_OVER_LIMIT
        {
            Some(dir.into())
        } else {
            None
        };
        *self.over_limit.entry(key).or_default() += 1;
    }

    /// What the path limit left out, if anything.
    pub fn over_limit(&self) -> Option<OverLimit> {
        if self.over_limit.is_empty() {
            return None;
        }
        let mut directories: Vec<(String, u64)> = self
            .over_limit
            .iter()
            .filter_map(|(dir, &n)| dir.as_ref().map(|d| (path::display(d), n)))
            .collect();
        directories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(OverLimit {
            max_paths: self.max_paths,
            accesses: self.over_limit.values().sum(),
            directories,
        })
    }

    /// Distinct executed paths so far (for a live status: no copy is made).
    pub fn executable_count(&self) -> usize {
        self.executions.len()
    }

    /// Distinct file paths kept so far.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// What userspace could not keep so far: unresolved paths and accesses past the limit.
    pub fn lost_so_far(&self) -> u64 {
        self.unresolved_paths + self.over_limit.values().sum::<u64>()
    }

    /// Every file accessed, sorted by path bytes, with its access kinds and makers. Moves
    /// the paths out (a second copy of hundreds of thousands of paths is the recorder's
    /// largest cost in memory); later calls return nothing.
    pub fn take_files(&mut self) -> Vec<FileAccess> {
        let files = std::mem::take(&mut self.files);
        let mut out = Vec::with_capacity(files.len());
        for (path, seen) in files {
            let by = self.names_of(seen.makers.iter());
            out.push(FileAccess::new(path.into_vec(), accesses(seen.access), by));
        }
        out
    }

    /// Every kind of socket created, with its makers.
    pub fn sockets(&self) -> Vec<SocketUse> {
        let mut sockets: Vec<SocketUse> = self
            .sockets
            .iter()
            .map(|(&(family, sock_type, protocol), exes)| SocketUse {
                family: family_name(family),
                kind: socket_type_name(sock_type),
                protocol,
                by: self.names_of(exes.iter().copied()),
                runs: vec![],
            })
            .collect();
        sockets.sort();
        sockets
    }

    /// Every inet port bound or connected to, with its makers.
    pub fn ports(&self) -> Vec<PortUse> {
        let mut ports: Vec<PortUse> = self
            .ports
            .iter()
            .map(|(&(op, family, sock_type, port, loopback), exes)| PortUse {
                protocol: PortUse::protocol_of(sock_type),
                op: if op == recorder_common::port_op::BIND {
                    PortOp::Bind
                } else {
                    PortOp::Connect
                },
                family: family_name(family),
                port,
                loopback,
                by: self.names_of(exes.iter().copied()),
                runs: vec![],
            })
            .collect();
        ports.sort();
        ports
    }

    fn names_of(&self, exes: impl Iterator<Item = u64>) -> ExePaths {
        let names: BTreeSet<ExePath> = exes.flat_map(|exe| self.exe_names(exe)).collect();
        names.into_iter().collect()
    }

    /// The executables list, sorted by path.
    pub fn executables(&self) -> Vec<Executable> {
        self.executions
            .iter()
            .map(|(path, &execs)| Executable {
                path: path::display(path),
                execs,
                runs: vec![],
            })
            .collect()
    }

    /// For each (ABI, number), the paths of the executables that made it.
    pub fn makers(
        &self,
        syscalls_by_exe: &BTreeMap<u64, Vec<(Abi, i64)>>,
    ) -> BTreeMap<(Abi, i64), BTreeSet<ExePath>> {
        let mut makers: BTreeMap<(Abi, i64), BTreeSet<ExePath>> = BTreeMap::new();
        for (exe, syscalls) in syscalls_by_exe {
            let names = self.exe_names(*exe);
            for key in syscalls {
                makers
                    .entry(*key)
                    .or_default()
                    .extend(names.iter().cloned());
            }
        }
        makers
    }
}

impl Accumulator {
    /// The path of the program an inode address stands for, when one was seen executing.
    pub fn executable_of(&self, exe: u64) -> Option<String> {
        self.exe_names(exe)
            .into_iter()
            .next()
            .filter(|name| *name != UNKNOWN_EXECUTABLE)
            .map(|name| name.to_string())
    }

    /// The program an inode address stands for: its path as resolved at exec, else the names
    /// it was executed as, else the "started before" marker.
    fn exe_names(&self, exe: u64) -> Vec<ExePath> {
        if let Some(path) = self.resolved_exe.get(&exe) {
            return vec![path::display(path).into()];
        }
        match self.paths_of_exe.get(&exe) {
            Some(paths) => paths.iter().map(|p| path::display(p).into()).collect(),
            None => vec![UNKNOWN_EXECUTABLE.into()],
        }
    }

    /// Capability checks grouped by capability, audit and verdict, each classified from its
    /// kernel stack, with the syscalls and executables that made them.
    pub fn capability_checks(
        &self,
        checks: &[CapCheck],
        symbols: &KernelSymbols,
    ) -> Vec<CapabilityCheck> {
        let mut groups: BTreeMap<(u32, Audit, bool), CapabilityCheck> = BTreeMap::new();
        for check in checks {
            let stack = check.stack.as_ref().map(|ips| symbols.names(ips));
            let classified = classify(stack.as_deref());
            let granted = check.ret == 0;
            let group = groups
                .entry((check.cap, classified.audit, granted))
                .or_insert_with(|| CapabilityCheck {
                    capability: capability_name(check.cap),
                    number: check.cap,
                    audit: classified.audit,
                    granted,
                    count: 0,
                    via: vec![],
                    syscalls: vec![],
                    by: ExePaths::new(),
                    runs: vec![],
                });
            group.count += check.count;
            group.via.extend(classified.via);
            if let Some((abi, nr)) = check.syscall {
                let name = abi
                    .syscall_name(nr)
                    .map_or_else(|| format!("#{nr}"), str::to_owned);
                group.syscalls.push(format!("{abi}:{name}"));
            }
            group.by.extend(self.exe_names(check.exe_inode));
        }
        groups
            .into_values()
            .map(|mut g| {
                for list in [&mut g.via, &mut g.syscalls] {
                    list.sort();
                    list.dedup();
                }
                g.by.sort();
                g.by.dedup();
                g
            })
            .collect()
    }
}

impl Accumulator {
    /// The recorded argument values per ABI and syscall, with names and makers.
    pub fn arguments(&self, values: &[ArgValues]) -> BTreeMap<Abi, Vec<SyscallArguments>> {
        // (ABI, number) → values → (calls, makers).
        type ByValues = BTreeMap<Vec<u64>, (u64, BTreeSet<ExePath>)>;
        let mut grouped: BTreeMap<(Abi, i64), ByValues> = BTreeMap::new();
        for v in values {
            let entry = grouped
                .entry((v.abi, v.nr))
                .or_default()
                .entry(v.values.clone())
                .or_default();
            entry.0 += v.count;
            entry.1.extend(self.exe_names(v.exe_inode));
        }
        let mut out: BTreeMap<Abi, Vec<SyscallArguments>> = BTreeMap::new();
        for ((abi, nr), by_values) in grouped {
            let syscall = abi
                .syscall_name(nr)
                .map_or_else(|| format!("#{nr}"), str::to_owned);
            let values = by_values
                .into_iter()
                .map(|(values, (count, by))| ArgumentValues {
                    names: values
                        .iter()
                        .enumerate()
                        .map(|(i, &value)| {
                            crate::recording::arguments::value_name(&syscall, i, value)
                        })
                        .collect(),
                    values,
                    count,
                    by: by.into_iter().collect(),
                    runs: vec![],
                })
                .collect();
            let arguments = crate::recording::arguments::argument_names(&syscall)
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            out.entry(abi).or_default().push(SyscallArguments {
                syscall,
                arguments,
                values,
            });
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| a.syscall.cmp(&b.syscall));
        }
        out
    }
}

/// Access bits (`recorder_common::access`) as the Recording's access kinds.
fn accesses(bits: u32) -> Accesses {
    use recorder_common::access as bit;
    [
        (bit::READ, Access::Read),
        (bit::WRITE, Access::Write),
        (bit::APPEND, Access::Append),
        (bit::EXEC, Access::Exec),
        (bit::MMAP_EXEC, Access::MmapExec),
        (bit::CREATE, Access::Create),
        (bit::UNLINK, Access::Unlink),
        (bit::RENAME_FROM, Access::RenameFrom),
        (bit::RENAME_TO, Access::RenameTo),
        (bit::MKDIR, Access::Mkdir),
        (bit::RMDIR, Access::Rmdir),
        (bit::LINK, Access::Link),
        (bit::SYMLINK, Access::Symlink),
        (bit::CHMOD, Access::Chmod),
        (bit::CHOWN, Access::Chown),
        (bit::LOCK, Access::Lock),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, access)| access)
    .collect()
}

#[cfg(test)]
mod tests;
