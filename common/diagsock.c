/* SPDX-License-Identifier: MIT */
/* diagsock.c: a sock_diag socket opened without CAP_NET_ADMIN in effect. */
#include "diagsock.h"

#include <errno.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <sys/syscall.h>

int fs_diag_socket(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const unsigned word = CAP_NET_ADMIN / 32, bit = 1u << (CAP_NET_ADMIN % 32);
	int dropped = 0, fd, err;

	/* Capabilities are per thread: this touches the calling thread only. */
	if (syscall(SYS_capget, &hdr, data) == 0 && (data[word].effective & bit)) {
		data[word].effective &= ~bit;
		dropped = syscall(SYS_capset, &hdr, data) == 0;
	}
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	err = fd < 0 ? -errno : 0;
	if (dropped) {
		data[word].effective |= bit;
		syscall(SYS_capset, &hdr, data);
	}
	return fd < 0 ? err : fd;
}
