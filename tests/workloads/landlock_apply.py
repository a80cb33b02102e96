"""An independent Landlock loader for the tests: reads a LandlockConfig in JSON (explicit
right names only, as leastpriv writes them), applies it with the raw syscalls through ctypes
(no leastpriv code, no landlock crate), and executes the command.

Usage: landlock_apply.py CONFIG.json CMD [ARG...]
"""

import ctypes
import json
import os
import sys

FS = ["execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
      "make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
      "make_sym", "refer", "truncate", "ioctl_dev"]
NET = ["bind_tcp", "connect_tcp"]
SCOPE = ["abstract_unix_socket", "signal"]
SYS_CREATE, SYS_ADD_RULE, SYS_RESTRICT = 444, 445, 446
RULE_PATH_BENEATH, RULE_NET_PORT = 1, 2
PR_SET_NO_NEW_PRIVS = 38


class RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def bits(names, table):
    value = 0
    for name in names:
        value |= 1 << table.index(name)
    return value


def main():
    config = json.load(open(sys.argv[1]))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def check(result, what):
        if result < 0:
            err = ctypes.get_errno()
            raise SystemExit("landlock_apply: %s: %s" % (what, os.strerror(err)))
        return result

    attr = RulesetAttr(0, 0, 0)
    for ruleset in config["ruleset"]:
        attr.fs |= bits(ruleset.get("handledAccessFs", []), FS)
        attr.net |= bits(ruleset.get("handledAccessNet", []), NET)
        attr.scoped |= bits(ruleset.get("scoped", []), SCOPE)
    fd = check(libc.syscall(SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                            ctypes.c_uint32(0)), "landlock_create_ruleset")
    for rule in config.get("pathBeneath", []):
        allowed = bits(rule["allowedAccess"], FS)
        for parent in rule["parent"]:
            try:
                parent_fd = os.open(parent, os.O_PATH | os.O_CLOEXEC)
            except OSError as e:
                print("landlock_apply: skipping %r: %s" % (parent, e.strerror), file=sys.stderr)
                continue
            mask = allowed
            if not os.path.isdir(parent):
                mask &= bits(["execute", "write_file", "read_file", "truncate", "ioctl_dev"], FS)
            path_attr = PathBeneathAttr(mask, parent_fd)
            check(libc.syscall(SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(RULE_PATH_BENEATH),
                               ctypes.byref(path_attr), ctypes.c_uint32(0)),
                  "landlock_add_rule %r" % parent)
            os.close(parent_fd)
    for rule in config.get("netPort", []):
        for port in rule["port"]:
            port_attr = NetPortAttr(bits(rule["allowedAccess"], NET), port)
            check(libc.syscall(SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(RULE_NET_PORT),
                               ctypes.byref(port_attr), ctypes.c_uint32(0)),
                  "landlock_add_rule port %d" % port)
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    check(libc.syscall(SYS_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)),
          "landlock_restrict_self")
    os.close(fd)
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
