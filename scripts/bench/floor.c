// The floor of one agent sample, for docs/performance.md: the agent's work and nothing else. Each
// second (a timerfd), pread /proc/stat, /proc/meminfo and /proc/self/statm (kept open), format one
// native-protocol JSON line, write it to monitord and read its ack; one thread, blocking I/O.
//   gcc -O2 -o floor scripts/bench/floor.c && ./floor PORT [p|n]   (p: without /proc, n: without the network)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
static char buf[65536];
static char skip;
static long readall(int fd) { if (skip) { strcpy(buf, "cpu 1 2 3 4\nintr 5\nMemTotal: 10\nMemAvailable: 5\n"); return 1; } long n = pread(fd, buf, sizeof buf - 1, 0); buf[n > 0 ? n : 0] = 0; return n; }
int main(int argc, char **argv) {
    int port = atoi(argv[1]); char mode = argc > 2 ? argv[2][0] : 0;
    int st = open("/proc/stat", O_RDONLY), mi = open("/proc/meminfo", O_RDONLY), sm = open("/proc/self/statm", O_RDONLY);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (void *)&a, sizeof a)) { perror("connect"); return 1; }
    char line[512]; char in[4096];
    int n = snprintf(line, sizeof line, "{\"type\":\"hello\",\"protocol\":1,\"agent\":\"floor\",\"version\":\"0\",\"session\":\"%08x%024d\"}\n", getpid(), 0);
    write(s, line, n); read(s, in, sizeof in);
    skip = mode == 'p';
    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec it = {{1, 0}, {1, 0}};
    timerfd_settime(t, 0, &it, NULL);
    unsigned long long prev[10] = {0};
    for (uint64_t seq = 1;; seq++) {
        uint64_t ticks; read(t, &ticks, 8);
        readall(st);
        unsigned long long c[10] = {0}; sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9]);
        char *intr = strstr(buf, "\nintr "); unsigned long long irq = intr ? strtoull(intr + 6, 0, 10) : 0;
        double tot = 0, idle = (c[3] - prev[3]) + (c[4] - prev[4]); for (int i = 0; i < 8; i++) tot += c[i] - prev[i];
        memcpy(prev, c, sizeof c);
        readall(mi); unsigned long long total = 0, avail = 0;
        char *p = strstr(buf, "MemTotal:"); if (p) total = strtoull(p + 9, 0, 10);
        p = strstr(buf, "MemAvailable:"); if (p) avail = strtoull(p + 13, 0, 10);
        readall(sm); unsigned long long pages = 0, rss = 0; sscanf(buf, "%llu %llu", &pages, &rss);
        struct timespec now; clock_gettime(CLOCK_REALTIME, &now);
        n = snprintf(line, sizeof line, "{\"type\":\"sample\",\"seq\":%llu,\"ts\":%.6f,\"ram_percent\":%.1f,\"cpu_percent\":%.1f,\"process_ram_gib\":%.9f,\"interrupts\":%llu}\n",
                     (unsigned long long)seq, now.tv_sec + now.tv_nsec / 1e9, total ? 100.0 * (total - avail) / total : 0, tot > 0 ? 100 * (tot - idle) / tot : 0, rss * 4096.0 / (1 << 30), irq);
        if (mode == 'n') continue;
        if (write(s, line, n) != n) return 2;
        if (read(s, in, sizeof in) <= 0) return 3;
    }
}
