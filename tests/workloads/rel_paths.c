/* `rel_paths DIR COUNT`: creates COUNT empty files DIR/p0000000, DIR/p0000001, ... (one
 * open each, O_CREAT|O_EXCL, nothing written, so only inodes are used). Exits 0 when all
 * were created, 1 with the error otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: rel_paths DIR COUNT\n");
        return 2;
    }
    long count = atol(argv[2]);
    char path[4096];
    for (long i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/p%07ld", argv[1], i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        close(fd);
    }
    return 0;
}
