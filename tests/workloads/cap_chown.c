/* `cap_chown DIR`: creates DIR/owned and gives it to uid and gid 65534. Giving a file away
 * needs CAP_CHOWN, even for root, and nothing else when DIR is the caller's own. Exits 0
 * when done, 1 with the error otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cap_chown DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/owned", argv[1]);
    /* Unlinked first so that every run creates the file as its own. */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "cap_chown: create %s: ", path);
        perror(NULL);
        return 1;
    }
    close(fd);
    if (chown(path, 65534, 65534) != 0) {
        fprintf(stderr, "cap_chown: chown %s to 65534:65534: ", path);
        perror(NULL);
        return 1;
    }
    return 0;
}
