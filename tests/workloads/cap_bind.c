/* `cap_bind PORT`: binds a TCP socket to 127.0.0.1:PORT. Below
 * net.ipv4.ip_unprivileged_port_start (1024 by default) that needs CAP_NET_BIND_SERVICE and
 * nothing else. Exits 0 when bound, 1 with the error otherwise. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cap_bind PORT\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("cap_bind: socket");
        return 1;
    }
    /* So that a port left in TIME_WAIT by an earlier run does not fail the bind. */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        perror("cap_bind: setsockopt SO_REUSEADDR");
        return 1;
    }
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)atoi(argv[1])),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "cap_bind: bind 127.0.0.1:%s: ", argv[1]);
        perror(NULL);
        return 1;
    }
    close(fd);
    return 0;
}
