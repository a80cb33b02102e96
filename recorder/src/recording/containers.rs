//! What the Recording's containers (see [`Container`]) are cut to, and how they are named.
//!
//! A container runtime runs its own code in the container's cgroup before the entrypoint:
//! the container's first process sets up namespaces, mounts and the seccomp filter, then
//! executes the entrypoint. The recording of a container starts before that process is let
//! run, so nothing the entrypoint does is missed, and is then cut to what happened from the
//! entrypoint's execve on: what only the runtime's process did (its maker is
//! [`UNKNOWN_EXECUTABLE`], since it was running before the recording of the container
//! started) is not the workload's and must not reach its profile.

use super::{Container, Recording, UNKNOWN_EXECUTABLE};

impl Container {
    /// Whether `wanted` names this container: its name, its id, or a prefix of the id of at
    /// least 12 characters (as engines print them).
    pub fn is_named(&self, wanted: &str) -> bool {
        self.name.as_deref() == Some(wanted)
            || self.id == wanted
            || (wanted.len() >= 12 && self.id.starts_with(wanted))
    }

    /// How the container is called in messages: its name, else its short id.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.id.chars().take(12).collect())
    }
}

impl Recording {
    /// This recording without what only the runtime's set-up made before the entrypoint's
    /// execve: syscalls, files, sockets, argument values and capability checks whose only
    /// maker is [`UNKNOWN_EXECUTABLE`]; it is dropped from the makers of the rest. The
    /// execve itself goes with it: runtime profiles allow it for the runtime.
    #[must_use]
    pub fn without_runtime_set_up(mut self) -> Recording {
        let only_runtime = |by: &[super::ExePath]| by.iter().all(|b| *b == UNKNOWN_EXECUTABLE);
        let not_runtime = |b: &super::ExePath| *b != UNKNOWN_EXECUTABLE;
        for entries in self.syscalls.values_mut() {
            entries.retain(|e| e.by.is_empty() || !only_runtime(&e.by));
            for entry in entries.iter_mut() {
                entry.by.retain(|b| not_runtime(b));
            }
        }
        self.syscalls.retain(|_, entries| !entries.is_empty());
        if let Some(files) = &mut self.files {
            files.retain(|f| !only_runtime(&f.by));
            for file in files.iter_mut() {
                file.by.retain(|b| not_runtime(b));
            }
        }
        if let Some(sockets) = &mut self.sockets {
            sockets.retain(|s| !only_runtime(&s.by));
            for socket in sockets.iter_mut() {
                socket.by.retain(|b| not_runtime(b));
            }
        }
        if let Some(arguments) = &mut self.arguments {
            for lists in arguments.values_mut() {
                for item in lists.iter_mut() {
                    item.values.retain(|v| !only_runtime(&v.by));
                    for value in &mut item.values {
                        value.by.retain(|b| not_runtime(b));
                    }
                }
                lists.retain(|item| !item.values.is_empty());
            }
            arguments.retain(|_, lists| !lists.is_empty());
        }
        if let Some(checks) = &mut self.capabilities {
            checks.retain(|c| !only_runtime(&c.by));
            for check in checks.iter_mut() {
                check.by.retain(|b| not_runtime(b));
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::{syscalls::Abi, FileAccess};

    /// What only the runtime's process made goes; what the workload made too stays, without
    /// the runtime among its makers.
    #[test]
    fn the_runtime_set_up_is_cut_away() {
        let mut recording = Recording::for_tests(&[(Abi::X86_64, 165), (Abi::X86_64, 0)]);
        let entries = recording.syscalls.get_mut(&Abi::X86_64).unwrap();
        entries[0].by = [UNKNOWN_EXECUTABLE.into(), "/usr/bin/app".into()]
            .into_iter()
            .collect();
        entries[1].by = [UNKNOWN_EXECUTABLE.into()].into_iter().collect();
        recording.files = Some(vec![
            FileAccess::new(
                b"/proc/self/fd".to_vec(),
                Default::default(),
                [UNKNOWN_EXECUTABLE.into()].into_iter().collect(),
            ),
            FileAccess::new(
                b"/etc/app.conf".to_vec(),
                Default::default(),
                ["/usr/bin/app".into()].into_iter().collect(),
            ),
        ]);
        let cut = recording.without_runtime_set_up();
        let entries = &cut.syscalls[&Abi::X86_64];
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].by.as_slice(), ["/usr/bin/app"]);
        let files = cut.files.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "/etc/app.conf");
    }

    #[test]
    fn containers_are_named_by_name_id_or_id_prefix() {
        let container = Container {
            engine: "podman".into(),
            id: "a".repeat(64),
            name: Some("web".into()),
            image: None,
            cgroup: "/libpod_parent/libpod-x".into(),
            recording: Box::new(Recording::for_tests(&[])),
        };
        assert!(container.is_named("web"));
        assert!(container.is_named(&"a".repeat(64)));
        assert!(container.is_named(&"a".repeat(12)));
        assert!(!container.is_named("aaaa"));
        assert!(!container.is_named("db"));
        assert_eq!(container.label(), "web");
    }
}
