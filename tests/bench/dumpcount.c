/* SPDX-License-Identifier: MIT */
/* dumpcount.c: the floor — only dump TCP sockets over sock_diag and count states. */
/*
 * Sends the agent's request (TCPDIAG_GETSOCK, AF_UNSPEC, states 1..12) and
 * counts replies by state, nothing else, on a socket opened as the agent
 * opens its own: the cost of the kernel's walk plus the copy to user space, against which the agent's own collection is
 * measured.  With --raw FILE it also writes the replies as received (the
 * unit tests' netlink fixtures are made this way).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "diagsock.h"

int main(int argc, char **argv)
{
	static const char *const names[13] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
		"SYN_RECV"};
	static char buf[32768] __attribute__((aligned(8)));
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req), .nlmsg_type = TCPDIAG_GETSOCK,
		        .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
		.r = {.idiag_family = AF_UNSPEC, .idiag_states = 0x1ffe},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	unsigned long count[13] = {0};
	FILE *raw = NULL;
	int fd, done = 0;

	if (argc == 3 && strcmp(argv[1], "--raw") == 0) {
		if ((raw = fopen(argv[2], "wb")) == NULL) {
			perror(argv[2]);
			return 1;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: dumpcount [--raw FILE]\n");
		return 2;
	}
	fd = fs_diag_socket(); /* the agent's socket: opened without CAP_NET_ADMIN */
	if (fd < 0)
		errno = -fd;
	if (fd < 0 || sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("sock_diag");
		return 1;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recv");
			return 1;
		}
		if (raw)
			fwrite(buf, 1, (size_t)n, raw);
		while (off + sizeof(struct nlmsghdr) <= (size_t)n) {
			const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)n - off ||
			    h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			if (m->idiag_state < 13)
				count[m->idiag_state]++;
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
	}
	count[3] += count[12];
	for (int s = 1; s < 12; s++)
		if (count[s] && s != 10)
			printf("%s %lu\n", names[s], count[s]);
	if (raw)
		fclose(raw);
	close(fd);
	return 0;
}
