/* SPDX-License-Identifier: Apache-2.0 */
/* json_backend.c: the benchmark's trivial HTTP/1.1 backend behind nghttpx: every request gets the same small JSON, keep-alive, one thread. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, accept4 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* About the size of /awsgate/v1/apps for one user with two apps. */
#define BODY \
	"{\"user\":\"alice\",\"expires\":\"2026-12-04T22:00:00Z\",\"apps\":[{\"name\":\"dev\"," \
	"\"labels\":{\"env\":\"dev\",\"aws_account_id\":\"123456789012\"},\"aws_account_id\":\"123456789012\"," \
	"\"public_addr\":\"dev.gate.example.com\",\"console_url\":\"https://console.aws.amazon.com/\"," \
	"\"roles\":[{\"name\":\"Dev\",\"arn\":\"arn:aws:iam::123456789012:role/Dev\",\"account_id\":\"123456789012\"}]}]}"
#define MAX_CONNS 65536 /* fds above this are closed at once */
#define BUF_MAX 16384   /* a request's header block must fit */

struct conn {
	size_t len;
	char buf[BUF_MAX];
};

static struct conn *conns[MAX_CONNS];

static void conn_close(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Answers every complete header block in the buffer; requests have no body. */
static int conn_serve(int fd, struct conn *c, const char *resp, size_t resp_len)
{
	char *end;
	size_t used;

	while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) != NULL) {
		used = (size_t)(end - c->buf) + 4;
		if (write(fd, resp, resp_len) != (ssize_t)resp_len)
			return -1;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	return c->len == BUF_MAX ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct epoll_event ev, evs[256];
	char resp[1024];
	int ep, ls, fd, n, i, one = 1, resp_len;
	ssize_t got;

	if (argc != 2) {
		fprintf(stderr, "usage: json_backend PORT (listens on 127.0.0.1)\n");
		return 2;
	}
	resp_len = snprintf(resp, sizeof(resp),
			    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			    strlen(BODY), BODY);
	if (resp_len < 0 || (size_t)resp_len >= sizeof(resp))
		return 1;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)strtoul(argv[1], NULL, 10));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(ls, 1024) != 0) {
		perror("json_backend: bind");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == ls) {
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (fd >= MAX_CONNS || (conns[fd] = calloc(1, sizeof(struct conn))) == NULL) {
						close(fd);
						continue;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			got = read(fd, conns[fd]->buf + conns[fd]->len, BUF_MAX - conns[fd]->len);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				conn_close(ep, fd);
				continue;
			}
			conns[fd]->len += (size_t)got;
			if (conn_serve(fd, conns[fd], resp, (size_t)resp_len) != 0)
				conn_close(ep, fd);
		}
	}
}
