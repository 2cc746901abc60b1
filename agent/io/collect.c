/* SPDX-License-Identifier: MIT */
/* collect.c: choose the source, time the collection, fill a report. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* setns */
#endif
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kstat.h"
#include "log.h"
#include "text.h"

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int text_source(const char *path, ag_agg_t *agg, int quiet)
{
	unsigned long socks = 0, bad = 0, first_bad = 0;
	int fmt = AG_TEXT_UNKNOWN, err;

	ag_agg_reset(agg);
	err = ag_text_file(path, &fmt, agg, &socks, &bad, &first_bad);
	if (err == -EPROTO && fmt == AG_TEXT_UNKNOWN) {
		log_warnx("agent: %s: not netstat, ss or /proc/net/tcp output", path);
		return err;
	}
	if (err < 0) {
		errno = -err;
		log_warn("agent: %s", path);
		return err;
	}
	if (bad && !quiet)
		log_warnx("agent: %s: %lu malformed line%s skipped (first: line %lu)",
		          path, bad, bad == 1 ? "" : "s", first_bad);
	return 0;
}

/* /proc/net/tcp then /proc/net/tcp6 into one aggregation. */
static int proc_source(ag_agg_t *agg)
{
	unsigned long socks = 0, bad = 0, first_bad = 0;
	int err;

	ag_agg_reset(agg);
	for (int i = 0; i < 2; i++) {
		const char *path = i ? "/proc/net/tcp6" : "/proc/net/tcp";
		int fmt = AG_TEXT_PROC;

		err = ag_text_file(path, &fmt, agg, &socks, &bad, &first_bad);
		if (err == -ENOENT && i == 1)
			return 0; /* IPv6 disabled */
		if (err < 0) {
			errno = -err;
			log_warn("agent: %s", path);
			return err;
		}
	}
	return 0;
}

/* Drops the counters and sysctls of an earlier collection into r. */
static void clear_kernel_stats(wire_report_t *r)
{
	for (size_t i = 0; i < r->n_counters; i++)
		free(r->counters[i].name);
	for (size_t i = 0; i < r->n_sysctls; i++) {
		free(r->sysctls[i].name);
		free(r->sysctls[i].value);
	}
	free(r->counters);
	free(r->sysctls);
	r->counters = NULL;
	r->sysctls = NULL;
	r->n_counters = r->n_sysctls = 0;
}

/*
 * Whether to split the dump: asked for, or (auto) with two CPUs and a big
 * table, by the last collection's count or else the kernel's sockstat.
 */
static int want_split(const ag_collect_opts_t *o, const wire_report_t *r)
{
	uint64_t n = 0;

	if (o->threads)
		return o->threads >= 2;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return 0;
	for (int s = 1; s < WIRE_NSTATES; s++)
		n += r->states.n[s];
	if (n == 0) {
		wire_report_t st = {0};
		char *buf;
		size_t len;

		if (ag_read_file("/proc/net/sockstat", &buf, &len, 1 << 16) < 0)
			return 0;
		if (ag_kstat_parse_sockstat(buf, len, &st) > 0)
			for (size_t i = 0; i < st.n_counters; i++)
				if (strcmp(st.counters[i].name, "Sockstat.inuse") == 0 ||
				    strcmp(st.counters[i].name, "Sockstat.tw") == 0)
					n += st.counters[i].value;
		wire_report_close(&st);
		free(buf);
	}
	return n >= AG_SPLIT_MIN;
}

int ag_netns_open(const char *name, ag_collect_opts_t *o)
{
	char path[PATH_MAX];
	int fd, home;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", strchr(name, '/') ? "" : "/run/netns/",
	                     name) >= sizeof(path) || *name == '\0') {
		log_warnx("agent: --netns: '%s' is not a namespace name or path", name);
		return -EINVAL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("agent: --netns %s", path);
		return -errno;
	}
	if ((home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("agent: --netns: its own namespace, /proc/thread-self/ns/net");
		close(fd);
		return -errno;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;

		if (e == EINVAL)
			log_warnx("agent: --netns %s: not a network namespace", path);
		else if (e == EPERM)
			log_warnx("agent: --netns %s: entering a network namespace needs CAP_SYS_ADMIN", path);
		else
			log_warn("agent: --netns %s", path);
		close(fd);
		close(home);
		return -e;
	}
	if (setns(home, CLONE_NEWNET) < 0)
		fatal("agent: --netns: cannot return to its own network namespace");
	o->in_netns = true;
	o->netns_fd = fd;
	o->home_fd = home;
	return 0;
}

void ag_netns_close(ag_collect_opts_t *o)
{
	if (o->in_netns) {
		close(o->netns_fd);
		close(o->home_fd);
		o->in_netns = false;
	}
}

static int collect(const ag_collect_opts_t *o, ag_agg_t *agg, ag_agg_t *aux, wire_report_t *r);

/*
 * With --netns, the calling thread (the main one: /proc/net is its view, and
 * the dump's second thread starts from it) goes in for the collection and
 * back out; the uplink's sockets stay where they were made.
 */
int ag_collect(const ag_collect_opts_t *o, ag_agg_t *agg, ag_agg_t *aux,
               wire_report_t *r)
{
	int err;

	if (o->in_netns && setns(o->netns_fd, CLONE_NEWNET) < 0) {
		err = -errno;
		log_warn("agent: --netns: entering the namespace");
		return err;
	}
	err = collect(o, agg, aux, r);
	if (o->in_netns && setns(o->home_fd, CLONE_NEWNET) < 0)
		fatal("agent: --netns: cannot return to its own network namespace");
	return err;
}

/*
 * Whether this dump should carry TCP info: always with activity_min 0; else
 * in the first collection (nothing known yet) and after one that listed an
 * IP with activity_min ESTABLISHED.  A host with no heavy IP pays nothing.
 */
static bool want_info(const ag_collect_opts_t *o, const wire_report_t *r)
{
	if (o->interval_ms == 0 || o->activity_min == AG_ACTIVITY_OFF)
		return false;
	if (o->activity_min == 0 || r->collected_at_ms == 0)
		return true;
	for (size_t i = 0; i < r->top.n_ips; i++)
		if (r->top.ips[i].st.n[WIRE_ESTABLISHED] >= o->activity_min)
			return true;
	return false;
}

/* Turns activity on or off in both aggregators, as the dump will carry TCP info or not. */
static int set_activity(ag_agg_t *agg, ag_agg_t *aux, uint32_t interval_ms)
{
	if (ag_agg_activity(agg, interval_ms) < 0 ||
	    (aux && ag_agg_activity(aux, interval_ms) < 0))
		return -ENOMEM;
	return 0;
}

static int collect(const ag_collect_opts_t *o, ag_agg_t *agg, ag_agg_t *aux, wire_report_t *r)
{
	static int fallback_said;
	bool info = false;
	const char *source;
	uint64_t t0 = now_us(CLOCK_MONOTONIC);
	int err;

	if (!o->input && o->source != AG_SRC_PROC)
		info = want_info(o, r);
	r->collected_at_ms = (int64_t)(now_us(CLOCK_REALTIME) / 1000u);
	if ((err = set_activity(agg, aux, info ? o->interval_ms : 0)) < 0)
		return err;
	if (o->input) {
		source = "input";
		err = text_source(o->input, agg, 0);
	} else if (o->source == AG_SRC_PROC) {
		source = "proc";
		err = proc_source(agg);
	} else {
		source = "netlink";
		err = ag_netlink_collect(agg, want_split(o, r) ? aux : NULL, r->states.n, info);
		if (err < 0 && o->source == AG_SRC_AUTO) {
			if (!fallback_said++) {
				errno = -err;
				log_warn("agent: sock_diag dump failed, reading /proc/net/tcp instead");
			}
			source = "proc";
			/* /proc/net/tcp has no TCP info: no activity this time. */
			if ((err = set_activity(agg, aux, 0)) == 0)
				err = proc_source(agg);
		} else if (err < 0) {
			errno = -err;
			log_warn("agent: sock_diag dump");
		}
	}
	if (err < 0)
		return err;
	if ((err = ag_agg_finish(agg, r)) < 0)
		return err;
	r->collect_us = now_us(CLOCK_MONOTONIC) - t0;
	clear_kernel_stats(r);
	if (o->kernel_stats && !o->input)
		ag_read_kernel_stats(r);
	free(r->source);
	if ((r->source = strdup(source)) == NULL)
		return -ENOMEM;
	return 0;
}
