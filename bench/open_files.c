/* Benchmark 6's workload: distinct files, each opened once.
 *
 *   open_files create DIR N   creates DIR/dNNN/fNNNNNN, N empty files in directories of 1000
 *   open_files open DIR N     opens each of them read-only once and closes it
 *
 * Every open succeeds and names a different file, so a file recorder sees N distinct paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void name(char *buf, size_t size, const char *dir, long i)
{
    snprintf(buf, size, "%s/d%03ld/f%06ld", dir, i / 1000, i);
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "open") != 0)) {
        fprintf(stderr, "usage: %s create|open DIR N\n", argv[0]);
        return 2;
    }
    const char *dir = argv[2];
    long n = atol(argv[3]);
    int create = strcmp(argv[1], "create") == 0;
    char path[4096];
    if (create && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        if (create && i % 1000 == 0) {
            snprintf(path, sizeof path, "%s/d%03ld", dir, i / 1000);
            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                perror(path);
                return 1;
            }
        }
        name(path, sizeof path, dir, i);
        int fd = create ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)
                        : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        close(fd);
    }
    return 0;
}
