/* `rel_moves MOUNT N M`: cgroup moves while recorded (run as root, from the recorded cgroup;
 * MOUNT is the cgroup2 mount).
 *
 * 1. Calls sched_get_priority_min N times, moves itself to MOUNT's root cgroup, calls it N
 *    times there, moves itself back to the cgroup it started in, and calls it N times again:
 *    2N calls were made inside.
 * 2. Forks a child that says it is ready and then calls sched_get_priority_max M times and
 *    nothing else; as soon as the child is ready, this process moves it to the root cgroup.
 *    Only the calls the child made before the move were made inside: a handful next to M.
 *
 * Prints `moved` and exits 0 when every move succeeded, else says what failed and exits 1. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int move_to(const char *procs, pid_t pid) {
    char text[32];
    int len = snprintf(text, sizeof text, "%d\n", (int)pid);
    int fd = open(procs, O_WRONLY);
    int ok = fd >= 0 && write(fd, text, len) == len;
    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        perror(procs);
    }
    return ok;
}

static void calls(long nr, long count) {
    for (long i = 0; i < count; i++) {
        syscall(nr, SCHED_OTHER);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: rel_moves MOUNT N M\n");
        return 2;
    }
    const char *mount = argv[1];
    long n = atol(argv[2]), m = atol(argv[3]);

    /* Where we started: the cgroup v2 line of /proc/self/cgroup, "0::/path". */
    char line[4096], own[8192] = "";
    FILE *cgroups = fopen("/proc/self/cgroup", "r");
    while (cgroups && fgets(line, sizeof line, cgroups)) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(own, sizeof own, "%s%s/cgroup.procs", mount, line + 3);
        }
    }
    char root[4096];
    snprintf(root, sizeof root, "%s/cgroup.procs", mount);
    if (!own[0]) {
        fprintf(stderr, "no cgroup v2 line in /proc/self/cgroup\n");
        return 1;
    }

    calls(SYS_sched_get_priority_min, n);
    if (!move_to(root, getpid())) {
        return 1;
    }
    calls(SYS_sched_get_priority_min, n);
    if (!move_to(own, getpid())) {
        return 1;
    }
    calls(SYS_sched_get_priority_min, n);

    int ready[2];
    if (pipe(ready) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        if (write(ready[1], "r", 1) != 1) {
            _exit(1);
        }
        calls(SYS_sched_get_priority_max, m);
        _exit(0);
    }
    close(ready[1]);
    char byte;
    int moved = read(ready[0], &byte, 1) == 1 && move_to(root, child);
    int status = 0;
    waitpid(child, &status, 0);
    if (!moved || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the child was not moved, or failed\n");
        return 1;
    }
    printf("moved\n");
    return 0;
}
