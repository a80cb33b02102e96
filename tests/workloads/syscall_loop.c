/* `syscall_loop NAME SECONDS`: makes the syscall NAME over and over for SECONDS, so a
 * test can tell whose syscalls a recording holds by name. Pauses 1 ms between calls to
 * leave the CPU to the recorder and other tests. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];

static void call_sysinfo(void) { syscall(SYS_sysinfo, buf); }
static void call_getpriority(void) { syscall(SYS_getpriority, PRIO_PROCESS, 0); }
static void call_times(void) { syscall(SYS_times, buf); }
static void call_getrusage(void) { syscall(SYS_getrusage, RUSAGE_SELF, buf); }
static void call_uname(void) { syscall(SYS_uname, buf); }
static void call_sched_getaffinity(void) { syscall(SYS_sched_getaffinity, 0, 128, buf); }
static void call_getsid(void) { syscall(SYS_getsid, 0); }
static void call_getitimer(void) { syscall(SYS_getitimer, ITIMER_REAL, buf); }
/* No kernel table has number 1000: it fails with ENOSYS, and a recording must keep it
 * anyway, by number, without a name. */
static void call_nr1000(void) { syscall(1000); }

static const struct { const char *name; void (*call)(void); } table[] = {
    {"sysinfo", call_sysinfo},
    {"getpriority", call_getpriority},
    {"times", call_times},
    {"getrusage", call_getrusage},
    {"uname", call_uname},
    {"sched_getaffinity", call_sched_getaffinity},
    {"getsid", call_getsid},
    {"getitimer", call_getitimer},
    {"nr1000", call_nr1000},
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: syscall_loop NAME SECONDS\n"); return 2; }
    void (*call)(void) = NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(argv[1], table[i].name) == 0) call = table[i].call;
    if (!call) { fprintf(stderr, "syscall_loop: unknown syscall %s\n", argv[1]); return 2; }

    double end = now() + atof(argv[2]);
    struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000 * 1000 };
    do {
        call();
        nanosleep(&pause, NULL);
    } while (now() < end);
    return 0;
}
