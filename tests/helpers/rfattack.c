/*
 * rfattack - a libos (librf) program that sends rfd raw requests from
 * inside its subOS, for tests/integration/42-escape-authority.sh: what a
 * hostile librf application could ask through RF_SOCKET.
 *
 *   rfattack REQUEST...
 *
 * Each REQUEST (one JSON line) goes on a connection of its own; rfd's
 * answer is printed as "rfattack: ANSWER".  Then "rfattack: done" and exit
 * 0; exit 1 if RF_SOCKET is missing or a connection fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <rf/rf.h>

/* One request, one answer line into buf; 0 or -1. */
static int ask(const char *path, const char *req, char *buf, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t off = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (write(fd, req, strlen(req)) < 0 || write(fd, "\n", 1) != 1)
		goto fail;
	while (off + 1 < len && !memchr(buf, '\n', off)) {
		ssize_t n = read(fd, buf + off, len - 1 - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int app(int argc, char **argv)
{
	static char buf[65536];
	const char *path = getenv("RF_SOCKET");
	if (!path) {
		printf("rfattack: no RF_SOCKET\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (ask(path, argv[i], buf, sizeof(buf))) {
			perror("rfattack: connect");
			return 1;
		}
		printf("rfattack: %s\n", buf);
	}
	printf("rfattack: done\n");
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	rf_main(argc, argv, app);
}
