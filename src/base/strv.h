/*
 * strv.h - NULL-terminated vectors of owned strings (strv.c): what rfd
 * keeps of a request's argv, env and confinement lists for the life of a
 * subOS, and how they travel in journal records.
 *
 * Every function accepts a NULL vector as an empty one.
 */
#ifndef RF_BASE_STRV_H
#define RF_BASE_STRV_H

#include <json-c/json.h>

/* A copy of the n strings of v: a new vector, or NULL if out of memory. */
char **base_strv_dup(const char *const *v, int n);
void base_strv_free(char **v);
int base_strv_len(char *const *v);
/* A new JSON array of the strings. */
struct json_object *base_strv_to_json(char *const *v);
/* The strings of a JSON array (non-strings skipped); an absent or
 * non-array value gives an empty vector; NULL if out of memory. */
char **base_strv_from_json(struct json_object *a);

#endif
