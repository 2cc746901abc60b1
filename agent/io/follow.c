/* SPDX-License-Identifier: MIT */
/* follow.c: following access logs across rotation, truncation and restarts. */
#include "follow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "hash.h"
#include "lines.h"
#include "log.h"

#define CHUNK (1024 * 1024)
#define TAIL 64            /* bytes before the read position, to know a copy by */
#define OLD_IDLE_POLLS 5   /* a renamed file nobody wrote to for this many polls is done */

/* One open file of a log: the one its path names, or the one it named before a rename. */
typedef struct {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t off;              /* bytes read */
	ag_lines_t lines;
	unsigned char tail[TAIL];  /* the last bytes read, to know the copy of copytruncate by */
	size_t tail_len;
	unsigned idle;             /* polls without a byte (the renamed one) */
} file_t;

typedef struct {
	const ag_follow_log_t *cfg;
	ag_reqs_t *q;
	file_t cur, old;
	bool polled;               /* a first poll was made: a file appearing now is new */
	bool missing_said;
	wire_log_mark_t marks[2];  /* restored, not yet used */
	size_t n_marks;
} log_t;

struct ag_follow {
	log_t *logs;
	size_t n;
	char *buf;
};

static void file_init(file_t *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->fd = -1;
}

static void file_close(file_t *fl)
{
	if (fl->fd >= 0)
		close(fl->fd);
	ag_lines_close(&fl->lines);
	file_init(fl);
}

/* The hash of up to TAIL bytes before off in fd, as a mark keeps it (0: none before). */
static uint64_t tail_hash_at(int fd, uint64_t off)
{
	unsigned char buf[TAIL];
	size_t n = off < TAIL ? (size_t)off : TAIL;

	if (n == 0 || pread(fd, buf, n, (off_t)(off - n)) != (ssize_t)n)
		return 0;
	return fs_hash(buf, n) | 1;
}

static void on_line(void *ctx, const char *line, size_t len)
{
	log_t *lg = ctx;
	ag_alog_line_t l;

	if (line == NULL) {
		ag_reqs_too_long(lg->q);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	ag_reqs_add(lg->q, ag_alog_parse(&lg->cfg->fmt, line, len, &l), &l);
}

ag_follow_t *ag_follow_new(const ag_follow_log_t *logs, size_t n, ag_reqs_t *q)
{
	ag_follow_t *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->logs = calloc(n ? n : 1, sizeof(*f->logs))) == NULL ||
	    (f->buf = malloc(CHUNK)) == NULL) {
		if (f)
			free(f->logs);
		free(f);
		return NULL;
	}
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		f->logs[i].cfg = &logs[i];
		f->logs[i].q = q;
		file_init(&f->logs[i].cur);
		file_init(&f->logs[i].old);
	}
	return f;
}

void ag_follow_free(ag_follow_t *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		file_close(&f->logs[i].cur);
		file_close(&f->logs[i].old);
		for (size_t k = 0; k < f->logs[i].n_marks; k++)
			free(f->logs[i].marks[k].path);
	}
	free(f->logs);
	free(f->buf);
	free(f);
}

void ag_follow_restore(ag_follow_t *f, const wire_log_mark_t *marks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < f->n; k++) {
			log_t *lg = &f->logs[k];

			if (strcmp(marks[i].path, lg->cfg->path) != 0 || lg->n_marks == 2)
				continue;
			lg->marks[lg->n_marks] = marks[i];
			if ((lg->marks[lg->n_marks].path = strdup(marks[i].path)) != NULL)
				lg->n_marks++;
		}
}

/* Opens fd at off, as file fl (whose lines buffer it sets up). */
static int file_open_fd(file_t *fl, int fd, uint64_t off)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || ag_lines_init(&fl->lines, 0) < 0 ||
	    lseek(fd, (off_t)off, SEEK_SET) < 0) {
		int err = -errno;

		ag_lines_close(&fl->lines);
		close(fd);
		return err ? err : -ENOMEM;
	}
	fl->fd = fd;
	fl->dev = st.st_dev;
	fl->ino = st.st_ino;
	fl->off = off;
	fl->idle = 0;
	/* The bytes before the place, to know the file again (rewritten, or its copy). */
	fl->tail_len = off < TAIL ? (size_t)off : TAIL;
	if (fl->tail_len > 0 &&
	    pread(fd, fl->tail, fl->tail_len, (off_t)(off - fl->tail_len)) != (ssize_t)fl->tail_len)
		fl->tail_len = 0;
	return 0;
}

/* Where a log begins to be read when first found with no mark: after its last whole line. */
static uint64_t end_of_lines(int fd)
{
	struct stat st;
	char buf[4096];
	off_t at;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return 0;
	for (at = st.st_size; at > 0;) {
		size_t n = at > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)at;
		ssize_t r = pread(fd, buf, n, at - (off_t)n);
		char *nl;

		if (r <= 0)
			return (uint64_t)st.st_size;
		if ((nl = memrchr(buf, '\n', (size_t)r)) != NULL)
			return (uint64_t)(at - (off_t)n + (nl - buf) + 1);
		at -= (off_t)n;
		if (st.st_size - at > AG_LINE_MAX)
			return (uint64_t)st.st_size;   /* no line end near: a line too long */
	}
	return 0;
}

/* Reads fl to its end (at most max bytes); returns the bytes read, -1 on an error. */
static long long drain(ag_follow_t *f, log_t *lg, file_t *fl, size_t max)
{
	long long got = 0;

	while ((size_t)got < max) {
		ssize_t r = read(fl->fd, f->buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_warn("access log %s", lg->cfg->path);
			return -1;
		}
		if (r == 0)
			break;
		ag_lines_feed(&fl->lines, f->buf, (size_t)r, on_line, lg);
		fl->off += (uint64_t)r;
		if ((size_t)r >= TAIL) {
			memcpy(fl->tail, f->buf + r - TAIL, TAIL);
			fl->tail_len = TAIL;
		} else {
			size_t keep = fl->tail_len + (size_t)r > TAIL ? TAIL - (size_t)r : fl->tail_len;

			memmove(fl->tail, fl->tail + fl->tail_len - keep, keep);
			memcpy(fl->tail + keep, f->buf, (size_t)r);
			fl->tail_len = keep + (size_t)r;
		}
		got += r;
	}
	return got;
}

/* Each regular file beside path whose name starts with path's: the rotated ones. */
typedef bool (*sibling_fn)(void *ctx, int fd, const struct stat *st, const char *name);

static void siblings(const char *path, sibling_fn fn, void *ctx)
{
	char dir[PATH_MAX], base[NAME_MAX + 1], *d, *b;
	char tmp1[PATH_MAX], tmp2[PATH_MAX];
	DIR *dp;
	struct dirent *de;
	size_t blen;

	snprintf(tmp1, sizeof(tmp1), "%s", path);
	snprintf(tmp2, sizeof(tmp2), "%s", path);
	d = dirname(tmp1);
	b = basename(tmp2);
	snprintf(dir, sizeof(dir), "%s", d);
	snprintf(base, sizeof(base), "%s", b);
	blen = strlen(base);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		int fd;

		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] == '\0')
			continue;
		/* A FIFO or a device beside the log must not block the loop: regular files only. */
		if (fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if ((fd = openat(dirfd(dp), de->d_name,
		                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
			continue;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !fn(ctx, fd, &st, de->d_name))
			close(fd);
	}
	closedir(dp);
}

typedef struct {
	dev_t dev;
	ino_t ino;
	int fd;
} by_inode_t;

static bool match_inode(void *ctx, int fd, const struct stat *st, const char *name)
{
	by_inode_t *m = ctx;

	(void)name;
	if (m->fd >= 0 || st->st_dev != m->dev || st->st_ino != m->ino)
		return false;
	m->fd = fd;
	return true;
}

typedef struct {
	dev_t dev;               /* the file it is a copy of, not a candidate */
	ino_t ino;
	uint64_t off, hash;      /* the place, and the hash of the bytes before it */
	int fd;
} by_copy_t;

/* The copy of copytruncate: another file holding the bytes before the place, at the place. */
static bool match_copy(void *ctx, int fd, const struct stat *st, const char *name)
{
	by_copy_t *m = ctx;

	(void)name;
	if (m->fd >= 0 || (st->st_dev == m->dev && st->st_ino == m->ino) ||
	    (uint64_t)st->st_size < m->off || tail_hash_at(fd, m->off) != m->hash)
		return false;
	m->fd = fd;
	return true;
}

/* The renamed file is read on (the server writes to it until it reopens its logs). */
static void retire(log_t *lg)
{
	if (lg->old.fd >= 0)
		ag_lines_finish(&lg->old.lines, on_line, lg);   /* an older one still open: done now */
	file_close(&lg->old);
	lg->old = lg->cur;
	lg->old.idle = 0;
	file_init(&lg->cur);
}

/*
 * Copytruncate: what the copy holds past our position (known by the hash of
 * the bytes before it, `hash`), then the truncated file from 0.
 */
static void truncated(ag_follow_t *f, log_t *lg, uint64_t hash)
{
	by_copy_t m = {.dev = lg->cur.dev, .ino = lg->cur.ino, .off = lg->cur.off, .hash = hash,
	               .fd = -1};

	siblings(lg->cfg->path, match_copy, &m);
	if (m.fd >= 0) {
		int keep = lg->cur.fd;

		lg->cur.fd = m.fd;
		if (lseek(m.fd, (off_t)lg->cur.off, SEEK_SET) >= 0)
			drain(f, lg, &lg->cur, SIZE_MAX);
		ag_lines_finish(&lg->cur.lines, on_line, lg);
		close(m.fd);
		lg->cur.fd = keep;
	} else {
		log_warnx("access log %s was truncated and no copy of it found: the lines written"
		          " since the last read are not counted", lg->cfg->path);
		ag_lines_drop(&lg->cur.lines);
	}
	lseek(lg->cur.fd, 0, SEEK_SET);
	lg->cur.off = 0;
	lg->cur.tail_len = 0;
}

/* The hash of the bytes last read, as tail_hash_at() gives it. */
static uint64_t tail_hash_of(const file_t *fl)
{
	return fl->tail_len ? fs_hash(fl->tail, fl->tail_len) | 1 : 0;
}

/* The first open of a log after a restart: each mark's file read on from the mark. */
static void resume(ag_follow_t *f, log_t *lg, int fd, const struct stat *st)
{
	bool placed = false;

	for (size_t k = 0; k < lg->n_marks; k++) {
		wire_log_mark_t *mk = &lg->marks[k];

		if (fd >= 0 && !placed && mk->dev == (uint64_t)st->st_dev &&
		    mk->inode == (uint64_t)st->st_ino) {
			placed = true;
			if ((uint64_t)st->st_size >= mk->offset && tail_hash_at(fd, mk->offset) == mk->tail_hash) {
				if (file_open_fd(&lg->cur, fd, mk->offset) < 0)
					fd = -1;
				continue;
			}
			/* Truncated (and perhaps grown back) while the agent was down: the copy, if any,
			 * from the mark, then the file from its start. */
			if (file_open_fd(&lg->cur, fd, 0) < 0) {
				fd = -1;
				continue;
			}
			lg->cur.off = mk->offset;
			truncated(f, lg, mk->tail_hash);
			continue;
		}
		/* Renamed while the agent was down: found by its inode, read from the mark. */
		{
			by_inode_t m = {.dev = (dev_t)mk->dev, .ino = (ino_t)mk->inode, .fd = -1};

			siblings(lg->cfg->path, match_inode, &m);
			/* An inode number used again by another file is not the file of the mark. */
			if (m.fd >= 0 && tail_hash_at(m.fd, mk->offset) != mk->tail_hash) {
				close(m.fd);
				m.fd = -1;
			}
			if (m.fd < 0) {
				log_warnx("access log %s: the file of the last mark (inode %" PRIu64
				          ") is gone: what it held past offset %" PRIu64 " is not counted",
				          lg->cfg->path, mk->inode, mk->offset);
				continue;
			}
			file_close(&lg->old);
			if (file_open_fd(&lg->old, m.fd, mk->offset) == 0)
				drain(f, lg, &lg->old, AG_FOLLOW_READ_MAX);
		}
	}
	/* The file the path names now and no mark knows: new since the last report, all of it. */
	if (fd >= 0 && !placed && file_open_fd(&lg->cur, fd, 0) < 0)
		log_warnx("access log %s: cannot follow it", lg->cfg->path);
	for (size_t k = 0; k < lg->n_marks; k++)
		free(lg->marks[k].path);
	lg->n_marks = 0;
}

/*
 * Whether the bytes before our place are no longer the ones read there: the
 * file was truncated (copytruncate) and has grown past our place again before
 * this poll, which its size alone would not tell.
 */
static bool rewritten(const file_t *fl)
{
	unsigned char buf[TAIL];

	if (fl->tail_len == 0)
		return false;
	return pread(fl->fd, buf, fl->tail_len, (off_t)(fl->off - fl->tail_len)) !=
	               (ssize_t)fl->tail_len ||
	       memcmp(buf, fl->tail, fl->tail_len) != 0;
}

static void poll_one(ag_follow_t *f, log_t *lg)
{
	struct stat st;
	long long got;

	if (lg->old.fd >= 0) {
		got = drain(f, lg, &lg->old, AG_FOLLOW_READ_MAX);
		if (got <= 0 && ++lg->old.idle >= OLD_IDLE_POLLS) {
			ag_lines_finish(&lg->old.lines, on_line, lg);
			file_close(&lg->old);
		} else if (got > 0) {
			lg->old.idle = 0;
		}
	}
	if (lg->cur.fd < 0) {
		/* O_NONBLOCK: a FIFO put where the log was must not block the loop (refused below). */
		int fd = open(lg->cfg->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);
			fd = -1;
			errno = EINVAL;
		}
		if (fd < 0) {
			if (fd >= 0)
				close(fd);
			if (!lg->missing_said)
				log_info("access log %s: %s; following it when it appears", lg->cfg->path,
				         strerror(errno));
			lg->missing_said = true;
			if (lg->n_marks > 0)
				resume(f, lg, -1, NULL);
			lg->polled = true;
			return;
		}
		if (lg->n_marks > 0)
			resume(f, lg, fd, &st);
		else if (file_open_fd(&lg->cur, fd, lg->polled ? 0 : end_of_lines(fd)) < 0)
			log_warnx("access log %s: cannot follow it", lg->cfg->path);
		lg->missing_said = false;
		lg->polled = true;
		if (lg->cur.fd < 0)
			return;
	}
	if (rewritten(&lg->cur))
		truncated(f, lg, tail_hash_of(&lg->cur));   /* truncated and written past our place since the last poll */
	got = drain(f, lg, &lg->cur, AG_FOLLOW_READ_MAX);
	if (got < 0 || (size_t)got >= AG_FOLLOW_READ_MAX)
		return;   /* more to read next time: no rotation looked for mid-file */
	if (stat(lg->cfg->path, &st) < 0)
		return;   /* renamed, not made again yet: the server still writes to it */
	if (st.st_dev != lg->cur.dev || st.st_ino != lg->cur.ino) {
		/* Rotated by rename: the old one read on a while, the new one from its start. */
		retire(lg);
		if (S_ISREG(st.st_mode)) {
			int fd = open(lg->cfg->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

			if (fd >= 0 && file_open_fd(&lg->cur, fd, 0) == 0)
				drain(f, lg, &lg->cur, AG_FOLLOW_READ_MAX);
		}
		return;
	}
	if ((uint64_t)st.st_size < lg->cur.off) {
		truncated(f, lg, tail_hash_of(&lg->cur));
		drain(f, lg, &lg->cur, AG_FOLLOW_READ_MAX);
	}
}

void ag_follow_poll(ag_follow_t *f)
{
	for (size_t i = 0; i < f->n; i++)
		poll_one(f, &f->logs[i]);
}

size_t ag_follow_marks(const ag_follow_t *f, wire_log_mark_t *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++) {
		const log_t *lg = &f->logs[i];
		const file_t *files[2] = {&lg->old, &lg->cur};

		for (int k = 0; k < 2 && n < max; k++) {
			if (files[k]->fd < 0)
				continue;
			out[n].path = lg->cfg->path;   /* borrowed */
			out[n].dev = (uint64_t)files[k]->dev;
			out[n].inode = (uint64_t)files[k]->ino;
			out[n].offset = files[k]->off - ag_lines_held(&files[k]->lines);
			out[n].tail_hash = tail_hash_at(files[k]->fd, out[n].offset);
			n++;
		}
	}
	return n;
}
