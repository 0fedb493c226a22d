/*
 * usage.c - the --help texts of rfm and of each verb.
 *
 * Kept in one place so they stay consistent with each other and with
 * docs/rfm.1 and docs/rfm.md, which say the same at more length.
 */
#include "rfm/rfm.h"

#include <string.h>

static const char global_usage[] =
	"Usage: rfm [--socket PATH] [--json] VERB [ARGS...]\n"
	"\n"
	"Manage the subOSes of a RainForest supervisor (rfd).\n"
	"\n"
	"Verbs:\n"
	"  create NAME ...     start a subOS on its own cores and memory\n"
	"  destroy NAME        stop a subOS and free its cores and memory\n"
	"  resize NAME ...     change a subOS's cores or memory while it runs\n"
	"  list                list the subOSes\n"
	"  show NAME           describe one subOS and its cores\n"
	"  info                describe rfd, the machine and what is free\n"
	"  log [NAME]          show the journal of adjustments\n"
	"  top                 watch every subOS's load and latency, live\n"
	"  policy NAME ...     set, show or turn off a subOS's elastic core policy\n"
	"  version             show the versions of rfm and rfd\n"
	"  chan list|create|close\n"
	"                      show and manage the channels between subOSes\n"
	"  apply FILE          start or update the deployment a YAML file declares\n"
	"  diff FILE           say what apply would do, doing nothing\n"
	"  delete FILE         stop what the file declares\n"
	"  help [VERB]         show this help, or a verb's\n"
	"\n"
	"Options (before or after the verb):\n"
	"  --socket PATH       rfd's control socket (default: $RF_SOCKET, else /run/rfd.sock)\n"
	"  --json              print rfd's result as JSON instead of text\n"
	"  -h, --help          show help and exit\n"
	"  --version           show rfm's version and exit\n"
	"\n"
	"Exit status: 0 on success, 1 if rfd refused or could not be reached,\n"
	"2 on a usage error.  Run 'rfm VERB --help' for a verb's arguments.\n";

static const char cores_forms[] =
	"Core forms:\n"
	"  N                   a count (rfd picks N free cores): --cores 2\n"
	"  LIST                a CPU list with '-' or ',': --cores 1-3,5\n"
	"  cpu:LIST            a CPU list, also of one CPU: --cores cpu:1\n"
	"  --cpus LIST         the same as --cores cpu:LIST: --cpus 1\n"
	"A plain number is always a count; write one CPU as cpu:1 or --cpus 1.\n";

static const char create_usage[] =
	"Usage: rfm create NAME --kind libos|linux --cores CORES --mem SIZE\n"
	"                  [--env KEY=VALUE]... [--cap NAME]... [--root DIR]\n"
	"                  [--bind SRC[:DST]]... [--ro-bind SRC[:DST]]...\n"
	"                  [--restart POLICY [--max-restarts N]] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Start PROGRAM in a new subOS called NAME, on cores and memory of its own.\n"
	"Options end at PROGRAM: everything after it is the program's.\n"
	"\n"
	"  --kind libos        PROGRAM is linked with librf, which runs the subOS\n"
	"  --kind linux        PROGRAM is any binary, confined to the partition\n"
	"  --cores CORES       a count or a CPU list (see below); 0, a linux subOS\n"
	"                      with no core of its own, on the cores the host shares\n"
	"  --cpus LIST         a CPU list\n"
	"  --mem SIZE          memory: bytes, or with K, M, G, T (powers of 1024,\n"
	"                      optional B or iB): 64M, 1G, 512MiB\n"
	"  --env KEY=VALUE     add to the program's environment (repeatable)\n"
	"  --cap NAME          keep capability NAME (NET_RAW or CAP_NET_RAW) beyond\n"
	"                      the default set (repeatable; docs/rfm.md, Confinement)\n"
	"  --root DIR          run PROGRAM with DIR as its / (pivot_root); PROGRAM and\n"
	"                      what it needs must be inside, or bound in\n"
	"  --bind SRC[:DST]    bind the host's SRC at DST, writable (repeatable)\n"
	"  --ro-bind SRC[:DST] the same, read-only (repeatable)\n"
	"  --restart POLICY    when PROGRAM ends by itself: no (default), on-failure\n"
	"                      (non-zero status or a signal) or always; it starts again\n"
	"                      on the same cores and memory after 100 ms, doubling up\n"
	"                      to 10 s while it keeps failing within 10 s of starting\n"
	"  --max-restarts N    give up after N restarts (default: no limit)\n"
	"\n"
	"NAME: 1-47 of A-Z a-z 0-9 _ . -, not starting with . or -.\n"
	"A PROGRAM with a '/' in it is made absolute (rfd runs elsewhere);\n"
	"a bare name is looked up in rfd's $PATH.\n"
	"\n";

static const char destroy_usage[] =
	"Usage: rfm destroy NAME [--json]\n"
	"\n"
	"Stop the program of subOS NAME (a libos subOS is asked to exit first,\n"
	"then killed) and give its cores and memory back.\n";

static const char resize_usage[] =
	"Usage: rfm resize NAME [--cores CORES | --cpus LIST] [--mem SIZE] [--json]\n"
	"\n"
	"Change the cores or memory of a running subOS (at least one of them).\n"
	"\n"
	"  --cores N           the new number of cores\n"
	"  --cores +N, -N      N cores more, N cores fewer\n"
	"  --cores LIST        exactly these CPUs (1-3,5 or cpu:1)\n"
	"  --cpus LIST         exactly these CPUs\n"
	"  --mem SIZE          the new memory size (64M, 1G, ...)\n"
	"\n";

static const char list_usage[] =
	"Usage: rfm list [--json]\n"
	"\n"
	"List the subOSes: name, kind, state, cores, memory, pid, age, command.\n";

static const char show_usage[] =
	"Usage: rfm show NAME [--json]\n"
	"\n"
	"Describe subOS NAME, then each of its cores (loops, events, busy and\n"
	"idle time).\n";

static const char info_usage[] =
	"Usage: rfm info [--json]\n"
	"\n"
	"Describe rfd (version, state directory, enforcement), the machine, the\n"
	"CPUs it manages and those free, its memory and its pool of chunks.\n";

static const char log_usage[] =
	"Usage: rfm log [NAME] [--json]\n"
	"\n"
	"Show the journal of adjustments, oldest first: of every subOS, or of NAME.\n";

static const char version_usage[] =
	"Usage: rfm version [--client] [--json]\n"
	"\n"
	"Show the versions of rfm and of the rfd it talks to.\n"
	"  --client            rfm's version only, without asking rfd\n";

static const char top_usage[] =
	"Usage: rfm top [--interval SECS] [--once] [--json]\n"
	"\n"
	"Every subOS with its kind, cores, memory and, over the last interval,\n"
	"requests/s, the p50 and p99 of request time and the p99 of queueing delay\n"
	"(libos subOSes: what the service recorded with rf_latency_record and what\n"
	"librf measured), core busy %, policy state and its last journal records.\n"
	"Refreshes in place; q (or ^C) quits.\n"
	"  --interval SECS     seconds between refreshes (default 1; 0.05 to 3600)\n"
	"  --once              one view over one interval, then exit (for scripts)\n"
	"  --json              the same as --once, as JSON\n";

static const char policy_usage[] =
	"Usage: rfm policy NAME --priority latency [--lt MS] [--ut MS] [--window MS]\n"
	"                  [--signal latency|queue] [--min-cores N] [--max-cores N]\n"
	"       rfm policy NAME --priority batch [--min-cores N] [--max-cores N]\n"
	"       rfm policy NAME --off\n"
	"       rfm policy NAME --probe memcached://ADDR:PORT|http://ADDR:PORT/PATH|off\n"
	"       rfm policy NAME\n"
	"\n"
	"rfd's elastic policy moves one core at a time between subOSes.  Every\n"
	"window it reads each latency subOS's p99: above ut it takes a core (a free\n"
	"one, else from a batch subOS, which may go to zero cores: paused, frozen,\n"
	"not killed); below lt for 3 windows in a row it gives one back.  After a\n"
	"move the next window is not acted on.  Every move is journalled with why\n"
	"(rfm log).  Without options: show the policy and the controller's state.\n"
	"  --priority P        latency (takes cores) or batch (gives them)\n"
	"  --lt MS, --ut MS    thresholds on the window's p99, in milliseconds\n"
	"                      (lt < ut; default ut 1, lt ut/2)\n"
	"  --window MS         the window, 5 to 600000 ms (default 100)\n"
	"  --signal S          latency: the requests' (rf_latency_record, default);\n"
	"                      queue: librf's queueing delay (also used in a window\n"
	"                      without requests)\n"
	"  --min-cores N       never fewer (default: latency 1, batch 0)\n"
	"  --max-cores N       never more (default: no limit)\n"
	"  --off               no policy: its cores stay as they are\n"
	"  --probe URL         a linux subOS's latency signal: rfd sends its service a\n"
	"                      memcached version or an HTTP GET every 5 ms (numeric\n"
	"                      address; a failure counts as 1 s); off removes it\n";

static const char chan_usage[] =
	"Usage: rfm chan list [--json]\n"
	"       rfm chan create NAME --between A,B [--kind msg|map] [--slots N] [--size SIZE]\n"
	"       rfm chan close NAME\n"
	"\n"
	"Channels are the only memory two subOSes share.  rfd makes a channel's\n"
	"memory and gives it only to programs running in subOS A or B, which open\n"
	"it by name with RFcom (rf/rfcom.h: rf_open, rf_map).  Run\n"
	"'rfm chan SUBCOMMAND --help' for one subcommand.\n";

static const char chan_list_usage[] =
	"Usage: rfm chan list [--json]\n"
	"\n"
	"List the channels: name, kind, the two subOSes, slots (msg) or size\n"
	"(map), and which of the two subOSes opened it.\n";

static const char chan_create_usage[] =
	"Usage: rfm chan create NAME --between A,B [--kind msg|map] [--slots N] [--size SIZE]\n"
	"\n"
	"Create channel NAME between the running subOSes A and B.\n"
	"\n"
	"  --between A,B       the two subOSes granted the channel (A != B)\n"
	"  --kind msg          a message channel, two rings of 64-byte slots (default)\n"
	"  --kind map          a shared memory region\n"
	"  --slots N           msg: slots per direction, a power of two (default 256)\n"
	"  --size SIZE         map: the region's size (64K, 1M, ...; rounded up to pages)\n"
	"\n"
	"NAME: 1-47 of A-Z a-z 0-9 _ . -, not starting with . or -.\n";

static const char chan_close_usage[] =
	"Usage: rfm chan close NAME [--json]\n"
	"\n"
	"Close channel NAME: both directions are marked closed (the programs using\n"
	"it read what was sent, then get EPIPE) and rfd forgets it.  Destroying\n"
	"one of its subOSes closes a channel too.\n";

static const char apply_usage[] =
	"Usage: rfm apply FILE [--recreate]\n"
	"       rfm diff FILE [--recreate]\n"
	"\n"
	"Make what runs match the deployment FILE declares (YAML: subOSes,\n"
	"channels, start order; docs/rfm.md, Deployments).  A subOS of the file\n"
	"that does not run is created, in start order (after:, waiting for its\n"
	"ready: port); a change of cores or memory is a resize (the program keeps\n"
	"running); channels are created and closed to match.  Applying the same\n"
	"file twice does nothing and says \"unchanged\".  A change rfd cannot make\n"
	"live (kind, program, env, caps, root, binds, restart, a channel's shape)\n"
	"is refused and nothing is applied, unless --recreate is given: then that\n"
	"subOS or channel is destroyed and made anew.  A failure part-way undoes\n"
	"what this apply did.  SubOSes not named in FILE are left alone.\n"
	"\n"
	"diff prints what apply would do, one line per action, and changes nothing.\n"
	"\n"
	"  --recreate          re-create what cannot change live\n"
	"  --socket PATH       rfd's control socket\n";

static const char delete_usage[] =
	"Usage: rfm delete FILE\n"
	"\n"
	"Stop the deployment FILE declares: close the channels between its\n"
	"subOSes, then destroy its subOSes in reverse start order.  Those that do\n"
	"not exist are skipped.\n"
	"\n"
	"  --socket PATH       rfd's control socket\n";

static const char common_usage[] =
	"Every verb also takes --socket PATH, --json and -h/--help.\n";

void rfm_usage(const char *verb, FILE *f)
{
	static const struct {
		const char *verb, *text;
		bool cores;
	} texts[] = {
		{ "create", create_usage, true }, { "destroy", destroy_usage, false },
		{ "resize", resize_usage, true }, { "list", list_usage, false },
		{ "show", show_usage, false },   { "info", info_usage, false },
		{ "log", log_usage, false },     { "version", version_usage, false },
		{ "top", top_usage, false },     { "policy", policy_usage, false },
		{ "chan", chan_usage, false },   { "chan list", chan_list_usage, false },
		{ "chan create", chan_create_usage, false },
		{ "chan close", chan_close_usage, false },
		{ "apply", apply_usage, false }, { "diff", apply_usage, false },
		{ "delete", delete_usage, false },
	};
	for (size_t i = 0; verb && i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(texts[i].verb, verb) != 0)
			continue;
		fputs(texts[i].text, f);
		if (texts[i].cores)
			fputs(cores_forms, f);
		if (texts[i].text != apply_usage && texts[i].text != delete_usage) {
			fputc('\n', f);
			fputs(common_usage, f);
		}
		return;
	}
	fputs(global_usage, f);
}
