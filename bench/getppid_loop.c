/* The syscall-bound loop of benchmarks 1, 2 and 9: N getppid calls (default 2,000,000).
 *
 * getppid does almost nothing in the kernel, so the time per call is the syscall entry and
 * exit path itself: exactly what a program attached to sys_enter adds to. The raw syscall()
 * wrapper is used so that no libc caching can skip the kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [CALLS]\n", argv[0]);
        return 2;
    }
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += syscall(SYS_getppid);
    /* Use the result. A parent pid is never negative; it is 0 for a container's first
     * process (its parent is outside the container's pid namespace). */
    return sum < 0;
}
