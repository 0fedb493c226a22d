/*
 * sockdiag.c - the kernel's own answer to "which socket is this":
 * exact-match NETLINK_SOCK_DIAG requests (inet_diag for TCP listeners,
 * unix_diag for a Unix socket's peer).
 *
 * RFloop needs them because a name proves nothing: an abstract Unix name
 * can be bound by anyone once it is free, and an address:port says nothing
 * about which listener owns it.  A socket cookie (SO_COOKIE, 64 bits,
 * never reused while the machine runs) and the kernel's listener look-up
 * do: the TCP question is asked exactly as a SYN to addr:port would be
 * routed, and a cookie that differs is the kernel's ESTALE.
 */
#define _GNU_SOURCE
#include "base/sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int base_sockdiag_open(void)
{
	return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

/* Send one request of len bytes (after its header) and receive the answer
 * into ans: the answer's payload, or -errno (the kernel's error). */
static int ask(int nl, void *req, size_t len, void *ans, size_t anslen)
{
	struct nlmsghdr *h = req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	h->nlmsg_len = (uint32_t)(NLMSG_HDRLEN + len);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_REQUEST;
	if (sendto(nl, req, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	ssize_t n = recv(nl, ans, anslen, 0);
	if (n < 0)
		return -errno;
	struct nlmsghdr *a = ans;
	if (n < (ssize_t)NLMSG_HDRLEN || !NLMSG_OK(a, (size_t)n))
		return -EPROTO;
	if (a->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(a);
		return e->error ? e->error : -ENOENT;
	}
	return a->nlmsg_type == SOCK_DIAG_BY_FAMILY ? 0 : -EPROTO;
}

int base_sockdiag_tcp_listener_is(int nl, int family, const void *addr, uint16_t port,
				  uint64_t cookie)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = { .r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1u << TCP_LISTEN } };
	union {
		struct nlmsghdr h;
		char buf[1024];
	} ans;

	req.r.id.idiag_sport = htons(port);
	memcpy(req.r.id.idiag_src, addr, family == AF_INET ? 4 : 16);
	req.r.id.idiag_cookie[0] = (uint32_t)cookie;
	req.r.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	int rc = ask(nl, &req, sizeof(req.r), &ans, sizeof(ans));
	if (rc == -ENOENT || rc == -ESTALE)
		return 0;   /* no listener there, or another socket than the cookie's */
	if (rc < 0)
		return rc;
	const struct inet_diag_msg *m = NLMSG_DATA(&ans.h);
	return m->idiag_state == TCP_LISTEN;
}

int base_sockdiag_unix_peer(int nl, uint64_t ino, uint64_t *peer)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = { .r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u,
			 .udiag_ino = (uint32_t)ino, .udiag_show = UDIAG_SHOW_PEER,
			 .udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } };
	union {
		struct nlmsghdr h;
		char buf[1024];
	} ans;

	if (ino > UINT32_MAX)
		return -EOVERFLOW;
	int rc = ask(nl, &req, sizeof(req.r), &ans, sizeof(ans));
	if (rc < 0)
		return rc;
	struct unix_diag_msg *m = NLMSG_DATA(&ans.h);
	int len = (int)(ans.h.nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= (int)sizeof(uint32_t)) {
			uint32_t p;
			memcpy(&p, RTA_DATA(a), sizeof(p));
			*peer = p;
			return 0;
		}
	return -ENOTCONN;
}
