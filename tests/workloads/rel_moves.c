/* `rel_moves MOUNT N M` and `rel_moves --group MOUNT M`: cgroup moves while recorded (run as
 * root, from the recorded cgroup; MOUNT is the cgroup2 mount).
 *
 * Without --group:
 * 1. Calls sched_get_priority_min N times, moves itself to MOUNT's root cgroup, calls it N
 *    times there, moves itself back to the cgroup it started in, and calls it N times again:
 *    2N calls were made inside.
 * 2. Forks a child that says it is ready and then calls sched_get_priority_max M times and
 *    nothing else; as soon as the child is ready, this process moves it to the root cgroup.
 *    Only the calls the child made before the move were made inside: a handful next to M.
 *
 * With --group, a thread group moved back into the recorded cgroup while one of its threads,
 * not the leader, repeats a syscall: forks a child whose second thread calls getppid in a
 * loop, moves the child to MOUNT's root cgroup, waits until the thread has made many calls
 * there (so that the recorder knows it as outside), moves the child back (one write to
 * cgroup.procs moves the whole thread group; the kernel reports the move for the leader
 * only), then lets the thread go on to call sched_get_priority_max M times, all inside.
 *
 * Prints `moved` and exits 0 when every move succeeded, else says what failed and exits 1. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Waits for the child; prints `moved` and returns 0 if every move succeeded (`moved`) and the
 * child exited 0, else says so and returns 1. */
static int finish(pid_t child, int moved) {
    int status = 0;
    waitpid(child, &status, 0);
    if (!moved || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the child was not moved, or failed\n");
        return 1;
    }
    printf("moved\n");
    return 0;
}

/* Shared between the parent and the child (MAP_SHARED). */
struct shared {
    volatile long spins; /* getppid calls the child's thread made */
    volatile int go;     /* set by the parent once the child is back inside */
};

static struct shared *shared;
static long m;

static void *spin_then_call(void *arg) {
    while (!shared->go) {
        syscall(SYS_getppid);
        __atomic_add_fetch(&shared->spins, 1, __ATOMIC_RELAXED);
    }
    calls(SYS_sched_get_priority_max, m);
    return arg;
}

/* Waits until the child's thread has made `more` calls since now; 0 after 10 s. */
static int wait_for_spins(long more) {
    long until = shared->spins + more;
    for (int i = 0; i < 10000 && shared->spins < until; i++) {
        usleep(1000);
    }
    return shared->spins >= until;
}

/* The --group part; `own` and `root` are cgroup.procs files. */
static int group_moves(const char *own, const char *root) {
    shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, spin_then_call, NULL) != 0) {
            _exit(1);
        }
        pthread_join(thread, NULL);
        _exit(0);
    }
    int moved = wait_for_spins(1000) && move_to(root, child) && wait_for_spins(100000) &&
                move_to(own, child) && wait_for_spins(1000);
    shared->go = 1;
    return finish(child, moved);
}

int main(int argc, char **argv) {
    int group = argc == 4 && strcmp(argv[1], "--group") == 0;
    if (argc != 4) {
        fprintf(stderr, "usage: rel_moves MOUNT N M, or rel_moves --group MOUNT M\n");
        return 2;
    }
    const char *mount = argv[1 + group];
    long n = group ? 0 : atol(argv[2]);
    m = atol(argv[3]);

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
    if (group) {
        return group_moves(own, root);
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
    return finish(child, moved);
}
