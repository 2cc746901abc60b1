/* SPDX-License-Identifier: MIT */
/* http_get.c: a minimal HTTP/1.1 GET for the fleetstat command's --server. */
#include "http_get.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	long long left = deadline - mono_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)left);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

int col_http_get(const char *host, const char *port, const char *path, const char *token,
                 int timeout_ms, size_t max, fs_buf_t *resp, const char **why)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	long long deadline = mono_ms() + timeout_ms;
	fs_buf_t req = FS_BUF_INIT;
	int fd = -1, err, gai;
	size_t off = 0;
	char tmp[16384];

	*why = NULL;
	if ((gai = getaddrinfo(host, port, &hints, &ai)) != 0) {
		*why = "cannot resolve the server's name";
		return gai == EAI_SYSTEM && errno ? -errno : -EHOSTUNREACH;
	}
	err = -ECONNREFUSED;
	for (a = ai; a; a = a->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if ((fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
			err = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && (err = wait_fd(fd, POLLOUT, deadline)) == 0 &&
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0))
			break;
		if (soerr)
			err = -soerr;
		else if (errno != EINPROGRESS)
			err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		*why = "cannot connect to the server";
		return err;
	}
	/* An IPv6 literal keeps its brackets in Host (RFC 7230). */
	fs_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nConnection: close\r\n"
	              "User-Agent: fleetstat/" FLEETSTAT_VERSION "\r\n", path,
	              strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
	if (token)
		fs_buf_printf(&req, "Authorization: Bearer %s\r\n", token);
	fs_buf_puts(&req, "\r\n");
	if ((err = req.err) < 0)
		goto out;
	while (off < req.len) {
		ssize_t n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && (err = wait_fd(fd, POLLOUT, deadline)) == 0)
			continue;
		err = n < 0 ? -errno : err;
		*why = "sending the request";
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, tmp, sizeof(tmp), 0);

		if (n > 0) {
			if (resp->len + (size_t)n > max) {
				err = -EMSGSIZE;
				*why = "the response is too large";
				goto out;
			}
			fs_buf_add(resp, tmp, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN && (err = wait_fd(fd, POLLIN, deadline)) == 0)
			continue;
		err = errno == EAGAIN ? err : -errno;
		*why = err == -ETIMEDOUT ? "no answer in time" : "reading the response";
		goto out;
	}
	err = resp->err;
out:
	if (token)
		explicit_bzero(req.p, req.len);
	fs_buf_close(&req);
	close(fd);
	return err;
}
