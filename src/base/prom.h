/*
 * prom.h - writing the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), into a
 * growing buffer: HELP and TYPE lines, samples with escaped label values,
 * histograms with cumulative buckets, +Inf, _sum and _count.  Knows
 * nothing of what is measured (rfd's metrics.c says that); kept apart so
 * the format can be unit-tested on its own.
 */
#ifndef RF_BASE_PROM_H
#define RF_BASE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct base_prom {
	char *buf;
	size_t len, cap;
	bool failed;  /* out of memory: the text is incomplete, do not serve it */
};

void base_prom_init(struct base_prom *p);
void base_prom_free(struct base_prom *p);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void base_prom_family(struct base_prom *p, const char *name, const char *type, const char *help);

/* One sample.  labels: names and values alternating, NULL-terminated
 * ({"subos", "kv", "kind", "libos", NULL}), or NULL for none. */
void base_prom_sample(struct base_prom *p, const char *name, const char *const *labels, double v);
/* The same with an integer value, written exactly. */
void base_prom_sample_u64(struct base_prom *p, const char *name, const char *const *labels,
			  uint64_t v);

/* A histogram's series: name_bucket{...,le="B"} for each bound le[i]
 * (ascending) with the cumulative count cum[i] (values <= le[i]), then
 * le="+Inf" with count, name_sum and name_count. */
void base_prom_histogram(struct base_prom *p, const char *name, const char *const *labels,
			 const double *le, const uint64_t *cum, int n, uint64_t count, double sum);

/* Escape a label value into out (\\, \" and \n), always NUL-terminated;
 * returns false if it did not fit. */
bool base_prom_escape(const char *in, char *out, size_t len);

#endif
