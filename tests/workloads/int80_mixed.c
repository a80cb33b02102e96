/* A 64-bit program that alternates a native syscall with the same number through `int 0x80`,
 * which the kernel serves from the i386 table: x86_64 39 is getpid, i386 39 is mkdir (here
 * with a NULL path, so it fails with EFAULT and creates nothing). The recorder's per-CPU
 * cache must not mistake the second for a repeat of the first. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long int80(long nr, long arg)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(arg) : "memory");
    return ret;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 1000;
    long failures = 0;
    for (long i = 0; i < rounds; i++) {
        syscall(SYS_getpid);
        syscall(SYS_getpid);
        failures += int80(39, 0) < 0;
    }
    printf("%ld\n", failures);
    return failures == rounds ? 0 : 1;
}
