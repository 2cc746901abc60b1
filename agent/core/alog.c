/* SPDX-License-Identifier: MIT */
/* alog.c: compiling access-log formats and parsing their lines. */
#include "alog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const struct {
	const char *name, *spec;
} named[] = {
	{"combined", "$remote_addr - $remote_user [$time_local] \"$request\" $status "
	             "$body_bytes_sent \"$http_referer\" \"$http_user_agent\""},
	{"common", "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent"},
	{"main", "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
	         "\"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\""},
	{"vhost_combined", "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""},
};

static const struct {
	const char *name;
	ag_alog_field_t field;
} nginx_vars[] = {
	{"remote_addr", AG_ALOG_ADDR},
	{"realip_remote_addr", AG_ALOG_ADDR},
	{"http_x_forwarded_for", AG_ALOG_XFF},
	{"proxy_add_x_forwarded_for", AG_ALOG_XFF},
	{"http_x_real_ip", AG_ALOG_XFF},
	{"status", AG_ALOG_STATUS},
	{"body_bytes_sent", AG_ALOG_BYTES},
	{"bytes_sent", AG_ALOG_BYTES},
	{"request", AG_ALOG_REQUEST},
	{"host", AG_ALOG_HOST},
	{"http_host", AG_ALOG_HOST},
	{"server_name", AG_ALOG_HOST},
	{"http_user_agent", AG_ALOG_UA},
};

/* Apache's %{Header}i fields that fleetstat reads (case does not matter). */
static const struct {
	const char *name;
	ag_alog_field_t field;
} apache_headers[] = {
	{"X-Forwarded-For", AG_ALOG_XFF},
	{"X-Real-IP", AG_ALOG_XFF},
	{"Host", AG_ALOG_HOST},
	{"User-Agent", AG_ALOG_UA},
};

static int failf(char *err, size_t errlen, const char *fmt, const char *a, size_t alen)
{
	snprintf(err, errlen, fmt, (int)alen, a);
	return -EINVAL;
}

/* Compiler state: the literal being gathered after the last field. */
typedef struct {
	ag_alog_fmt_t *f;
	size_t lit_len;     /* bytes in f->lit */
	size_t cur_off;     /* where the current literal starts */
	char *err;
	size_t errlen;
	const char *last_name;  /* the last field's name in the spec, for messages */
	size_t last_name_len;
} comp_t;

static int lit_byte(comp_t *c, char ch)
{
	if (c->lit_len == sizeof(c->f->lit))
		return failf(c->err, c->errlen, "%.*s: more literal text than a format may have",
		             "format", 6);
	c->f->lit[c->lit_len++] = ch;
	return 0;
}

/* Closes the literal before a new field (or the end), and starts the field. */
static void end_literal(comp_t *c)
{
	ag_alog_fmt_t *f = c->f;
	size_t len = c->lit_len - c->cur_off;

	if (f->n == 0) {
		f->lead_len = (uint16_t)len;
	} else {
		f->items[f->n - 1].lit_off = (uint16_t)c->cur_off;
		f->items[f->n - 1].lit_len = (uint16_t)len;
	}
	c->cur_off = c->lit_len;
}

static int add_field(comp_t *c, ag_alog_field_t field, const char *name, size_t name_len)
{
	ag_alog_fmt_t *f = c->f;
	bool joined = f->n > 0 && c->lit_len == c->cur_off;

	end_literal(c);
	if (joined) {
		ag_alog_item_t *prev = &f->items[f->n - 1];

		if (prev->field != AG_ALOG_SKIP || field != AG_ALOG_SKIP) {
			char a[64];

			snprintf(a, sizeof(a), "%.*s", (int)c->last_name_len, c->last_name);
			snprintf(c->err, c->errlen,
			         "'%s' and '%.*s' have nothing between them: where one ends cannot be told",
			         a, (int)name_len, name);
			return -EINVAL;
		}
		c->last_name = name;
		c->last_name_len = name_len;
		return 0;   /* two fields not read are one */
	}
	if (f->n == AG_ALOG_MAX_FIELDS)
		return failf(c->err, c->errlen, "%.*s: more than 64 fields", "format", 6);
	f->items[f->n++] = (ag_alog_item_t){.field = (uint8_t)field};
	if (field != AG_ALOG_SKIP && (f->have & (1u << field)) && field != AG_ALOG_HOST) {
		/* The first of two is the one read; a second one only read past. */
		f->items[f->n - 1].field = AG_ALOG_SKIP;
	}
	f->have |= 1u << field;
	c->last_name = name;
	c->last_name_len = name_len;
	return 0;
}

static ag_alog_field_t nginx_field(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++)
		if (strlen(nginx_vars[i].name) == len && memcmp(nginx_vars[i].name, name, len) == 0)
			return nginx_vars[i].field;
	return AG_ALOG_SKIP;
}

static bool is_var(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* $name or ${name} at s[*i]; moves *i past it. */
static int nginx_var(comp_t *c, const char *s, size_t *i)
{
	size_t start = *i + 1, end;

	if (s[start] == '{') {
		const char *close = strchr(s + start, '}');

		if (close == NULL)
			return failf(c->err, c->errlen, "'%.*s': no '}'", s + *i, strlen(s + *i));
		end = (size_t)(close - s);
		*i = end + 1;
		start++;
	} else {
		for (end = start; is_var(s[end]); end++)
			;
		*i = end;
	}
	if (end == start)
		return lit_byte(c, '$');   /* a lone '$' is text */
	return add_field(c, nginx_field(s + start, end - start), s + start - 1, end - start + 1);
}

/* %[!0-9,]*[<>]?({...})?X at s[*i]; moves *i past it. */
static int apache_directive(comp_t *c, const char *s, size_t *i)
{
	size_t at = *i, j = *i + 1, arg = 0, arg_len = 0;
	ag_alog_field_t field = AG_ALOG_SKIP;
	char d;

	if (s[j] == '%') {
		*i = j + 1;
		return lit_byte(c, '%');
	}
	while (s[j] == '!' || s[j] == ',' || (s[j] >= '0' && s[j] <= '9'))
		j++;
	if (s[j] == '<' || s[j] == '>')
		j++;
	if (s[j] == '{') {
		const char *close = strchr(s + j, '}');

		if (close == NULL)
			return failf(c->err, c->errlen, "'%.*s': no '}'", s + *i, strlen(s + *i));
		arg = j + 1;
		arg_len = (size_t)(close - s) - arg;
		j = (size_t)(close - s) + 1;
	}
	if (s[j] == '^' && s[j + 1] != '\0' && s[j + 2] != '\0') {
		*i = j + 3;   /* %^ti, %^to: trailers */
		return add_field(c, AG_ALOG_SKIP, s + at, *i - at);
	}
	d = s[j];
	if (d == '\0')
		return failf(c->err, c->errlen, "'%.*s': a directive without its letter", s + *i,
		             strlen(s + *i));
	switch (d) {
	case 'h': case 'a': field = AG_ALOG_ADDR; break;
	case 's': field = AG_ALOG_STATUS; break;
	case 'b': case 'B': case 'O': field = AG_ALOG_BYTES; break;
	case 'r': field = AG_ALOG_REQUEST; break;
	case 'v': case 'V': field = AG_ALOG_HOST; break;
	case 't': field = arg_len == 0 && arg == 0 ? AG_ALOG_TIME : AG_ALOG_SKIP; break;
	case 'i':
		for (size_t k = 0; k < sizeof(apache_headers) / sizeof(apache_headers[0]); k++)
			if (strlen(apache_headers[k].name) == arg_len &&
			    strncasecmp(apache_headers[k].name, s + arg, arg_len) == 0)
				field = apache_headers[k].field;
		break;
	default: break;
	}
	if (d == 'a' && arg_len > 0)
		field = AG_ALOG_ADDR;   /* %{c}a: the peer of the connection */
	*i = j + 1;
	return add_field(c, field, s + at, *i - at);
}

/* The literal's quotes: a field between '"'s reads past backslash escapes. */
static void mark_quoted(ag_alog_fmt_t *f)
{
	for (size_t k = 0; k < f->n; k++) {
		const char *before;
		size_t before_len;

		if (k == 0) {
			before = f->lit;
			before_len = f->lead_len;
		} else {
			before = f->lit + f->items[k - 1].lit_off;
			before_len = f->items[k - 1].lit_len;
		}
		f->items[k].quoted = before_len > 0 && before[before_len - 1] == '"' &&
		                     f->items[k].lit_len > 0 && f->lit[f->items[k].lit_off] == '"';
	}
}

int ag_alog_compile(const char *spec, ag_alog_client_t client, ag_alog_fmt_t *f,
                    char *err, size_t errlen)
{
	comp_t c = {.f = f, .err = err, .errlen = errlen};
	const char *dollar, *pct;
	bool nginx;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	f->client = client;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(spec, named[i].name) == 0)
			spec = named[i].spec;
	dollar = strchr(spec, '$');
	pct = strchr(spec, '%');
	nginx = dollar != NULL && (pct == NULL || dollar < pct);
	for (size_t i = 0; spec[i] != '\0' && rc == 0;) {
		char ch = spec[i];

		if (ch == '\\' && (spec[i + 1] == '"' || spec[i + 1] == '\\' || spec[i + 1] == 't')) {
			rc = lit_byte(&c, spec[i + 1] == 't' ? '\t' : spec[i + 1]);
			i += 2;
		} else if (nginx && ch == '$') {
			rc = nginx_var(&c, spec, &i);
		} else if (!nginx && ch == '%') {
			rc = apache_directive(&c, spec, &i);
		} else {
			rc = lit_byte(&c, ch);
			i++;
		}
	}
	if (rc < 0)
		return rc;
	end_literal(&c);
	mark_quoted(f);
	if (f->n == 0)
		return failf(err, errlen, "'%.*s': no fields (a name, or a log_format / LogFormat string)",
		             spec, strlen(spec));
	if (!(f->have & (1u << AG_ALOG_ADDR)) &&
	    !(client == AG_ALOG_CLIENT_XFF && (f->have & (1u << AG_ALOG_XFF)))) {
		snprintf(err, errlen, "the format has no client address ($remote_addr, %%h, %%a)");
		return -EINVAL;
	}
	if (client == AG_ALOG_CLIENT_XFF && !(f->have & (1u << AG_ALOG_XFF))) {
		snprintf(err, errlen, "the client is to come from a forwarded-for field, and the format"
		         " has none ($http_x_forwarded_for, %%{X-Forwarded-For}i)");
		return -EINVAL;
	}
	if (!(f->have & (1u << AG_ALOG_STATUS))) {
		snprintf(err, errlen, "the format has no status ($status, %%>s)");
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ lines */

/* a.b.c.d, each part 0..255 without leading zeros beyond one digit, as inet_pton takes it. */
static bool parse_ip4(const char *p, size_t n, uint8_t a[16])
{
	const char *end = p + n;

	memset(a, 0, 16);
	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		const char *s = p;

		while (p < end && *p >= '0' && *p <= '9' && p - s < 3)
			v = v * 10 + (unsigned)(*p++ - '0');
		if (p == s || v > 255 || (p - s > 1 && *s == '0'))
			return false;
		a[part] = (uint8_t)v;
		if (part < 3 && (p == end || *p++ != '.'))
			return false;
	}
	return p == end;
}

static bool parse_ip(const char *p, size_t n, int *fam, uint8_t a[16])
{
	char tmp[64];

	if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(tmp))
		return false;
	if (parse_ip4(p, n, a)) {
		*fam = AF_INET;
		return true;
	}
	if (memchr(p, ':', n) == NULL)
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET6, tmp, a) != 1)
		return false;
	*fam = AF_INET6;
	/* ::ffff:a.b.c.d is the IPv4 client of a dual-stack listener. */
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		*fam = AF_INET;
	}
	return true;
}

/* The last address in a forwarded-for list ("a, b, c"); false when none is one. */
static bool parse_xff(const char *p, size_t n, int *fam, uint8_t a[16])
{
	size_t end = n;

	while (end > 0) {
		size_t start;

		while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == ','))
			end--;
		start = end;
		while (start > 0 && p[start - 1] != ',' && p[start - 1] != ' ')
			start--;
		if (end > start)
			return parse_ip(p + start, end - start, fam, a);
		break;
	}
	return false;
}

/* The host of an absolute URL in "METHOD http://host/... PROTO", or NULL. */
static const char *request_host(const char *p, size_t n, size_t *len)
{
	const char *sp = memchr(p, ' ', n), *h, *end;
	size_t skip;

	if (sp == NULL)
		return NULL;
	sp++;
	n -= (size_t)(sp - p);
	if (n == 0 || (*sp != 'h' && *sp != 'H'))
		return NULL;   /* "/path": the common case */
	if (n > 7 && strncasecmp(sp, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp(sp, "https://", 8) == 0)
		skip = 8;
	else
		return NULL;
	h = sp + skip;
	for (end = h; end < sp + n && *end != '/' && *end != ' ' && *end != '?'; end++)
		;
	*len = (size_t)(end - h);
	return *len > 0 ? h : NULL;
}

/* Where a field's value ends: at its literal's first byte (a quoted one past escapes). */
static const char *value_end(const ag_alog_fmt_t *f, const ag_alog_item_t *it, const char *p,
                             const char *end)
{
	char stop;

	if (it->field == AG_ALOG_TIME && p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		return close ? close + 1 : NULL;
	}
	if (it->lit_len == 0) {
		/* The last field: a word ends at a blank, so that a longer format's lines parse too. */
		if (it->field == AG_ALOG_ADDR || it->field == AG_ALOG_STATUS ||
		    it->field == AG_ALOG_BYTES || it->field == AG_ALOG_HOST) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			return sp ? sp : end;
		}
		return end;
	}
	stop = f->lit[it->lit_off];
	if (it->quoted) {
		/* The first quote not escaped: after an even run of backslashes. */
		while (p < end) {
			const char *q = memchr(p, stop, (size_t)(end - p)), *b;

			if (q == NULL)
				return NULL;
			for (b = q; b > p && b[-1] == '\\'; b--)
				;
			if ((q - b) % 2 == 0)
				return q;
			p = q + 1;
		}
		return NULL;
	}
	/* Short values (an address, a status, "-"): a loop beats a call. */
	for (; p < end; p++)
		if (*p == stop)
			return p;
	return NULL;
}

static bool lit_at(const char *p, const char *lit, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != lit[i])
			return false;
	return true;
}

ag_alog_result_t ag_alog_parse(const ag_alog_fmt_t *f, const char *line, size_t len,
                               ag_alog_line_t *out)
{
	const char *p = line, *end = line + len;
	const char *addr = NULL, *xff = NULL, *status = NULL;
	size_t addr_len = 0, xff_len = 0, status_len = 0;
	const char *req = NULL;
	size_t req_len = 0;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (len < f->lead_len || !lit_at(p, f->lit, f->lead_len))
		return AG_ALOG_BAD_SHAPE;
	p += f->lead_len;
	for (size_t k = 0; k < f->n; k++) {
		const ag_alog_item_t *it = &f->items[k];
		const char *v = p, *ve = value_end(f, it, p, end);
		size_t vn;

		/*
		 * The literal after the value starts at a byte the value may hold too (a space in
		 * $remote_user, which a client chooses): the next place where the whole literal is.
		 */
		while (ve != NULL && it->lit_len > 0 &&
		       ((size_t)(end - ve) < it->lit_len || !lit_at(ve, f->lit + it->lit_off, it->lit_len)))
			ve = ve < end ? value_end(f, it, ve + 1, end) : NULL;
		if (ve == NULL)
			return AG_ALOG_BAD_SHAPE;
		vn = (size_t)(ve - v);
		p = ve + it->lit_len;
		switch ((ag_alog_field_t)it->field) {
		case AG_ALOG_ADDR: addr = v; addr_len = vn; break;
		case AG_ALOG_XFF: xff = v; xff_len = vn; break;
		case AG_ALOG_STATUS: status = v; status_len = vn; break;
		case AG_ALOG_BYTES:
			if (vn == 1 && v[0] == '-')
				break;
			if (vn == 0 || vn > 19)
				return AG_ALOG_BAD_SHAPE;
			for (size_t i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9')
					return AG_ALOG_BAD_SHAPE;
				out->bytes = out->bytes * 10 + (uint64_t)(v[i] - '0');
			}
			break;
		case AG_ALOG_REQUEST: req = v; req_len = vn; break;
		case AG_ALOG_HOST:
			if (out->host == NULL && vn > 0 && !(vn == 1 && v[0] == '-')) {
				out->host = v;
				out->host_len = vn;
			}
			break;
		case AG_ALOG_UA:
			if (vn > 0 && !(vn == 1 && v[0] == '-')) {
				out->ua = v;
				out->ua_len = vn;
			}
			break;
		case AG_ALOG_SKIP:
		case AG_ALOG_TIME:
			break;
		}
	}
	if (status_len != 3 || status[0] < '1' || status[0] > '9' || status[1] < '0' ||
	    status[1] > '9' || status[2] < '0' || status[2] > '9')
		return AG_ALOG_BAD_STATUS;
	out->status = (uint16_t)((status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0'));
	ok = f->client == AG_ALOG_CLIENT_XFF && xff != NULL &&
	     parse_xff(xff, xff_len, &out->family, out->addr);
	if (!ok)
		ok = addr != NULL && parse_ip(addr, addr_len, &out->family, out->addr);
	if (!ok)
		return AG_ALOG_BAD_CLIENT;
	if (out->host == NULL && req != NULL)
		out->host = request_host(req, req_len, &out->host_len);
	return AG_ALOG_OK;
}

const char *ag_alog_detect(const char *buf, size_t len)
{
	static const char *const cands[] = {"combined", "common"};
	ag_alog_fmt_t f[2];
	size_t hits[2] = {0, 0}, lines = 0;
	const char *p = buf, *end = buf + len;
	char err[160];
	ag_alog_line_t l;

	for (int i = 0; i < 2; i++)
		if (ag_alog_compile(cands[i], AG_ALOG_CLIENT_ADDR, &f[i], err, sizeof(err)) < 0)
			return NULL;
	while (p < end && lines < 64) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0) {
			lines++;
			for (int i = 0; i < 2; i++)
				hits[i] += ag_alog_parse(&f[i], p, n, &l) == AG_ALOG_OK;
		}
		p = nl ? nl + 1 : end;
	}
	/* combined lines are common lines with more after them: combined when as many parse. */
	if (lines == 0)
		return NULL;
	if (hits[0] * 2 >= lines && hits[0] >= hits[1])
		return cands[0];
	if (hits[1] * 2 >= lines)
		return cands[1];
	return NULL;
}
