/*
 * confine_spec.c - capability names and bind specs (confine_spec.h).
 *
 * The capability table is ours rather than libcap's: the base layer has
 * no library dependency beyond libc and json-c, and rfd needs only the
 * names and numbers of <linux/capability.h>, which the compiler checks
 * against that header below.
 */
#include "base/confine_spec.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <linux/capability.h>

#define CAP(n) [CAP_##n] = #n
static const char *const cap_names[BASE_CAP_LAST + 1] = {
	CAP(CHOWN), CAP(DAC_OVERRIDE), CAP(DAC_READ_SEARCH), CAP(FOWNER), CAP(FSETID),
	CAP(KILL), CAP(SETGID), CAP(SETUID), CAP(SETPCAP), CAP(LINUX_IMMUTABLE),
	CAP(NET_BIND_SERVICE), CAP(NET_BROADCAST), CAP(NET_ADMIN), CAP(NET_RAW),
	CAP(IPC_LOCK), CAP(IPC_OWNER), CAP(SYS_MODULE), CAP(SYS_RAWIO), CAP(SYS_CHROOT),
	CAP(SYS_PTRACE), CAP(SYS_PACCT), CAP(SYS_ADMIN), CAP(SYS_BOOT), CAP(SYS_NICE),
	CAP(SYS_RESOURCE), CAP(SYS_TIME), CAP(SYS_TTY_CONFIG), CAP(MKNOD), CAP(LEASE),
	CAP(AUDIT_WRITE), CAP(AUDIT_CONTROL), CAP(SETFCAP), CAP(MAC_OVERRIDE),
	CAP(MAC_ADMIN), CAP(SYSLOG), CAP(WAKE_ALARM), CAP(BLOCK_SUSPEND), CAP(AUDIT_READ),
	CAP(PERFMON), CAP(BPF), CAP(CHECKPOINT_RESTORE),
};
#undef CAP
_Static_assert(CAP_LAST_CAP == BASE_CAP_LAST, "a capability newer than the table");

const char *base_cap_name(int cap)
{
	return cap >= 0 && cap <= BASE_CAP_LAST ? cap_names[cap] : NULL;
}

int base_cap_parse(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int c = 0; c <= BASE_CAP_LAST; c++)
		if (strcasecmp(name, cap_names[c]) == 0)
			return c;
	return -1;
}

bool base_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int copy_path(const char *p, size_t n, char *out, size_t len, const char **why)
{
	if (n == 0 || p[0] != '/') {
		*why = "paths must be absolute";
		return -1;
	}
	if (n >= len) {
		*why = "path too long";
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int base_bind_parse(const char *spec, char *src, size_t srclen, char *dst, size_t dstlen,
		    const char **why)
{
	const char *colon = strchr(spec, ':');
	size_t ns = colon ? (size_t)(colon - spec) : strlen(spec);
	if (colon && strchr(colon + 1, ':')) {
		*why = "more than one ':' (paths with ':' are not supported)";
		return -1;
	}
	if (copy_path(spec, ns, src, srclen, why))
		return -1;
	if (!colon)
		return copy_path(spec, ns, dst, dstlen, why);
	return copy_path(colon + 1, strlen(colon + 1), dst, dstlen, why);
}
