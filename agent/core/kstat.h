/* SPDX-License-Identifier: MIT */
/* kstat.h: kernel TCP counters and tuning sysctls, decoded from /proc text (no syscalls). */
#ifndef AG_KSTAT_H
#define AG_KSTAT_H

#include <stddef.h>

#include "report.h"

/*
 * Appends to r->counters the counters of /proc/net/netstat or /proc/net/snmp
 * text (pairs of "Prefix: names" / "Prefix: values" lines) that fleetstat
 * keeps, named "Prefix.Name" (TcpExt.ListenOverflows, Tcp.PassiveOpens).
 * Returns how many were added, or -EPROTO for a header/value mismatch,
 * -ENOMEM.  buf is borrowed and need not be NUL-terminated.
 */
int ag_kstat_parse_snmp(const char *buf, size_t len, wire_report_t *r);

/* Same for /proc/net/sockstat: "Sockstat.inuse", "Sockstat.tw", ... of the TCP line. */
int ag_kstat_parse_sockstat(const char *buf, size_t len, wire_report_t *r);

/* Appends one counter (the name is copied).  0 or -ENOMEM. */
int ag_kstat_add_counter(wire_report_t *r, const char *name, unsigned long long v);

/*
 * The tuning sysctls the agent reads, by dotted name ("net.core.somaxconn"),
 * NULL-terminated.  The file is /proc/sys/ with dots turned into slashes.
 */
extern const char *const ag_sysctl_names[];

/*
 * Appends one sysctl with its value text normalised (surrounding blanks
 * dropped, inner runs of blanks turned into one space, as in
 * "32768 60999").  Both strings are copied.  0, -EINVAL for a value that is
 * empty or not printable, or -ENOMEM.
 */
int ag_kstat_add_sysctl(wire_report_t *r, const char *name, const char *val,
                        size_t len);

#endif
