/*
 * out_host.c - rfm's human output for the verbs about rfd and the machine:
 * info (key: value lines), log (a table of journal records) and version.
 */
#include "rfm/rfm.h"

#include <string.h>

#include "base/client.h"
#include "rfm/args.h"
#include "rfm/table.h"

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

static void info_machine(struct json_object *m)
{
	char mem[32];
	int64_t cpus = 0, cores = 0, pk = 0, numa = 0;
	rfm_int(m, "cpus", &cpus);
	rfm_int(m, "cores", &cores);
	rfm_int(m, "packages", &pk);
	rfm_int(m, "numa_nodes", &numa);
	rfm_fmt_size(m, "mem", mem, sizeof(mem));
	rfm_kv("Machine", "%lld cpu%s, %lld core%s, %lld package%s, %lld NUMA node%s, %s memory",
	       (long long)cpus, plural(cpus), (long long)cores, plural(cores), (long long)pk,
	       plural(pk), (long long)numa, plural(numa), mem);

	struct json_object *caches = rfm_field(m, "caches", json_type_array);
	for (size_t i = 0; caches && i < json_object_array_length(caches); i++) {
		struct json_object *c = json_object_array_get_idx(caches, i);
		int64_t level = 0;
		rfm_int(c, "level", &level);
		rfm_fmt_size(c, "size", mem, sizeof(mem));
		rfm_kv(i ? "" : "Caches", "L%lld %s, cpus %s", (long long)level, mem,
		       rfm_str(c, "cpus", "-"));
	}
}

static void info_memory(struct json_object *res)
{
	char managed[32], free_[32], chunk[32];
	int64_t chunks = 0, ready = 0, refilling = 0, rate = 0;
	rfm_fmt_size(res, "mem_managed", managed, sizeof(managed));
	rfm_fmt_size(res, "mem_free", free_, sizeof(free_));
	rfm_fmt_size(res, "chunk_size", chunk, sizeof(chunk));
	rfm_kv("Memory", "%s managed, %s free, in chunks of %s%s", managed, free_, chunk,
	       rfm_bool(res, "hugepages") ? " (hugepages)" : "");
	struct json_object *pool = rfm_field(res, "pool", json_type_object);
	if (!pool)
		return;
	rfm_int(pool, "chunks", &chunks);
	rfm_int(pool, "ready", &ready);
	rfm_int(pool, "refilling", &refilling);
	rfm_int(pool, "refill_mib_s", &rate);
	rfm_kv("Pool", "%lld chunk%s, %lld ready, %lld refilling, refilled at %lld MiB/s",
	       (long long)chunks, plural(chunks), (long long)ready, (long long)refilling,
	       (long long)rate);
	const char *spare = rfm_str(res, "spare", NULL);
	if (spare)
		rfm_kv("Spare", "%s (a program process made ahead of the next create)", spare);
}

/* Which performance counters rfd counts per subOS, and why not the rest. */
static void info_counters(struct json_object *c)
{
	struct json_object *counted = rfm_field(c, "counted", json_type_array);
	struct json_object *no = rfm_field(c, "unavailable", json_type_object);
	char list[512] = "";
	size_t off = 0;
	if (!c)
		return;
	for (size_t i = 0; counted && i < json_object_array_length(counted); i++)
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", i ? ", " : "",
					json_object_get_string(json_object_array_get_idx(counted, i)));
	rfm_kv("Counters", "%s", list[0] ? list : "none");
	if (no) {
		json_object_object_foreach(no, ev, why)
			rfm_kv("", "%s unavailable: %s", ev, json_object_get_string(why));
	}
}

int rfm_print_info(struct json_object *res)
{
	int64_t proto = 0, pid = 0;
	if (!res || !json_object_is_type(res, json_type_object)) {
		fprintf(stderr, "rfm: rfd's answer to info has no result object\n");
		return 1;
	}
	rfm_int(res, "protocol", &proto);
	rfm_int(res, "pid", &pid);
	rfm_kv("rfd", "%s (protocol %lld), pid %lld", rfm_str(res, "rfd_version", "-"),
	       (long long)proto, (long long)pid);
	rfm_kv("State dir", "%s", rfm_str(res, "state_dir", "-"));
	rfm_kv("Socket", "%s", rfm_str(res, "socket", "-"));
	rfm_kv("Enforcement", "%s", rfm_str(res, "enforcement", "-"));
	if (rfm_field(res, "enforcement_detail", json_type_string))
		rfm_kv("", "%s", rfm_str(res, "enforcement_detail", ""));
	info_machine(rfm_field(res, "machine", json_type_object));
	rfm_kv("Host cpus", "%s", rfm_str(res, "host_cpus", "-"));
	rfm_kv("Managed cpus", "%s", rfm_str(res, "managed_cpus", "-"));
	rfm_kv("Free cpus", "%s", rfm_str(res, "free_cpus", "-"));
	info_memory(res);
	info_counters(rfm_field(res, "counters", json_type_object));
	return 0;
}

/* Everything in a journal record but seq, time, op and name (or chan), as
 * k=v; also not what only a restarted rfd needs to find its subOSes again
 * (chunk_inodes, shim_pid: in --json). */
static void log_details(struct json_object *e, char *buf, size_t len)
{
	char val[512];
	size_t off = 0;
	buf[0] = '\0';
	if (!json_object_is_type(e, json_type_object))
		return;
	json_object_object_foreach(e, key, v) {
		if (!strcmp(key, "seq") || !strcmp(key, "time") || !strcmp(key, "op") ||
		    !strcmp(key, "name") || !strcmp(key, "chan") || !strcmp(key, "chunk_inodes") ||
		    !strcmp(key, "shim_pid"))
			continue;
		if (!strcmp(key, "mem") || !strcmp(key, "mem_managed"))
			rfm_fmt_size(e, key, val, sizeof(val));
		else
			rfm_fmt_value(v, val, sizeof(val));
		bool quote = json_object_is_type(v, json_type_array) || strchr(val, ' ');
		int n = snprintf(buf + off, len - off, "%s%s=%s%s%s", off ? " " : "", key,
				 quote ? "[" : "", val, quote ? "]" : "");
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
}

static const char *const log_headers[] = { "SEQ", "TIME", "OP", "NAME", "DETAILS" };

int rfm_print_log(struct json_object *res)
{
	char seq[32], when[64], details[2048];
	struct json_object *arr = rfm_field(res, "entries", json_type_array);
	if (!arr) {
		fprintf(stderr, "rfm: rfd's answer to log has no entries\n");
		return 1;
	}
	struct rfm_table *t = rfm_table_new(5, log_headers);
	if (!t)
		return 1;
	rfm_table_right(t, 0);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		rfm_fmt_int(e, "seq", seq, sizeof(seq));
		rfm_fmt_time(rfm_str(e, "time", NULL), when, sizeof(when));
		if (strcmp(rfm_str(e, "op", ""), "policy") == 0)
			rfm_policy_sentence(e, details, sizeof(details));
		else
			log_details(e, details, sizeof(details));
		rfm_table_cell(t, "%s", seq);
		rfm_table_cell(t, "%s", when);
		rfm_table_cell(t, "%s", rfm_str(e, "op", "-"));
		rfm_table_cell(t, "%s", rfm_str(e, "name", rfm_str(e, "chan", "-")));
		rfm_table_cell(t, "%s", details);
	}
	rfm_table_print(t, stdout);
	rfm_table_free(t);
	return 0;
}

/* res: rfd's `info` result, or NULL for `version --client`. */
int rfm_print_version(struct json_object *res)
{
	int64_t proto = 0;
	printf("rfm %s (protocol %d)\n", RFM_VERSION, RF_PROTO_VERSION);
	if (!res)
		return 0;
	rfm_int(res, "protocol", &proto);
	printf("rfd %s (protocol %lld)\n", rfm_str(res, "rfd_version", "-"), (long long)proto);
	return 0;
}
