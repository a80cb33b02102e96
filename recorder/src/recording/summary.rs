//! What `leastpriv show` tells about a recording, as one structure: the text, the markdown and
//! the JSON of `show --format` are all rendered from it, so that they cannot say different
//! things. The JSON is a stable interface for scripts (`format` and `version` name it; the
//! fields are documented in docs/recording-format.md, "show --format json").
//!
//! Names here are the recorded data itself, unescaped: each renderer escapes them for its own
//! syntax (JSON strings escape themselves).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{capabilities::Audit, syscalls::Abi, Lost, Recording, Target, Tool};

/// Value of the `format` field of `show --format json`.
pub const FORMAT: &str = "leastpriv-summary";
/// Its schema version: a field changes meaning or goes away only with a new version.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub format: String,
    pub version: u32,
    pub target: Target,
    pub tool: Tool,
    pub kernel: String,
    pub arch: String,
    pub started_at: String,
    pub finished_at: String,
    pub exit_status: Option<i32>,
    /// The target was already running when the recording started.
    pub started_late: bool,
    pub complete: bool,
    /// Why it is not complete (`null` when it is).
    pub incomplete_reason: Option<String>,
    pub syscalls: Syscalls,
    pub executables: Vec<Executable>,
    /// Distinct file paths recorded (`null`: files were not recorded).
    pub files: Option<usize>,
    /// Distinct sockets recorded (`null`: sockets were not recorded).
    pub sockets: Option<usize>,
    /// Ports bound or connected to (`null`: not recorded, by an older leastpriv).
    #[serde(default)]
    pub ports: Option<Vec<Port>>,
    /// Argument values per syscall (`null`: not recorded).
    pub arguments: Option<Vec<Arguments>>,
    /// Capability checks (`null`: not recorded).
    pub capabilities: Option<Vec<CapabilityCheck>>,
    /// Processes still running after the grace period, which were killed.
    pub left_running: Vec<Process>,
    /// Processes moved out of the recorded cgroups (not recorded there).
    pub moved_out: Vec<MovedOut>,
    /// What could not be recorded: every counter of the recording, and whether all are 0.
    pub lost: LostSummary,
    /// Containers the command started, each summarised the same way.
    pub containers: Vec<ContainerSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syscalls {
    /// Distinct (ABI, syscall) pairs.
    pub distinct: usize,
    /// Calls made, all ABIs.
    pub calls: u64,
    /// Syscall names per ABI, in the recording's order; numbers without a name as `#N`.
    pub by_abi: BTreeMap<Abi, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executable {
    pub path: String,
    pub execs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// `tcp`, `udp`, or the socket type.
    pub protocol: String,
    /// `bind` or `connect`.
    pub op: String,
    pub family: String,
    pub port: u16,
    pub loopback: bool,
    /// The executables that made it.
    pub by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arguments {
    pub abi: Abi,
    pub syscall: String,
    /// The arguments the values are of, such as `["domain", "type"]`.
    pub arguments: Vec<String>,
    /// Each recorded combination, as the names of its values (`["AF_INET", "SOCK_STREAM"]`).
    pub values: Vec<Vec<String>>,
}

/// What a capability check means for a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Granted and audited: the capability is needed.
    Needed,
    /// Granted, but its stack was not kept: counted as needed.
    GrantedAuditUnknown,
    /// A CAP_OPT_NOAUDIT probe: not a need.
    Probe,
    /// Denied (and the program went on): not a need.
    Denied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityCheck {
    pub capability: String,
    pub verdict: Verdict,
    pub count: u64,
    /// The kernel functions that checked it.
    pub via: Vec<String>,
    pub syscalls: Vec<String>,
    /// The executables that made the check.
    pub by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub comm: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedOut {
    pub pid: u32,
    pub executable: Option<String>,
    pub cgroup: String,
    pub by_pid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostSummary {
    /// True when every counter is 0: the recording is exact.
    pub nothing: bool,
    /// The counters, as in the recording's `lost`.
    pub counters: Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub engine: String,
    /// The name, or the id's first 12 characters when the engine gave no name.
    pub label: String,
    pub id: String,
    pub image: Option<String>,
    pub summary: Box<Summary>,
}

impl Summary {
    pub fn of(recording: &Recording) -> Summary {
        let by_abi: BTreeMap<Abi, Vec<String>> = recording
            .syscalls
            .iter()
            .map(|(abi, entries)| {
                let names = entries
                    .iter()
                    .map(|e| e.name.clone().unwrap_or_else(|| format!("#{}", e.nr)))
                    .collect();
                (*abi, names)
            })
            .collect();
        Summary {
            format: FORMAT.into(),
            version: VERSION,
            target: recording.target.clone(),
            tool: recording.tool.clone(),
            kernel: recording.host.kernel.clone(),
            arch: recording.host.arch.clone(),
            started_at: recording.started_at.clone(),
            finished_at: recording.finished_at.clone(),
            exit_status: recording.exit_status,
            started_late: recording.started_late,
            complete: recording.complete,
            incomplete_reason: (!recording.complete).then(|| {
                recording
                    .incomplete_reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into())
            }),
            syscalls: Syscalls {
                distinct: recording.distinct_syscalls(),
                calls: recording.syscalls.values().flatten().map(|s| s.count).sum(),
                by_abi,
            },
            executables: recording
                .executables
                .iter()
                .map(|e| Executable {
                    path: e.path.clone(),
                    execs: e.execs,
                })
                .collect(),
            files: recording.files.as_ref().map(Vec::len),
            sockets: recording.sockets.as_ref().map(Vec::len),
            ports: recording.ports.as_ref().map(|ports| {
                ports
                    .iter()
                    .map(|p| Port {
                        protocol: p.protocol.clone(),
                        op: match p.op {
                            super::PortOp::Bind => "bind".into(),
                            super::PortOp::Connect => "connect".into(),
                        },
                        family: p.family.clone(),
                        port: p.port,
                        loopback: p.loopback,
                        by: p.by.iter().map(|e| e.to_string()).collect(),
                    })
                    .collect()
            }),
            arguments: recording.arguments.as_ref().map(|arguments| {
                arguments
                    .iter()
                    .flat_map(|(abi, list)| {
                        list.iter().map(|item| Arguments {
                            abi: *abi,
                            syscall: item.syscall.clone(),
                            arguments: item.arguments.clone(),
                            values: item.values.iter().map(|v| v.names.clone()).collect(),
                        })
                    })
                    .collect()
            }),
            capabilities: recording.capabilities.as_ref().map(|checks| {
                checks
                    .iter()
                    .map(|check| CapabilityCheck {
                        capability: check.capability.clone(),
                        verdict: match (check.audit, check.granted) {
                            (Audit::Probe, _) => Verdict::Probe,
                            (_, false) => Verdict::Denied,
                            (Audit::Unknown, true) => Verdict::GrantedAuditUnknown,
                            (Audit::Audited, true) => Verdict::Needed,
                        },
                        count: check.count,
                        via: check.via.clone(),
                        syscalls: check.syscalls.clone(),
                        by: check.by.iter().map(|p| p.as_str().to_owned()).collect(),
                    })
                    .collect()
            }),
            left_running: recording
                .left_running
                .iter()
                .map(|p| Process {
                    pid: p.pid,
                    comm: p.comm.clone(),
                })
                .collect(),
            moved_out: recording
                .moved_out
                .iter()
                .map(|m| MovedOut {
                    pid: m.pid,
                    executable: m.executable.clone(),
                    cgroup: m.cgroup.clone(),
                    by_pid: m.by_pid,
                })
                .collect(),
            lost: LostSummary {
                nothing: recording.lost.is_nothing(),
                counters: recording.lost.clone(),
            },
            containers: recording
                .containers
                .iter()
                .map(|c| ContainerSummary {
                    engine: c.engine.clone(),
                    label: c.label(),
                    id: c.id.clone(),
                    image: c.image.clone(),
                    summary: Box::new(Summary::of(&c.recording)),
                })
                .collect(),
        }
    }
}
