/* `rel_kill_parent`: forks a child that SIGKILLs this process (the recorded command), waits
 * until it has been reparented, then calls sysinfo and exits. Only the surviving child makes
 * sysinfo, after the command is dead; the command's status is 137. */
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("rel_kill_parent: fork");
        return 1;
    }
    if (pid == 0) {
        if (kill(parent, SIGKILL) != 0) {
            perror("rel_kill_parent: kill");
            _exit(1);
        }
        while (getppid() == parent) usleep(1000);
        /* Late enough that the recorder has seen the command exit. */
        usleep(200 * 1000);
        _exit(syscall(SYS_sysinfo, &(char[512]){0}) != 0);
    }
    for (;;) pause();
}
