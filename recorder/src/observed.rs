//! Accumulates a run's [`Observation`]s into the parts of a Recording that come from events.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    capability_checks::{capability_name, classify, Audit, KernelSymbols},
    observation::{CapCheck, Observation},
    recording::{CapabilityCheck, Executable},
    syscalls::Abi,
};

/// Shown as the maker of syscalls whose program was never seen executing: it was already
/// running when the recording started (for `record -- CMD`, that is only the `execve` of CMD,
/// made by the not-yet-replaced child).
pub const UNKNOWN_EXECUTABLE: &str = "(started before recording)";

/// What the run's events said so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// Executed paths and how often.
    executions: BTreeMap<Vec<u8>, u64>,
    /// Inode address (as the kernel programs key executables) → the paths it was run as.
    paths_of_exe: BTreeMap<u64, BTreeSet<Vec<u8>>>,
}

impl Observed {
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
        }
    }

    /// The executables list, sorted by path.
    pub fn executables(&self) -> Vec<Executable> {
        self.executions
            .iter()
            .map(|(path, &execs)| Executable {
                path: display_path(path),
                execs,
            })
            .collect()
    }

    /// For each (ABI, number), the paths of the executables that made it.
    pub fn makers(
        &self,
        syscalls_by_exe: &BTreeMap<u64, Vec<(Abi, i64)>>,
    ) -> BTreeMap<(Abi, i64), BTreeSet<String>> {
        let mut makers: BTreeMap<(Abi, i64), BTreeSet<String>> = BTreeMap::new();
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

impl Observed {
    /// The executables an inode address was run as (or the "started before" marker).
    fn exe_names(&self, exe: u64) -> Vec<String> {
        match self.paths_of_exe.get(&exe) {
            Some(paths) => paths.iter().map(|p| display_path(p)).collect(),
            None => vec![UNKNOWN_EXECUTABLE.to_owned()],
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
                    by: vec![],
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
                for list in [&mut g.via, &mut g.syscalls, &mut g.by] {
                    list.sort();
                    list.dedup();
                }
                g
            })
            .collect()
    }
}

/// Paths are bytes; a Recording holds text. Bytes that are not UTF-8 become U+FFFD.
fn display_path(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

#[cfg(test)]
mod tests {
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
        let mut observed = Observed::default();
        observed.observe(exec(10, "/usr/bin/sh"));
        observed.observe(exec(20, "/usr/bin/ls"));
        observed.observe(exec(20, "/usr/bin/ls"));
        let by_exe = BTreeMap::from([
            (10, vec![(Abi::X86_64, 59)]),
            (20, vec![(Abi::X86_64, 0), (Abi::X86_64, 59)]),
            (99, vec![(Abi::X86_64, 59)]),
        ]);
        let makers = observed.makers(&by_exe);
        let execve: Vec<&str> = makers[&(Abi::X86_64, 59)]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            execve,
            ["(started before recording)", "/usr/bin/ls", "/usr/bin/sh"]
        );
        assert_eq!(makers[&(Abi::X86_64, 0)].len(), 1);
        let exes = observed.executables();
        assert_eq!((exes[0].path.as_str(), exes[0].execs), ("/usr/bin/ls", 2));
    }
}
