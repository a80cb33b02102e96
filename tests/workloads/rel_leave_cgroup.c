/* `rel_leave_cgroup PROCS`: tries to move itself out of the recorded cgroup by writing its
 * pid to PROCS (the cgroup2 root's cgroup.procs), prints `escaped` or `denied: <error>`,
 * then calls sched_get_priority_max once (nothing else here makes it). Exits 0 either way,
 * 1 when the write failed for another reason than a permission. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: rel_leave_cgroup PROCS\n");
        return 2;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    int fd = open(argv[1], O_WRONLY);
    int ok = fd >= 0 && write(fd, pid, len) == len;
    int error = errno;
    if (ok) {
        printf("escaped\n");
    } else {
        printf("denied: %s\n", strerror(error));
    }
    fflush(stdout);
    syscall(SYS_sched_get_priority_max, SCHED_OTHER);
    return ok || error == EACCES || error == EPERM ? 0 : 1;
}
