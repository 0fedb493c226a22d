/*
 * settings.c - rfkv's settings with memcached 1.6's defaults, apart from
 * main.c so that the unit tests link the store and protocol without the
 * program's main.  main.c overwrites them from the command line before
 * serving; they are read-only afterwards (verbosity excepted).
 */
#include "kv.h"

struct kv_settings kv_settings = {
	.maxbytes = 64ull << 20, .maxconns = 1024, .item_size_max = 1u << 20, .port = 11211,
	.threads = 0, .inter = "NULL", .use_cas = true, .evict = true, .factor = 1.25f,
	.chunk_size = 48,
};
volatile uint32_t kv_verbose;
