/*
 * cgfs.c - reading and writing cgroup control files.
 *
 * Errors are returned as -errno and the failing path is left in errno's
 * wake for the caller's message; cgroup writes fail with meaningful codes
 * (EINVAL for an exclusive-cpuset overlap, EBUSY for a populated group).
 */
#include "rfd/enforce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int rfd_cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

int rfd_cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

int rfd_cg_mkdir(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* rmdir of a cgroup whose last task just died can see EBUSY for a moment
 * while the kernel finishes the exit; retry briefly. */
int rfd_cg_rmdir(const char *dir)
{
	for (int i = 0; i < 1000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}
