// SPDX-License-Identifier: GPL-2.0-only
/*
 * notify_listen - stand in for systemd's notification socket in tests:
 * binds an AF_UNIX datagram socket at PATH and prints every message it
 * receives, one line per field, flushed, until killed.
 *   notify_listen PATH
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify_listen PATH\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("notify_listen");
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		printf("%s\n", buf);
		fflush(stdout);
	}
	return 0;
}
