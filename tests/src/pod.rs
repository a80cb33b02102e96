//! Running a command in a runc container set up as a Kubernetes pod's settings say, to prove
//! `generate k8s`'s readiness decisions by running the workload that way (issue 32).
//!
//! The container is what kubelet and a runtime make of a pod: its own root filesystem (an
//! image's: the directories are the container root's, `/tmp` is mode 1777, nothing is a
//! volume), the host's /usr and /etc bind-mounted read-only for programs and libraries,
//! runc's own /proc, /dev (tmpfs), /dev/shm and /sys, an empty writable directory at each
//! volume path (an emptyDir), and the workload's executable copied into the root filesystem
//! at its own path with its mode and file capabilities (so a setuid bit or file capabilities
//! are kept, and it belongs to the container's root as an image's files do). Then each setting: a new user namespace mapping 65,536 ids
//! (`hostUsers: false`), the user, exactly the added capabilities (also ambient for a
//! non-root user), no_new_privs (`allowPrivilegeEscalation: false`) and a read-only root
//! (`readOnlyRootFilesystem`).

use std::fs;
use std::os::unix::fs::{chown, symlink, MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};

use crate::{describe, tempdir, Running, RUN_TIMEOUT};

/// Where the pod's user namespace starts on the host (its 65,536 ids follow), as kubelet
/// gives each pod a range of its own.
pub const HOST_ID_BASE: u32 = 200_000;
/// How many ids a pod's user namespace maps.
pub const POD_IDS: u32 = 65_536;

/// How to run: the pod's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSettings {
    /// `hostUsers: false`: a new user namespace with [`POD_IDS`] ids.
    pub user_namespace: bool,
    pub uid: u32,
    pub gid: u32,
    /// Capabilities added after dropping all (`CAP_CHOWN`): the bounding set, and what a
    /// root process holds.
    pub capabilities: Vec<String>,
    /// Whether a non-root process also holds them as ambient capabilities (kept across
    /// execve; what `setpriv --ambient-caps` and file capabilities in an image give). Without,
    /// a non-root program gets them only through a setuid-root or file-capability program,
    /// as in Kubernetes, whose runtimes set no ambient capabilities.
    pub ambient: bool,
    /// `allowPrivilegeEscalation: false`.
    pub no_new_privs: bool,
    pub read_only_root: bool,
    /// Paths with an empty writable directory mounted (emptyDir volumes).
    pub volumes: Vec<String>,
}

/// Runs `argv` (whose first element is an absolute path to an executable) in a fresh runc
/// container set up as `settings` say; returns its exit status and output. Panics if the
/// container cannot be set up or runs longer than [`RUN_TIMEOUT`].
pub fn run(argv: &[&str], settings: &PodSettings) -> Output {
    let dir = tempdir();
    let bundle = dir.path();
    // The container's root must reach the bundle's rootfs.
    fs::set_permissions(bundle, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", bundle.display()));
    let root_id = if settings.user_namespace {
        HOST_ID_BASE
    } else {
        0
    };
    let rootfs = bundle.join("rootfs");
    make_rootfs(&rootfs, argv[0], root_id);

    let mut volume_mounts = Vec::new();
    for (i, volume) in settings.volumes.iter().enumerate() {
        // An emptyDir is a fresh directory every user of the pod may write.
        let source = bundle.join(format!("volume-{i}"));
        fs::create_dir(&source).unwrap_or_else(|e| panic!("create {}: {e}", source.display()));
        chown(&source, Some(root_id), Some(root_id))
            .unwrap_or_else(|e| panic!("chown {}: {e}", source.display()));
        fs::set_permissions(&source, fs::Permissions::from_mode(0o777))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", source.display()));
        volume_mounts.push(json!({
            "destination": volume, "type": "bind", "source": source, "options": ["rbind", "rw"]
        }));
    }

    let spec = Command::new("runc")
        .arg("spec")
        .arg("--bundle")
        .arg(bundle)
        .output()
        .unwrap_or_else(|e| panic!("run `runc spec` (is runc installed?): {e}"));
    assert!(
        spec.status.success(),
        "runc spec failed:\n{}",
        describe(&spec)
    );
    let config_path = bundle.join("config.json");
    let text = fs::read_to_string(&config_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", config_path.display()));
    let mut config: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parse {}: {e}", config_path.display()));
    configure(&mut config, argv, settings, volume_mounts);
    fs::write(&config_path, config.to_string())
        .unwrap_or_else(|e| panic!("write {}: {e}", config_path.display()));

    let container = Container::new();
    let mut cmd = Command::new("runc");
    cmd.arg("run")
        .arg("--bundle")
        .arg(bundle)
        .arg(&container.id)
        .stdin(Stdio::null());
    Running::spawn(cmd).wait(RUN_TIMEOUT).0
}

/// An image-like root filesystem owned by the container's root (`root_id` on the host), with
/// the executable `exe` copied in at its own path.
fn make_rootfs(rootfs: &Path, exe: &str, root_id: u32) {
    for dir in [
        "usr", "etc", "proc", "dev", "sys", "tmp", "var/lib", "var/tmp",
    ] {
        create_dir_all(&rootfs.join(dir));
    }
    let exe_dir = Path::new(exe).parent().expect("an absolute path");
    let inside = rootfs.join(exe_dir.strip_prefix("/").expect("an absolute path"));
    create_dir_all(&inside);
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        let path = rootfs.join(link);
        symlink(target, &path).unwrap_or_else(|e| panic!("symlink {}: {e}", path.display()));
    }
    // Every directory the container's root's, as an image's are, before the copy.
    chown_tree(rootfs, root_id);
    for dir in ["tmp", "var/tmp"] {
        set_mode(&rootfs.join(dir), 0o1777);
    }
    let copy = inside.join(Path::new(exe).file_name().expect("a file name"));
    fs::copy(exe, &copy).unwrap_or_else(|e| panic!("copy {exe} to {}: {e}", copy.display()));
    chown(&copy, Some(root_id), Some(root_id))
        .unwrap_or_else(|e| panic!("chown {}: {e}", copy.display()));
    // chown clears setuid and setgid bits: the mode is set after it.
    let mode = fs::metadata(exe)
        .unwrap_or_else(|e| panic!("stat {exe}: {e}"))
        .mode();
    set_mode(&copy, mode & 0o7777);
    copy_file_capabilities(Path::new(exe), &copy, root_id);
}

const CAPABILITY_XATTR: &std::ffi::CStr = c"security.capability";

/// Gives `to` the file capabilities of `from`, if it has any, as belonging to the root of
/// the namespace whose root is `root_id` on the host: an image's file capabilities are its
/// root's. A version 2 attribute (written from the initial namespace, as setcap does) counts
/// only where host uid 0 is mapped, so it is rewritten as version 3 with that root's id.
fn copy_file_capabilities(from: &Path, to: &Path, root_id: u32) {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).expect("no NUL");
    let (from_c, to_c) = (c_path(from), c_path(to));
    let mut value = [0u8; 24];
    // SAFETY: the path and name are NUL-terminated and `value` is as long as the size given.
    let len = unsafe {
        libc::getxattr(
            from_c.as_ptr(),
            CAPABILITY_XATTR.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    if len < 0 {
        return; // none (ENODATA), or a filesystem without them: nothing to copy
    }
    assert!(
        len == 20 || len == 24,
        "{}: security.capability of {len} bytes",
        from.display()
    );
    // struct vfs_ns_cap_data: magic_etc (revision in the top byte, effective in bit 0), two
    // (permitted, inheritable) words, then the root id.
    let magic = u32::from_le_bytes(value[0..4].try_into().unwrap());
    let v3 = 0x0300_0000 | (magic & 1);
    value[0..4].copy_from_slice(&v3.to_le_bytes());
    value[20..24].copy_from_slice(&root_id.to_le_bytes());
    // SAFETY: as above.
    let set = unsafe {
        libc::setxattr(
            to_c.as_ptr(),
            CAPABILITY_XATTR.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        set,
        0,
        "set security.capability on {}: {}",
        to.display(),
        std::io::Error::last_os_error()
    );
}

fn chown_tree(path: &Path, id: u32) {
    std::os::unix::fs::lchown(path, Some(id), Some(id))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if path.is_symlink() || !path.is_dir() {
        return;
    }
    for entry in fs::read_dir(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())) {
        chown_tree(&entry.expect("a directory entry").path(), id);
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn create_dir_all(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
}

/// Edits the configuration `runc spec` wrote into the pod's.
fn configure(config: &mut Value, argv: &[&str], settings: &PodSettings, volumes: Vec<Value>) {
    let process = &mut config["process"];
    process["terminal"] = json!(false);
    process["args"] = json!(argv);
    process["user"] = json!({"uid": settings.uid, "gid": settings.gid});
    process["noNewPrivileges"] = json!(settings.no_new_privs);
    let caps = json!(settings.capabilities);
    // A non-root process keeps capabilities across execve only as ambient ones, which must
    // also be inheritable; root's come back from the bounding set.
    let non_root = settings.uid != 0 && settings.ambient;
    process["capabilities"] = json!({
        "bounding": caps,
        "effective": caps,
        "permitted": caps,
        "inheritable": if non_root { caps.clone() } else { json!([]) },
        "ambient": if non_root { caps.clone() } else { json!([]) },
    });
    config["root"] = json!({"path": "rootfs", "readonly": settings.read_only_root});
    let read_only_bind = |dir: &str| json!({"destination": dir, "type": "bind", "source": dir, "options": ["rbind", "ro"]});
    let mounts = config["mounts"]
        .as_array_mut()
        .expect("runc spec writes a mounts array");
    mounts.push(read_only_bind("/usr"));
    mounts.push(read_only_bind("/etc"));
    mounts.extend(volumes);
    if settings.user_namespace {
        let linux = &mut config["linux"];
        linux["namespaces"]
            .as_array_mut()
            .expect("runc spec writes namespaces")
            .push(json!({"type": "user"}));
        let mapping = json!([{"containerID": 0, "hostID": HOST_ID_BASE, "size": POD_IDS}]);
        linux["uidMappings"] = mapping.clone();
        linux["gidMappings"] = mapping;
    }
}

/// A container ID unique to this test process, deleted (with anything still running in it)
/// when dropped.
struct Container {
    id: String,
}

impl Container {
    fn new() -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        Self {
            id: format!("leastpriv-pod-{}-{n}", std::process::id()),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // `runc run` normally deletes its container itself; --force succeeds when it did.
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .stdin(Stdio::null())
            .output();
    }
}
