/* SPDX-License-Identifier: MIT */
/* files.c: /proc and saved-text sources. */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kstat.h"
#include "log.h"
#include "text.h"

int ag_read_file(const char *path, char **buf, size_t *len, size_t max)
{
	size_t cap = 4096, n = 0;
	char *p = NULL, *q;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap || p == NULL) {
			if (p)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			if (n + 1 >= cap) {
				err = -EFBIG;
				goto fail;
			}
			if ((q = realloc(p, cap)) == NULL) {
				err = -ENOMEM;
				goto fail;
			}
			p = q;
		}
		r = read(fd, p + n, cap - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	close(fd);
	free(p);
	return err;
}

/* Chunk size for streaming text: whole lines are parsed, the tail carried. */
#define CHUNK (64 * 1024)

int ag_text_file(const char *path, int *fmt, ag_agg_t *agg,
                 unsigned long *sockets, unsigned long *malformed,
                 unsigned long *first_bad_line)
{
	char *buf;
	size_t have = 0;
	unsigned long lines = 0;
	int fd, err = 0, eof = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((buf = malloc(CHUNK)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (!eof) {
		ag_text_stats_t st;
		size_t use;
		ssize_t r = read(fd, buf + have, CHUNK - have);
		char *nl;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		have += (size_t)r;
		eof = r == 0;
		if (have == 0)
			break;
		if (eof) {
			use = have;
		} else if ((nl = memrchr(buf, '\n', have)) != NULL) {
			use = (size_t)(nl - buf) + 1;
		} else if (have == CHUNK) {
			/* A line longer than the chunk: malformed, drop it. */
			(*malformed)++;
			if (!*first_bad_line)
				*first_bad_line = lines + 1;
			have = 0;
			continue;
		} else {
			continue;
		}
		if (*fmt == AG_TEXT_UNKNOWN &&
		    (*fmt = ag_text_detect(buf, use)) == AG_TEXT_UNKNOWN) {
			err = -EPROTO;
			break;
		}
		memset(&st, 0, sizeof(st));
		if ((err = ag_text_parse(*fmt, buf, use, ag_agg_add, agg, &st)) < 0)
			break;
		*sockets += st.sockets;
		*malformed += st.malformed;
		if (st.malformed && !*first_bad_line)
			*first_bad_line = lines + st.first_malformed;
		lines += st.lines;
		memmove(buf, buf + use, have - use);
		have -= use;
	}
	free(buf);
	close(fd);
	return err;
}

/* Reads "Prefix: names / Prefix: values" files and sockstat; missing files are fine. */
static void read_counters(wire_report_t *r)
{
	static const char *const snmp[] = {"/proc/net/snmp", "/proc/net/netstat"};
	char *buf;
	size_t len;

	for (size_t i = 0; i < sizeof(snmp) / sizeof(snmp[0]); i++) {
		if (ag_read_file(snmp[i], &buf, &len, 1 << 20) < 0)
			continue;
		if (ag_kstat_parse_snmp(buf, len, r) < 0)
			log_warnx("agent: %s: unexpected format, counters skipped", snmp[i]);
		free(buf);
	}
	if (ag_read_file("/proc/net/sockstat", &buf, &len, 1 << 16) == 0) {
		if (ag_kstat_parse_sockstat(buf, len, r) < 0)
			log_warnx("agent: /proc/net/sockstat: unexpected format");
		free(buf);
	}
	static const char *const ct[][2] = {
		{"/proc/sys/net/netfilter/nf_conntrack_count", "Conntrack.count"},
		{"/proc/sys/net/netfilter/nf_conntrack_max", "Conntrack.max"},
	};
	for (size_t i = 0; i < 2; i++) {
		char *end;
		unsigned long long v;

		if (ag_read_file(ct[i][0], &buf, &len, 64) < 0)
			continue;
		v = strtoull(buf, &end, 10);
		if (end != buf)
			ag_kstat_add_counter(r, ct[i][1], v);
		free(buf);
	}
}

static void read_sysctls(wire_report_t *r)
{
	for (const char *const *name = ag_sysctl_names; *name; name++) {
		char path[256] = "/proc/sys/", *p, *buf;
		size_t len;

		strncat(path, *name, sizeof(path) - strlen(path) - 1);
		for (p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		if (ag_read_file(path, &buf, &len, 4096) < 0)
			continue; /* absent on this kernel or not loaded */
		ag_kstat_add_sysctl(r, *name, buf, len);
		free(buf);
	}
}

void ag_read_kernel_stats(wire_report_t *r)
{
	read_counters(r);
	read_sysctls(r);
}
