/* Daemonizes the classic way (fork, setsid, fork) and has the grandchild make its
 * distinctive syscall (uname) only ~300 ms after the original parent has exited, so a
 * recorder that stops when the command exits, or that loses processes which left the
 * session, misses it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    /* The grandchild learns that the original parent is gone when this pipe reaches EOF:
     * the parent holds the only other write end. */
    int gone[2];
    if (pipe(gone) != 0) { perror("pipe"); return 1; }

    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        close(gone[1]);
        if (setsid() < 0) { perror("setsid"); _exit(1); }
        pid_t grandchild = fork();
        if (grandchild < 0) { perror("fork"); _exit(1); }
        if (grandchild == 0) {
            char byte;
            while (read(gone[0], &byte, 1) > 0) {}
            struct timespec delay = { .tv_sec = 0, .tv_nsec = 300 * 1000 * 1000 };
            nanosleep(&delay, NULL);
            char uts[512];
            syscall(SYS_uname, uts);
            _exit(0);
        }
        _exit(0);
    }
    close(gone[0]);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "intermediate child failed\n");
        return 1;
    }
    return 0;
}
