/*
 * merge.h - the median of several runs of one benchmark (bench/merge.c).
 *
 * Kept apart from the rest of rfbench (it needs only json-c) so that a unit
 * test can check it without starting anything.
 */
#ifndef RF_BENCH_MERGE_H
#define RF_BENCH_MERGE_H

#include <json-c/json.h>

/* Merge n run objects into one: every number becomes the median of that
 * number across the runs that have it (an integer while all runs gave
 * integers and the median is whole), objects are merged key by key, and
 * anything else (strings, booleans, arrays) is the first run's.  Keys are
 * those of every run, in the order first seen (the first run's first); a
 * key's kind is that of the first run that has it.  For each number, spread gets
 * "path": [min, max] across the runs (a nested key's path joins the keys
 * with dots).  Returns a new object (caller puts). */
struct json_object *bench_merge(struct json_object *const *runs, int n,
				struct json_object *spread);

#endif
