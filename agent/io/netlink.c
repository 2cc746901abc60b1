/* SPDX-License-Identifier: MIT */
/* netlink.c: the sock_diag dump over a NETLINK_SOCK_DIAG socket. */
#include "collect.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "diag.h"

/* Dumps retried after NLM_F_DUMP_INTR before giving up. */
#define DUMP_TRIES 5

static int dump_once(int fd, uint32_t seq, ag_agg_t *agg, uint8_t *buf)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ag_diag_t d;
	size_t len;
	int rc;

	len = ag_diag_request(buf, AG_DIAG_RCVBUF, seq, AG_DIAG_STATES);
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	ag_diag_init(&d, seq);
	for (;;) {
		ssize_t n = recv(fd, buf, AG_DIAG_RCVBUF, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;
		rc = ag_diag_parse(&d, buf, (size_t)n, ag_agg_add, agg);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
}

int ag_netlink_collect(ag_agg_t *agg)
{
	static uint8_t buf[AG_DIAG_RCVBUF] __attribute__((aligned(8)));
	uint32_t seq = (uint32_t)getpid();
	int fd, err = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < DUMP_TRIES; i++) {
		ag_agg_reset(agg);
		err = dump_once(fd, seq + (uint32_t)i, agg, buf);
		if (err != -EINTR)
			break;
	}
	close(fd);
	return err;
}
