//! `raw_syscalls:sys_enter`: counts every syscall of the target per ABI and number.
//!
//! Counters live in a per-CPU array, not in an event stream: a syscall can never be lost to a
//! full buffer, and the set of syscalls is exact by construction. Userspace sums the CPUs.
//!
//! The hot path is a task repeating the syscall it made last on this CPU (loops, polling,
//! reads and writes): `LAST_SYSCALL` answers that with one lookup and a few compares, even
//! before the cgroup test, and only a new (task, program, syscall) goes through
//! classification, counting and attribution.

use aya_ebpf::{
    macros::{map, raw_tracepoint},
    maps::{Array, HashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};
use recorder_common::{
    abi, lost, ExeSyscalls, LastSyscall, OddSyscallKey, EXE_SYSCALL_WORDS, MAX_SYSCALL_NR,
    NO_SYSCALL, TS_COMPAT, X32_SYSCALL_BIT,
};

use crate::{
    target::{count_lost, current_task_is_target},
    task::current_exe_inode,
};

/// Offset of `thread_info.status` inside `task_struct`, resolved by userspace from the running
/// kernel's BTF and set before loading. Zero means "unknown": 32-bit syscalls then cannot be
/// told apart and userspace refuses to start, so this never silently mislabels an ABI.
#[unsafe(no_mangle)]
static TASK_STATUS_OFFSET: u64 = 0;

/// Offset of `task_struct.pid`, from BTF like the one above.
#[unsafe(no_mangle)]
static TASK_PID_OFFSET: u64 = 0;

/// Dense counters: index `abi * MAX_SYSCALL_NR + nr`.
#[map]
static SYSCALL_COUNTS: PerCpuArray<u64> =
    PerCpuArray::with_max_entries(abi::COUNT * MAX_SYSCALL_NR, 0);

/// Sparse counters for numbers outside `0..MAX_SYSCALL_NR` (invalid or future syscalls, which
/// a hostile program can make on purpose). Kept so that no number is dropped silently.
#[map]
static ODD_SYSCALLS: HashMap<OddSyscallKey, u64> = HashMap::with_max_entries(1024, 0);

/// The last syscall a target task entered on each CPU (see `LastSyscall`).
#[map]
pub(crate) static LAST_SYSCALL: PerCpuArray<LastSyscall> = PerCpuArray::with_max_entries(1, 0);

/// Which executable made which syscalls (provenance for review), keyed by the executable's
/// inode address; exec events map that address to a path.
#[map]
static EXE_SYSCALLS: PerCpuHashMap<u64, ExeSyscalls> = PerCpuHashMap::with_max_entries(4096, 0);

/// Bumped by every exec in the target (`sched_process_exec`): cache entries made before it
/// may name the old program, so none of them is used again.
#[map]
pub(crate) static EXEC_GENERATION: Array<u64> = Array::with_max_entries(1, 0);

/// The value a new executable's bitmap starts from (kept out of the 512-byte stack).
static NO_SYSCALLS: ExeSyscalls = ExeSyscalls {
    bits: [0; EXE_SYSCALL_WORDS],
};

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> i32 {
    let Some(last) = LAST_SYSCALL.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: this CPU's value from a successful lookup; programs on one CPU do not nest on
    // the same tracepoint.
    let last = unsafe { &mut *last };
    // Arguments of the sys_enter tracepoint: (struct pt_regs *regs, long id).
    let regs: u64 = ctx.arg(0);
    let id: i64 = ctx.arg(1);
    // The cache before the cgroup test: entries are only made for target tasks, and the
    // first compare (the task's register frame, an argument) costs a task outside the
    // target nothing but a load. A hit is the same task (frame, and pid against a reused
    // frame), program (no exec since), ABI and syscall. A task that has left the cgroup
    // since is counted until its next new syscall: counts, never a syscall it did not make.
    if last.regs == regs && last.id == id && last.op == 0 {
        let task = current_task();
        if last.generation == exec_generation()
            && last.pid == task_field_u32(task, &TASK_PID_OFFSET)
            && last.compat == compat_status(task)
        {
            last.hits += 1;
            return 0;
        }
    }
    if !current_task_is_target() {
        return 0;
    }
    let task = current_task();
    let generation = exec_generation();
    let compat = compat_status(task);
    let (abi, nr) = classify(id, compat);
    count(abi, nr);
    let index = if (0..i64::from(MAX_SYSCALL_NR)).contains(&nr) {
        let index = abi * MAX_SYSCALL_NR + nr as u32;
        attribute(index);
        index
    } else {
        NO_SYSCALL
    };
    let (op, has_values) = if index != NO_SYSCALL {
        let regs: u64 = ctx.arg(0);
        (
            crate::files::note_entry(index, abi, regs),
            crate::arguments::note_values(index, abi, regs),
        )
    } else {
        (0, false)
    };
    flush(last);
    // Never served from the cache: odd numbers (they must reach their own map every time) and
    // syscalls whose argument values are recorded (each call may pass new ones).
    let op = if index == NO_SYSCALL || has_values {
        u32::MAX
    } else {
        u32::from(op)
    };
    *last = LastSyscall {
        regs,
        task,
        generation,
        id,
        compat,
        index,
        hits: 0,
        pid: task_field_u32(task, &TASK_PID_OFFSET),
        op,
    };
    0
}

/// The current task as a BTF-typed pointer: its fields can be loaded directly (see
/// `task_field_u32`).
#[inline(always)]
fn current_task() -> u64 {
    // SAFETY: the helper only returns the current task.
    unsafe { aya_ebpf::helpers::generated::bpf_get_current_task_btf() as u64 }
}

#[inline(always)]
fn exec_generation() -> u64 {
    EXEC_GENERATION.get(0).copied().unwrap_or(0)
}

/// Adds the calls the cache entry counted to the counters before it is replaced.
#[inline(always)]
fn flush(last: &LastSyscall) {
    if last.hits == 0 || last.index == NO_SYSCALL {
        return;
    }
    if let Some(slot) = SYSCALL_COUNTS.get_ptr_mut(last.index) {
        // SAFETY: this CPU's slot of a successful lookup.
        unsafe { *slot += last.hits };
    }
}

/// Sets the syscall's bit in the current executable's bitmap.
#[inline(always)]
fn attribute(bit: u32) {
    let exe = current_exe_inode();
    let mut bits = EXE_SYSCALLS.get_ptr_mut(exe);
    if bits.is_none() {
        // BPF_NOEXIST: another CPU may have inserted it meanwhile, which is fine.
        let _ = EXE_SYSCALLS.insert(exe, &NO_SYSCALLS, 1);
        bits = EXE_SYSCALLS.get_ptr_mut(exe);
    }
    let Some(bits) = bits else {
        count_lost(lost::PROVENANCE);
        return;
    };
    let word = (bit / 64) as usize;
    if word < EXE_SYSCALL_WORDS {
        // SAFETY: this CPU's copy of a value from a successful lookup; index checked above.
        unsafe { (*bits).bits[word] |= 1 << (bit % 64) };
    }
}

/// Tells the ABI of the syscall in progress and its number within that ABI's table.
#[inline(always)]
fn classify(id: i64, compat: u32) -> (u32, i64) {
    if compat != 0 {
        // The compat entry passes the 32-bit eax; keep it as the i386 number.
        (abi::IA32, i64::from(id as u32))
    } else if id >= 0 && id & X32_SYSCALL_BIT != 0 {
        (abi::X32, id & !X32_SYSCALL_BIT)
    } else {
        (abi::X86_64, id)
    }
}

/// `TS_COMPAT` from the task's `thread_info.status`, as the kernel's own `in_ia32_syscall()`
/// reads it. This also catches `int 0x80` from a 64-bit process, which uses the i386 table
/// although the process is 64-bit.
#[inline(always)]
fn compat_status(task: u64) -> u32 {
    task_field_u32(task, &TASK_STATUS_OFFSET) & TS_COMPAT
}

/// A `u32` field of the task at an offset userspace resolved, loaded directly: `task` comes
/// from `bpf_get_current_task_btf`, so the verifier knows its type, knows the offset (a
/// frozen read-only global) and checks the access against `task_struct` itself. No helper
/// call: bpf_probe_read_kernel cost more than the rest of the hot path together. 0 when the
/// offset is unknown.
#[inline(always)]
fn task_field_u32(task: u64, offset: &'static u64) -> u32 {
    // SAFETY: a volatile read of a global set once before load.
    let offset = unsafe { core::ptr::read_volatile(offset) };
    if offset == 0 {
        return 0;
    }
    // SAFETY: the verifier turns the load into an exception-protected read of the field.
    unsafe { core::ptr::read_volatile((task + offset) as *const u32) }
}

#[inline(always)]
fn count(abi: u32, nr: i64) {
    if (0..i64::from(MAX_SYSCALL_NR)).contains(&nr) {
        if let Some(slot) = SYSCALL_COUNTS.get_ptr_mut(abi * MAX_SYSCALL_NR + nr as u32) {
            // SAFETY: this CPU's slot of a successful lookup; per-CPU, so no atomics needed.
            unsafe { *slot += 1 };
        }
        return;
    }
    let key = OddSyscallKey { abi, _pad: 0, nr };
    match ODD_SYSCALLS.get_ptr_mut(&key) {
        // Shared between CPUs: an approximate count is fine, the presence is what matters.
        Some(slot) => unsafe { *slot += 1 },
        None => {
            if ODD_SYSCALLS.insert(&key, &1, 0).is_err() {
                count_lost(lost::SYSCALL_NUMBERS);
            }
        }
    }
}
