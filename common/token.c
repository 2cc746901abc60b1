/* SPDX-License-Identifier: MIT */
/* token.c: reading the shared token file. */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int fs_token_load(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	struct stat st;
	ssize_t n;
	size_t line;
	int fd, err = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err = -EPERM;
		goto out;
	}
	do
		n = read(fd, tmp, sizeof(tmp));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	for (line = 0; line < (size_t)n && tmp[line] != '\n'; line++)
		;
	if (line > 0 && tmp[line - 1] == '\r')
		line--;
	if (line == 0)
		err = -EINVAL;
	else if (line > cap || (line == (size_t)n && n == (ssize_t)sizeof(tmp)))
		err = -E2BIG;
	else {
		memcpy(buf, tmp, line);
		*len = line;
	}
out:
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	return err;
}

const char *fs_token_strerror(int err)
{
	switch (err) {
	case -EPERM:
		return "group or others may read it (chmod 600)";
	case -EINVAL:
		return "not a regular file, or its first line is empty";
	case -E2BIG:
		return "its first line is too long";
	default:
		return strerror(-err);
	}
}
