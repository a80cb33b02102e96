/* Several threads that each do a little work with syscalls of their own (gettid and
 * sched_yield, which start-up code does not make), then are joined. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { THREADS = 4, ROUNDS = 50 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long total;

static void *work(void *arg) {
    long tid = syscall(SYS_gettid);
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        total += tid % 7 + i;
        pthread_mutex_unlock(&lock);
        syscall(SYS_sched_yield);
    }
    return arg;
}

int main(void) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, work, NULL) != 0) { fprintf(stderr, "pthread_create\n"); return 1; }
    }
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    printf("total %ld\n", total);
    return 0;
}
