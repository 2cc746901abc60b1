/* SPDX-License-Identifier: MIT */
/*
 * alog.h: web servers' access-log lines.  A format (combined, common, nginx's
 * main, Apache's vhost_combined, or an nginx log_format / Apache LogFormat
 * string) is compiled once; then each line gives its client address, status,
 * bytes sent, requested host and user agent.  Pure: buffers in, values out.
 */
#ifndef AG_ALOG_H
#define AG_ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a field of the format is to fleetstat. */
typedef enum {
	AG_ALOG_SKIP = 0, /* read past, not kept */
	AG_ALOG_ADDR,     /* $remote_addr, %h, %a: the connecting address */
	AG_ALOG_XFF,      /* $http_x_forwarded_for, $http_x_real_ip, %{X-Forwarded-For}i */
	AG_ALOG_STATUS,   /* $status, %>s, %s */
	AG_ALOG_BYTES,    /* $body_bytes_sent, $bytes_sent, %b, %B, %O */
	AG_ALOG_REQUEST,  /* $request, %r: "GET /path HTTP/1.1" (an absolute URL gives a host) */
	AG_ALOG_HOST,     /* $host, $server_name, $http_host, %v, %V, %{Host}i */
	AG_ALOG_UA,       /* $http_user_agent, %{User-Agent}i */
	AG_ALOG_TIME,     /* Apache's %t, "[07/Dec/2026:10:00:00 +0000]", spaces inside */
} ag_alog_field_t;

/* Where the client's address comes from. */
typedef enum {
	AG_ALOG_CLIENT_ADDR = 0, /* the connecting address (remote_addr) */
	AG_ALOG_CLIENT_XFF,      /* the forwarded-for field's last address (the one the
	                            nearest proxy saw), the connecting one when it has none */
} ag_alog_client_t;

#define AG_ALOG_MAX_FIELDS 64
#define AG_ALOG_MAX_LITERAL 1024 /* bytes of literal text in a format, all told */

typedef struct {
	uint8_t field;            /* ag_alog_field_t */
	uint8_t quoted;           /* between '"'s: a backslash escapes the next byte */
	uint16_t lit_off, lit_len;/* the literal text after it (0: to the end of the line) */
} ag_alog_item_t;

typedef struct {
	char lit[AG_ALOG_MAX_LITERAL];
	uint16_t lead_len;        /* literal text before the first field (at lit[0]) */
	ag_alog_item_t items[AG_ALOG_MAX_FIELDS];
	size_t n;
	uint32_t have;            /* 1 << field for each field present */
	ag_alog_client_t client;
} ag_alog_fmt_t;

/*
 * Compiles spec: a name (combined, common, main, vhost_combined) or a format
 * string: nginx's when it has $variables ("$remote_addr - $remote_user
 * [$time_local] ..."), Apache's when it has %directives ("%h %l %u %t ...").
 * \" \\ and \t in it are the quote, the backslash and a tab.  The format
 * needs a client address (the one client names, or the connecting one) and
 * a status; two fields with nothing between them are refused unless neither
 * is read.  0, or -EINVAL with the reason in err.
 */
int ag_alog_compile(const char *spec, ag_alog_client_t client, ag_alog_fmt_t *f,
                    char *err, size_t errlen);

/* One line's values; host and ua point into the line. */
typedef struct {
	int family;               /* AF_INET or AF_INET6 */
	uint8_t addr[16];         /* the client; IPv4 in the first 4 bytes, IPv4-mapped folded */
	uint16_t status;          /* 100..999 */
	uint64_t bytes;           /* bytes sent ("-" is 0) */
	const char *host;         /* the requested host ($host, else the URL's), or NULL */
	size_t host_len;
	const char *ua;           /* the user agent, or NULL when not logged or "-" */
	size_t ua_len;
} ag_alog_line_t;

typedef enum {
	AG_ALOG_OK = 0,
	AG_ALOG_BAD_SHAPE,        /* not the format's literals and fields */
	AG_ALOG_BAD_CLIENT,       /* no address where the client should be */
	AG_ALOG_BAD_STATUS,       /* not a three-digit status */
	AG_ALOG_NREASONS
} ag_alog_result_t;

/*
 * Parses line[0..len) (no newline; need not be NUL-terminated; nothing past
 * len is read; nothing allocated).  Text after the format's last field is
 * allowed (a format that logs more than the one named).
 */
ag_alog_result_t ag_alog_parse(const ag_alog_fmt_t *f, const char *line, size_t len,
                               ag_alog_line_t *out);

/*
 * Guesses the format of buf[0..len) from its first lines (up to 64 non-blank
 * ones): "combined" or "common", whichever most of them parse as, or NULL
 * when fewer than half parse as either.
 */
const char *ag_alog_detect(const char *buf, size_t len);

#endif
