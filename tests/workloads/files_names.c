/* `files_names DIR NAMES [--read-back]`: creates a file DIR/<name> (O_WRONLY|O_CREAT|O_EXCL,
 * one byte written) for each name in the file NAMES, where names are separated by NUL bytes
 * so that they may hold any other byte; with --read-back, then opens each again for reading.
 * Exits 0 when all went as expected, 1 with the error otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fail(const char *what) {
    perror(what);
    exit(1);
}

/* The whole file, NUL-terminated. */
static char *slurp(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) fail(path);
    char *data = malloc(st.st_size + 1);
    if (!data) fail("malloc");
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, data + done, st.st_size - done);
        if (n <= 0) fail(path);
        done += n;
    }
    data[done] = 0;
    close(fd);
    *len = done;
    return data;
}

int main(int argc, char **argv) {
    int read_back = argc == 4 && strcmp(argv[3], "--read-back") == 0;
    if (argc != 3 && !read_back) {
        fprintf(stderr, "usage: files_names DIR NAMES [--read-back]\n");
        return 2;
    }
    int dir = open(argv[1], O_PATH | O_DIRECTORY);
    if (dir < 0) fail(argv[1]);
    size_t len;
    char *names = slurp(argv[2], &len);

    for (int pass = 0; pass < 1 + read_back; pass++) {
        for (char *name = names; name < names + len; name += strlen(name) + 1) {
            int fd = pass == 0 ? openat(dir, name, O_WRONLY | O_CREAT | O_EXCL, 0644)
                               : openat(dir, name, O_RDONLY);
            if (fd < 0) fail(name);
            char byte = 'x';
            if ((pass == 0 ? write(fd, &byte, 1) : read(fd, &byte, 1)) != 1) fail(name);
            close(fd);
        }
    }
    return 0;
}
