// SPDX-License-Identifier: GPL-2.0-only
/*
 * conns - hostile HTTP clients for the endpoint tests: holds N connections open and, when the
 * server closes one, opens another a given time later, for a given time.
 *
 *   conns [--from ADDR [--spread K]] [--slow SECONDS] [--reconnect SECONDS]
 *         [--for SECONDS] HOST:PORT|UNIX-PATH N
 *
 * Idle by default: connects and sends nothing. --slow: sends a request line, then one more
 * header line every SECONDS, never ending the headers (a slowloris). --from binds the source
 * address (any 127.0.0.0/8 address is the loopback: a distinct client); --spread: connection
 * i from ADDR + i % K, K clients. --reconnect: 1 s by
 * default; 0 reopens at once (a connection flood). Prints "ready" once
 * N connections were established, and at exit "established E closed C".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int up;			/* established */
	double next_send;
	double reopen;		/* fd < 0: when to open it again */
};

static struct sockaddr_storage dst, src;
static socklen_t dst_len;
static int has_src, ep, spread = 1;
static struct conn *conns;
static double slow, reconnect = 1;
static long established, closed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_dst(const char *s)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&dst;
	struct sockaddr_in *sin = (struct sockaddr_in *)&dst;
	const char *colon = strrchr(s, ':');
	char host[64];

	if (s[0] == '/') {
		if (strlen(s) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s);
		dst_len = sizeof(*sun);
		return 0;
	}
	if (!colon || colon - s >= (long)sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	sin->sin_family = AF_INET;
	sin->sin_port = htons(atoi(colon + 1));
	dst_len = sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static void open_one(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	struct sockaddr_in from = *(struct sockaddr_in *)&src;

	c->up = 0;
	c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("conns: socket");
		exit(1);
	}
	from.sin_addr.s_addr = htonl(ntohl(from.sin_addr.s_addr) + (c - conns) % spread);
	if (has_src && bind(c->fd, (struct sockaddr *)&from, sizeof(from))) {
		perror("conns: bind");
		exit(1);
	}
	if (connect(c->fd, (struct sockaddr *)&dst, dst_len) && errno != EINPROGRESS &&
	    errno != EAGAIN) {
		/* refused (a full Unix backlog says EAGAIN): try again when it is its turn */
		close(c->fd);
		c->fd = -1;
		c->reopen = now() + reconnect;
		closed++;
		return;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void send_line(struct conn *c, const char *line)
{
	(void)!send(c->fd, line, strlen(line), MSG_NOSIGNAL);
	c->next_send = now() + slow;
}

static void on_event(struct conn *c, unsigned int events)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	char buf[4096];
	int err = 0;
	socklen_t len = sizeof(err);

	if (!c->up && (events & EPOLLOUT)) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (!err) {
			c->up = 1;
			established++;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			if (slow)
				send_line(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
			return;
		}
	}
	if (!err && !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	if (!err && recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		return;		/* an answer (a 4xx, say): the close comes next */
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->reopen = now() + reconnect;
	closed++;
}

static void run(struct conn *v, long n, double end)
{
	struct epoll_event evs[256];
	int ready = 0, i, k;
	double t;
	long j;

	while ((t = now()) < end) {
		k = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < k; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		for (j = 0; j < n; j++) {
			if (v[j].fd < 0 && t >= v[j].reopen)
				open_one(&v[j]);
			else if (slow && v[j].up && t >= v[j].next_send)
				send_line(&v[j], "X-Slow: 1\r\n");
		}
		if (!ready && established >= n) {
			ready = 1;
			printf("ready\n");
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&src;
	double duration = 60;
	struct rlimit rl;
	struct conn *v;
	long n, i;
	int a = 1;

	for (; a + 1 < argc && argv[a][0] == '-' && argv[a][1] == '-'; a += 2) {
		if (!strcmp(argv[a], "--from")) {
			sin->sin_family = AF_INET;
			has_src = inet_pton(AF_INET, argv[a + 1], &sin->sin_addr) == 1;
		} else if (!strcmp(argv[a], "--slow")) {
			slow = atof(argv[a + 1]);
		} else if (!strcmp(argv[a], "--spread")) {
			spread = atoi(argv[a + 1]) > 0 ? atoi(argv[a + 1]) : 1;
		} else if (!strcmp(argv[a], "--reconnect")) {
			reconnect = atof(argv[a + 1]);
		} else if (!strcmp(argv[a], "--for")) {
			duration = atof(argv[a + 1]);
		} else {
			break;
		}
	}
	if (argc - a != 2 || parse_dst(argv[a]) || (n = atol(argv[a + 1])) <= 0) {
		fprintf(stderr, "usage: conns [--from ADDR] [--slow S] [--reconnect S] [--for S] "
			"HOST:PORT|PATH N\n");
		return 2;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	v = conns = calloc(n, sizeof(*v));
	if (ep < 0 || !v)
		return 1;
	for (i = 0; i < n; i++)
		open_one(&v[i]);
	run(v, n, now() + duration);
	printf("established %ld closed %ld\n", established, closed);
	return 0;
}
