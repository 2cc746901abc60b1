/* SPDX-License-Identifier: MIT */
/* state.c: the agent's state directory (see state.h). */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "buf.h"
#include "log.h"
#include "hex.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replaces dirfd/name with buf durably: tmp written and fsync'd, renamed
 * over name, the directory fsync'd so the rename itself survives a crash.
 */
static int write_durable(int dirfd, const char *name, const char *tmp,
                         const void *buf, size_t len)
{
	int fd, err;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if ((err = write_all(fd, buf, len)) < 0)
		goto fail;
	if (fsync(fd) < 0) {
		err = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		err = -errno;
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return -errno;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return err;
}

/* Reads a small file of dirfd whole into buf (cap bytes, NUL-terminated). */
static int read_small(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int fd, err = 0;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return err;
}

static int load_agent_id(ag_state_t *st, const char *dir)
{
	char buf[128];
	size_t len;
	int err = read_small(st->dirfd, "agent_id", buf, sizeof(buf), &len);

	if (err == -ENOENT) {
		/* First start: 16 random bytes, kept for the life of this host. */
		char hex[2 * WIRE_AGENT_ID_LEN + 2];
		ssize_t n = getrandom(st->agent_id, sizeof(st->agent_id), 0);

		if (n != (ssize_t)sizeof(st->agent_id)) {
			log_warn("agent: getrandom");
			return -EIO;
		}
		for (size_t i = 0; i < WIRE_AGENT_ID_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", st->agent_id[i]);
		strcpy(hex + 2 * WIRE_AGENT_ID_LEN, "\n");
		err = write_durable(st->dirfd, "agent_id", "agent_id.tmp", hex, strlen(hex));
		if (err < 0) {
			errno = -err;
			log_warn("agent: %s/agent_id", dir);
			return err;
		}
		log_info("agent: new agent_id %.32s in %s", hex, dir);
		return 0;
	}
	if (err < 0) {
		errno = -err;
		log_warn("agent: %s/agent_id", dir);
		return err;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len != 2 * WIRE_AGENT_ID_LEN)
		goto bad;
	for (size_t i = 0; i < WIRE_AGENT_ID_LEN; i++) {
		int hi = fs_hexval(buf[2 * i]), lo = fs_hexval(buf[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		st->agent_id[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
bad:
	log_warnx("agent: %s/agent_id is not 32 hex digits; move it away to get a new identity",
	          dir);
	return -EINVAL;
}

static int load_state(ag_state_t *st, const char *dir)
{
	char buf[256];
	size_t len;
	int err = read_small(st->dirfd, "state", buf, sizeof(buf), &len);
	char *line, *save = NULL;

	st->last_seq = st->dropped = 0;
	if (err == -ENOENT)
		return 0;
	if (err < 0) {
		errno = -err;
		log_warn("agent: %s/state", dir);
		return err;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[16];
		uint64_t v;
		int used = 0;

		if (sscanf(line, "%15s %" SCNu64 "%n", key, &v, &used) != 2 ||
		    line[used] != '\0')
			goto bad;
		if (strcmp(key, "seq") == 0)
			st->last_seq = v;
		else if (strcmp(key, "dropped") == 0)
			st->dropped = v;
		/* Unknown keys come from a newer agent: keep going. */
	}
	return 0;
bad:
	log_warnx("agent: %s/state: not 'seq N' / 'dropped N' lines", dir);
	return -EINVAL;
}

int ag_state_open(ag_state_t *st, const char *dir)
{
	struct stat sb;
	int err;

	memset(st, 0, sizeof(*st));
	st->dirfd = st->spoolfd = st->lockfd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		log_warn("agent: state dir %s", dir);
		return err;
	}
	if ((st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = -errno;
		log_warn("agent: state dir %s", dir);
		goto fail;
	}
	if (fstat(st->dirfd, &sb) == 0 && (sb.st_mode & 077))
		log_warnx("agent: state dir %s is readable by others (mode %03o); 0700 is expected",
		          dir, (unsigned)(sb.st_mode & 0777));
	st->lockfd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->lockfd < 0) {
		err = -errno;
		log_warn("agent: %s/lock", dir);
		goto fail;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (err == -EBUSY)
			log_warnx("agent: another fleetstat-agent is using state dir %s", dir);
		else
			log_warn("agent: %s/lock", dir);
		goto fail;
	}
	if ((err = load_agent_id(st, dir)) < 0 || (err = load_state(st, dir)) < 0)
		goto fail;
	if (mkdirat(st->dirfd, "spool", 0700) < 0 && errno != EEXIST) {
		err = -errno;
		log_warn("agent: %s/spool", dir);
		goto fail;
	}
	st->spoolfd = openat(st->dirfd, "spool", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (st->spoolfd < 0) {
		err = -errno;
		log_warn("agent: %s/spool", dir);
		goto fail;
	}
	return 0;
fail:
	ag_state_close(st);
	return err;
}

void ag_state_close(ag_state_t *st)
{
	if (st == NULL)
		return;
	if (st->spoolfd >= 0)
		close(st->spoolfd);
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = st->spoolfd = st->lockfd = -1;
}

/*
 * A failing disk fails every write: the first failure of a run is a
 * warning, the rest debug lines until a write succeeds again.
 */
static int write_failures;

static void write_failed(int err, const char *fmt, uint64_t arg)
{
	char what[96];

	snprintf(what, sizeof(what), fmt, arg);
	errno = -err;
	if (write_failures++ == 0)
		log_warn("agent: %s", what);
	else
		log_debug("agent: %s: %s (again)", what, strerror(-err));
}

int ag_state_save(ag_state_t *st)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "seq %" PRIu64 "\ndropped %" PRIu64 "\n",
	                 st->last_seq, st->dropped);
	int err = write_durable(st->dirfd, "state", "state.tmp", buf, (size_t)n);

	if (err < 0)
		write_failed(err, "saving state (seq %" PRIu64 ")", st->last_seq);
	else
		write_failures = 0;
	return err;
}

#define MARKS_MAX_BYTES (WIRE_MAX_LOG_MARKS * (WIRE_MAX_PATH + 80) + 64)

int ag_state_save_marks(ag_state_t *st, uint64_t seq, const wire_log_mark_t *m, size_t n)
{
	fs_buf_t b = FS_BUF_INIT;
	int err;

	fs_buf_printf(&b, "seq %" PRIu64 "\n", seq);
	for (size_t i = 0; i < n; i++)
		fs_buf_printf(&b, "mark %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIx64 " %s\n", m[i].dev,
		              m[i].inode, m[i].offset, m[i].tail_hash, m[i].path);
	if ((err = b.err) == 0)
		err = write_durable(st->dirfd, "marks", "marks.tmp", b.p, b.len);
	fs_buf_close(&b);
	if (err < 0)
		write_failed(err, "saving the access logs' marks (seq %" PRIu64 ")", seq);
	return err;
}

int ag_state_load_marks(ag_state_t *st, uint64_t *seq, wire_log_mark_t **m, size_t *n)
{
	char *buf = malloc(MARKS_MAX_BYTES + 1), *line, *save = NULL;
	size_t len;
	int err;

	*seq = 0;
	*m = NULL;
	*n = 0;
	if (buf == NULL)
		return -ENOMEM;
	if ((err = read_small(st->dirfd, "marks", buf, MARKS_MAX_BYTES + 1, &len)) < 0) {
		free(buf);
		return err == -ENOENT ? 0 : err;
	}
	if ((*m = calloc(WIRE_MAX_LOG_MARKS, sizeof(**m))) == NULL) {
		free(buf);
		return -ENOMEM;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		wire_log_mark_t *k = &(*m)[*n];
		int used = 0;

		if (sscanf(line, "seq %" SCNu64 "%n", seq, &used) == 1 && line[used] == '\0')
			continue;
		if (*n == WIRE_MAX_LOG_MARKS ||
		    sscanf(line, "mark %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNx64 " %n", &k->dev,
		           &k->inode, &k->offset, &k->tail_hash, &used) != 4 || line[used] != '/')
			continue;   /* not ours: a newer agent's line, or damage; the rest still counts */
		if ((k->path = strdup(line + used)) == NULL)
			break;
		(*n)++;
	}
	free(buf);
	return 0;
}

int ag_spool_scan(ag_state_t *st, ag_spool_t *sp)
{
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	if ((fd = openat(st->spoolfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		log_warn("agent: spool");
		return err;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat sb;
		uint64_t seq = 0;

		switch (ag_spool_parse_name(de->d_name, &seq)) {
		case AG_SPOOL_DOT:
			continue;
		case AG_SPOOL_TEMP:
			/* A report cut short by a crash: it was never spooled. */
			if (unlinkat(st->spoolfd, de->d_name, 0) < 0)
				log_warn("agent: spool/%s", de->d_name);
			continue;
		case AG_SPOOL_FILE:
			if (fstatat(st->spoolfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(sb.st_mode))
				break;
			log_warnx("agent: spool/%s is not a regular file; left alone", de->d_name);
			continue;
		default:
			log_warnx("agent: spool/%s is not a spool file; left alone", de->d_name);
			continue;
		}
		if ((err = ag_spool_add(sp, seq, (uint64_t)sb.st_size)) < 0) {
			log_warnx("agent: spool: out of memory");
			break;
		}
	}
	if (de == NULL && errno) {
		err = -errno;
		log_warn("agent: spool: readdir");
	}
	closedir(d);
	return err;
}

int ag_spool_write(ag_state_t *st, uint64_t seq, const uint8_t *buf, size_t len)
{
	char name[AG_SPOOL_NAME_LEN], tmp[AG_SPOOL_NAME_LEN];
	int err;

	ag_spool_name(seq, 0, name);
	ag_spool_name(seq, 1, tmp);
	if ((err = write_durable(st->spoolfd, name, tmp, buf, len)) < 0)
		write_failed(err, "spool/%020" PRIu64, seq);
	else
		write_failures = 0;
	return err;
}

int ag_spool_read(ag_state_t *st, uint64_t seq, uint8_t *buf, size_t size)
{
	char name[AG_SPOOL_NAME_LEN];
	size_t n = 0;
	uint8_t extra;
	int fd, err = 0;

	if (size <= WIRE_HDR_LEN || size > WIRE_HDR_LEN + WIRE_MAX_FRAME)
		return -EPROTO;
	ag_spool_name(seq, 0, name);
	if ((fd = openat(st->spoolfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	/* Exactly one frame: the length in the header covers the rest, nothing after. */
	if (n != size || read(fd, &extra, 1) != 0 ||
	    ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]) !=
	    size - WIRE_HDR_LEN)
		err = -EPROTO;
out:
	close(fd);
	return err;
}

int ag_spool_unlink(ag_state_t *st, uint64_t seq)
{
	char name[AG_SPOOL_NAME_LEN];

	ag_spool_name(seq, 0, name);
	if (unlinkat(st->spoolfd, name, 0) < 0 && errno != ENOENT) {
		int err = -errno;

		log_warn("agent: spool/%s", name);
		return err;
	}
	return 0;
}
