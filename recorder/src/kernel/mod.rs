//! The only module that talks to the kernel's BPF interface: load the programs, point them at
//! the target cgroup, attach them, drain events, and read the counters back.

mod btf;
mod file_ops;
mod tracefs;

use std::{collections::BTreeMap, os::fd::AsRawFd as _, path::PathBuf};

use aya::{
    maps::{
        stack_trace::StackTraceMap, CgroupArray, HashMap, MapData, PerCpuArray, PerCpuHashMap,
        RingBuf,
    },
    programs::{RawTracePoint, TracePoint},
    Ebpf, EbpfLoader,
};
use recorder_common::{
    abi, lost, CapCheckKey, ExeSyscalls, OddSyscallKey, MAX_SYSCALL_NR, NO_SYSCALL,
};

pub use self::btf::Offsets;
use crate::{
    cgroup::Cgroup,
    decode,
    observation::{CapCheck, Observation},
    recording::Lost,
    syscalls::Abi,
};

/// The compiled kernel programs, built by build.rs from `recorder-ebpf`.
static PROGRAMS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/leastpriv-ebpf"));

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("recording needs root: loading eBPF programs takes CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and this process lacks {missing}; run it with sudo")]
    NotPrivileged { missing: String },
    #[error("kernel BTF is missing at {path} (the kernel needs CONFIG_DEBUG_INFO_BTF=y); leastpriv reads it to tell 32-bit syscalls from 64-bit ones")]
    NoBtf { path: PathBuf },
    #[error("{what}")]
    Btf { what: String },
    #[error("{what}")]
    Tracefs { what: String },
    #[error("cannot load the eBPF programs")]
    Load(#[source] aya::EbpfError),
    #[error("cannot {action} eBPF program {program}")]
    Program {
        action: &'static str,
        program: &'static str,
        #[source]
        source: aya::programs::ProgramError,
    },
    #[error("eBPF map {map}: {what}")]
    Map { map: &'static str, what: String },
}

/// Loaded and attached kernel programs recording one target cgroup. Dropping it detaches
/// everything (the links are owned by `Ebpf`, nothing is pinned), so no program outlives a run.
pub struct KernelRecorder {
    ebpf: Ebpf,
    /// False when the kernel has no `capability:cap_capable` tracepoint.
    capability_checks: bool,
    events: RingBuf<MapData>,
    /// Held so its fd stays open while the programs that use it are loaded.
    _target: CgroupArray<MapData>,
}

impl KernelRecorder {
    /// Checks what is needed, loads the programs, targets `cgroup` and attaches the hooks.
    pub fn start(cgroup: &Cgroup) -> Result<KernelRecorder, KernelError> {
        check_privileges()?;
        raise_memlock_limit();
        let offsets = Offsets::from_running_kernel()?;
        let tracefs = tracefs::ensure_mounted()?;
        let exec_filename =
            tracefs::field_offset(&tracefs, "sched", "sched_process_exec", "filename")?;
        // The capability tracepoint is optional: without it, say so and record the rest.
        let cap_fields = tracefs::field_offset(&tracefs, "capability", "cap_capable", "cap")
            .and_then(|cap| {
                Ok((
                    cap,
                    tracefs::field_offset(&tracefs, "capability", "cap_capable", "ret")?,
                ))
            });
        if let Err(err) = &cap_fields {
            eprintln!("leastpriv: capability checks will not be recorded: this kernel has no usable capability:cap_capable tracepoint ({err})");
        }
        let (cap_offset, ret_offset) = *cap_fields.as_ref().unwrap_or(&(32, 36));

        let mut ebpf = EbpfLoader::new()
            .override_global("TASK_STATUS_OFFSET", &offsets.task_status, true)
            .override_global("TASK_MM_OFFSET", &offsets.task_mm, true)
            .override_global("MM_EXE_FILE_OFFSET", &offsets.mm_exe_file, true)
            .override_global("FILE_INODE_OFFSET", &offsets.file_inode, true)
            .override_global("FILE_OFFSETS", &offsets.files, true)
            .override_global("EXEC_FILENAME_LOC_OFFSET", &exec_filename, true)
            .override_global("CAP_FIELD_OFFSET", &cap_offset, true)
            .override_global("RET_FIELD_OFFSET", &ret_offset, true)
            .load(PROGRAMS)
            .map_err(KernelError::Load)?;

        let mut target: CgroupArray<_> = take_map(&mut ebpf, "TARGET_CGROUP")?;
        target
            .set(0, cgroup.dir().as_raw_fd(), 0)
            .map_err(|e| KernelError::Map {
                map: "TARGET_CGROUP",
                what: e.to_string(),
            })?;
        let events: RingBuf<_> = take_map(&mut ebpf, "EVENTS")?;
        let mut file_ops: aya::maps::Array<_, u8> = borrow_map_mut(&mut ebpf, "FILE_OPS")?;
        for (index, op) in file_ops::table() {
            file_ops.set(index, op, 0).map_err(|e| KernelError::Map {
                map: "FILE_OPS",
                what: e.to_string(),
            })?;
        }

        // Exec first, so that by the time syscalls are counted every exec is also seen.
        let exec: &mut TracePoint = program(&mut ebpf, "sched_process_exec")?;
        exec.load().map_err(|source| KernelError::Program {
            action: "load",
            program: "sched_process_exec",
            source,
        })?;
        exec.attach("sched", "sched_process_exec")
            .map_err(|source| KernelError::Program {
                action: "attach",
                program: "sched_process_exec",
                source,
            })?;
        if cap_fields.is_ok() {
            let checks: &mut TracePoint = program(&mut ebpf, "cap_capable")?;
            checks.load().map_err(|source| KernelError::Program {
                action: "load",
                program: "cap_capable",
                source,
            })?;
            checks
                .attach("capability", "cap_capable")
                .map_err(|source| KernelError::Program {
                    action: "attach",
                    program: "cap_capable",
                    source,
                })?;
        }
        // Exit before entry: a call noted at entry must find its exit program attached.
        let sys_exit: &mut RawTracePoint = program(&mut ebpf, "sys_exit")?;
        sys_exit.load().map_err(|source| KernelError::Program {
            action: "load",
            program: "sys_exit",
            source,
        })?;
        sys_exit
            .attach("sys_exit")
            .map_err(|source| KernelError::Program {
                action: "attach",
                program: "sys_exit",
                source,
            })?;
        let sys_enter: &mut RawTracePoint = program(&mut ebpf, "sys_enter")?;
        sys_enter.load().map_err(|source| KernelError::Program {
            action: "load",
            program: "sys_enter",
            source,
        })?;
        sys_enter
            .attach("sys_enter")
            .map_err(|source| KernelError::Program {
                action: "attach",
                program: "sys_enter",
                source,
            })?;

        Ok(KernelRecorder {
            ebpf,
            capability_checks: cap_fields.is_ok(),
            events,
            _target: target,
        })
    }

    /// Decodes every event waiting in the ring buffer. An undecodable event is reported and
    /// skipped: the kernel side is ours, so that would be a bug worth seeing, not hiding.
    pub fn drain_events(&mut self, mut observe: impl FnMut(Observation)) {
        while let Some(item) = self.events.next() {
            match decode::decode(&item) {
                Ok(observation) => observe(observation),
                Err(err) => log::warn!("skipping a kernel event: {err}"),
            }
        }
    }

    /// Syscall counts per (ABI, number), summed over CPUs, including the odd numbers.
    pub fn syscall_counts(&self) -> Result<BTreeMap<(Abi, i64), u64>, KernelError> {
        let mut counts = BTreeMap::new();
        let dense: PerCpuArray<_, u64> = borrow_map(&self.ebpf, "SYSCALL_COUNTS")?;
        for wire_abi in 0..abi::COUNT {
            let abi = Abi::from_wire(wire_abi).expect("every wire ABI has a name");
            for nr in 0..MAX_SYSCALL_NR {
                let values = dense
                    .get(&(wire_abi * MAX_SYSCALL_NR + nr), 0)
                    .map_err(|e| KernelError::Map {
                        map: "SYSCALL_COUNTS",
                        what: e.to_string(),
                    })?;
                let total: u64 = values.iter().sum();
                if total > 0 {
                    counts.insert((abi, i64::from(nr)), total);
                }
            }
        }
        let odd: HashMap<_, OddSyscallKey, u64> = borrow_map(&self.ebpf, "ODD_SYSCALLS")?;
        for entry in odd.iter() {
            let (key, count) = entry.map_err(|e| KernelError::Map {
                map: "ODD_SYSCALLS",
                what: e.to_string(),
            })?;
            if let Some(abi) = Abi::from_wire(key.abi) {
                *counts.entry((abi, key.nr)).or_default() += count;
            }
        }
        Ok(counts)
    }

    /// Per executable (by inode address, see `Observation::Exec`), the (ABI, number) pairs it
    /// made, from the per-CPU bitmaps.
    pub fn syscalls_by_exe(&self) -> Result<BTreeMap<u64, Vec<(Abi, i64)>>, KernelError> {
        let map: PerCpuHashMap<_, u64, ExeSyscalls> = borrow_map(&self.ebpf, "EXE_SYSCALLS")?;
        let mut by_exe = BTreeMap::new();
        for entry in map.iter() {
            let (exe, per_cpu) = entry.map_err(|e| KernelError::Map {
                map: "EXE_SYSCALLS",
                what: e.to_string(),
            })?;
            let mut set = Vec::new();
            for bit in 0..abi::COUNT * MAX_SYSCALL_NR {
                let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
                if per_cpu.iter().any(|cpu| cpu.bits[word] & mask != 0) {
                    let abi = Abi::from_wire(bit / MAX_SYSCALL_NR).expect("bit within the ABIs");
                    set.push((abi, i64::from(bit % MAX_SYSCALL_NR)));
                }
            }
            by_exe.insert(exe, set);
        }
        Ok(by_exe)
    }

    /// Every distinct capability check, with its kernel stack as instruction pointers;
    /// `None` when the kernel cannot report them.
    pub fn capability_checks(&self) -> Result<Option<Vec<CapCheck>>, KernelError> {
        if !self.capability_checks {
            return Ok(None);
        }
        let checks: HashMap<_, CapCheckKey, u64> = borrow_map(&self.ebpf, "CAP_CHECKS")?;
        let stacks: StackTraceMap<_> = borrow_map(&self.ebpf, "CAP_STACKS")?;
        let mut out = Vec::new();
        for entry in checks.iter() {
            let (key, count) = entry.map_err(|e| KernelError::Map {
                map: "CAP_CHECKS",
                what: e.to_string(),
            })?;
            let stack = u32::try_from(key.stack_id)
                .ok()
                .and_then(|id| stacks.get(&id, 0).ok())
                .map(|trace| trace.frames().iter().map(|f| f.ip).collect());
            let syscall = (key.syscall != NO_SYSCALL).then(|| {
                let abi =
                    Abi::from_wire(key.syscall / MAX_SYSCALL_NR).expect("index within the ABIs");
                (abi, i64::from(key.syscall % MAX_SYSCALL_NR))
            });
            out.push(CapCheck {
                exe_inode: key.exe_inode,
                cap: key.cap,
                ret: key.ret,
                stack,
                syscall,
                count,
            });
        }
        Ok(Some(out))
    }

    /// What the kernel programs could not record.
    pub fn lost(&self) -> Result<Lost, KernelError> {
        let counters: PerCpuArray<_, u64> = borrow_map(&self.ebpf, "LOST")?;
        let read = |index: u32| -> Result<u64, KernelError> {
            let values = counters.get(&index, 0).map_err(|e| KernelError::Map {
                map: "LOST",
                what: e.to_string(),
            })?;
            Ok(values.iter().sum())
        };
        Ok(Lost {
            exec_events: read(lost::EXEC_EVENTS)?,
            syscall_numbers: read(lost::SYSCALL_NUMBERS)?,
            provenance: read(lost::PROVENANCE)?,
            capability_checks: read(lost::CAP_CHECKS)?,
            capability_stacks: read(lost::CAP_STACKS)?,
            file_events: read(lost::FILE_EVENTS)?,
            file_calls: read(lost::PENDING)?,
            unresolved_paths: 0,
        })
    }
}

/// The benchmark floor: empty programs on the recorder's syscall hooks (entry and exit),
/// attached until the value is dropped. Loads only that program (no target, no maps read back).
pub struct FloorProgram {
    _ebpf: Ebpf,
}

impl FloorProgram {
    pub fn attach() -> Result<FloorProgram, KernelError> {
        check_privileges()?;
        raise_memlock_limit();
        let mut ebpf = Ebpf::load(PROGRAMS).map_err(KernelError::Load)?;
        let floor: &mut RawTracePoint = program(&mut ebpf, "sys_enter_floor")?;
        floor.load().map_err(|source| KernelError::Program {
            action: "load",
            program: "sys_enter_floor",
            source,
        })?;
        floor
            .attach("sys_enter")
            .map_err(|source| KernelError::Program {
                action: "attach",
                program: "sys_enter_floor",
                source,
            })?;
        let floor_exit: &mut RawTracePoint = program(&mut ebpf, "sys_exit_floor")?;
        floor_exit.load().map_err(|source| KernelError::Program {
            action: "load",
            program: "sys_exit_floor",
            source,
        })?;
        floor_exit
            .attach("sys_exit")
            .map_err(|source| KernelError::Program {
                action: "attach",
                program: "sys_exit_floor",
                source,
            })?;
        Ok(FloorProgram { _ebpf: ebpf })
    }
}

/// The event ring buffer's fd: readable when events wait (for epoll, e.g. tokio's `AsyncFd`).
impl std::os::fd::AsRawFd for KernelRecorder {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.events.as_raw_fd()
    }
}

fn program<'a, P>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<&'a mut P, KernelError>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let program = ebpf.program_mut(name).ok_or(KernelError::Program {
        action: "find",
        program: name,
        source: aya::programs::ProgramError::NotLoaded,
    })?;
    program.try_into().map_err(|source| KernelError::Program {
        action: "use",
        program: name,
        source,
    })
}

fn take_map<M>(ebpf: &mut Ebpf, name: &'static str) -> Result<M, KernelError>
where
    M: TryFrom<aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.take_map(name).ok_or(KernelError::Map {
        map: name,
        what: "missing from the object".into(),
    })?;
    M::try_from(map).map_err(|e| KernelError::Map {
        map: name,
        what: e.to_string(),
    })
}

fn borrow_map_mut<'a, M>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<M, KernelError>
where
    M: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.map_mut(name).ok_or(KernelError::Map {
        map: name,
        what: "missing from the object".into(),
    })?;
    M::try_from(map).map_err(|e| KernelError::Map {
        map: name,
        what: e.to_string(),
    })
}

fn borrow_map<'a, M>(ebpf: &'a Ebpf, name: &'static str) -> Result<M, KernelError>
where
    M: TryFrom<&'a aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.map(name).ok_or(KernelError::Map {
        map: name,
        what: "missing from the object".into(),
    })?;
    M::try_from(map).map_err(|e| KernelError::Map {
        map: name,
        what: e.to_string(),
    })
}

/// Capability bits (linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Fails early (call it before any set-up), with the capabilities named, instead of letting the first BPF call fail with a
/// bare EPERM.
pub fn check_privileges() -> Result<(), KernelError> {
    let effective = procfs::process::Process::myself()
        .and_then(|me| me.status())
        .map_or(0, |s| s.capeff);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let missing: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|&(cap, _)| !has(cap))
        .map(|(_, name)| name)
        .collect();
    Err(KernelError::NotPrivileged {
        missing: missing.join(" and "),
    })
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK; newer ones use the memory cgroup.
/// Raising the limit may be refused (no CAP_SYS_RESOURCE), which is fine on a new kernel.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid pointer to an initialised struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        log::debug!(
            "could not raise RLIMIT_MEMLOCK: {}",
            std::io::Error::last_os_error()
        );
    }
}
