#include "bench.h"
int bench_isolation(const struct bench_opts *o, struct json_object *out) { (void)o; (void)out; return -1; }
void isolation_targets(struct json_object *fig, struct json_object *t) {}
