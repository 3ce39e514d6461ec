// The floor of holding agents, for docs/performance.md: what answering each agent's sample costs
// with nothing else done. One thread, epoll, non-blocking sockets; per read, a welcome for a
// hello and a cumulative ack for the highest "seq" of the read. No JSON parsing beyond finding
// those two, no store, no /metrics, no deadlines: whatever monitord spends above this is ours.
//   gcc -O2 -o gateway-floor scripts/bench/gateway-floor.c && ./gateway-floor PORT [n]
//   (n: read and never answer — the cost of the reads alone; the agents then time out)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char welcome[] = "{\"type\":\"welcome\",\"protocol\":1}\n";

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: gateway-floor PORT [n]\n"); return 64; }
    int silent = argc > 2 && argv[2][0] == 'n';
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (void *)&address, sizeof address) || listen(listener, 4096)) { perror("listen"); return 1; }
    int poll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener}, ready[256];
    epoll_ctl(poll, EPOLL_CTL_ADD, listener, &event);
    static char in[65536];
    for (;;) {
        int count = epoll_wait(poll, ready, 256, -1);
        for (int i = 0; i < count; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int peer;
                while ((peer = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event added = {.events = EPOLLIN, .data.fd = peer};
                    epoll_ctl(poll, EPOLL_CTL_ADD, peer, &added);
                }
                continue;
            }
            ssize_t n = read(fd, in, sizeof in - 1);
            if (n <= 0) {
                if (n < 0 && errno == EAGAIN) continue;
                close(fd);
                continue;
            }
            if (silent) continue;
            in[n] = 0;
            if (strstr(in, "\"hello\"")) write(fd, welcome, sizeof welcome - 1);
            unsigned long long highest = 0;
            for (char *at = strstr(in, "\"seq\":"); at; at = strstr(at + 6, "\"seq\":")) {
                unsigned long long seq = strtoull(at + 6, NULL, 10);
                if (seq > highest) highest = seq;
            }
            if (highest) {
                char ack[64];
                int length = snprintf(ack, sizeof ack, "{\"type\":\"ack\",\"seq\":%llu}\n", highest);
                write(fd, ack, length);
            }
        }
    }
}
