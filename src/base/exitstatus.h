/*
 * exitstatus.h - how a program ended, as one int and as JSON fields.
 *
 * rfd keeps a subOS's end as one int (>= 0 exit code, -signal number, or
 * BASE_EXIT_UNKNOWN when nobody saw it end) and writes it into answers and
 * journal records as "exit_code": N or "signal": N ("exit_code": null when
 * unknown); rfd's recovery, rfm and rfbench read it back.  One encoder and
 * one decoder keep the writers and the readers agreeing on those fields.
 */
#ifndef RF_BASE_EXITSTATUS_H
#define RF_BASE_EXITSTATUS_H

#include <limits.h>
#include <json-c/json.h>

#define BASE_EXIT_UNKNOWN INT_MIN

/* A waitpid() status as that int. */
int base_exit_status_of_wait(int wstatus);

/* Add status to o: "exit_code": N, "signal": N, or "exit_code": null. */
void base_exit_status_to_json(struct json_object *o, int status);

/* The status o's fields describe, or BASE_EXIT_UNKNOWN if neither field
 * holds an integer. */
int base_exit_status_from_json(struct json_object *o);

#endif
