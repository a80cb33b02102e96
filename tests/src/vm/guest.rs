//! The guest's side of a batch: `guest.sh`, which the initramfs runs from the writable share
//! once it has switched into the host's root, and the files each check is given and leaves.
//!
//! Each check is a directory `checks/NNN/` with `run.sh` (the command, quoted by the host),
//! optionally `setup.sh` (run unconfined first) and `profile` (loaded with
//! `apparmor_parser -r` before the command, removed with `-R` after it). The guest leaves
//! `rc`, `stdout`, `stderr`, `kernel.log` (the kernel log of that check alone) and, for a
//! profile, `load.rc` and `load.out`; `times` (uptimes at start, loaded, command done, check done). The script's
//! own tools are busybox applets (its shell prefers them), the workloads the host's programs. Scripts run under busybox's shell, never the host's
//! `/bin/sh`: a profile attached to `/usr/bin/dash` must confine only the workload.

/// The script. The audit messages AppArmor's denials become are printed by the `kauditd`
/// thread, after the denied call returns; so after each command the guest provokes one more
/// audit message of its own (an `aa-exec` into a profile that does not exist, named after the
/// check) and waits until that one is in the log: every denial of the command is then there
/// too, and the log is cut there.
pub const GUEST_SH: &str = r#"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
share=$(dirname "$0")
echo started > "$share/started"
mount -t securityfs securityfs /sys/kernel/security
# No audit daemon: every denial goes to the kernel log, which must drop none of them.
echo 0 > /proc/sys/kernel/printk_ratelimit
echo 0 > /proc/sys/kernel/printk_ratelimit_burst
busybox ip link set lo up
cat /sys/kernel/security/lsm > "$share/lsm" 2>&1
cat /sys/module/apparmor/parameters/enabled > "$share/apparmor" 2>&1
dmesg -c > /dev/null
for c in "$share"/checks/*; do
    n=$(basename "$c")
    t0=$(cut -d" " -f1 /proc/uptime)
    if [ -f "$c/profile" ]; then
        apparmor_parser -r -K "$c/profile" > "$c/load.out" 2>&1
        echo $? > "$c/load.rc"
    fi
    t1=$(cut -d" " -f1 /proc/uptime)
    if [ -f "$c/setup.sh" ]; then
        busybox sh "$c/setup.sh" > "$c/setup.out" 2>&1
        echo $? > "$c/setup.rc"
    fi
    busybox sh "$c/run.sh" > "$c/stdout" 2> "$c/stderr" < /dev/null
    echo $? > "$c/rc"
    t2=$(cut -d" " -f1 /proc/uptime)
    aa-exec -p "leastpriv-vm-end-$n" -- true > /dev/null 2>&1
    i=0
    while ! dmesg | grep -q "name=\"leastpriv-vm-end-$n\"" && [ $i -lt 100 ]; do
        busybox usleep 50000; i=$((i + 1))
    done
    dmesg -c > "$c/kernel.log"
    if [ -f "$c/profile.name" ]; then
        # By name: `apparmor_parser -R` would compile the whole profile again.
        cat "$c/profile.name" > /sys/kernel/security/apparmor/.remove
    fi
    echo "$t0 $t1 $t2 $(cut -d" " -f1 /proc/uptime)" > "$c/times"
done
sync
echo done > "$share/done"
sync
echo b > /proc/sysrq-trigger
"#;

/// `s` quoted for a POSIX shell: single quotes, with each `'` written as `'\''`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(quote("a'b c"), r"'a'\''b c'");
    }
}
