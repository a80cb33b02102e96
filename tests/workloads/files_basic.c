/* `files_basic DIR`: one of each kind of file access the recorder knows, in DIR, which the
 * test prepares with the files `config`, `appended`, `old`, `modes` and `lockfile`:
 * read config; write log (created, truncated); append to appended; a mkstemp file, written,
 * read back and unlinked; mkdir + rmdir `dir`; rename old to new; hard link config as
 * `hardlink`; symlink `symlink` to config; chmod modes; flock lockfile; fork + execv
 * /bin/true; a unix and an inet stream socket. Every name is absolute. Exits 0 when all
 * went as expected, 1 with the error otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dir;

/* DIR/name, in the buffer given. */
static const char *in_dir(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}
/* DIR/name in a buffer of its own that lives to the end of the enclosing block. */
#define PATH(name) in_dir((char[4096]){0}, 4096, name)

static int fail(const char *what) {
    perror(what);
    exit(1);
}

static void open_write_close(const char *path, int flags) {
    int fd = open(path, flags, 0644);
    if (fd < 0) fail(path);
    if (write(fd, "x\n", 2) != 2) fail("write");
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files_basic DIR\n");
        return 2;
    }
    dir = argv[1];

    char buf[64];
    int fd = open(PATH("config"), O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) fail("config");
    close(fd);

    open_write_close(PATH("log"), O_WRONLY | O_CREAT | O_TRUNC);
    open_write_close(PATH("appended"), O_WRONLY | O_APPEND);

    char temp[4096];
    snprintf(temp, sizeof temp, "%s/tmp.XXXXXX", dir);
    fd = mkstemp(temp);
    if (fd < 0) fail("mkstemp");
    if (write(fd, "t", 1) != 1 || pread(fd, buf, 1, 0) != 1) fail("mkstemp io");
    close(fd);
    if (unlink(temp) != 0) fail("unlink");

    if (mkdir(PATH("dir"), 0755) != 0 || rmdir(PATH("dir")) != 0) fail("mkdir/rmdir");
    if (rename(PATH("old"), PATH("new")) != 0) fail("rename");
    if (link(PATH("config"), PATH("hardlink")) != 0) fail("link");
    if (symlink("config", PATH("symlink")) != 0) fail("symlink");
    if (chmod(PATH("modes"), 0600) != 0) fail("chmod");

    fd = open(PATH("lockfile"), O_RDONLY);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || flock(fd, LOCK_UN) != 0) fail("flock");
    close(fd);

    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        execv("/bin/true", (char *[]){"true", NULL});
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) != child || status != 0) fail("/bin/true");

    int unix_socket = socket(AF_UNIX, SOCK_STREAM, 0);
    int inet_socket = socket(AF_INET, SOCK_STREAM, 0);
    if (unix_socket < 0 || inet_socket < 0) fail("socket");
    return 0;
}
