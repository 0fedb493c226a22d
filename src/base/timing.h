/*
 * timing.h - the "timing_us" object of rfd's answers.
 *
 * create, destroy and resize answer with how long each of their steps took
 * ({"setup":N,"spawn":N,...} in microseconds) so that rfm and rfbench can
 * show where the time went; one builder keeps the shape the same for all.
 */
#ifndef RF_BASE_TIMING_H
#define RF_BASE_TIMING_H

#include <stdint.h>
#include <json-c/json.h>

/* Add "timing_us": {names[i]: us[i] for i < n} to o. */
void base_timing_us_add(struct json_object *o, const char *const *names, const uint64_t *us,
			int n);

#endif
