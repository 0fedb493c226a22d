/*
 * confine_spec.h - the written forms of a subOS's confinement options,
 * shared by rfm (to refuse a typo before sending) and rfd (which checks
 * again, since any client may send anything): capability names (--cap)
 * and bind specs (--bind/--ro-bind SRC[:DST]).
 *
 * Kept in the base layer, apart from rfd's confinement itself
 * (src/rfd/confine*.c), so both sides read the forms with the same code.
 */
#ifndef RF_BASE_CONFINE_SPEC_H
#define RF_BASE_CONFINE_SPEC_H

#include <stdbool.h>
#include <stddef.h>

/* The highest capability number this table knows (CAP_CHECKPOINT_RESTORE). */
#define BASE_CAP_LAST 40

/* The capability `name` ("NET_RAW", "net_raw" or "CAP_NET_RAW"): its
 * number, or -1 if it names none. */
int base_cap_parse(const char *name);
/* "NET_RAW" for CAP_NET_RAW; NULL if out of range. */
const char *base_cap_name(int cap);

/* "SRC[:DST]": both absolute, without ':' in them, DST defaulting to SRC.
 * Returns 0 with the paths copied out, or -1 with a reason in why
 * (a short phrase for a message). */
int base_bind_parse(const char *spec, char *src, size_t srclen, char *dst, size_t dstlen,
		    const char **why);

/* Is path dir itself or under it ("/proc" is under "/proc", "/procx" is
 * not)? */
bool base_path_under(const char *path, const char *dir);

#endif
