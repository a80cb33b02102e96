/* `rel_forks FORKS EXECS`: FORKS short-lived children, each calling sched_getscheduler once
 * (nothing else here or in libc start-up makes it, so the recording must count exactly
 * FORKS), then EXECS children that each execute /bin/true. Up to 64 children run at once.
 * Exits 0 when every child exited 0, 1 otherwise. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define AT_ONCE 64

static int failed;

static void reap(int *running) {
    int status;
    if (wait(&status) < 0) {
        perror("rel_forks: wait");
        exit(1);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    (*running)--;
}

/* Starts `count` children; each runs `child` and exits with what it returns. */
static void spawn(long count, int (*child)(void)) {
    int running = 0;
    for (long i = 0; i < count; i++) {
        if (running == AT_ONCE) reap(&running);
        pid_t pid = fork();
        if (pid < 0) {
            perror("rel_forks: fork");
            exit(1);
        }
        if (pid == 0) _exit(child());
        running++;
    }
    while (running > 0) reap(&running);
}

static int distinctive_syscall(void) {
    return syscall(SYS_sched_getscheduler, 0) < 0;
}

static int exec_true(void) {
    execl("/bin/true", "true", (char *)NULL);
    perror("rel_forks: exec /bin/true");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: rel_forks FORKS EXECS\n");
        return 2;
    }
    spawn(atol(argv[1]), distinctive_syscall);
    spawn(atol(argv[2]), exec_true);
    return failed;
}
