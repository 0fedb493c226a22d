/*
 * metrics.h - rfd's Prometheus endpoint (`rfd --metrics ADDR:PORT`):
 * metrics.c writes the exposition text from rfd's state; metrics_http.c
 * serves GET /metrics on a non-blocking listener in rfd's event loop.
 */
#ifndef RF_RFD_METRICS_H
#define RF_RFD_METRICS_H

#include <stdint.h>

struct rfd;
struct base_prom;

/* The whole exposition (docs/rfm.md, "Metrics") into p. */
void rfd_metrics_write(struct rfd *d, struct base_prom *p);

/* Listen on spec ("PORT" = 127.0.0.1:PORT, "ADDR:PORT", "[V6]:PORT").
 * 0, or -1 with a message on stderr. */
int rfd_metrics_listen(struct rfd *d, const char *spec);
/* An event on the listener (val 0) or a connection (val slot + 1). */
void rfd_metrics_event(struct rfd *d, uint32_t val, uint32_t events);
void rfd_metrics_close(struct rfd *d);

#endif
