//! The only module that talks to the kernel's BPF interface: load the programs, point them at
//! the target cgroup, attach them, drain events, and read the counters back.

mod btf;
mod error;
mod file_ops;
mod tracefs;

use std::{collections::BTreeMap, os::fd::AsRawFd as _};

use aya::{
    maps::{Array, CgroupArray, HashMap, MapData, PerCpuArray, PerCpuHashMap, RingBuf},
    programs::{BtfTracePoint, Program, RawTracePoint},
    Ebpf, EbpfLoader,
};
use recorder_common::{
    abi, lost, CachedSyscall, CapCheckKey, CapStack, ExeSyscalls, OddSyscallKey, SyscallCounts,
    CACHED_SYSCALL_CPUS, CACHED_SYSCALL_SECTION, CONTAINER_ID_LEN, DECIDED_STACK_DEPTH,
    MAX_SYSCALL_NR, NO_CAP_STACK, NO_SYSCALL, SYSCALL_INDICES,
};

pub use self::{btf::Offsets, error::KernelError};
use crate::{
    record::{
        cgroup::Cgroup,
        decode,
        observation::{ArgValues, CapCheck, Observation},
    },
    recording::syscalls::Abi,
    recording::Lost,
};

/// The compiled kernel programs, built by build.rs from `recorder-ebpf`.
static PROGRAMS: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/leastpriv-ebpf"));

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
    ///
    /// With `follow_moves`, a task of the target that moves a task into another cgroup is
    /// stopped (SIGSTOP) until the caller has seen the move (see [`Observation::Moved`]) and
    /// sent it SIGCONT.
    pub fn start(cgroup: &Cgroup, follow_moves: bool) -> Result<KernelRecorder, KernelError> {
        LoadedRecorder::load(follow_moves)?.start(cgroup)
    }

    /// The table of containers this recording expects an engine to start (see
    /// [`ExpectedContainers`]); taken once.
    pub fn expected_containers(&mut self) -> Result<ExpectedContainers, KernelError> {
        Ok(ExpectedContainers(take_map(
            &mut self.ebpf,
            "EXPECTED_CONTAINERS",
        )?))
    }

    /// Notes `pid` as a process of the recording (its forks are noted by the kernel
    /// programs), so that a move of it out of the target is reported.
    pub fn note_recorded_process(&mut self, pid: u32) -> Result<(), KernelError> {
        let mut tasks: HashMap<_, u32, u8> = borrow_map_mut(&mut self.ebpf, "RECORDED_TASKS")?;
        tasks.insert(pid, 1, 0).map_err(map_error("RECORDED_TASKS"))
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
        let dense: PerCpuArray<_, SyscallCounts> = borrow_map(&self.ebpf, "SYSCALL_COUNTS")?;
        let per_cpu = dense.get(&0, 0).map_err(map_error("SYSCALL_COUNTS"))?;
        for index in 0..SYSCALL_INDICES {
            let total: u64 = per_cpu.iter().map(|cpu| cpu.calls[index]).sum();
            if total > 0 {
                let abi =
                    Abi::from_wire(index as u32 / MAX_SYSCALL_NR).expect("index within the ABIs");
                counts.insert((abi, i64::from(index as u32 % MAX_SYSCALL_NR)), total);
            }
        }
        // Calls each CPU's syscall cache counted and has not handed on yet.
        let cached: Array<_, [CachedSyscall; CACHED_SYSCALL_CPUS]> =
            borrow_map(&self.ebpf, CACHED_SYSCALL_SECTION)?;
        let entries = cached.get(&0, 0).map_err(|e| KernelError::Map {
            map: CACHED_SYSCALL_SECTION,
            what: e.to_string(),
        })?;
        for entry in entries
            .iter()
            .filter(|e| e.hits > 0 && e.index != NO_SYSCALL)
        {
            let abi = Abi::from_wire(entry.index / MAX_SYSCALL_NR).expect("index within the ABIs");
            *counts
                .entry((abi, i64::from(entry.index % MAX_SYSCALL_NR)))
                .or_default() += entry.hits;
        }
        let odd: HashMap<_, OddSyscallKey, u64> = borrow_map(&self.ebpf, "ODD_SYSCALLS")?;
        for entry in odd.iter() {
            let (key, count) = entry.map_err(map_error("ODD_SYSCALLS"))?;
            if let Some(abi) = Abi::from_wire(key.abi) {
                *counts.entry((abi, key.nr)).or_default() += count;
            }
        }
        Ok(counts)
    }

    /// For a live status line: the distinct (ABI, number) pairs counted so far, from two
    /// array lookups (the dense table and the CPUs' caches). The odd numbers, in a hash map
    /// that would take a lookup per entry, are left out; the recording has them.
    pub fn distinct_syscalls_so_far(&self) -> Result<usize, KernelError> {
        let dense: PerCpuArray<_, SyscallCounts> = borrow_map(&self.ebpf, "SYSCALL_COUNTS")?;
        let per_cpu = dense.get(&0, 0).map_err(map_error("SYSCALL_COUNTS"))?;
        let mut seen = [false; SYSCALL_INDICES];
        for cpu in per_cpu.iter() {
            for (seen, calls) in seen.iter_mut().zip(cpu.calls.iter()) {
                *seen |= *calls > 0;
            }
        }
        let cached: Array<_, [CachedSyscall; CACHED_SYSCALL_CPUS]> =
            borrow_map(&self.ebpf, CACHED_SYSCALL_SECTION)?;
        let entries = cached.get(&0, 0).map_err(|e| KernelError::Map {
            map: CACHED_SYSCALL_SECTION,
            what: e.to_string(),
        })?;
        for entry in entries.iter().filter(|e| e.hits > 0) {
            if let Some(seen) = seen.get_mut(entry.index as usize) {
                *seen = true;
            }
        }
        Ok(seen.iter().filter(|s| **s).count())
    }

    /// Per executable (by inode address, see `Observation::Exec`), the (ABI, number) pairs it
    /// made, from the per-CPU bitmaps.
    pub fn syscalls_by_exe(&self) -> Result<BTreeMap<u64, Vec<(Abi, i64)>>, KernelError> {
        let map: PerCpuHashMap<_, u64, ExeSyscalls> = borrow_map(&self.ebpf, "EXE_SYSCALLS")?;
        let mut by_exe = BTreeMap::new();
        for entry in map.iter() {
            let (exe, per_cpu) = entry.map_err(map_error("EXE_SYSCALLS"))?;
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
        let stacks: HashMap<_, u64, CapStack> = borrow_map(&self.ebpf, "CAP_STACK_FRAMES")?;
        let mut out = Vec::new();
        for entry in checks.iter() {
            let (key, count) = entry.map_err(map_error("CAP_CHECKS"))?;
            let stack = (key.stack != NO_CAP_STACK)
                .then(|| stacks.get(&key.stack, 0).ok())
                .flatten()
                .map(|trace| {
                    let depth = (trace.depth as usize).min(trace.ips.len());
                    trace.ips[..depth].to_vec()
                });
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
        let decided = out
            .iter()
            .filter(|c| {
                c.stack
                    .as_ref()
                    .is_some_and(|s| s.len() as u64 == DECIDED_STACK_DEPTH)
            })
            .map(|c| c.count)
            .sum::<u64>();
        log::debug!(
            "capability checks: {} made, {decided} decided by their caller without unwinding the stack",
            out.iter().map(|c| c.count).sum::<u64>()
        );
        Ok(Some(out))
    }

    /// Every distinct (program, syscall, argument values) recorded.
    pub fn argument_values(&self) -> Result<Vec<ArgValues>, KernelError> {
        let map: HashMap<_, recorder_common::ArgKey, u64> = borrow_map(&self.ebpf, "ARG_VALUES")?;
        let specs: BTreeMap<u32, recorder_common::ArgSpec> =
            crate::recording::arguments::table().into_iter().collect();
        let mut out = Vec::new();
        for entry in map.iter() {
            let (key, count) = entry.map_err(map_error("ARG_VALUES"))?;
            let Some(abi) = Abi::from_wire(key.index / MAX_SYSCALL_NR) else {
                continue;
            };
            let used = specs.get(&key.index).map_or(0, |s| s.count as usize).min(3);
            out.push(ArgValues {
                exe_inode: key.exe_inode,
                abi,
                nr: i64::from(key.index % MAX_SYSCALL_NR),
                values: key.values[..used].to_vec(),
                count,
            });
        }
        Ok(out)
    }

    /// One loss counter, summed over CPUs.
    fn lost_count(&self, counter: u32) -> Result<u64, KernelError> {
        let counters: PerCpuArray<_, u64> = borrow_map(&self.ebpf, "LOST")?;
        let values = counters.get(&counter, 0).map_err(map_error("LOST"))?;
        Ok(values.iter().sum())
    }

    /// What the kernel programs could not record.
    pub fn lost(&self) -> Result<Lost, KernelError> {
        let read = |counter| self.lost_count(counter);
        Ok(Lost {
            exec_events: read(lost::EXEC_EVENTS)?,
            syscall_numbers: read(lost::SYSCALL_NUMBERS)?,
            provenance: read(lost::PROVENANCE)?,
            capability_checks: read(lost::CAP_CHECKS)?,
            capability_stacks: read(lost::CAP_STACKS)?,
            file_events: read(lost::FILE_EVENTS)?,
            file_calls: read(lost::PENDING)?,
            argument_values: read(lost::ARG_VALUES)?,
            cgroup_moves: read(lost::MOVE_EVENTS)?,
            ports: read(lost::PORTS)?,
            // Counted in userspace (see `Observed`).
            unresolved_paths: 0,
            file_paths: 0,
        })
    }
}

/// A map operation's failure as this module's error, naming the map.
fn map_error<E: std::fmt::Display>(map: &'static str) -> impl FnOnce(E) -> KernelError {
    move |e| KernelError::Map {
        map,
        what: e.to_string(),
    }
}

/// Containers started outside the recording (by Docker's daemon) that belong to it: a move
/// into a cgroup named after one of their ids is reported and its mover stopped, as a move
/// made by a task of the recording is.
pub struct ExpectedContainers(aya::maps::HashMap<MapData, [u8; CONTAINER_ID_LEN], u8>);

impl ExpectedContainers {
    /// Expects the container `id` (64 hex digits); other ids are refused.
    pub fn expect(&mut self, id: &str) -> Result<(), KernelError> {
        let key: [u8; CONTAINER_ID_LEN] = id
            .as_bytes()
            .try_into()
            .ok()
            .filter(|_| id.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| KernelError::Map {
                map: "EXPECTED_CONTAINERS",
                what: format!("{id:?} is not a container id"),
            })?;
        self.0
            .insert(key, 1, 0)
            .map_err(map_error("EXPECTED_CONTAINERS"))
    }
}

/// An aya loader given no kernel BTF. Rust programs carry no CO-RE relocations (the offsets
/// come from our own BTF lookup, [`Offsets`]), and the one BTF type id aya needs, that of
/// `sys_enter`'s tracepoint, it gets from a stand-in ([`Offsets::sys_enter_btf`]).
///
/// aya 0.14's `EbpfLoader::new()` reads and parses the kernel's BTF all the same (5 MB here:
/// 30 to 40 ms, half of start-up, and 10 MiB), before `btf(None)` can say it is not wanted.
/// So this runs on a thread of its own that cannot open files (a seccomp filter on that
/// thread alone, gone when it ends): aya's read fails at once and it goes on without BTF,
/// just as `btf(None)` asks. Where the filter cannot be installed, aya parses as it would.
fn loader_without_kernel_btf() -> EbpfLoader<'static> {
    if let Err(err) = forbid_opening_files_on_this_thread() {
        log::debug!("aya will parse the kernel's BTF itself: {err}");
    }
    let mut loader = EbpfLoader::new();
    loader.btf(None);
    loader
}

/// Makes every open on the calling thread fail with EACCES, for as long as the thread lives.
/// A filter without TSYNC binds only the thread that installs it, and so does the
/// no-new-privileges flag it needs.
fn forbid_opening_files_on_this_thread() -> Result<(), libseccomp::error::SeccompError> {
    use libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
    let mut filter = ScmpFilterContext::new(ScmpAction::Allow)?;
    for call in ["open", "openat", "openat2"] {
        filter.add_rule(
            ScmpAction::Errno(libc::EACCES),
            ScmpSyscall::from_name(call)?,
        )?;
    }
    filter.load()
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
        let sys_enter_btf = Offsets::from_running_kernel()?.sys_enter_btf()?;
        let mut ebpf = std::thread::spawn(loader_without_kernel_btf)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .load(PROGRAMS)
            .map_err(KernelError::Load)?;
        let hooks = [
            Hook::btf("sys_enter_floor", "sys_enter", &sys_enter_btf),
            Hook::raw("sys_exit_floor", "sys_exit"),
        ];
        load_and_attach(&mut ebpf, &hooks)?;
        Ok(FloorProgram { _ebpf: ebpf })
    }
}

/// Kernel programs loaded (verified) and set up, aimed at no cgroup and attached to nothing
/// yet. Loading is most of a recorder's start-up; a loaded recorder is started on a cgroup in
/// well under a millisecond. So a recording that expects a container can load one ahead,
/// while the engine prepares it, instead of keeping the container's runtime stopped for the
/// load (see `record::containers`).
pub struct LoadedRecorder {
    ebpf: Ebpf,
    capability_checks: bool,
    events: RingBuf<MapData>,
    target: CgroupArray<MapData>,
    /// (program, tracepoint, whether a BTF tracepoint) in the order to attach them.
    hooks: Vec<(&'static str, &'static str, bool)>,
}

impl LoadedRecorder {
    /// Checks what is needed and loads the programs and their tables.
    ///
    /// With `follow_moves`, a task of the target that moves a task into another cgroup is
    /// stopped (SIGSTOP) until the caller has seen the move (see [`Observation::Moved`]) and
    /// sent it SIGCONT.
    pub fn load(follow_moves: bool) -> Result<LoadedRecorder, KernelError> {
        check_privileges()?;
        raise_memlock_limit();
        // Made on another core while our own offsets are looked up (read from a cache, or on
        // a kernel not seen before, from BTF: about 250 ms), in case it has to parse.
        let loader = std::thread::spawn(loader_without_kernel_btf);
        let offsets = Offsets::from_running_kernel()?;
        let tracefs = tracefs::ensure_mounted()?;
        // The capability tracepoint is optional: without it, say so and record the rest. Its
        // format file must show the argument layout the program reads: cap and ret fourth and
        // fifth (in either order).
        let cap_layout = tracefs::field_index(&tracefs, "capability", "cap_capable", "cap").and_then(|cap| {
            let ret = tracefs::field_index(&tracefs, "capability", "cap_capable", "ret")?;
            match (cap, ret) {
                (3, 4) => Ok(0u64),
                (4, 3) => Ok(1u64),
                _ => Err(KernelError::Tracefs {
                    what: format!("capability:cap_capable has cap as argument {cap} and ret as {ret}; leastpriv reads them as 3 and 4"),
                }),
            }
        });
        if let Err(err) = &cap_layout {
            eprintln!("leastpriv: capability checks will not be recorded: this kernel has no usable capability:cap_capable tracepoint ({err})");
        }
        let cap_ret_swapped = *cap_layout.as_ref().unwrap_or(&0);

        // 1 ms on this kernel, 14 ms for an id of 150,000: made before waiting for the loader,
        // which may still be parsing (see `loader_without_kernel_btf`).
        let sys_enter_btf = offsets.sys_enter_btf()?;

        // Return addresses that decide a capability check alone (see `PROBING_CALLERS`);
        // LEASTPRIV_WHOLE_CAPABILITY_STACKS=1 gives none, so every stack is walked, to compare.
        let whole_stacks =
            std::env::var_os("LEASTPRIV_WHOLE_CAPABILITY_STACKS").is_some_and(|v| v == "1");
        let deciding_returns: Vec<u64> = if cap_layout.is_ok() && !whole_stacks {
            crate::record::kernel_symbols::known_deciding_returns()
                .into_iter()
                .take(recorder_common::DECIDING_RETURNS_MAX as usize)
                .collect()
        } else {
            Vec::new()
        };
        let cap_shortcut = u64::from(!deciding_returns.is_empty());

        let mut loader = loader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut ebpf = loader
            .override_global("TASK_STATUS_OFFSET", &offsets.task_status, true)
            .override_global("TASK_MM_OFFSET", &offsets.task_mm, true)
            .override_global("MM_EXE_FILE_OFFSET", &offsets.mm_exe_file, true)
            .override_global("FILE_INODE_OFFSET", &offsets.file_inode, true)
            .override_global("TASK_STACK_OFFSET", &offsets.task_stack, true)
            .override_global("BINPRM_FILENAME_OFFSET", &offsets.binprm_filename, true)
            .override_global("TASK_TGID_OFFSET", &offsets.task_tgid, true)
            .override_global("CGROUP_ROOT_OFFSET", &offsets.cgroup_root, true)
            .override_global("ROOT_HIERARCHY_ID_OFFSET", &offsets.root_hierarchy_id, true)
            .override_global("FOLLOW_MOVES", &u64::from(follow_moves), true)
            .override_global("FILE_OFFSETS", &offsets.files, true)
            .override_global("CAP_RET_SWAPPED", &cap_ret_swapped, true)
            .override_global("CAP_SHORTCUT", &cap_shortcut, true)
            .load(PROGRAMS)
            .map_err(KernelError::Load)?;

        let target: CgroupArray<_> = take_map(&mut ebpf, "TARGET_CGROUP")?;
        let events: RingBuf<_> = take_map(&mut ebpf, "EVENTS")?;
        {
            let mut arg_specs: aya::maps::Array<_, recorder_common::ArgSpec> =
                borrow_map_mut(&mut ebpf, "ARG_SPECS")?;
            for (index, spec) in crate::recording::arguments::table() {
                arg_specs
                    .set(index, spec, 0)
                    .map_err(map_error("ARG_SPECS"))?;
            }
        }
        let mut file_ops: aya::maps::Array<_, u8> = borrow_map_mut(&mut ebpf, "FILE_OPS")?;
        for (index, op) in file_ops::table() {
            file_ops.set(index, op, 0).map_err(map_error("FILE_OPS"))?;
        }

        if !deciding_returns.is_empty() {
            let mut callers: HashMap<_, u64, u8> = borrow_map_mut(&mut ebpf, "PROBING_CALLERS")?;
            for &ip in &deciding_returns {
                callers
                    .insert(ip, 1, 0)
                    .map_err(map_error("PROBING_CALLERS"))?;
            }
        }

        // Raw and BTF tracepoints only: cheaper per event than classic ones, and quick to
        // detach. Exec first, so that by the time syscalls are counted every exec is also
        // seen; the syscall cache's invalidations before the cache itself; exit before entry,
        // so that a call noted at entry finds its exit program attached.
        let mut hooks = vec![Hook::raw("sched_process_exec", "sched_process_exec")];
        if cap_layout.is_ok() {
            hooks.push(Hook::raw("cap_capable", "cap_capable"));
        }
        hooks.extend([
            Hook::raw("cache_on_fork", "sched_process_fork"),
            Hook::raw("cache_on_migration", "cgroup_attach_task"),
            Hook::raw("cgroup_moves", "cgroup_attach_task"),
            Hook::raw("note_forks", "sched_process_fork"),
            Hook::raw("sys_exit", "sys_exit"),
            Hook::btf("sys_enter", "sys_enter", &sys_enter_btf),
        ]);
        load_in_parallel(&mut ebpf, &hooks)?;
        let hooks = hooks
            .iter()
            .map(|hook| (hook.program, hook.tracepoint, hook.btf.is_some()))
            .collect();
        Ok(LoadedRecorder {
            ebpf,
            capability_checks: cap_layout.is_ok(),
            events,
            target,
            hooks,
        })
    }

    /// Targets `cgroup` and attaches the hooks: from here on, its tasks are recorded. The
    /// target is set before anything is attached, so no program ever runs aimed at nothing
    /// (a program that saw no target would note the task as outside it, and keep to that).
    pub fn start(mut self, cgroup: &Cgroup) -> Result<KernelRecorder, KernelError> {
        self.target
            .set(0, cgroup.dir().as_raw_fd(), 0)
            .map_err(map_error("TARGET_CGROUP"))?;
        for &(program, tracepoint, btf) in &self.hooks {
            attach_loaded(&mut self.ebpf, program, tracepoint, btf)?;
        }
        Ok(KernelRecorder {
            ebpf: self.ebpf,
            capability_checks: self.capability_checks,
            events: self.events,
            _target: self.target,
        })
    }
}

/// The event ring buffer's fd: readable when events wait (for epoll, e.g. tokio's `AsyncFd`).
impl std::os::fd::AsRawFd for KernelRecorder {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.events.as_raw_fd()
    }
}

/// A kernel program and the tracepoint it goes on.
struct Hook<'a> {
    program: &'static str,
    tracepoint: &'static str,
    /// For a BTF tracepoint (`tp_btf`): BTF naming the tracepoint's typedef. `None` for a
    /// raw tracepoint.
    btf: Option<&'a aya::Btf>,
}

impl<'a> Hook<'a> {
    fn raw(program: &'static str, tracepoint: &'static str) -> Hook<'a> {
        Hook {
            program,
            tracepoint,
            btf: None,
        }
    }

    fn btf(program: &'static str, tracepoint: &'static str, btf: &'a aya::Btf) -> Hook<'a> {
        Hook {
            program,
            tracepoint,
            btf: Some(btf),
        }
    }

    /// Names this hook's program and what was being done to it in aya's error.
    fn error(&self, action: &'static str) -> impl Fn(aya::programs::ProgramError) -> KernelError {
        let program = self.program;
        move |source| KernelError::Program {
            action,
            program,
            source,
        }
    }

    /// Loads the program (the kernel verifies it).
    fn load(&self, program: &mut Program) -> Result<(), KernelError> {
        match self.btf {
            None => {
                let program: &mut RawTracePoint = program.try_into().map_err(self.error("use"))?;
                program.load().map_err(self.error("load"))
            }
            Some(btf) => {
                let program: &mut BtfTracePoint = program.try_into().map_err(self.error("use"))?;
                program
                    .load(self.tracepoint, btf)
                    .map_err(self.error("load"))
            }
        }
    }
}

/// Loads the hooks' programs, then attaches them in the order given.
fn load_and_attach(ebpf: &mut Ebpf, hooks: &[Hook<'_>]) -> Result<(), KernelError> {
    load_in_parallel(ebpf, hooks)?;
    hooks
        .iter()
        .try_for_each(|hook| attach_loaded(ebpf, hook.program, hook.tracepoint, hook.btf.is_some()))
}

/// Loads the hooks' programs, each on a thread of its own. The kernel verifies each program on
/// its own and several at once, and verifying is much of start-up: on two CPUs, the small ones
/// are done while `sys_enter` and `sys_exit`, the slowest to verify, are.
fn load_in_parallel(ebpf: &mut Ebpf, hooks: &[Hook<'_>]) -> Result<(), KernelError> {
    let mut wanted: Vec<(&Hook<'_>, &mut Program)> = Vec::new();
    for (found, program) in ebpf.programs_mut() {
        if let Some(hook) = hooks.iter().find(|hook| hook.program == found) {
            wanted.push((hook, program));
        }
    }
    if let Some(missing) = hooks.iter().find(|hook| {
        !wanted
            .iter()
            .any(|(found, _)| found.program == hook.program)
    }) {
        return Err(missing.error("find")(
            aya::programs::ProgramError::NotLoaded,
        ));
    }
    std::thread::scope(|scope| {
        let loads: Vec<_> = wanted
            .into_iter()
            .map(|(hook, program)| scope.spawn(move || hook.load(program)))
            .collect();
        loads
            .into_iter()
            .try_for_each(|load| load.join().expect("loading a program does not panic"))
    })
}

/// Attaches a loaded program (the link lives as long as `ebpf`): to a BTF tracepoint when
/// `btf`, else to the raw tracepoint `tracepoint`.
fn attach_loaded(
    ebpf: &mut Ebpf,
    name: &'static str,
    tracepoint: &'static str,
    btf: bool,
) -> Result<(), KernelError> {
    let error = |source| KernelError::Program {
        action: "attach",
        program: name,
        source,
    };
    if btf {
        let program: &mut BtfTracePoint = program(ebpf, name)?;
        program.attach().map_err(error)?;
    } else {
        let program: &mut RawTracePoint = program(ebpf, name)?;
        program.attach(tracepoint).map_err(error)?;
    }
    Ok(())
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
    M::try_from(map).map_err(map_error(name))
}

fn borrow_map_mut<'a, M>(ebpf: &'a mut Ebpf, name: &'static str) -> Result<M, KernelError>
where
    M: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.map_mut(name).ok_or(KernelError::Map {
        map: name,
        what: "missing from the object".into(),
    })?;
    M::try_from(map).map_err(map_error(name))
}

fn borrow_map<'a, M>(ebpf: &'a Ebpf, name: &'static str) -> Result<M, KernelError>
where
    M: TryFrom<&'a aya::maps::Map, Error = aya::maps::MapError>,
{
    let map = ebpf.map(name).ok_or(KernelError::Map {
        map: name,
        what: "missing from the object".into(),
    })?;
    M::try_from(map).map_err(map_error(name))
}

/// Capability bits (linux/capability.h).
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// Fails early (call it before any set-up), with the capabilities named, instead of letting the first BPF call fail with a
/// bare EPERM.
/// Checks that the child can become `user` (CAP_SETUID and CAP_SETGID), so that a missing
/// capability is reported as that, not as a command that cannot be executed.
pub fn check_can_switch_user(user: &str) -> Result<(), KernelError> {
    let effective = procfs::process::Process::myself()
        .and_then(|me| me.status())
        .map_or(0, |s| s.capeff);
    let missing: Vec<&str> = [(CAP_SETUID, "CAP_SETUID"), (CAP_SETGID, "CAP_SETGID")]
        .into_iter()
        .filter(|&(cap, _)| effective & (1 << cap) == 0)
        .map(|(_, name)| name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(KernelError::CannotSwitchUser {
        user: user.to_owned(),
        missing: missing.join(" and "),
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// LLVM turns the zeroing or copying of a struct into a call to `memset` or `memcpy`,
    /// which on BPF is a byte-at-a-time loop: slow on every run, and a step per byte for the
    /// verifier (a 384-byte `memset` in `sys_enter` was 5.8 of the 7.7 ms it took to load,
    /// the longest load of start-up). Word stores or volatile writes keep them out.
    #[test]
    fn no_kernel_program_calls_a_byte_loop() {
        use object::{Object as _, ObjectSection as _, ObjectSymbol as _, RelocationTarget};
        let elf = object::File::parse(PROGRAMS).expect("the kernel programs are an ELF object");
        let mut calls = Vec::new();
        for section in elf.sections() {
            for (offset, relocation) in section.relocations() {
                let RelocationTarget::Symbol(index) = relocation.target() else {
                    continue;
                };
                let name = elf
                    .symbol_by_index(index)
                    .and_then(|symbol| symbol.name())
                    .unwrap_or_default();
                if matches!(name, "memset" | "memcpy" | "memmove" | "memcmp") {
                    let section = section.name().unwrap_or("?");
                    calls.push(format!("{name} from {section} at byte {offset}"));
                }
            }
        }
        assert!(calls.is_empty(), "byte-loop builtins called: {calls:?}");
    }

    #[test]
    fn only_the_thread_that_forbids_opening_files_is_kept_from_it() {
        let open = || {
            std::fs::File::open("/proc/self/status")
                .map(drop)
                .map_err(|e| e.kind())
        };
        let confined = std::thread::spawn(move || {
            forbid_opening_files_on_this_thread().expect("a seccomp filter for one thread");
            open()
        })
        .join()
        .unwrap();
        assert_eq!(confined, Err(std::io::ErrorKind::PermissionDenied));
        assert_eq!(
            open(),
            Ok(()),
            "the filter reached the thread that made the confined one"
        );
        let sibling = std::thread::spawn(open).join().unwrap();
        assert_eq!(sibling, Ok(()), "the filter reached a new thread");
    }
}
