/* SPDX-License-Identifier: MIT */
/* diagsock.h: the NETLINK_SOCK_DIAG socket the dumps use. */
#ifndef FS_DIAGSOCK_H
#define FS_DIAGSOCK_H

/*
 * Opens a NETLINK_SOCK_DIAG socket (close-on-exec) while the calling thread
 * has CAP_NET_ADMIN out of its effective set, and puts it back after.  The
 * kernel decides per socket, from the credentials it was opened with,
 * whether to add what only an administrator may see (the socket mark) to
 * every message of a dump; counting needs none of it, and leaving it out
 * makes a dump of 100,000 sockets 800 KB smaller and ~6% faster when the
 * agent runs as root.  Returns the fd, or a negative errno.
 */
int fs_diag_socket(void);

#endif
