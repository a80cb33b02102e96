/* `files_static32 DIR`, built with `gcc -m32 -static`: file and socket calls through the
 * ia32 entry, with the syscall numbers and argument registers of that ABI:
 *   DIR/openat32 created and written through glibc's open() (the openat syscall),
 *   DIR/open32 created and written through the old open syscall, then renamed (rename
 *   syscall) to DIR/renamed32,
 *   an AF_UNIX SOCK_DGRAM socket through the socket syscall and an AF_INET SOCK_STREAM one
 *   through socketcall(SYS_SOCKET).
 * Exits 0 when all went as expected, 1 with the error otherwise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/net.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void fail(const char *what) {
    perror(what);
    exit(1);
}

static void write_close(int fd, const char *what) {
    if (fd < 0 || write(fd, "x", 1) != 1) fail(what);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: files_static32 DIR\n");
        return 2;
    }
    char openat32[4096], open32[4096], renamed32[4096];
    snprintf(openat32, sizeof openat32, "%s/openat32", argv[1]);
    snprintf(open32, sizeof open32, "%s/open32", argv[1]);
    snprintf(renamed32, sizeof renamed32, "%s/renamed32", argv[1]);

    write_close(open(openat32, O_WRONLY | O_CREAT | O_TRUNC, 0644), openat32);
    write_close(syscall(SYS_open, open32, O_WRONLY | O_CREAT | O_TRUNC, 0644), open32);
    if (syscall(SYS_rename, open32, renamed32) != 0) fail("rename");

    if (syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0) < 0) fail("socket");
    unsigned long args[3] = {AF_INET, SOCK_STREAM, 0};
    if (syscall(SYS_socketcall, SYS_SOCKET, args) < 0) fail("socketcall");
    return 0;
}
