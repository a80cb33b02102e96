//! Capability checks: from kernel stacks to "audited need" or "probe".
//!
//! The `capability:cap_capable` tracepoint does not say whether the check was made with
//! CAP_OPT_NOAUDIT, i.e. whether the kernel was asking "would this be allowed?" (a probe:
//! the caller copes with either answer) rather than "may this happen?" (a need). The kernel
//! stack at the tracepoint does tell, through the function that asked. The method and its
//! limits are in docs/capabilities.md.

use std::collections::{BTreeMap, BTreeSet};

use crate::recording::capabilities::Audit;

/// Functions between the check and the code that asked for it: the capability layer.
const CHECK_LAYER: &[&str] = &[
    "cap_capable",
    "security_capable",
    "ns_capable_common",
    "ns_capable",
    "ns_capable_noaudit",
    "ns_capable_setid",
    "capable",
    "has_ns_capability",
    "has_ns_capability_noaudit",
    "has_capability",
    "has_capability_noaudit",
    "file_ns_capable",
    "capable_wrt_inode_uidgid",
    "privileged_wrt_inode_uidgid",
    "sk_ns_capable",
    "sk_capable",
    "sk_net_capable",
    "netlink_ns_capable",
    "netlink_capable",
    "netlink_net_capable",
];

/// Functions that check with CAP_OPT_NOAUDIT: their callers only probe. The memory
/// accounting check (`cap_vm_enough_memory`, inlined into `security_vm_enough_memory_mm`)
/// asks for CAP_SYS_ADMIN on every mmap and brk of a process, to grant root a reserve.
const NOAUDIT: &[&str] = &[
    "ns_capable_noaudit",
    "has_ns_capability_noaudit",
    "has_capability_noaudit",
    "cap_vm_enough_memory",
    "security_vm_enough_memory_mm",
    "__vm_enough_memory",
];

/// Whether a check made directly by `function` (the caller of `cap_capable`) is classified by
/// that caller alone: it probes, and being outside the capability layer it is the `via`,
/// so nothing deeper on the stack can change what `classify` says.
pub fn decided_by_direct_caller(function: &str) -> bool {
    NOAUDIT.contains(&function) && !CHECK_LAYER.contains(&function)
}

/// Return addresses into functions that decide their checks alone (see
/// [`decided_by_direct_caller`]), as far as earlier recordings in this boot have seen them.
/// The kernel program then keeps only a check's first three frames when the return address
/// into its caller is one of these, without unwinding the rest of the stack.
pub fn known_deciding_returns() -> Vec<u64> {
    SymbolCache::for_this_boot()
        .map(|cache| cache.read())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, function)| decided_by_direct_caller(function))
        .map(|(ip, _)| ip)
        .collect()
}

/// How a check is classified from its symbolised stack (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub audit: Audit,
    /// The first function outside the capability layer: the code that asked.
    pub via: Option<String>,
}

pub fn classify(stack: Option<&[String]>) -> Classified {
    let Some(stack) = stack else {
        return Classified {
            audit: Audit::Unknown,
            via: None,
        };
    };
    let probe = stack.iter().any(|f| NOAUDIT.contains(&f.as_str()));
    let via = stack
        .iter()
        .find(|f| !CHECK_LAYER.contains(&f.as_str()) && !is_tracing_frame(f))
        .cloned();
    Classified {
        audit: if probe { Audit::Probe } else { Audit::Audited },
        via,
    }
}

/// Frames of the tracing machinery that runs our own program (the raw tracepoint's
/// trampoline and the program itself), above the check on the stack.
fn is_tracing_frame(name: &str) -> bool {
    [
        "bpf_prog_",
        "__bpf_trace_",
        "bpf_trace_run",
        "__traceiter_",
        "__probestub_",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Kernel symbols (from /proc/kallsyms) for naming stack frames.
#[derive(Debug, Default)]
pub struct KernelSymbols {
    by_address: BTreeMap<u64, String>,
}

impl KernelSymbols {
    pub fn new(by_address: BTreeMap<u64, String>) -> KernelSymbols {
        KernelSymbols { by_address }
    }

    /// The functions containing the given instruction pointers, from one read of
    /// /proc/kallsyms. Only what the stacks need is kept (the file lists some 200,000
    /// symbols; reading it line by line was most of a short recording's run time).
    ///
    /// Names of core kernel functions stay where they are until the next boot, so they are
    /// kept in a per-boot cache (root-only: kernel addresses defeat KASLR); when every
    /// address is in it, kallsyms is not read at all. Module functions can move within a
    /// boot, so they are always looked up afresh.
    ///
    /// `None` when the kernel hides its addresses from this process (kptr_restrict, no
    /// CAP_SYSLOG): every address then reads 0, and naming stacks from them would be wrong.
    pub fn for_addresses(ips: &BTreeSet<u64>) -> std::io::Result<Option<KernelSymbols>> {
        if !kallsyms_shows_addresses()? {
            return Ok(None);
        }
        let cache = SymbolCache::for_this_boot();
        let mut known = cache.as_ref().map(SymbolCache::read).unwrap_or_default();
        if ips.iter().all(|ip| known.contains_key(ip)) {
            known.retain(|ip, _| ips.contains(ip));
            return Ok(Some(KernelSymbols { by_address: known }));
        }
        let text = std::fs::read_to_string("/proc/kallsyms")?;
        let (symbols, core) = Self::from_kallsyms(&text, ips);
        if let Some(cache) = cache {
            let before = known.len();
            known.extend(core);
            if known.len() > before {
                if let Err(err) = cache.write(&known) {
                    log::debug!(
                        "could not cache kernel symbols in {}: {err}",
                        cache.path.display()
                    );
                }
            }
        }
        Ok(Some(symbols))
    }

    /// As [`for_addresses`](Self::for_addresses), from kallsyms text; also the wanted ips
    /// that fell in core kernel functions (not modules), with those functions' names.
    fn from_kallsyms(text: &str, ips: &BTreeSet<u64>) -> (KernelSymbols, Vec<(u64, String)>) {
        // For each wanted ip: the highest symbol address at or below it, its name, and
        // whether a module holds it (a fourth field, `[module]`).
        let wanted: Vec<u64> = ips.iter().copied().collect();
        let mut best: Vec<Option<(u64, &str, bool)>> = vec![None; wanted.len()];
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let (Some(addr), Some(_kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let in_module = fields.next().is_some();
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            if addr == 0 {
                continue;
            }
            let first = wanted.partition_point(|&ip| ip < addr);
            for (i, slot) in best.iter_mut().enumerate().skip(first) {
                if slot.is_none_or(|(a, _, _)| a < addr) {
                    *slot = Some((addr, name, in_module));
                } else if i > first {
                    break;
                }
            }
        }
        let core = wanted
            .iter()
            .zip(&best)
            .filter_map(|(&ip, slot)| match slot {
                Some((_, name, false)) => Some((ip, (*name).to_owned())),
                _ => None,
            })
            .collect();
        let by_address = best
            .into_iter()
            .flatten()
            .map(|(addr, name, _)| (addr, name.to_owned()))
            .collect();
        (KernelSymbols { by_address }, core)
    }

    /// The function containing `ip`: the nearest symbol at or below it.
    pub fn name(&self, ip: u64) -> Option<&str> {
        self.by_address
            .range(..=ip)
            .next_back()
            .map(|(_, name)| name.as_str())
    }

    pub fn names(&self, stack: &[u64]) -> Vec<String> {
        stack
            .iter()
            .map(|&ip| self.name(ip).unwrap_or("?").to_owned())
            .collect()
    }
}

/// Whether /proc/kallsyms shows this process real addresses (its first line is enough:
/// hidden addresses are all zero).
fn kallsyms_shows_addresses() -> std::io::Result<bool> {
    use std::io::Read as _;
    let mut head = [0u8; 256];
    let n = std::fs::File::open("/proc/kallsyms")?.read(&mut head)?;
    let first = head[..n].split(|&b| b == b' ').next().unwrap_or_default();
    Ok(first.iter().any(|&b| b.is_ascii_hexdigit() && b != b'0'))
}

/// Instruction pointer → function name, for core kernel functions seen in earlier
/// recordings since this boot.
struct SymbolCache {
    path: std::path::PathBuf,
}

impl SymbolCache {
    const DIR: &'static str = "/var/cache/leastpriv/kernel-symbols";
    const FORMAT: &'static str = "leastpriv kernel symbols v1";

    /// The cache file of the running boot (named by its boot id), if the id can be read.
    fn for_this_boot() -> Option<SymbolCache> {
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let id = id.trim();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return None;
        }
        Some(SymbolCache {
            path: std::path::Path::new(Self::DIR).join(id),
        })
    }

    /// What the cache holds; empty when it is missing, unreadable or not ours.
    fn read(&self) -> BTreeMap<u64, String> {
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return BTreeMap::new();
        };
        let mut lines = text.lines();
        if lines.next() != Some(Self::FORMAT) {
            return BTreeMap::new();
        }
        lines
            .filter_map(|line| {
                let (ip, name) = line.split_once(' ')?;
                Some((u64::from_str_radix(ip, 16).ok()?, name.to_owned()))
            })
            .collect()
    }

    /// Replaces the cache with `known`, readable by root only.
    fn write(&self, known: &BTreeMap<u64, String>) -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        let dir = self.path.parent().expect("the cache file has a directory");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mut text = format!("{}\n", Self::FORMAT);
        for (ip, name) in known {
            text.push_str(&format!("{ip:x} {name}\n"));
        }
        crate::recording::write_atomically_with(&self.path, |out| {
            out.get_ref()
                .set_permissions(std::fs::Permissions::from_mode(0o600))?;
            std::io::Write::write_all(out, text.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests;
