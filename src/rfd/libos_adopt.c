/*
 * libos_adopt.c - writing an adopted libos subOS's description page.
 *
 * The description page is sealed with F_SEAL_FUTURE_WRITE once rfd mapped
 * it (libos.c): nobody, rfd included, can make a new writable mapping of
 * it.  A restarted rfd therefore cannot map the page it finds in the
 * subOS writable.  One writable mapping outlives the old rfd: the subOS's
 * shim's, inherited from rfd by fork (spawn.c: the shim is rfd's own code,
 * never exec'd, outside the subOS).  The restarted rfd finds it in the
 * shim's maps by the page's inode and writes through /proc/SHIM/mem;
 * s->desc is then rfd's private copy, pushed out by rfd_desc_begin/end in
 * seqlock order (seq odd, body, seq even, gen), so librf reads it exactly
 * as it reads a page rfd writes directly.  Finding the mapping in the shim
 * (rfd's process) also checks that the page the subOS shows is the one rfd
 * made, not one it forged under the same name.
 *
 * The same restart loses rfd's descriptors of the subOS's region memfds,
 * without which a region it gives back could not be punched out: rfd takes
 * them back from the subOS (pidfd_getfd), found by the inode numbers the
 * journal recorded (librf keeps one descriptor per region).  A subOS cannot
 * forge one: inode numbers of live memfds are unique.
 */
#define _GNU_SOURCE
#include "rfd/rfd.h"
#include "rfd/libos.h"
#include "rfd/log.h"
#include "rfd/subos.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The address of a writable shared mapping of inode `ino` in `pid`, 0 if
 * there is none. */
static uint64_t find_writable_mapping(pid_t pid, ino_t ino)
{
	char path[64], line[512], perms[8];
	unsigned long lo, hi, inode;
	uint64_t at = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && !at && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms, &inode) == 4 &&
		    inode == (unsigned long)ino && strcmp(perms, "rw-s") == 0 &&
		    hi - lo >= RF_DESC_SIZE)
			at = lo;
	if (f)
		fclose(f);
	return at;
}

int rfd_libos_adopt_desc(struct rfd_subos *s, int fd)
{
	struct stat st;
	char path[64];
	void *m = mmap(NULL, RF_DESC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	s->desc_fd = fd;
	if (m != MAP_FAILED) { /* made before pages were sealed */
		s->desc = m;
		return 0;
	}
	if (fstat(fd, &st) < 0 || s->shim_pid <= 0)
		return -1;
	uint64_t at = find_writable_mapping(s->shim_pid, st.st_ino);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)s->shim_pid);
	int mem = at ? open(path, O_RDWR | O_CLOEXEC) : -1;
	void *copy = aligned_alloc(4096, RF_DESC_SIZE);
	if (mem < 0 || !copy || pread(fd, copy, RF_DESC_SIZE, 0) != RF_DESC_SIZE)
		goto fail;
	s->desc = copy;
	s->desc_mem_fd = mem;
	s->desc_remote = at;
	return 0;
fail:
	free(copy);
	if (mem >= 0)
		close(mem);
	return -1;
}

/* Bytes [off, off + len) of the private copy out to the shim's mapping.
 * A failure means the shim is gone, and with it the subOS: nothing to do. */
static void push(struct rfd_subos *s, size_t off, size_t len)
{
	ssize_t n = pwrite(s->desc_mem_fd, (char *)s->desc + off, len,
			   (off_t)(s->desc_remote + off));
	(void)n;
}

void rfd_libos_desc_push(struct rfd_subos *s, bool body)
{
	if (!s->desc_remote)
		return;
	if (body)
		push(s, offsetof(struct rf_desc, name),
		     sizeof(struct rf_desc) - offsetof(struct rf_desc, name));
	push(s, offsetof(struct rf_desc, seq), sizeof(s->desc->seq));
	if (body)
		push(s, offsetof(struct rf_desc, gen), sizeof(s->desc->gen));
}

void rfd_libos_desc_drop(struct rfd_subos *s)
{
	if (s->desc_remote) {
		free(s->desc);
		close(s->desc_mem_fd);
	} else if (s->desc) {
		munmap(s->desc, RF_DESC_SIZE);
	}
	s->desc = NULL;
	s->desc_remote = 0;
}

/* The descriptor in process pid (pidfd) of a memfd with inode `ino`, taken
 * into rfd; -1 if it holds none. */
static int take_by_inode(pid_t pid, int pidfd, uint64_t ino)
{
	char path[64];
	struct stat st;
	struct dirent *e;
	int got = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	while (dir && got < 0 && (e = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0 || (uint64_t)st.st_ino != ino ||
		    !S_ISREG(st.st_mode))
			continue;
		got = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		/* the number may have been reused since the stat */
		if (got >= 0 && (fstat(got, &st) < 0 || (uint64_t)st.st_ino != ino)) {
			close(got);
			got = -1;
		}
	}
	if (dir)
		closedir(dir);
	return got;
}

void rfd_libos_adopt_regions(struct rfd *d, struct rfd_subos *s, struct json_object *rec)
{
	struct json_object *inodes;
	if (s->kind != RF_KIND_LIBOS || s->pidfd < 0 ||
	    !json_object_object_get_ex(rec, "chunk_inodes", &inodes) ||
	    !json_object_is_type(inodes, json_type_array))
		return;
	int n = (int)json_object_array_length(inodes), held = 0;
	for (int i = 0; i < n && i < RF_MAX_REGIONS; i++) {
		uint64_t ino = (uint64_t)json_object_get_int64(json_object_array_get_idx(inodes, i));
		int fd = s->region_chunk[i] >= 0 && ino ? take_by_inode(s->pid, s->pidfd, ino) : -1;
		if (fd < 0)
			continue;
		rfd_pool_hold(&d->pool, s->region_chunk[i], fd);
		held++;
	}
	if (held < s->nregions)
		rfd_log("subOS %s: %d of its %d regions found again; the others come back on "
			"librf's word", s->name, held, s->nregions);
}
