/*
 * deploy_resolve.c - a parsed deployment made concrete for rfd, the only
 * step that looks at the filesystem: a relative program or root is taken
 * relative to the file's own directory (not the working directory, so
 * that applying the file from anywhere means the same and compares equal
 * to what an earlier apply created), then made absolute the way `rfm
 * create` makes it; `rfloop: true` adds LD_PRELOAD of librfloop.so (next
 * to rfm's binary, or the file's `rfloop_lib`).  rfd puts RF_SOCKET, the
 * other thing RFloop needs, in every subOS's environment itself.
 */
#define _GNU_SOURCE
#include "rfm/deploy.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfm/args.h"

/* path relative to dir (a copy), or path itself if absolute or bare. */
static char *under_dir(const char *dir, const char *path, bool bare_too)
{
	char *out;
	if (path[0] == '/' || (!bare_too && !strchr(path, '/')))
		return strdup(path);
	return asprintf(&out, "%s/%s", dir, path) < 0 ? NULL : out;
}

static int resolve_subos(struct deploy_subos *s, const char *dir, const char *file,
			 struct base_err *err)
{
	struct base_err why;
	char *p = under_dir(dir, s->argv.v[0], false), *r;
	if (!p)
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	r = rfm_resolve_program(p, &why);
	free(p);
	if (!r)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s:%d: subOS %s: %s", file, s->line,
				 s->name, why.msg);
	free(s->argv.v[0]);
	s->argv.v[0] = r;
	if (!s->root)
		return 0;
	if (!(p = under_dir(dir, s->root, true)))
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	r = rfm_resolve_dir("root", p, &why);
	free(p);
	if (!r)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s:%d: subOS %s: %s", file, s->line,
				 s->name, why.msg);
	free(s->root);
	s->root = r;
	return 0;
}

static int add_preload(struct deploy_subos *s, const char *lib, const char *file,
		       struct base_err *err)
{
	char *kv;
	for (int i = 0; i < s->env.n; i++)
		if (strncmp(s->env.v[i], "LD_PRELOAD=", 11) == 0)
			return base_errf(err, BASE_E_BAD_REQUEST, "%s:%d: subOS %s: rfloop: true "
					 "sets LD_PRELOAD, which env sets too", file, s->line,
					 s->name);
	if (asprintf(&kv, "LD_PRELOAD=%s", lib) < 0)
		return base_errf(err, BASE_E_INTERNAL, "out of memory");
	int rc = deploy_strv_add(&s->env, kv);
	free(kv);
	return rc < 0 ? base_errf(err, BASE_E_INTERNAL, "out of memory") : 0;
}

static int rfloop_lib(const struct deploy *d, const char *rfm_dir, char *lib, size_t len,
		      struct base_err *err)
{
	if (d->rfloop_lib)
		snprintf(lib, len, "%s", d->rfloop_lib);
	else
		snprintf(lib, len, "%s/librfloop.so", rfm_dir);
	if (access(lib, R_OK) < 0)
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: rfloop: %s: %s%s", d->file, lib,
				 strerror(errno), d->rfloop_lib ? "" : " (make builds it)");
	return 0;
}

int deploy_resolve(struct deploy *d, const char *rfm_dir, struct base_err *err)
{
	char copy[PATH_MAX], dir[PATH_MAX], lib[PATH_MAX] = "";
	snprintf(copy, sizeof(copy), "%s", d->file);
	if (!realpath(dirname(copy), dir))
		return base_errf(err, BASE_E_BAD_REQUEST, "%s: %s", d->file, strerror(errno));
	for (int i = 0; i < d->nsubos; i++) {
		struct deploy_subos *s = &d->subos[i];
		if (resolve_subos(s, dir, d->file, err) < 0)
			return -1;
		if (!s->rfloop)
			continue;
		if (!lib[0] && rfloop_lib(d, rfm_dir, lib, sizeof(lib), err) < 0)
			return -1;
		if (add_preload(s, lib, d->file, err) < 0)
			return -1;
	}
	return 0;
}
