//! `raw_syscalls:sys_enter`: counts every syscall of the target per ABI and number.
//!
//! Counters live in a per-CPU array, not in an event stream: a syscall can never be lost to a
//! full buffer, and the set of syscalls is exact by construction. Userspace sums the CPUs.
//!
//! The hot paths are a task outside the target making syscalls of its own, and a task
//! repeating the syscall it made last on this CPU (loops, polling, reads and writes).
//! `OUTSIDE` answers the first with one load and compare, `CACHED_SYSCALL` the second with a
//! few more, both before the cgroup test and with no map lookup; only a new (task, program,
//! syscall) goes through classification, counting and attribution. What `sys_enter` records
//! besides the counts is in its submodules: the values of risky arguments (`arguments`) and
//! the entry half of file calls (`file_calls`).
//!
//! A hook family: may import `maps`, `common` and `task`, never another family.

mod arguments;
mod file_calls;

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    macros::{btf_tracepoint, map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
    programs::{BtfTracePointContext, RawTracePointContext},
};
use recorder_common::{
    abi, lost, CachedSyscall, ExeSyscalls, LastSyscall, OddSyscallKey, SyscallCounts,
    CACHED_SYSCALL_CPUS, EXE_SYSCALL_WORDS, MAX_SYSCALL_NR, NO_SYSCALL, TS_COMPAT, X32_SYSCALL_BIT,
};

use crate::{
    common::atomic_exchange,
    maps::{
        cache_generation, count_lost, current_task_is_target, new_cache_generation, LAST_SYSCALL,
    },
    task::{current_stack, current_task, exe_inode_of, stack_of, task_field_u32},
};

/// Offset of `thread_info.status` inside `task_struct`, resolved by userspace from the running
/// kernel's BTF and set before loading. Zero means "unknown": 32-bit syscalls then cannot be
/// told apart and userspace refuses to start, so this never silently mislabels an ABI.
#[unsafe(no_mangle)]
static TASK_STATUS_OFFSET: u64 = 0;

/// Dense counters: index `abi * MAX_SYSCALL_NR + nr` of the one value (see `SyscallCounts`).
#[map]
static SYSCALL_COUNTS: PerCpuArray<SyscallCounts> = PerCpuArray::with_max_entries(1, 0);

/// Adds `calls` to this CPU's counter at `index` (ignored when out of range).
#[inline(always)]
fn add_calls(index: u32, calls: u64) {
    if let Some(counts) = SYSCALL_COUNTS.get_ptr_mut(0) {
        // SAFETY: this CPU's value of a successful lookup; per-CPU, so no atomics needed.
        if let Some(slot) = unsafe { (*counts).calls.get_mut(index as usize) } {
            *slot += calls;
        }
    }
}

/// Sparse counters for numbers outside `0..MAX_SYSCALL_NR` (invalid or future syscalls, which
/// a hostile program can make on purpose). Kept so that no number is dropped silently.
#[map]
static ODD_SYSCALLS: HashMap<OddSyscallKey, u64> =
    HashMap::with_max_entries(1024, BPF_F_NO_PREALLOC);

/// The last syscall a target task entered on each CPU, indexed by CPU number (see
/// `CachedSyscall`). In a section of its own, which becomes a map of its own that userspace
/// reads at the end (`CACHED_SYSCALL_SECTION`).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".bss.cached_syscall")]
static mut CACHED_SYSCALL: [CachedSyscall; CACHED_SYSCALL_CPUS] = [CachedSyscall {
    regs: 0,
    generation: 0,
    id: 0,
    user_ip: 0,
    hits: 0,
    user_cs: 0,
    op: 0,
    index: 0,
    _pad: [0; 3],
}; CACHED_SYSCALL_CPUS];

/// Which executable made which syscalls (provenance for review), keyed by the executable's
/// inode address; exec events map that address to a path.
#[map]
static EXE_SYSCALLS: PerCpuHashMap<u64, ExeSyscalls> =
    PerCpuHashMap::with_max_entries(4096, BPF_F_NO_PREALLOC);

/// Slots of `OUTSIDE`, a power of two (one per 16 KiB block of kernel stack addresses,
/// wrapped): more than the tasks of most machines; tasks that share a slot take turns.
const OUTSIDE_SLOTS: usize = 4096;

/// Tasks found outside the target, remembered by their syscall register frame so that their
/// next syscalls cost no cgroup test: slot `outside_slot(key)` holds `key`, the frame's
/// address relative to this array (`frame_key`). The frame is the first argument of the
/// syscall tracepoints, at a fixed place on the task's own kernel stack, so it tells live
/// tasks apart and costs no helper call.
///
/// Shared by all CPUs and indexed by the frame, not by CPU: the CPU number is two dependent
/// loads and keeps a register alive across the helper's call, which measured 2.3 ns of a
/// 2.5 ns budget on the path every syscall on the machine takes (kernel run-time statistics,
/// against 0.1 ns for this lookup). A slot is one word, written whole: a reader never sees
/// half of one task's entry and half of another's.
///
/// An entry must never stand for a task in the target. Two events make a frame's task one:
/// - a fork: the child may get a dead task's stack, so `cache_on_fork` clears the child's
///   slot before it first runs (with `FRAME_KEY_FROM_STACK`);
/// - a cgroup migration: `cache_on_migration` clears every slot (a migration of a thread
///   group reports its leader only). A task that tested its cgroup before the migration and
///   writes its slot after the clear sees `CACHE_GENERATION` changed and clears it again
///   (`remember_outside`).
#[unsafe(no_mangle)]
static mut OUTSIDE: OutsideFrames = OutsideFrames([0; OUTSIDE_SLOTS]);

#[repr(C, align(64))]
struct OutsideFrames([u64; OUTSIDE_SLOTS]);

/// `frame_key` of a task's frame minus the address of its stack: the same for every task of
/// this kernel (the frame sits at the top of the stack), learned from the first task found
/// outside. 0 while unknown (a key is never that close to a stack address). Lets
/// `cache_on_fork` find a new task's slot from its `task_struct`; an entry is only made for a
/// frame that matches it.
#[unsafe(no_mangle)]
static mut FRAME_KEY_FROM_STACK: u64 = 0;

/// A register frame's address as a number: its distance from `OUTSIDE`. The verifier forbids
/// masking or shifting a kernel pointer, but lets a privileged program subtract one pointer
/// from another.
#[inline(always)]
fn frame_key(regs: u64) -> u64 {
    regs.wrapping_sub(&raw const OUTSIDE as u64)
}

/// The `OUTSIDE` slot of a frame key: its 16 KiB block (no two kernel stacks share one).
#[inline(always)]
fn outside_slot(key: u64) -> usize {
    (key >> 14) as usize & (OUTSIDE_SLOTS - 1)
}

/// Whether the task with this frame is known to be outside the target.
#[inline(always)]
fn known_outside(key: u64) -> bool {
    // SAFETY: a volatile read of our own global, in bounds (masked index).
    unsafe { core::ptr::read_volatile(&raw const OUTSIDE.0[outside_slot(key)]) == key }
}

/// Remembers the current task, just found outside the target in `generation`, as outside.
fn remember_outside(key: u64, generation: u64) {
    let stack = current_stack();
    if stack == 0 {
        return;
    }
    let from_stack = key.wrapping_sub(stack);
    // SAFETY: volatile reads and writes of our own global; every CPU writes the same value.
    let known = unsafe { core::ptr::read_volatile(&raw const FRAME_KEY_FROM_STACK) };
    if known == 0 {
        unsafe { core::ptr::write_volatile(&raw mut FRAME_KEY_FROM_STACK, from_stack) };
    } else if known != from_stack {
        // Not where `cache_on_fork` would look for it: never cached, asked every time.
        return;
    }
    let slot = unsafe { &raw mut OUTSIDE.0[outside_slot(key)] };
    // An exchange, a full barrier: the generation is read after the slot is written, so that
    // a migration either is seen here or clears the slot after this write.
    atomic_exchange(slot, key);
    if cache_generation() != generation {
        // SAFETY: our own global, in bounds.
        unsafe { core::ptr::write_volatile(slot, 0) };
    }
}

/// Forgets `task` as outside the target (it is new: its stack may have been a dead task's).
#[inline(always)]
fn forget_outside(task: u64) {
    // SAFETY: a volatile read of our own global.
    let from_stack = unsafe { core::ptr::read_volatile(&raw const FRAME_KEY_FROM_STACK) };
    if from_stack == 0 {
        // Nothing is remembered before this is known.
        return;
    }
    let stack = stack_of(task);
    if stack == 0 {
        return;
    }
    let key = stack.wrapping_add(from_stack);
    let slot = unsafe { &raw mut OUTSIDE.0[outside_slot(key)] };
    // SAFETY: our own global, in bounds; only written when it holds this task's key.
    unsafe {
        if core::ptr::read_volatile(slot) == key {
            core::ptr::write_volatile(slot, 0);
        }
    }
}

/// Forgets every task as outside the target.
///
/// Blocks of 64 slots, each unrolled: the verifier steps through every iteration of a loop,
/// and one slot per iteration cost 2 ms of start-up.
#[inline(always)]
fn forget_all_outside() {
    const BLOCK: usize = 64;
    for block in 0..OUTSIDE_SLOTS / BLOCK {
        // SAFETY: our own global, in bounds.
        let slots = unsafe { &raw mut OUTSIDE.0[block * BLOCK] };
        for slot in 0..BLOCK {
            // SAFETY: in bounds (`OUTSIDE_SLOTS` is a multiple of `BLOCK`).
            unsafe { core::ptr::write_volatile(slots.add(slot), 0) };
        }
    }
}

/// The value a new executable's bitmap starts from (kept out of the 512-byte stack).
static NO_SYSCALLS: ExeSyscalls = ExeSyscalls {
    bits: [0; EXE_SYSCALL_WORDS],
};

/// `__USER_CS` and `__USER32_CS`, the code segments of 64-bit and 32-bit user code.
const USER_CS: u32 = 0x33;
const USER32_CS: u32 = 0x23;

/// Every syscall's entry. A BTF tracepoint (`tp_btf`), not a raw one: its first argument comes
/// as a typed `struct pt_regs *`, so the saved user registers are plain loads, and a cache hit
/// makes no helper call (on these CPUs each call and return pays for the return-stack
/// mitigation; reading the task's `TS_COMPAT` that way was most of a hit's cost).
///
/// A hit is the same task (register frame, no fork since), program (no exec since), syscall
/// id, instruction address and code segment. Those fix the ABI, which the id alone does not
/// (the same number is another call in the 32-bit table):
/// - from 32-bit code (`USER32_CS`) every syscall is a 32-bit one;
/// - from 64-bit code (`USER_CS`) `syscall` is a 64-bit (or x32, told by the id) one and
///   `int $0x80` a 32-bit one. Both are two bytes long: at the same address they can only
///   follow each other if the code there changed between the two calls (the program
///   rewrote it, or a debugger did). Such a call is counted as the cached one:
///   under-recorded, so denied by the profile, never an allowed call that was not made;
/// - any other segment (from the task's own LDT, which `modify_ldt` can change between calls)
///   is never served from the cache.
#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    // The caches before the cgroup test, the outside one first: that is the path every
    // syscall on the machine takes, a load and a compare with no helper call. Both stay in
    // this small function, which makes no map lookup and needs no stack. The compiler treats
    // a lookup as a call and keeps what lives across one in callee-saved registers, which the
    // JIT pushes and pops on every run: here only the context outlives the CPU-number helper
    // (which the kernel inlines), and `enter` reads again what it needs, so that nothing
    // outlives the call into it.
    // Arguments of the sys_enter tracepoint: (struct pt_regs *regs, long id).
    let regs: u64 = ctx.arg(0);
    if known_outside(frame_key(regs)) {
        return 0;
    }
    let cpu = this_cpu();
    let regs = reload_frame(&ctx);
    // The generation is read before the cgroup test, so that a migration while it runs
    // leaves an entry that is never used.
    let generation = cache_generation();
    // SAFETY: this CPU's own entry (programs on one CPU do not nest on this tracepoint).
    if let Some(cached) = unsafe { (*(&raw mut CACHED_SYSCALL)).get_mut(cpu) } {
        // The entry is only ever made for a target task: the same task in the same
        // generation (no migration since) is still one, without asking the cgroup again.
        let id: i64 = ctx.arg(1);
        if cached.regs == regs
            && cached.generation == generation
            && cached.id == id
            && cached.op == 0
        {
            let (user_ip, user_cs) = user_position(regs);
            if cached.user_ip == user_ip && cached.user_cs == user_cs {
                cached.hits += 1;
                return 0;
            }
        }
    }
    enter(ctx)
}

/// The rest of `sys_enter`, for a task neither known to be outside the target nor repeating
/// its last syscall: counting and attribution, or finding the task outside.
#[inline(never)]
fn enter(ctx: BtfTracePointContext) -> i32 {
    let cpu = this_cpu();
    // Read again before the cgroup test, for the reason given in `sys_enter`.
    let generation = cache_generation();
    let regs: u64 = ctx.arg(0);
    let id: i64 = ctx.arg(1);
    let Some(last) = LAST_SYSCALL.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: this CPU's value from a successful lookup; programs on one CPU do not nest on
    // the same tracepoint.
    let last = unsafe { &mut *last };
    // None on a CPU past `CACHED_SYSCALL_CPUS`: every call is then counted on its own.
    // SAFETY: this CPU's own entry, as in `sys_enter`.
    let cached = unsafe { (*(&raw mut CACHED_SYSCALL)).get_mut(cpu) };
    // The entry is only ever made for a target task: the same task in the same generation
    // (no migration since) is still one, without asking the cgroup again.
    let same_task = cached
        .as_ref()
        .is_some_and(|c| c.regs == regs && c.generation == generation);
    if !same_task && !current_task_is_target() {
        remember_outside(frame_key(regs), generation);
        return 0;
    }
    let task = current_task();
    let compat = compat_status(task);
    // The program making the call, for provenance (the executable's inode address): the
    // same as last time for the same task in the same generation.
    let exe = if same_task && last.exe != 0 {
        last.exe
    } else {
        exe_inode_of(task)
    };
    let (abi, nr) = classify(id, compat);
    count(abi, nr);
    let index = if (0..i64::from(MAX_SYSCALL_NR)).contains(&nr) {
        let index = abi * MAX_SYSCALL_NR + nr as u32;
        attribute(last, index, exe);
        index
    } else {
        NO_SYSCALL
    };
    let (op, has_values) = if index != NO_SYSCALL {
        (
            file_calls::note_entry(index, abi, regs, exe),
            arguments::note_values(index, abi, regs, exe),
        )
    } else {
        (0, false)
    };
    last.task = task;
    last.index = index;
    last.exe = exe;
    let Some(cached) = cached else {
        return 0;
    };
    flush(cached);
    // Never served from the cache: odd numbers (they must reach their own map every time),
    // syscalls whose argument values are recorded (each call may pass new ones) and calls from
    // a segment whose mode can change (see above).
    let (user_ip, user_cs) = user_position(regs);
    let op = if index == NO_SYSCALL || has_values || (user_cs != USER_CS && user_cs != USER32_CS) {
        u32::MAX
    } else {
        u32::from(op)
    };
    cached.regs = regs;
    cached.generation = generation;
    cached.id = id;
    cached.user_ip = user_ip;
    cached.user_cs = user_cs;
    cached.index = index;
    cached.hits = 0;
    cached.op = op;
    0
}

/// The tracepoint's first argument, the register frame, read again: kept in a register across
/// the CPU-number helper, it would take a callee-saved one, which the JIT saves and restores
/// on every run, outside tasks included.
#[inline(always)]
fn reload_frame(ctx: &BtfTracePointContext) -> u64 {
    // SAFETY: the context is the tracepoint's argument array; the first is the frame.
    unsafe { core::ptr::read_volatile(aya_ebpf::EbpfContext::as_ptr(ctx) as *const u64) }
}

/// The user instruction pointer and code segment saved in the register frame (`pt_regs.ip`
/// and `pt_regs.cs`, at offsets fixed by the x86-64 entry code). `regs` is the typed pointer
/// of the tracepoint's argument: the verifier checks these loads against `struct pt_regs`.
#[inline(always)]
fn user_position(regs: u64) -> (u64, u32) {
    const IP: u64 = 128;
    const CS: u64 = 136;
    // SAFETY: loads from the register frame the kernel passed, checked by the verifier and
    // guarded against faults.
    unsafe {
        (
            core::ptr::read_volatile((regs + IP) as *const u64),
            u32::from(core::ptr::read_volatile((regs + CS) as *const u16)),
        )
    }
}

/// The number of the CPU the program runs on (`bpf_get_smp_processor_id`, which the kernel
/// inlines on x86-64 as a 32-bit load). Taken as the helper's whole 64-bit return register:
/// the value is zero-extended already, and the compiler would otherwise extend it again, on
/// the path every syscall on the machine takes.
#[inline(always)]
fn this_cpu() -> usize {
    // SAFETY: helper 8 takes no argument and returns the CPU number; the program runs with
    // migration disabled, so it stays valid for the whole run.
    unsafe {
        let helper: unsafe extern "C" fn() -> u64 = core::mem::transmute(
            aya_ebpf::bindings::bpf_func_id::BPF_FUNC_get_smp_processor_id as usize,
        );
        helper() as usize
    }
}

/// Every fork on the machine: the new task may reuse the register frame of a task that
/// exited, and must not inherit its cache entries. It fires before the new task first runs.
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn cache_on_fork(ctx: RawTracePointContext) -> i32 {
    new_cache_generation();
    // Arguments: (struct task_struct *parent, struct task_struct *child).
    forget_outside(ctx.arg(1));
    0
}

/// Every cgroup migration on the machine (writes to `cgroup.procs` and `cgroup.threads`): a
/// task may have entered or left the target. It fires once the task has moved.
#[raw_tracepoint(tracepoint = "cgroup_attach_task")]
pub fn cache_on_migration(_ctx: RawTracePointContext) -> i32 {
    // The generation first: a task writing its slot after the clear then sees it changed.
    new_cache_generation();
    forget_all_outside();
    0
}

/// Adds the calls the cache entry counted to the counters before it is replaced.
#[inline(always)]
fn flush(cached: &CachedSyscall) {
    if cached.hits == 0 || cached.index == NO_SYSCALL {
        return;
    }
    add_calls(cached.index, cached.hits);
}

/// Sets the syscall's bit in the current executable's bitmap, unless this CPU's entry knows
/// it is set already (see `LastSyscall::attributed`).
#[inline(always)]
fn attribute(last: &mut LastSyscall, bit: u32, exe: u64) {
    let word = (bit / 64) as usize;
    let mask = 1u64 << (bit % 64);
    if word >= EXE_SYSCALL_WORDS {
        return;
    }
    if last.attributed_exe != exe {
        // Word stores the compiler may not turn into a `memset` call: that is a byte loop,
        // which cost hundreds of instructions on every change of program and was most of the
        // verifier's work on this program (each byte a step to check).
        for word in last.attributed.iter_mut() {
            // SAFETY: a field of this CPU's map value.
            unsafe { core::ptr::write_volatile(word, 0) };
        }
        last.attributed_exe = exe;
    }
    if last.attributed[word] & mask != 0 {
        return;
    }
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
    // SAFETY: this CPU's copy of a value from a successful lookup; index checked above.
    unsafe { (*bits).bits[word] |= mask };
    last.attributed[word] |= mask;
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

#[inline(always)]
fn count(abi: u32, nr: i64) {
    if (0..i64::from(MAX_SYSCALL_NR)).contains(&nr) {
        add_calls(abi * MAX_SYSCALL_NR + nr as u32, 1);
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
