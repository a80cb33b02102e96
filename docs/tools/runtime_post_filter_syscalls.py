"""From `strace -f -o TRACE <runtime> run ...`: the syscalls of the container init's thread
group from its seccomp filter load (prctl PR_SET_SECCOMP or seccomp SET_MODE_FILTER with a
program) to its execve of the workload."""
import re, sys
# strace pads pids to a column: one space after the pid, whatever the width.
lines = [re.sub(r'^(\d+) +', r'\1 ', l) for l in open(sys.argv[1]).read().splitlines()]
load = re.compile(r'^(\d+) (prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER|seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=)')
start = init = None
for i, l in enumerate(lines):
    m = load.match(l)
    if m: start, init = i, m.group(1)
assert start is not None, "no filter load found"
# Thread group of init: init plus threads it (or they) created with CLONE_THREAD.
group = {init}
pending = set()  # tids with an unfinished clone(CLONE_THREAD)
for l in lines:
    m = re.match(r'^(\d+) clone3?\(.*CLONE_THREAD', l)
    if m and m.group(1) in group:
        r = re.search(r'= (?:\d+ /\* )?(\d+)(?: in strace.s PID NS \*/)?$', l)
        if r: group.add(r.group(1))
        else: pending.add(m.group(1))
        continue
    m = re.match(r'^(\d+) <\.\.\. clone3? resumed>.*= (?:\d+ /\* )?(\d+)(?: in strace.s PID NS \*/)?$', l)
    if m and m.group(1) in pending:
        pending.discard(m.group(1)); group.add(m.group(2))
names = set()
for l in lines[start + 1:]:
    m = re.match(r'^(\d+) ([a-z_0-9]+)\(', l)
    if not m or m.group(1) not in group: continue
    names.add(m.group(2))
    if m.group(1) == init and m.group(2) == 'execve': break
print(' '.join(sorted(names)))
