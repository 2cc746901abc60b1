/* SPDX-License-Identifier: MIT */
/* token.c: reading the shared token file. */
#include "token.h"

#include <errno.h>
#include <string.h>

#include "secret.h"

int fs_token_load(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	size_t n, line;
	int err;

	/* A token is one line; a file of more than tmp holds no token of ours. */
	if ((err = fs_secret_read(path, tmp, sizeof(tmp), &n)) < 0) {
		explicit_bzero(tmp, sizeof(tmp));
		return err;
	}
	for (line = 0; line < n && tmp[line] != '\n'; line++)
		;
	if (line > 0 && tmp[line - 1] == '\r')
		line--;
	if (line == 0)
		err = -EINVAL;
	else if (line > cap)
		err = -E2BIG;
	else {
		memcpy(buf, tmp, line);
		*len = line;
	}
	explicit_bzero(tmp, sizeof(tmp));
	return err;
}

const char *fs_token_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "not a regular file, or its first line is empty";
	case -E2BIG:
		return "too long (a token file is one line)";
	default:
		return fs_secret_strerror(err);
	}
}
