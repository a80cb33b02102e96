//! Struct offsets from the running kernel's BTF.
//!
//! aya-ebpf 0.2 emits no CO-RE relocations for field accesses written in Rust, so the kernel
//! programs cannot know where a field sits in this kernel's `task_struct`. Userspace looks the
//! offsets up in /sys/kernel/btf/vmlinux and hands them to the programs as globals.

use std::path::Path;

use btf_rs::{Btf, Type};

use super::error::KernelError;

/// Where the running kernel describes its own types.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Offsets the kernel programs need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offsets {
    /// `task_struct.thread_info.status` (x86: holds `TS_COMPAT` during a 32-bit syscall).
    pub task_status: u64,
    /// `task_struct.mm`, `mm_struct.exe_file`, `file.f_inode`: the path to "which program".
    pub task_mm: u64,
    pub mm_exe_file: u64,
    pub file_inode: u64,
    /// `task_struct.stack`: where a task's syscall register frame sits (see `OUTSIDE` in the
    /// kernel programs).
    pub task_stack: u64,
    /// `linux_binprm.filename`: the name an exec was asked for.
    pub binprm_filename: u64,
    /// `task_struct.tgid`: the process a task moved between cgroups belongs to.
    pub task_tgid: u64,
    /// `cgroup.root` and `cgroup_root.hierarchy_id`: which hierarchy a move was on (0 is the
    /// unified one).
    pub cgroup_root: u64,
    pub root_hierarchy_id: u64,
    /// Everything the file programs walk.
    pub files: recorder_common::FileOffsets,
    /// The BTF type id of `btf_trace_sys_enter`, the typedef a `tp_btf` program on
    /// `sys_enter` is loaded against (see [`typedef_at`]).
    pub sys_enter_typedef: u32,
}

/// Where resolved offsets are kept per kernel build: parsing the kernel's BTF takes most of
/// start-up time and about 40 MB of memory, and the answer only changes with the kernel.
const CACHE_DIR: &str = "/var/cache/leastpriv/kernel-offsets";

impl Offsets {
    /// The offsets for the running kernel, from the cache when this kernel build was seen
    /// before, else from its BTF (and then cached, best effort).
    pub fn from_running_kernel() -> Result<Offsets, KernelError> {
        let path = Path::new(VMLINUX_BTF);
        let metadata =
            std::fs::metadata(path).map_err(|_| KernelError::NoBtf { path: path.into() })?;
        let uname = nix::sys::utsname::uname().map_err(|e| KernelError::Btf {
            what: format!("uname: {e}"),
        })?;
        let release = uname.release().to_string_lossy().into_owned();
        // The build (version string) and BTF size tell one kernel build from another.
        let key = format!(
            "{release} {} {}",
            uname.version().to_string_lossy(),
            metadata.len()
        );
        let cache = Path::new(CACHE_DIR).join(format!("{}.offsets", release.replace('/', "_")));
        if let Some(offsets) = Self::read_cache(&cache, &key, metadata.len()) {
            return Ok(offsets);
        }
        let offsets = Self::from_btf(path)?;
        if let Err(err) = offsets.write_cache(&cache, &key) {
            log::debug!(
                "could not cache kernel offsets in {}: {err}",
                cache.display()
            );
        }
        Ok(offsets)
    }

    /// The offsets as words, in a fixed order (every field is a u64): `HEAD_WORDS` of them,
    /// the BTF type id last, then the file offsets.
    fn to_words(self) -> Vec<u64> {
        let head: [u64; HEAD_WORDS] = [
            self.task_status,
            self.task_mm,
            self.mm_exe_file,
            self.file_inode,
            self.task_stack,
            self.binprm_filename,
            self.task_tgid,
            self.cgroup_root,
            self.root_hierarchy_id,
            u64::from(self.sys_enter_typedef),
        ];
        // SAFETY: FileOffsets is repr(C) and made of u64 fields only: no padding.
        let files = unsafe {
            std::slice::from_raw_parts(
                (&raw const self.files).cast::<u64>(),
                size_of::<recorder_common::FileOffsets>() / 8,
            )
        };
        head.iter().chain(files).copied().collect()
    }

    fn from_words(words: &[u64]) -> Option<Offsets> {
        let (head, files) = words.split_at_checked(HEAD_WORDS)?;
        if files.len() != size_of::<recorder_common::FileOffsets>() / 8 {
            return None;
        }
        // SAFETY: the length matches a repr(C) struct of u64 fields.
        let files = unsafe {
            std::ptr::read_unaligned(files.as_ptr().cast::<recorder_common::FileOffsets>())
        };
        Some(Offsets {
            task_status: head[0],
            task_mm: head[1],
            mm_exe_file: head[2],
            file_inode: head[3],
            task_stack: head[4],
            binprm_filename: head[5],
            task_tgid: head[6],
            cgroup_root: head[7],
            root_hierarchy_id: head[8],
            sys_enter_typedef: u32::try_from(head[9]).ok()?,
            files,
        })
    }

    /// The cached offsets, if the cache is of this layout and this kernel build. A type id
    /// that BTF of `btf_len` bytes cannot reach (each type takes `TYPE_LEN` bytes at least) is
    /// not believed: the stand-in BTF for it would take that much memory.
    fn read_cache(cache: &Path, key: &str, btf_len: u64) -> Option<Offsets> {
        let text = std::fs::read_to_string(cache).ok()?;
        let mut lines = text.lines();
        if lines.next()? != CACHE_FORMAT || lines.next()? != key {
            return None;
        }
        let words: Vec<u64> = lines
            .next()?
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Self::from_words(&words)
            .filter(|offsets| u64::from(offsets.sys_enter_typedef) * u64::from(TYPE_LEN) <= btf_len)
    }

    fn write_cache(self, cache: &Path, key: &str) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt as _;
        let dir = cache.parent().expect("the cache file has a directory");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
        let words: Vec<String> = self.to_words().iter().map(u64::to_string).collect();
        let text = format!("{CACHE_FORMAT}\n{key}\n{}\n", words.join(" "));
        crate::recording::write_atomically(cache, text.as_bytes())
    }

    fn from_btf(path: &Path) -> Result<Offsets, KernelError> {
        // Read it whole: parsing from the file seeks once per type (100,000+ syscalls).
        let bytes = std::fs::read(path).map_err(|e| KernelError::Btf {
            what: format!("cannot read {VMLINUX_BTF}: {e}"),
        })?;
        let btf = Btf::from_bytes(&bytes).map_err(|e| KernelError::Btf {
            what: format!("cannot parse {VMLINUX_BTF}: {e}"),
        })?;
        let thread_info = member_offset(&btf, "task_struct", "thread_info")?;
        let status = member_offset(&btf, "thread_info", "status")?;
        Ok(Offsets {
            task_status: thread_info + status,
            task_mm: member_offset(&btf, "task_struct", "mm")?,
            mm_exe_file: member_offset(&btf, "mm_struct", "exe_file")?,
            file_inode: member_offset(&btf, "file", "f_inode")?,
            task_stack: member_offset(&btf, "task_struct", "stack")?,
            binprm_filename: member_offset(&btf, "linux_binprm", "filename")?,
            task_tgid: member_offset(&btf, "task_struct", "tgid")?,
            cgroup_root: member_offset(&btf, "cgroup", "root")?,
            root_hierarchy_id: member_offset(&btf, "cgroup_root", "hierarchy_id")?,
            files: file_offsets(&btf)?,
            sys_enter_typedef: typedef_id(&btf, SYS_ENTER_TYPEDEF)?,
        })
    }

    /// The BTF aya loads the `sys_enter` program against (see [`typedef_at`]).
    pub fn sys_enter_btf(&self) -> Result<aya::Btf, KernelError> {
        typedef_at(self.sys_enter_typedef, SYS_ENTER_TYPEDEF)
    }
}

/// Bytes of a BTF type without extra data (name, info, size or type): the smallest there is.
const TYPE_LEN: u32 = 12;

/// The typedef a BTF tracepoint on `sys_enter` is typed by.
const SYS_ENTER_TYPEDEF: &str = "btf_trace_sys_enter";

/// The type id of typedef `name`.
fn typedef_id(btf: &Btf, name: &str) -> Result<u32, KernelError> {
    let ids = btf.resolve_ids_by_name(name).unwrap_or_default();
    ids.into_iter()
        .find(|&id| matches!(btf.resolve_type_by_id(id), Ok(Type::Typedef(_))))
        .ok_or_else(|| KernelError::Btf {
            what: format!("typedef {name} not found in {VMLINUX_BTF}"),
        })
}

/// BTF for aya that holds typedef `name` at type id `id` and nothing else of note.
///
/// aya loads a `tp_btf` program only given a parsed `aya::Btf`, and reads from it nothing but
/// the id of the tracepoint's typedef, which the kernel then resolves in its own BTF. Parsing
/// all of vmlinux BTF for that added half again to start-up time, and 11 MiB of memory. The id is
/// already known (found with the offsets, and cached with them), so aya gets this instead: the
/// ids before it are placeholders (pointers to void, `TYPE_LEN` bytes each), then the typedef.
fn typedef_at(id: u32, name: &str) -> Result<aya::Btf, KernelError> {
    const KIND_PTR: u32 = 2;
    const KIND_TYPEDEF: u32 = 8;
    const HEADER_LEN: u32 = 24;
    let placeholders = id.checked_sub(1).ok_or_else(|| KernelError::Btf {
        what: format!("typedef {name} has type id 0, which is void"),
    })?;
    // BTF gives its type section a u32 length: no id beyond that is real (a cache file could
    // still say so).
    let type_len = id.checked_mul(TYPE_LEN).ok_or_else(|| KernelError::Btf {
        what: format!("typedef {name} has type id {id}, more types than BTF can hold"),
    })?;
    let strings = format!("\0{name}\0");
    let mut bytes = Vec::with_capacity((HEADER_LEN + type_len) as usize + strings.len());
    bytes.extend_from_slice(&0xeb9f_u16.to_ne_bytes());
    bytes.extend_from_slice(&[1, 0]); // version, flags
    for word in [HEADER_LEN, 0, type_len, type_len, strings.len() as u32] {
        bytes.extend_from_slice(&word.to_ne_bytes());
    }
    let mut push_type = |name_offset: u32, kind: u32| {
        for word in [name_offset, kind << 24, 0] {
            bytes.extend_from_slice(&word.to_ne_bytes());
        }
    };
    for _ in 0..placeholders {
        push_type(0, KIND_PTR);
    }
    push_type(1, KIND_TYPEDEF);
    bytes.extend_from_slice(strings.as_bytes());
    aya::Btf::parse(&bytes, aya::Endianness::default()).map_err(|e| KernelError::Btf {
        what: format!("cannot make BTF naming {name}: {e}"),
    })
}

/// Words of the cache before the file offsets (see `Offsets::to_words`).
const HEAD_WORDS: usize = 10;

/// First line of a cache file; a new layout needs a new tag.
const CACHE_FORMAT: &str = "leastpriv kernel offsets v9";

/// Offsets for walking files and paths (see `recorder_common::FileOffsets`).
fn file_offsets(btf: &Btf) -> Result<recorder_common::FileOffsets, KernelError> {
    let at = |name: &str, member: &str| member_offset(btf, name, member);
    Ok(recorder_common::FileOffsets {
        task_files: at("task_struct", "files")?,
        task_fs: at("task_struct", "fs")?,
        files_fdt: at("files_struct", "fdt")?,
        fdtable_max_fds: at("fdtable", "max_fds")?,
        fdtable_fd: at("fdtable", "fd")?,
        file_path: at("file", "f_path")?,
        file_flags: at("file", "f_flags")?,
        file_mode: at("file", "f_mode")?,
        file_inode: at("file", "f_inode")?,
        inode_mode: at("inode", "i_mode")?,
        path_mnt: at("path", "mnt")?,
        path_dentry: at("path", "dentry")?,
        dentry_parent: at("dentry", "d_parent")?,
        dentry_name: at("dentry", "d_name")?,
        qstr_len: at("qstr", "len")?,
        qstr_name: at("qstr", "name")?,
        vfsmount_root: at("vfsmount", "mnt_root")?,
        mount_mnt: at("mount", "mnt")?,
        mount_parent: at("mount", "mnt_parent")?,
        mount_mountpoint: at("mount", "mnt_mountpoint")?,
        fs_root: at("fs_struct", "root")?,
        fs_pwd: at("fs_struct", "pwd")?,
        file_private_data: at("file", "private_data")?,
        socket_type: at("socket", "type")?,
    })
}

/// Byte offset of `member` in `struct name`.
fn member_offset(btf: &Btf, name: &str, member: &str) -> Result<u64, KernelError> {
    let missing = || KernelError::Btf {
        what: format!("struct {name} has no member {member} in {VMLINUX_BTF}"),
    };
    let types = btf
        .resolve_types_by_name(name)
        .map_err(|e| KernelError::Btf {
            what: format!("struct {name} not found in {VMLINUX_BTF}: {e}"),
        })?;
    types
        .iter()
        .find_map(|ty| match ty {
            Type::Struct(st) => find_member(btf, st, member, 0),
            _ => None,
        })
        .ok_or_else(missing)
}

/// Searches `st` for `member`, descending into anonymous structs and unions (the kernel wraps
/// most of `mm_struct` in one), and returns its byte offset.
fn find_member(btf: &Btf, st: &btf_rs::Struct, member: &str, base_bits: u32) -> Option<u64> {
    for m in &st.members {
        let bits = base_bits + m.bit_offset();
        let name = btf.resolve_name(m).unwrap_or_default();
        if name == member && m.bitfield_size().unwrap_or(0) == 0 {
            return Some(u64::from(bits / 8));
        }
        if name.is_empty() {
            if let Ok(Type::Struct(inner) | Type::Union(inner)) = btf.resolve_chained_type(m) {
                if let Some(offset) = find_member(btf, &inner, member, bits) {
                    return Some(offset);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use aya_obj::btf::BtfKind;

    use super::*;

    #[test]
    fn stand_in_btf_names_the_typedef_at_its_id() {
        for id in [1, 2, 11_330, 100_000] {
            let btf = typedef_at(id, SYS_ENTER_TYPEDEF).unwrap();
            let found = btf.id_by_type_name_kind("btf_trace_sys_enter", BtfKind::Typedef);
            assert_eq!(found.unwrap(), id);
            assert!(btf
                .id_by_type_name_kind("btf_trace_sys_exit", BtfKind::Typedef)
                .is_err());
        }
        let err = typedef_at(0, SYS_ENTER_TYPEDEF).unwrap_err();
        assert!(err.to_string().contains("type id 0"), "{err}");
        let err = typedef_at(u32::MAX / TYPE_LEN + 1, SYS_ENTER_TYPEDEF).unwrap_err();
        assert!(err.to_string().contains("more types than BTF"), "{err}");
    }

    /// The id found with the offsets is the one aya finds in a full parse of the kernel's BTF.
    #[test]
    fn sys_enter_typedef_matches_the_kernels_btf() {
        if !Path::new(VMLINUX_BTF).exists() {
            assert!(
                std::env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
                "{VMLINUX_BTF} is missing, and LEASTPRIV_REQUIRE_BPF=1"
            );
            println!("SKIP sys_enter_typedef_matches_the_kernels_btf: {VMLINUX_BTF} is missing");
            return;
        }
        let offsets = Offsets::from_btf(Path::new(VMLINUX_BTF)).unwrap();
        let full = aya::Btf::from_sys_fs().unwrap();
        let id = full
            .id_by_type_name_kind("btf_trace_sys_enter", BtfKind::Typedef)
            .unwrap();
        assert_eq!(offsets.sys_enter_typedef, id);
        let cached = Offsets::from_words(&offsets.to_words()).unwrap();
        assert_eq!(cached, offsets);
    }

    #[test]
    fn a_cached_type_id_beyond_the_kernels_btf_is_not_believed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("kernel.offsets");
        let words = |id: u64| -> String {
            let mut words: Vec<u64> =
                (1..=(HEAD_WORDS + size_of::<recorder_common::FileOffsets>() / 8) as u64).collect();
            words[HEAD_WORDS - 1] = id;
            words
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let read = |id: u64, btf_len: u64| {
            std::fs::write(&cache, format!("{CACHE_FORMAT}\nkey\n{}\n", words(id))).unwrap();
            Offsets::read_cache(&cache, "key", btf_len)
        };
        assert_eq!(read(11_330, 12 * 11_330).unwrap().sys_enter_typedef, 11_330);
        assert!(read(11_331, 12 * 11_330).is_none());
        assert!(read(4_000_000_000, 6_000_000).is_none());
        assert!(read(11_330, 6_000_000).is_some());
        std::fs::write(&cache, format!("{CACHE_FORMAT}\nother\n{}\n", words(1))).unwrap();
        assert!(
            Offsets::read_cache(&cache, "key", 6_000_000).is_none(),
            "another kernel"
        );
    }

    #[test]
    fn cached_offsets_of_another_layout_are_refused() {
        let len = HEAD_WORDS + size_of::<recorder_common::FileOffsets>() / 8;
        let words: Vec<u64> = (1..len as u64).collect();
        assert!(Offsets::from_words(&words).is_none(), "one word short");
        let mut words: Vec<u64> = (1..=len as u64).collect();
        let offsets = Offsets::from_words(&words).unwrap();
        assert_eq!(offsets.sys_enter_typedef, HEAD_WORDS as u32);
        assert_eq!(offsets.to_words(), words);
        words[HEAD_WORDS - 1] = u64::from(u32::MAX) + 1;
        assert!(
            Offsets::from_words(&words).is_none(),
            "a type id beyond u32"
        );
    }
}
