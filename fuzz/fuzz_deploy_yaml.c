/*
 * fuzz_deploy_yaml.c - libFuzzer target: arbitrary bytes as a deployment
 * file (`rfm apply FILE`) into deploy_parse (src/rfm/deploy_yaml.c and
 * deploy_subos.c, on libyaml), then the planner on what it accepted.
 *
 * The input is copied into a buffer of exactly its length (no NUL after
 * it), so a read past the end is caught by ASan.  Whatever the bytes, the
 * parser must keep its contract: refused, a message that names the file
 * and an empty model; accepted, a model apply can use (every subOS with a
 * program, every after: name earlier in the start order, every channel
 * between two of its subOSes).  Planned against an rfd that runs nothing,
 * it creates every subOS and channel; delete then has nothing to do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rfm/deploy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Index of the subOS called name in d's start order, or -1. */
static int position(const struct deploy *d, const char *name)
{
	const struct deploy_subos *s = deploy_find(d, name);
	return s ? (int)(s - d->subos) : -1;
}

static void check_model(const struct deploy *d)
{
	if (d->nsubos > DEPLOY_MAX_ITEMS || d->nchans > DEPLOY_MAX_ITEMS)
		abort();
	for (int i = 0; i < d->nsubos; i++) {
		const struct deploy_subos *s = &d->subos[i];
		if (s->argv.n < 1 || !s->argv.v[0][0] || s->mem == 0)
			abort();
		for (int j = 0; j < s->after.n; j++) {
			int k = position(d, s->after.v[j]);
			if (k < 0 || k >= i)
				abort();
		}
	}
	for (int i = 0; i < d->nchans; i++)
		if (position(d, d->chans[i].between[0]) < 0 ||
		    position(d, d->chans[i].between[1]) < 0)
			abort();
}

static void check_plans(const struct deploy *d)
{
	struct deploy_state st = { json_object_new_object(), json_object_new_array(), 1 << 21 };
	struct deploy_plan p;
	int creates = 0;
	if (deploy_plan_apply(d, &st, false, &p) == 0) {
		for (int i = 0; i < p.n; i++)
			creates += p.a[i].op == DEPLOY_CREATE || p.a[i].op == DEPLOY_CHAN_CREATE;
		if (p.refused || creates != d->nsubos + d->nchans)
			abort();
		deploy_plan_free(&p);
	}
	if (deploy_plan_delete(d, &st, &p) == 0) {
		if (p.n != 0)
			abort();
		deploy_plan_free(&p);
	}
	json_object_put(st.subos);
	json_object_put(st.chans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deploy d;
	struct base_err err = { 0 };
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	int rc = deploy_parse("f.yaml", text, size, &d, &err);
	if (rc == 0) {
		check_model(&d);
		check_plans(&d);
		deploy_free(&d);
	} else if (rc != -1 || strncmp(err.msg, "f.yaml", 6) != 0 || d.nsubos || d.subos) {
		abort();
	}
	free(text);
	return 0;
}
