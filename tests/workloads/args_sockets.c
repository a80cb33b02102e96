/* `args_sockets MODE`: for argument-aware seccomp profiles.
 *   normal: a unix stream socket and an inet stream socket (what gets recorded);
 *   packet: also an AF_PACKET socket;   userns: also unshare(CLONE_NEWUSER).
 * Exits 0 when every call succeeded, 1 (with the error) when one failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>

static int check(int ret, const char *what) {
    if (ret < 0) {
        fprintf(stderr, "args_sockets: %s: %s\n", what, strerror(errno));
        _exit(1);
    }
    return ret;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "normal";
    close(check(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "unix socket"));
    close(check(socket(AF_INET, SOCK_STREAM, 0), "inet socket"));
    if (strcmp(mode, "packet") == 0)
        close(check(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), "packet socket"));
    if (strcmp(mode, "userns") == 0)
        check(unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)");
    puts("ok");
    return 0;
}
