//! Merging recordings of many runs (a test matrix, several CI jobs) into one: the union of
//! everything seen, with, for every item, the runs and executables that contributed it.
//!
//! Merging is associative and commutative: every field is a set union, a sum or a min/max,
//! and a recording that is itself a merge contributes its runs rather than itself, so
//! `merge(merge(a, b), c)` and `merge(a, merge(b, c))` are the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use crate::recording::{
    Accesses, CapabilityCheck, Container, ExePaths, Executable, FileAccess, Host, LeftRunning,
    Lost, PortOp, PortUse, Recording, RunInfo, SocketUse, SyscallEntry, Target, Tool, FORMAT,
    VERSION,
};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least one recording")]
    Nothing,
}

/// The runs a recording stands for: its own (one) or, for a merge, the ones it lists.
fn runs_of(recording: &Recording, fallback_id: &str) -> Vec<RunInfo> {
    if !recording.runs.is_empty() {
        return recording.runs.clone();
    }
    let target = match &recording.target {
        Target::Command(argv) => argv.join(" "),
        Target::Cgroup(path) => format!("cgroup {path}"),
        Target::Merged(n) => format!("{n} merged runs"),
    };
    vec![RunInfo {
        id: recording
            .run_id
            .clone()
            .unwrap_or_else(|| fallback_id.to_owned()),
        target,
        host: format!("{} {}", recording.host.arch, recording.host.kernel),
        started_at: recording.started_at.clone(),
        finished_at: recording.finished_at.clone(),
        complete: recording.complete,
        exit_status: recording.exit_status,
    }]
}

/// Runs that contributed an item: the item's own list (in a merge) or the recording's runs.
fn item_runs(item_runs: &[String], recording_runs: &[String]) -> Vec<String> {
    if item_runs.is_empty() {
        recording_runs.to_vec()
    } else {
        item_runs.to_vec()
    }
}

fn union<T, List>(into: &mut List, more: &[T])
where
    T: Ord + Clone,
    List: Default + IntoIterator<Item = T> + FromIterator<T>,
{
    let set: BTreeSet<T> = std::mem::take(into)
        .into_iter()
        .chain(more.iter().cloned())
        .collect();
    *into = set.into_iter().collect();
}

/// Merges recordings. `ids` names a recording that has no run id of its own (made before
/// run ids existed): its file name is a stable choice.
pub fn merge(recordings: &[(Recording, String)]) -> Result<Recording, MergeError> {
    if recordings.is_empty() {
        return Err(MergeError::Nothing);
    }
    let mut runs: BTreeMap<String, RunInfo> = BTreeMap::new();
    let mut syscalls: BTreeMap<(crate::recording::syscalls::Abi, i64), SyscallEntry> =
        BTreeMap::new();
    let mut files: BTreeMap<(String, Option<String>), FileAccess> = BTreeMap::new();
    let mut sockets: BTreeMap<(String, String, u32), SocketUse> = BTreeMap::new();
    let mut ports: BTreeMap<(String, PortOp, String, u16, bool), PortUse> = BTreeMap::new();
    // Ports are known only when every run recorded them: one run's unknown is the merge's.
    let mut all_ports = true;
    let mut capabilities: BTreeMap<
        (u32, crate::recording::capabilities::Audit, bool),
        CapabilityCheck,
    > = BTreeMap::new();
    let mut executables: BTreeMap<String, Executable> = BTreeMap::new();
    let mut left_running: BTreeSet<(u32, String)> = BTreeSet::new();
    let mut escalating = BTreeSet::new();
    let mut arguments: BTreeMap<
        (crate::recording::syscalls::Abi, String),
        crate::recording::SyscallArguments,
    > = BTreeMap::new();
    let mut any_arguments = false;
    let mut lost = Lost::default();
    let (mut any_files, mut any_sockets, mut any_capabilities) = (false, false, false);
    let mut hosts = BTreeSet::new();

    for (recording, fallback_id) in recordings {
        let these_runs = runs_of(recording, fallback_id);
        let ids: Vec<String> = these_runs.iter().map(|r| r.id.clone()).collect();
        for run in these_runs {
            runs.insert(run.id.clone(), run);
        }
        hosts.insert(recording.host.clone());
        for (&abi, entries) in &recording.syscalls {
            for entry in entries {
                let merged = syscalls
                    .entry((abi, entry.nr))
                    .or_insert_with(|| SyscallEntry {
                        nr: entry.nr,
                        name: entry.name.clone(),
                        count: 0,
                        by: ExePaths::new(),
                        runs: vec![],
                    });
                merged.count += entry.count;
                union(&mut merged.by, &entry.by);
                union(&mut merged.runs, &item_runs(&entry.runs, &ids));
            }
        }
        for file in recording.files.iter().flatten() {
            any_files = true;
            let merged = files
                .entry((file.path.clone(), file.path_hex.clone()))
                .or_insert_with(|| FileAccess {
                    path: file.path.clone(),
                    path_hex: file.path_hex.clone(),
                    access: Accesses::default(),
                    by: ExePaths::new(),
                    runs: vec![],
                });
            merged.access = merged.access.union(file.access);
            union(&mut merged.by, &file.by);
            union(&mut merged.runs, &item_runs(&file.runs, &ids));
        }
        for socket in recording.sockets.iter().flatten() {
            any_sockets = true;
            let key = (socket.family.clone(), socket.kind.clone(), socket.protocol);
            let merged = sockets.entry(key).or_insert_with(|| SocketUse {
                by: ExePaths::new(),
                runs: vec![],
                ..socket.clone()
            });
            union(&mut merged.by, &socket.by);
            union(&mut merged.runs, &item_runs(&socket.runs, &ids));
        }
        all_ports &= recording.ports.is_some();
        for port in recording.ports.iter().flatten() {
            let key = (
                port.protocol.clone(),
                port.op,
                port.family.clone(),
                port.port,
                port.loopback,
            );
            let merged = ports.entry(key).or_insert_with(|| PortUse {
                by: ExePaths::new(),
                runs: vec![],
                ..port.clone()
            });
            union(&mut merged.by, &port.by);
            union(&mut merged.runs, &item_runs(&port.runs, &ids));
        }
        for check in recording.capabilities.iter().flatten() {
            any_capabilities = true;
            let key = (check.number, check.audit, check.granted);
            let merged = capabilities.entry(key).or_insert_with(|| CapabilityCheck {
                count: 0,
                via: vec![],
                syscalls: vec![],
                by: ExePaths::new(),
                runs: vec![],
                ..check.clone()
            });
            merged.count += check.count;
            union(&mut merged.via, &check.via);
            union(&mut merged.syscalls, &check.syscalls);
            union(&mut merged.by, &check.by);
            union(&mut merged.runs, &item_runs(&check.runs, &ids));
        }
        for exe in &recording.executables {
            let merged = executables
                .entry(exe.path.clone())
                .or_insert_with(|| Executable {
                    path: exe.path.clone(),
                    execs: 0,
                    runs: vec![],
                });
            merged.execs += exe.execs;
            union(&mut merged.runs, &item_runs(&exe.runs, &ids));
        }
        left_running.extend(
            recording
                .left_running
                .iter()
                .map(|p| (p.pid, p.comm.clone())),
        );
        escalating.extend(recording.escalating_programs.iter().cloned());
        for (&abi, list) in recording.arguments.iter().flatten() {
            any_arguments = true;
            for item in list {
                let merged = arguments
                    .entry((abi, item.syscall.clone()))
                    .or_insert_with(|| crate::recording::SyscallArguments {
                        syscall: item.syscall.clone(),
                        arguments: item.arguments.clone(),
                        values: vec![],
                    });
                for v in &item.values {
                    match merged.values.iter_mut().find(|m| m.values == v.values) {
                        Some(m) => {
                            m.count += v.count;
                            union(&mut m.by, &v.by);
                            union(&mut m.runs, &item_runs(&v.runs, &ids));
                        }
                        None => {
                            let mut v = v.clone();
                            v.runs = item_runs(&v.runs, &ids);
                            merged.values.push(v);
                        }
                    }
                }
                merged.values.sort_by(|a, b| a.values.cmp(&b.values));
            }
        }
        let l = &recording.lost;
        lost.exec_events += l.exec_events;
        lost.syscall_numbers += l.syscall_numbers;
        lost.provenance += l.provenance;
        lost.capability_checks += l.capability_checks;
        lost.capability_stacks += l.capability_stacks;
        lost.file_paths += l.file_paths;
        lost.file_events += l.file_events;
        lost.argument_values += l.argument_values;
        lost.file_calls += l.file_calls;
        lost.unresolved_paths += l.unresolved_paths;
        lost.cgroup_moves += l.cgroup_moves;
        lost.ports += l.ports;
    }

    let runs: Vec<RunInfo> = runs.into_values().collect();
    let incomplete: Vec<&str> = runs
        .iter()
        .filter(|r| !r.complete)
        .map(|r| r.id.as_str())
        .collect();
    let mut by_abi: BTreeMap<_, Vec<SyscallEntry>> = BTreeMap::new();
    for ((abi, _), entry) in syscalls {
        by_abi.entry(abi).or_default().push(entry);
    }
    let host = if hosts.len() == 1 {
        hosts.into_iter().next().expect("one host")
    } else {
        Host {
            kernel: "mixed".into(),
            arch: mixed(hosts.iter().map(|h| h.arch.as_str())),
        }
    };
    Ok(Recording {
        format: FORMAT.into(),
        version: VERSION,
        tool: Tool::current(),
        host,
        target: Target::Merged(runs.len()),
        started_at: runs
            .iter()
            .map(|r| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: runs
            .iter()
            .map(|r| r.finished_at.clone())
            .max()
            .unwrap_or_default(),
        complete: incomplete.is_empty(),
        incomplete_reason: (!incomplete.is_empty())
            .then(|| format!("incomplete runs: {}", incomplete.join(", "))),
        run_id: None,
        exit_status: None,
        syscalls: by_abi,
        executables: executables.into_values().collect(),
        files: any_files.then(|| files.into_values().collect()),
        sockets: any_sockets.then(|| sockets.into_values().collect()),
        ports: all_ports.then(|| ports.into_values().collect()),
        capabilities: any_capabilities.then(|| capabilities.into_values().collect()),
        arguments: any_arguments.then(|| {
            let mut out: BTreeMap<
                crate::recording::syscalls::Abi,
                Vec<crate::recording::SyscallArguments>,
            > = BTreeMap::new();
            for ((abi, _), entry) in arguments {
                out.entry(abi).or_default().push(entry);
            }
            out
        }),
        // Kept when every run ran as the same user: the Kubernetes decisions need it.
        user: same_user(recordings),
        escalating_programs: escalating.into_iter().collect(),
        left_running: left_running
            .into_iter()
            .map(|(pid, comm)| LeftRunning { pid, comm })
            .collect(),
        started_late: recordings.iter().any(|(r, _)| r.started_late),
        moved_out: recordings
            .iter()
            .flat_map(|(r, _)| r.moved_out.iter().cloned())
            .collect(),
        lost,
        runs,
        containers: merge_containers(recordings)?,
    })
}

/// The user every run ran as, when they all say and agree.
fn same_user(recordings: &[(Recording, String)]) -> Option<crate::recording::RunUser> {
    let first = recordings.first()?.0.user?;
    recordings
        .iter()
        .all(|(r, _)| r.user == Some(first))
        .then_some(first)
}

/// The same container (engine and name, else id) across runs and replicas, merged.
fn merge_containers(recordings: &[(Recording, String)]) -> Result<Vec<Container>, MergeError> {
    let mut groups: BTreeMap<(String, String), Vec<(&Container, String)>> = BTreeMap::new();
    for (recording, name) in recordings {
        for container in &recording.containers {
            let key = container
                .name
                .clone()
                .unwrap_or_else(|| container.id.clone());
            groups
                .entry((container.engine.clone(), key))
                .or_default()
                .push((container, format!("{name} {}", container.label())));
        }
    }
    let mut out = Vec::new();
    for ((engine, _), group) in groups {
        let parts: Vec<(Recording, String)> = group
            .iter()
            .map(|(c, name)| ((*c.recording).clone(), name.clone()))
            .collect();
        let first = group[0].0;
        out.push(Container {
            engine,
            id: mixed(group.iter().map(|(c, _)| c.id.as_str())),
            name: first.name.clone(),
            image: group
                .iter()
                .all(|(c, _)| c.image == first.image)
                .then(|| first.image.clone())
                .flatten(),
            cgroup: mixed(group.iter().map(|(c, _)| c.cgroup.as_str())),
            recording: Box::new(merge(&parts)?),
        });
    }
    Ok(out)
}

/// One name when all agree, else `mixed`.
fn mixed<'a>(mut values: impl Iterator<Item = &'a str>) -> String {
    let first = values.next().unwrap_or_default();
    if values.all(|v| v == first) {
        first.to_owned()
    } else {
        "mixed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::syscalls::Abi;

    fn run(id: &str, syscalls: &[(Abi, i64)]) -> (Recording, String) {
        let mut r = Recording::for_tests(syscalls);
        r.run_id = Some(id.into());
        r.started_at = format!("2026-11-25T10:00:0{}Z", id.len());
        (r, format!("{id}.json"))
    }

    /// The same container (by name) from two runs is one merged container, its items keeping
    /// the runs that saw them; another container stays apart.
    #[test]
    fn containers_merge_by_engine_and_name() {
        let container = |name: &str, id: char, syscalls: &[(Abi, i64)], run_id: &str| Container {
            engine: "podman".into(),
            id: id.to_string().repeat(64),
            name: Some(name.into()),
            image: None,
            cgroup: format!("/libpod_parent/libpod-{}", id.to_string().repeat(64)),
            recording: Box::new(run(run_id, syscalls).0),
        };
        let (mut first, first_name) = run("a", &[(Abi::X86_64, 0)]);
        first.containers = vec![container("web", '1', &[(Abi::X86_64, 41)], "a-web")];
        let (mut second, second_name) = run("bb", &[(Abi::X86_64, 0)]);
        second.containers = vec![
            container("web", '2', &[(Abi::X86_64, 49)], "bb-web"),
            container("db", '3', &[(Abi::X86_64, 50)], "bb-db"),
        ];
        let merged = merge(&[(first, first_name), (second, second_name)]).unwrap();
        let names: Vec<&str> = merged
            .containers
            .iter()
            .map(|c| c.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["db", "web"]);
        let web = &merged.containers[1];
        assert_eq!(web.id, "mixed");
        let seen: Vec<(i64, Vec<String>)> = web.recording.syscalls[&Abi::X86_64]
            .iter()
            .map(|e| (e.nr, e.runs.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (41, vec!["a-web".to_owned()]),
                (49, vec!["bb-web".to_owned()])
            ]
        );
        assert_eq!(merged.containers[0].id, "3".repeat(64));
    }

    #[test]
    fn union_with_provenance() {
        let merged = merge(&[
            run("a", &[(Abi::X86_64, 0), (Abi::X86_64, 1)]),
            run("bb", &[(Abi::X86_64, 1), (Abi::Ia32, 4)]),
        ])
        .unwrap();
        let x86: Vec<(i64, u64, Vec<String>)> = merged.syscalls[&Abi::X86_64]
            .iter()
            .map(|e| (e.nr, e.count, e.runs.clone()))
            .collect();
        assert_eq!(
            x86,
            [
                (0, 1, vec!["a".to_string()]),
                (1, 2, vec!["a".to_string(), "bb".to_string()])
            ]
        );
        assert_eq!(merged.syscalls[&Abi::Ia32][0].runs, ["bb"]);
        assert_eq!(merged.target, Target::Merged(2));
        assert_eq!(
            merged
                .runs
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "bb"]
        );
    }

    #[test]
    fn associative_and_commutative() {
        let (a, b, c) = (
            run("a", &[(Abi::X86_64, 0)]),
            run("b", &[(Abi::X86_64, 1)]),
            run("c", &[(Abi::X86_64, 0)]),
        );
        let ab = merge(&[a.clone(), b.clone()]).unwrap();
        let bc = merge(&[b.clone(), c.clone()]).unwrap();
        let left = merge(&[(ab, "ab".into()), c.clone()]).unwrap();
        let right = merge(&[a.clone(), (bc, "bc".into())]).unwrap();
        assert_eq!(left.to_json(), right.to_json());
        assert_eq!(merge(&[c, b, a]).unwrap().to_json(), left.to_json());
    }

    /// The user is kept when every run ran as the same one, and left out otherwise.
    #[test]
    fn the_user_is_kept_only_when_every_run_agrees() {
        let user = |uid| Some(crate::recording::RunUser { uid, gid: uid });
        let with = |id: &str, u| {
            let (mut r, name) = run(id, &[(Abi::X86_64, 0)]);
            r.user = u;
            (r, name)
        };
        let same = merge(&[with("a", user(1000)), with("b", user(1000))]).unwrap();
        assert_eq!(same.user, user(1000));
        assert_eq!(
            merge(&[with("a", user(1000)), with("b", user(0))])
                .unwrap()
                .user,
            None
        );
        assert_eq!(
            merge(&[with("a", user(1000)), with("b", None)])
                .unwrap()
                .user,
            None
        );
    }

    #[test]
    fn nothing_is_an_error() {
        assert!(merge(&[]).is_err());
    }
}
