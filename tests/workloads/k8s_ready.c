/* `k8s_ready MODE [ARG]`: one workload per Kubernetes readiness case (tests/tests/k8s_readiness.rs).
 *   volume DIR   create and write DIR/out (as a non-root user: only a volume is written)
 *   suid         setuid(0) and check the real uid became 0 (installed setuid-root, run by
 *                another user: needs the euid 0 the setuid bit gives)
 *   chown DIR    create DIR/owned and give it to uid and gid 1000
 *   mknod DIR    create the character device DIR/null (1, 3)
 *   bind PORT    bind a TCP socket to PORT on every address
 *   state DIR    create the directory DIR (EEXIST is fine) and write DIR/state (for a DIR
 *                under /var/lib, on the root filesystem)
 *   read         read /etc/passwd and /proc/self/status
 * Exits 0 when done, 1 with the error otherwise, 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int fail(const char *what, const char *arg) {
    fprintf(stderr, "k8s_ready: %s %s: %s\n", what, arg, strerror(errno));
    return 1;
}

static int write_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fail("create", path);
    if (write(fd, "data\n", 5) != 5)
        return fail("write", path);
    close(fd);
    return 0;
}

static int read_file(const char *path) {
    char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail("open", path);
    if (read(fd, buf, sizeof buf) < 0)
        return fail("read", path);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    char path[4096];
    if (argc < 2) {
        fprintf(stderr, "usage: k8s_ready MODE [ARG]\n");
        return 2;
    }
    const char *mode = argv[1];
    const char *arg = argc > 2 ? argv[2] : NULL;
    if (!strcmp(mode, "volume") && arg) {
        snprintf(path, sizeof path, "%s/out", arg);
        return write_file(path);
    }
    if (!strcmp(mode, "suid")) {
        if (setuid(0) != 0)
            return fail("setuid", "0");
        if (getuid() != 0) {
            fprintf(stderr, "k8s_ready: setuid(0) left uid %u\n", getuid());
            return 1;
        }
        return 0;
    }
    if (!strcmp(mode, "chown") && arg) {
        snprintf(path, sizeof path, "%s/owned", arg);
        unlink(path);
        if (write_file(path) != 0)
            return 1;
        if (chown(path, 1000, 1000) != 0)
            return fail("chown", path);
        return 0;
    }
    if (!strcmp(mode, "mknod") && arg) {
        snprintf(path, sizeof path, "%s/null", arg);
        unlink(path);
        if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
            return fail("mknod", path);
        return 0;
    }
    if (!strcmp(mode, "bind") && arg) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(arg))};
        if (fd < 0)
            return fail("socket", "AF_INET");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
            return fail("bind", arg);
        close(fd);
        return 0;
    }
    if (!strcmp(mode, "state") && arg) {
        if (mkdir(arg, 0755) != 0 && errno != EEXIST)
            return fail("mkdir", arg);
        snprintf(path, sizeof path, "%s/state", arg);
        return write_file(path);
    }
    if (!strcmp(mode, "read"))
        return read_file("/etc/passwd") || read_file("/proc/self/status");
    fprintf(stderr, "k8s_ready: unknown mode or missing argument: %s\n", mode);
    return 2;
}
