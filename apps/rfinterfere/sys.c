/*
 * sys.c - rfinterfere's process and file modes, the ones that hit the
 * kernel's shared file and task state (the file table, dentry and inode
 * caches and their locks, the task list, page-table copies):
 *
 *   open  open and close a file of the worker's own in --dir (default
 *         /tmp), as will-it-scale's open1; the file is removed at the end;
 *   fork  fork a child that exits at once, and reap it: process creation
 *         and teardown, counted per child.
 */
#define _GNU_SOURCE
#include "rfinterfere.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_open(struct rfi_ctx *ctx)
{
	char path[4096];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/rfinterfere.%d.%d", ctx->dir, (int)getpid(), ctx->index);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	do {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			rc = -1;
			break;
		}
		close(fd);
	} while (!rfi_count(ctx, 1));
	unlink(path);
	return rc;
}

static int run_fork(struct rfi_ctx *ctx)
{
	do {
		pid_t pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(0);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	} while (!rfi_count(ctx, 1));
	return 0;
}

const struct rfi_mode rfi_mode_open = {
	"open", "open+close pairs", "open and close a file of one's own (--dir)",
	NULL, run_open,
};
const struct rfi_mode rfi_mode_fork = {
	"fork", "fork+exit+wait", "fork a child that exits at once, reap it",
	NULL, run_fork,
};
