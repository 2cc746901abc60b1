/* SPDX-License-Identifier: MIT */
/* access.c: reading access logs whole. */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lines.h"
#include "text.h"

#define SNIFF (64 * 1024)
#define CHUNK (1024 * 1024)
/* The one-liner counts lines of any length, as awk does; the parser wants AG_LINE_MAX. */
#define AWK_LINE_MAX (16 * 1024 * 1024)

int ag_access_sniff(const char *path, const char **guess)
{
	char *buf = malloc(SNIFF);
	size_t n = 0;
	int fd, rc = 0;

	*guess = NULL;
	if (buf == NULL)
		return -ENOMEM;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(buf);
		return -errno;
	}
	while (n < SNIFF) {
		ssize_t r = read(fd, buf + n, SNIFF - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (rc == 0) {
		if (ag_text_detect(buf, n) != AG_TEXT_UNKNOWN)
			rc = 1;
		else
			*guess = ag_alog_detect(buf, n);
	}
	free(buf);
	return rc;
}

typedef struct {
	const ag_alog_fmt_t *fmt;
	ag_reqs_t *q;
	ag_awkcount_t *awk;
	int err;
} sink_t;

static void on_line(void *ctx, const char *line, size_t len)
{
	sink_t *s = ctx;
	ag_alog_line_t l;

	if (line == NULL) {
		if (s->q)
			ag_reqs_too_long(s->q);
		return;
	}
	if (s->awk && ag_awkcount_line(s->awk, line, len) < 0)
		s->err = -ENOMEM;
	if (s->q == NULL || s->fmt == NULL)
		return;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;   /* blank lines are no lines of a log */
	ag_reqs_add(s->q, ag_alog_parse(s->fmt, line, len, &l), &l);
}

/*
 * fd's bytes [from, to), or (to -1) all it gives from where it is (a pipe
 * too), each line to fn; 0 or a negative errno (*err: what fn's context
 * says, read between chunks).
 */
static int read_lines(int fd, off_t from, off_t to, size_t line_max, ag_line_fn fn, void *ctx,
                      const int *err)
{
	ag_lines_t lines;
	char *buf;
	int rc = 0;

	if ((buf = malloc(CHUNK)) == NULL || ag_lines_init(&lines, line_max) < 0) {
		free(buf);
		return -ENOMEM;
	}
	if (to >= 0)
		posix_fadvise(fd, from, to - from, POSIX_FADV_SEQUENTIAL);
	while (to < 0 || from < to) {
		size_t want = to < 0 || to - from > CHUNK ? CHUNK : (size_t)(to - from);
		ssize_t r = to < 0 ? read(fd, buf, want) : pread(fd, buf, want, from);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		from += r;
		ag_lines_feed(&lines, buf, (size_t)r, fn, ctx);
		if (*err < 0)
			break;
	}
	if (rc == 0 && *err == 0)
		ag_lines_finish(&lines, fn, ctx);
	ag_lines_close(&lines);
	free(buf);
	return rc < 0 ? rc : *err;
}

/*
 * Parsing on several threads, counting on the caller's: the file is cut
 * at line ends into parts, a thread each, that read, split and parse their
 * lines into batches of records owning what the count needs (the host's
 * bytes, the user agent's hash); the caller counts a batch of each part in
 * turn.  The parts depend on the file's size alone (not on the machine's
 * cores), so the order, and the counts, are the same for the same file
 * anywhere; exact ones the same as one thread's (Space-Saving's, once it
 * must drop, bounded as ever: it is one order of the same lines).  Batches
 * in flight: MAX_PARTS x NBATCH x BATCH records of ~340 bytes, 2.7 MiB.
 */
#define BATCH 1024
#define NBATCH 2
#define MAX_PARTS 4
#define PART_MIN (8 * CHUNK)            /* a part at least this big, or one part */
#define REC_TOO_LONG AG_ALOG_NREASONS   /* a record of a line over the parser's limit */

typedef struct {
	int r;                        /* ag_alog_result_t, or REC_TOO_LONG */
	ag_alog_line_t l;             /* host in host[] (set when counted); ua unread */
	uint64_t ua_hash;
	char host[AG_REQS_HOST_MAX];
} rec_t;

typedef struct {
	const ag_alog_fmt_t *fmt;
	int fd;
	off_t from, to;
	rec_t *v[NBATCH];
	size_t n[NBATCH];
	size_t head, tail, filled;    /* batches handed over: [tail, tail + filled) */
	size_t at;                    /* records in v[head], being filled */
	bool done;
	int err, rc;
	pthread_mutex_t mu;
	pthread_cond_t can_fill, can_take;
} part_t;

static void hand_over(part_t *p)
{
	pthread_mutex_lock(&p->mu);
	p->n[p->head] = p->at;
	p->head = (p->head + 1) % NBATCH;
	p->filled++;
	p->at = 0;
	pthread_cond_signal(&p->can_take);
	while (p->filled == NBATCH)
		pthread_cond_wait(&p->can_fill, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

static void on_parsed(void *ctx, const char *line, size_t len)
{
	part_t *p = ctx;
	rec_t *x = &p->v[p->head][p->at];

	if (line == NULL) {
		x->r = REC_TOO_LONG;
	} else {
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0)
			return;   /* blank lines are no lines of a log */
		x->r = ag_alog_parse(p->fmt, line, len, &x->l);
		if (x->r == AG_ALOG_OK) {
			x->ua_hash = ag_reqs_ua_hash(&x->l);
			if (x->l.host != NULL) {
				if (x->l.host_len > sizeof(x->host))
					x->l.host_len = sizeof(x->host);
				memcpy(x->host, x->l.host, x->l.host_len);
			}
		}
	}
	if (++p->at == BATCH)
		hand_over(p);
}

static void *parser(void *arg)
{
	part_t *p = arg;
	int rc = read_lines(p->fd, p->from, p->to, 0, on_parsed, p, &p->err);

	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	pthread_mutex_unlock(&p->mu);
	hand_over(p);   /* the last, maybe empty */
	pthread_mutex_lock(&p->mu);
	p->done = true;
	pthread_cond_signal(&p->can_take);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void count(ag_reqs_t *q, rec_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rec_t *x = &v[i];

		if (x->r == REC_TOO_LONG) {
			ag_reqs_too_long(q);
			continue;
		}
		if (x->r == AG_ALOG_OK && x->l.host != NULL)
			x->l.host = x->host;
		ag_reqs_add_hashed(q, (ag_alog_result_t)x->r, &x->l, x->ua_hash);
	}
}

/* Counts p's next batch; false when p has no more. */
static bool count_next(part_t *p, ag_reqs_t *q)
{
	size_t k;

	pthread_mutex_lock(&p->mu);
	while (p->filled == 0 && !p->done)
		pthread_cond_wait(&p->can_take, &p->mu);
	if (p->filled == 0) {
		pthread_mutex_unlock(&p->mu);
		return false;
	}
	k = p->tail;
	pthread_mutex_unlock(&p->mu);
	count(q, p->v[k], p->n[k]);
	pthread_mutex_lock(&p->mu);
	p->tail = (p->tail + 1) % NBATCH;
	p->filled--;
	pthread_cond_signal(&p->can_fill);
	pthread_mutex_unlock(&p->mu);
	return true;
}

/*
 * Where the parts of fd's size bytes start: cut[0] 0, each next one just
 * after the first line end past its share; how many parts (1: one thread).
 */
static size_t cut_parts(int fd, off_t size, off_t *cut)
{
	size_t want = size / PART_MIN >= MAX_PARTS ? MAX_PARTS : (size_t)(size / PART_MIN), n = 1;
	char buf[64 * 1024];

	cut[0] = 0;
	for (size_t i = 1; i < want; i++) {
		off_t at = size / (off_t)want * (off_t)i;
		ssize_t r = pread(fd, buf, sizeof(buf), at);
		const char *nl = r > 0 ? memchr(buf, '\n', (size_t)r) : NULL;

		/* A line longer than the look: the parts before it take it. */
		if (nl == NULL || at + (nl - buf) + 1 <= cut[n - 1])
			continue;
		cut[n++] = at + (nl - buf) + 1;
	}
	cut[n] = size;
	return n;
}

static int read_parallel(int fd, const ag_alog_fmt_t *fmt, ag_reqs_t *q)
{
	part_t p[MAX_PARTS];
	pthread_t t[MAX_PARTS];
	off_t cut[MAX_PARTS + 1];
	struct stat st;
	size_t n, started = 0;
	int err = 0;
	bool more = true;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* A pipe or a device: one thread, reading as it comes. */
	n = S_ISREG(st.st_mode) ? cut_parts(fd, st.st_size, cut) : 1;
	if (n == 1) {
		sink_t s = {.fmt = fmt, .q = q};

		return read_lines(fd, 0, -1, 0, on_line, &s, &s.err);
	}
	memset(p, 0, sizeof(p));
	for (size_t i = 0; i < n; i++) {
		p[i].fmt = fmt;
		p[i].fd = fd;
		p[i].from = cut[i];
		p[i].to = cut[i + 1];
		pthread_mutex_init(&p[i].mu, NULL);
		pthread_cond_init(&p[i].can_fill, NULL);
		pthread_cond_init(&p[i].can_take, NULL);
		for (size_t b = 0; b < NBATCH; b++)
			if ((p[i].v[b] = malloc(BATCH * sizeof(rec_t))) == NULL)
				err = -ENOMEM;
	}
	for (; started < n && err == 0; started++)
		if (pthread_create(&t[started], NULL, parser, &p[started]) != 0)
			break;
	while (more) {
		more = false;
		for (size_t i = 0; i < started; i++)
			more |= count_next(&p[i], q);
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (err == 0)
			err = p[i].rc;
	}
	/* The parts no thread could be made for (or none, short of memory): here, in order. */
	for (size_t i = started; i < n && err == 0; i++) {
		sink_t s = {.fmt = fmt, .q = q};

		err = read_lines(fd, cut[i], cut[i + 1], 0, on_line, &s, &s.err);
	}
	for (size_t i = 0; i < n; i++) {
		pthread_cond_destroy(&p[i].can_take);
		pthread_cond_destroy(&p[i].can_fill);
		pthread_mutex_destroy(&p[i].mu);
		for (size_t b = 0; b < NBATCH; b++)
			free(p[i].v[b]);
	}
	return err;
}

int ag_access_read(const char *path, const ag_alog_fmt_t *fmt, ag_reqs_t *q, ag_awkcount_t *awk)
{
	sink_t s = {.fmt = fmt, .q = q, .awk = awk};
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (awk == NULL && fmt != NULL && q != NULL)
		rc = read_parallel(fd, fmt, q);
	else
		rc = read_lines(fd, 0, -1, awk ? AWK_LINE_MAX : 0, on_line, &s, &s.err);
	close(fd);
	return rc;
}
