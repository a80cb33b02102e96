/* `socket_loop N`: N times, create and close an inet stream socket and a unix datagram
 * socket. A syscall-heavy loop whose hot syscall (socket) an argument-aware seccomp profile
 * checks by value. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = 0; i < n; i++) {
        int a = socket(AF_INET, SOCK_STREAM, 0);
        int b = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (a < 0 || b < 0) return 1;
        close(a);
        close(b);
    }
    return 0;
}
