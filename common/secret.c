/* SPDX-License-Identifier: MIT */
/* secret.c: reading a file that only its owner may read. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int read_all(const char *path, void *buf, size_t cap, size_t *len, int owner_only)
{
	struct stat st;
	size_t n = 0;
	int fd, err = 0;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	else if (owner_only && (st.st_mode & (S_IRWXG | S_IRWXO)))
		err = -EPERM;
	/* To the end, and a byte past cap to tell a full buffer from a longer file. */
	while (err == 0) {
		char extra;
		ssize_t r = n < cap ? read(fd, (char *)buf + n, cap - n) : read(fd, &extra, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		else if (r == 0)
			break;
		else if (n == cap)
			err = -E2BIG;
		else
			n += (size_t)r;
	}
	close(fd);
	if (err == 0)
		*len = n;
	return err;
}

int fs_secret_read(const char *path, void *buf, size_t cap, size_t *len)
{
	return read_all(path, buf, cap, len, 1);
}

int fs_file_read(const char *path, void *buf, size_t cap, size_t *len)
{
	return read_all(path, buf, cap, len, 0);
}

const char *fs_secret_strerror(int err)
{
	switch (err) {
	case -EPERM: return "group or others may read it (chmod 600)";
	case -EINVAL: return "not a regular file";
	case -E2BIG: return "too large";
	default: return strerror(-err);
	}
}
