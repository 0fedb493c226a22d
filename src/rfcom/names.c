/*
 * names.c - the RainForest paper's names for the RFcom calls (rf_open,
 * rf_close, rf_read, rf_write, rf_map, rf_unmap), exported by librfcom.so
 * and librf.a alike.  Each is the rfcom_* call of the same name; librf's
 * calls on host descriptors are rf_pread, rf_pwrite and rf_closefd.
 */
#include "rfcom/rfcom_internal.h"  /* rf/rfcom.h declares the short names */

int rf_open(const char *name, int flags)
{
	return rfcom_open(name, flags);
}

int rf_close(int h)
{
	return rfcom_close(h);
}

ssize_t rf_read(int h, void *buf, size_t len)
{
	return rfcom_read(h, buf, len);
}

ssize_t rf_write(int h, const void *buf, size_t len)
{
	return rfcom_write(h, buf, len);
}

void *rf_map(const char *name, size_t *len)
{
	return rfcom_map(name, len);
}

int rf_unmap(void *addr)
{
	return rfcom_unmap(addr);
}
