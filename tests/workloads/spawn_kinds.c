/* Creates a child with each way Linux has to make a task, and has each one make a syscall
 * that nothing else in this program (nor the loader or libc start-up) makes, so a recording
 * shows whether the recorder followed that kind of child:
 *   fork()            -> sysinfo
 *   vfork()           -> getpriority
 *   raw clone         -> times
 *   raw clone3        -> getrusage
 *   pthread (clone3)  -> sched_getaffinity
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* The kernel's struct clone_args (v0 layout), spelled out so no kernel header is needed. */
struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* Every distinctive call goes through syscall() so libc cannot answer it from a cache. */
static void child_sysinfo(void) { char buf[128]; syscall(SYS_sysinfo, buf); }
static void child_getpriority(void) { syscall(SYS_getpriority, PRIO_PROCESS, 0); }
static void child_times(void) { char buf[64]; syscall(SYS_times, buf); }
static void child_getrusage(void) { char buf[256]; syscall(SYS_getrusage, RUSAGE_SELF, buf); }

static void *thread_main(void *arg) {
    char mask[128];
    syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    return arg;
}

static void wait_for(pid_t pid, const char *what) {
    int status;
    if (pid < 0) { perror(what); exit(1); }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s child failed\n", what);
        exit(1);
    }
}

int main(void) {
    pid_t pid = fork();
    if (pid == 0) { child_sysinfo(); _exit(0); }
    wait_for(pid, "fork");

    pid = vfork();
    if (pid == 0) { child_getpriority(); _exit(0); }
    wait_for(pid, "vfork");

    /* No stack and no CLONE_VM: the child runs on a copy of our stack, like fork(). */
    pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) { child_times(); syscall(SYS_exit, 0); }
    wait_for(pid, "clone");

    struct clone_args_v0 args = { .exit_signal = SIGCHLD };
    pid = syscall(SYS_clone3, &args, sizeof args);
    /* As libc does: clone3 answered ENOSYS (an argument-narrowed seccomp profile does, since
     * it cannot read clone3's flags) means "use clone". */
    if (pid < 0 && errno == ENOSYS) pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) { child_getrusage(); syscall(SYS_exit, 0); }
    wait_for(pid, "clone3");

    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        fprintf(stderr, "pthread failed\n");
        return 1;
    }
    return 0;
}
