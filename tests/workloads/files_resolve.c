/* `files_resolve DIR`: file names the recorder must resolve the way the kernel did, each
 * touching its own file in DIR, which the test prepares (see tests/tests/files.rs):
 *   ./a/../b after chdir(DIR)            read DIR/b
 *   openat(DIR/sub, "c"), O_CREAT         read DIR/sub, write+create DIR/sub/c
 *   unlinkat(DIR/sub, "e")                unlink DIR/sub/e
 *   mkdirat(DIR/sub, "../f")              mkdir DIR/f
 *   DIR/link, a symlink to DIR/target     read DIR/target
 *   DIR/sub/../d                          read DIR/d
 * then in children with mount namespaces of their own (mounts made private first):
 *   DIR/src bind-mounted on DIR/mnt, DIR/mnt/file opened    read DIR/mnt/file
 *   chroot(DIR/root), chdir(/inner), ../inside-chroot opened and made-in-chroot made
 *                                         read /inside-chroot, mkdir /inner/made-in-chroot
 * Exits 0 when all went as expected, 1 with the error otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;

static void fail(const char *what) {
    perror(what);
    exit(1);
}

/* DIR/name, in the buffer given. */
static const char *in_dir(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}
/* DIR/name in a buffer of its own that lives to the end of the enclosing block. */
#define PATH(name) in_dir((char[4096]){0}, 4096, name)

static void read_file(int dirfd, const char *name) {
    char buf[16];
    int fd = openat(dirfd, name, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) fail(name);
    close(fd);
}

/* Runs `body` in a child with a mount namespace of its own and waits for it. */
static void in_own_mount_namespace(void (*body)(void)) {
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        if (unshare(CLONE_NEWNS) != 0) fail("unshare");
        /* Without this, mounts made here would propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("make / private");
        body();
        _exit(0);
    }
    int status;
    if (waitpid(child, &status, 0) != child || status != 0) exit(1);
}

static void through_bind_mount(void) {
    if (mount(PATH("src"), PATH("mnt"), NULL, MS_BIND, NULL) != 0) fail("bind mount");
    read_file(AT_FDCWD, PATH("mnt/file"));
}

static void inside_chroot(void) {
    if (chroot(PATH("root")) != 0 || chdir("/inner") != 0) fail("chroot");
    read_file(AT_FDCWD, "../inside-chroot");
    if (mkdir("made-in-chroot", 0755) != 0) fail("mkdir in chroot");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files_resolve DIR\n");
        return 2;
    }
    dir = argv[1];

    if (chdir(dir) != 0) fail("chdir");
    read_file(AT_FDCWD, "./a/../b");

    int sub = open(PATH("sub"), O_RDONLY | O_DIRECTORY);
    if (sub < 0) fail("sub");
    int fd = openat(sub, "c", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail("sub/c");
    close(fd);
    if (unlinkat(sub, "e", 0) != 0) fail("unlinkat e");
    if (mkdirat(sub, "../f", 0755) != 0) fail("mkdirat ../f");

    read_file(AT_FDCWD, PATH("link"));
    read_file(AT_FDCWD, PATH("sub/../d"));

    in_own_mount_namespace(through_bind_mount);
    in_own_mount_namespace(inside_chroot);
    return 0;
}
