/* `cap_kill PID`: checks that it may signal PID with kill(PID, 0). Signal 0 sends nothing
 * but makes the same permission check as a real signal, so for a process of another user
 * it needs CAP_KILL, and the target survives for the next run. Exits 0 when allowed, 1
 * with the error otherwise. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cap_kill PID\n");
        return 2;
    }
    pid_t pid = (pid_t)atol(argv[1]);
    if (kill(pid, 0) != 0) {
        fprintf(stderr, "cap_kill: kill(%d, 0): ", (int)pid);
        perror(NULL);
        return 1;
    }
    return 0;
}
