/* Built with `gcc -m32 -static`: every syscall it makes after execve goes through the
 * ia32 compat entry, whose numbers mean different syscalls than the x86_64 ones
 * (20 is getpid here, writev on x86_64). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    struct utsname uts;
    char line[128];
    long pid = syscall(SYS_getpid);
    syscall(SYS_uname, &uts);
    int len = snprintf(line, sizeof line, "pid %ld on %s\n", pid, uts.machine);
    return write(1, line, len) == len ? 0 : 1;
}
