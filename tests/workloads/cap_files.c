/* `cap_files DIR`: ordinary file work in a directory of its own: create, write, read back,
 * rename, unlink. It needs no capability at all. Exits 0 when all went as expected, 1 with
 * the error otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
    fprintf(stderr, "cap_files: %s %s: ", what, path);
    perror(NULL);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cap_files DIR\n");
        return 2;
    }
    char first[4096], second[4096];
    snprintf(first, sizeof first, "%s/first", argv[1]);
    snprintf(second, sizeof second, "%s/second", argv[1]);
    static const char text[] = "least privilege\n";
    char back[sizeof text] = {0};

    int fd = open(first, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return fail("create", first);
    if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) return fail("write", first);
    close(fd);
    if (rename(first, second) != 0) return fail("rename to", second);
    fd = open(second, O_RDONLY);
    if (fd < 0) return fail("open", second);
    if (read(fd, back, sizeof back - 1) != (ssize_t)(sizeof text - 1) || strcmp(back, text) != 0) {
        fprintf(stderr, "cap_files: %s does not hold what was written\n", second);
        return 1;
    }
    close(fd);
    if (unlink(second) != 0) return fail("unlink", second);
    return 0;
}
