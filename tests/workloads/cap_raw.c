/* `cap_raw`: opens a raw ICMP socket, which needs CAP_NET_RAW (unprivileged ping uses
 * SOCK_DGRAM instead). Exits 0 when it got one, 1 with the error otherwise. */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) {
        perror("cap_raw: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)");
        return 1;
    }
    close(fd);
    return 0;
}
