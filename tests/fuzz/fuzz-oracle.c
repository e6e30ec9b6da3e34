/* The acknowledgment oracle of the fuzz harnesses: what a composed
   acknowledgment must be whatever the customer's mail and the template held
   (see fuzz_check_ack() in fuzz-common.h). Written independently of
   frontdesk-ack.c; parses with libdovecot's address, date, RFC 2047 and QP
   decoders. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "message-address.h"
#include "message-date.h"
#include "message-header-decode.h"
#include "qp-decoder.h"
#include "frontdesk-template.h"
#include "frontdesk-ack.h"
#include "fuzz-common.h"

#include <ctype.h>

/* RFC 5322 2.1.1 */
#define LINE_MAX_BYTES 998

const char fuzz_ack_template_text[] =
	"# the fuzz harnesses' template: values side by side\n"
	"[subject]\n"
	"[{{ticket}}] {{subject}}\n"
	"[need]\n"
	"billing = billing\n"
	"unknown = your message\n"
	"[team]\n"
	"front = front\n"
	"back = back\n"
	"[when]\n"
	"today = by {{time}} today\n"
	"tomorrow = by tomorrow at {{time}}\n"
	"week = by {{weekday}} {{time}}\n"
	"later = by {{weekday}} {{day}} {{month}} {{year}}, {{time}}\n"
	"weekdays = Sun Mon Tue Wed Thu Fri Sat\n"
	"months = Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec\n"
	"[text]\n"
	"{{name}}|{{subject}}|{{ticket}}\n"
	"{{need}} {{team}} {{deadline}} {{company}}{{#urgent}} urgent{{/urgent}}\n"
	"[html]\n"
	"<p class=\"fz\">{{name}}|{{subject}}|{{ticket}}</p>\n"
	"<p>{{need}} {{team}} {{deadline}}<br>{{company}}{{#urgent}} <strong>urgent</strong>{{/urgent}}</p>\n";

static const char *const ack_header_names[] = {
	"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To",
	"References", "Auto-Submitted", "X-Auto-Response-Suppress",
	"X-Frontdesk-Ack", "Content-Language", "MIME-Version", "Content-Type",
	NULL
};
static const bool ack_header_required[] = {
	TRUE, TRUE, TRUE, TRUE, TRUE, FALSE,
	FALSE, TRUE, TRUE,
	TRUE, TRUE, TRUE, TRUE
};

struct ack_field {
	const char *name;
	/* value with CRLFs removed (RFC 5322 unfolding) */
	const char *value;
};

static const char *line_at(const unsigned char *d, size_t size, size_t pos)
{
	size_t start = pos, end = pos;

	while (start > 0 && d[start-1] != '\n')
		start--;
	while (end < size && d[end] != '\n')
		end++;
	return fuzz_escape(d + start, end - start, 400);
}

/* CRLF everywhere, no NUL, 7-bit, lines <= 998 bytes */
static void check_bytes(const unsigned char *d, size_t size)
{
	size_t i, line_start = 0;

	for (i = 0; i < size; i++) {
		if (d[i] == '\0')
			fuzz_fail("ack: NUL byte in line '%s'",
				  line_at(d, size, i));
		if (d[i] >= 0x80)
			fuzz_fail("ack: 8-bit byte 0x%02x in line '%s'", d[i],
				  line_at(d, size, i));
		if (d[i] == '\n' && (i == 0 || d[i-1] != '\r'))
			fuzz_fail("ack: bare LF after '%s'",
				  line_at(d, size, i == 0 ? 0 : i - 1));
		if (d[i] == '\r' && (i + 1 == size || d[i+1] != '\n'))
			fuzz_fail("ack: bare CR in line '%s'",
				  line_at(d, size, i));
		if (d[i] == '\n') {
			if (i - 1 - line_start > LINE_MAX_BYTES)
				fuzz_fail("ack: line of %zu bytes: '%s'",
					  i - 1 - line_start,
					  line_at(d, size, line_start));
			line_start = i + 1;
		}
	}
	if (size < 2 || d[size-1] != '\n')
		fuzz_fail("ack: does not end with CRLF");
}

static void parse_headers(const char *hdr, ARRAY_TYPE(const_string) *names,
			  ARRAY_TYPE(const_string) *values)
{
	const char *const *lines = t_strsplit(hdr, "\n");
	string_t *cur = NULL;
	const char *line, *colon, *p, *name;
	unsigned int i;

	for (i = 0; lines[i] != NULL; i++) {
		line = t_strcut(lines[i], '\r');
		if (*line == '\0')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			if (cur == NULL)
				fuzz_fail("ack: header block starts with a "
					  "continuation line '%s'",
					  fuzz_escape(line, strlen(line), 200));
			if (*t_str_trim(line, " \t") == '\0')
				fuzz_fail("ack: header continuation line of "
					  "whitespace only after '%s'",
					  fuzz_escape(str_c(cur), str_len(cur), 200));
			str_append(cur, line);
			continue;
		}
		colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			fuzz_fail("ack: header line without a name: '%s'",
				  fuzz_escape(line, strlen(line), 200));
		for (p = line; p < colon; p++) {
			if (*p <= 0x20 || *p >= 0x7f)
				fuzz_fail("ack: invalid header name in '%s'",
					  fuzz_escape(line, strlen(line), 200));
		}
		name = t_strdup_until(line, colon);
		array_push_back(names, &name);
		cur = t_str_new(256);
		str_append(cur, colon + 1);
		array_push_back(values, (const char **)&cur);
	}
	/* values: string_t pointers -> strings */
	for (i = 0; i < array_count(values); i++) {
		string_t *s = (string_t *)array_idx_elem(values, i);
		const char *v = str_c(s);
		array_idx_set(values, i, &v);
	}
}

static const char *field(const ARRAY_TYPE(const_string) *names,
			 const ARRAY_TYPE(const_string) *values,
			 const char *name)
{
	unsigned int i;

	for (i = 0; i < array_count(names); i++) {
		if (strcasecmp(array_idx_elem(names, i), name) == 0)
			return array_idx_elem(values, i);
	}
	return NULL;
}

static const char *decode_2047(const char *value)
{
	buffer_t *dest = t_buffer_create(strlen(value) + 16);

	message_header_decode_utf8((const unsigned char *)value, strlen(value),
				   dest, NULL);
	return str_c(dest);
}

static void check_address(const char *hname, const char *value,
			  const char *want_addr, const char *want_name)
{
	pool_t pool = pool_datastack_create();
	struct message_address *addr;
	const char *got, *name;

	addr = message_address_parse(pool, (const unsigned char *)value,
				     strlen(value), 10, 0);
	if (addr == NULL || addr->next != NULL || addr->invalid_syntax ||
	    addr->mailbox == NULL || addr->domain == NULL)
		fuzz_fail("ack: %s is not one valid address: '%s'", hname,
			  fuzz_escape(value, strlen(value), 300));
	got = t_strdup_printf("%s@%s", addr->mailbox, addr->domain);
	if (strcasecmp(got, want_addr) != 0)
		fuzz_fail("ack: %s is <%s>, not <%s> ('%s')", hname, got,
			  want_addr, fuzz_escape(value, strlen(value), 300));
	if (want_name == NULL)
		return;
	name = addr->name == NULL ? "" : decode_2047(addr->name);
	if (strcmp(name, want_name) != 0)
		fuzz_fail("ack: %s display name decodes to '%s', not '%s' "
			  "('%s')", hname, fuzz_escape(name, strlen(name), 200),
			  fuzz_escape(want_name, strlen(want_name), 200),
			  fuzz_escape(value, strlen(value), 300));
}

static void check_subject(const char *value,
			  const struct fuzz_ack_expect *exp)
{
	const char *dec = decode_2047(t_str_trim(value, " \t"));
	const char *p;

	if (!uni_utf8_str_is_valid(dec))
		fuzz_fail("ack: Subject decodes to invalid UTF-8: '%s'",
			  fuzz_escape(value, strlen(value), 400));
	for (p = dec; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_fail("ack: Subject decodes to '%s' with a control "
				  "character (raw '%s')",
				  fuzz_escape(dec, strlen(dec), 300),
				  fuzz_escape(value, strlen(value), 400));
	}
	if (strstr(dec, exp->ticket) == NULL)
		fuzz_fail("ack: Subject '%s' lacks the ticket",
			  fuzz_escape(dec, strlen(dec), 300));
	if (exp->subject_in_subject && strstr(dec, exp->subject) == NULL)
		fuzz_fail("ack: Subject decodes to '%s', which does not hold "
			  "the customer's subject '%s' (raw '%s')",
			  fuzz_escape(dec, strlen(dec), 300),
			  fuzz_escape(exp->subject, strlen(exp->subject), 300),
			  fuzz_escape(value, strlen(value), 400));
	if (exp->own_template) {
		const char *want = *exp->subject == '\0' ?
			t_strdup_printf("[%s]", exp->ticket) :
			t_strdup_printf("[%s] %s", exp->ticket, exp->subject);
		if (strcmp(dec, want) != 0)
			fuzz_fail("ack: Subject decodes to '%s', not '%s' "
				  "(raw '%s')", fuzz_escape(dec, strlen(dec), 300),
				  fuzz_escape(want, strlen(want), 300),
				  fuzz_escape(value, strlen(value), 400));
	}
}

static void check_msgids(const char *hname, const char *value)
{
	const char *const *ids = t_strsplit_spaces(value, " \t");

	if (ids[0] == NULL)
		fuzz_fail("ack: empty %s", hname);
	for (; *ids != NULL; ids++) {
		if (!frontdesk_ack_msgid_valid(*ids))
			fuzz_fail("ack: %s holds an invalid message-id '%s'",
				  hname, fuzz_escape(*ids, strlen(*ids), 300));
	}
}

/* Every '<' is closed by a '>' before the next '<'. */
static bool markup_well_formed(const char *html)
{
	bool open = FALSE;

	for (; *html != '\0'; html++) {
		if (*html == '<') {
			if (open)
				return FALSE;
			open = TRUE;
		} else if (*html == '>') {
			open = FALSE;
		}
	}
	return !open;
}

/* "<...>" substrings; '<' without '>' is markup too (it is cut short) */
static void html_tags(const char *html, ARRAY_TYPE(const_string) *tags)
{
	const char *p = html, *end, *tag;

	while ((p = strchr(p, '<')) != NULL) {
		end = strchr(p, '>');
		tag = end == NULL ? p : t_strdup_until(p, end + 1);
		array_push_back(tags, &tag);
		if (end == NULL)
			break;
		p = end + 1;
	}
}

static unsigned int count_str(const ARRAY_TYPE(const_string) *arr,
			      const char *s)
{
	const char *e;
	unsigned int n = 0;

	array_foreach_elem(arr, e) {
		if (strcmp(e, s) == 0)
			n++;
	}
	return n;
}

/* Characters that only escaping keeps out of text: a raw '&' that starts no
   entity, raw quotes and '>' outside markup. */
static unsigned int raw_specials(const char *html)
{
	const char *p;
	unsigned int n = 0;
	bool in_tag = FALSE;

	for (p = html; *p != '\0'; p++) {
		if (*p == '<')
			in_tag = TRUE;
		else if (*p == '>' && in_tag)
			in_tag = FALSE;
		else if (in_tag)
			continue;
		else if (*p == '>' || *p == '"' || *p == '\'')
			n++;
		else if (*p == '&') {
			const char *q = p + 1;

			if (*q == '#') {
				q++;
				if (*q == 'x' || *q == 'X')
					q++;
				while (i_isxdigit(*q))
					q++;
			} else {
				while (i_isalnum(*q))
					q++;
			}
			if (*q != ';' || q == p + 1)
				n++;
		}
	}
	return n;
}

static const char *replace_all(const char *str, const char *what,
				const char *with)
{
	string_t *out = t_str_new(strlen(str));
	const char *p;

	while ((p = strstr(str, what)) != NULL) {
		str_append_data(out, str, p - str);
		str_append(out, with);
		str = p + strlen(what);
	}
	str_append(out, str);
	return str_c(out);
}

/* html without its "<...>" markup */
static const char *strip_tags(const char *html)
{
	string_t *out = t_str_new(strlen(html));
	const char *p, *end;

	while ((p = strchr(html, '<')) != NULL &&
	       (end = strchr(p, '>')) != NULL) {
		str_append_data(out, html, p - html);
		html = end + 1;
	}
	str_append(out, html);
	return str_c(out);
}

static const char *html_escaped(const char *value)
{
	string_t *str = t_str_new(strlen(value) * 2);

	for (; *value != '\0'; value++) {
		switch (*value) {
		case '&': str_append(str, "&amp;"); break;
		case '<': str_append(str, "&lt;"); break;
		case '>': str_append(str, "&gt;"); break;
		case '"': str_append(str, "&quot;"); break;
		case '\'': str_append(str, "&#39;"); break;
		default: str_append_c(str, *value); break;
		}
	}
	return str_c(str);
}

static void check_html(const char *html, const struct fuzz_ack_expect *exp)
{
	const struct frontdesk_template *tpl = exp->tpl;
	ARRAY_TYPE(const_string) got, allowed;
	const char *tag, *values[2] = { exp->name, exp->subject };
	bool markup_unsure = FALSE;
	unsigned int i;

	t_array_init(&got, 32);
	t_array_init(&allowed, 32);
	html_tags(html, &got);
	html_tags(t_strdup_printf("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>"
				  "<meta charset=\"utf-8\"></head>\n<body>\n"
				  "</body>\n</html>\n", tpl->language),
		  &allowed);
	html_tags(tpl->html, &allowed);
	array_foreach_elem(&allowed, tag) {
		if (strstr(tag, "{{") != NULL)
			markup_unsure = TRUE;
	}
	if (!markup_well_formed(tpl->html)) {
		/* the author's own stray '<' swallows what follows: only
		   the value checks below still say something */
		markup_unsure = TRUE;
	}
	/* the template's markup, and no more of it */
	if (!markup_unsure) array_foreach_elem(&got, tag) {
		if (count_str(&got, tag) > count_str(&allowed, tag))
			fuzz_fail("ack: HTML part has markup that is not the "
				  "template's: '%s' (name '%s', subject '%s')",
				  fuzz_escape(tag, strlen(tag), 200),
				  fuzz_escape(exp->name, strlen(exp->name), 200),
				  fuzz_escape(exp->subject, strlen(exp->subject), 200));
	}
	if (!markup_unsure && raw_specials(html) > raw_specials(tpl->html))
		fuzz_fail("ack: HTML part has an unescaped &, quote or '>' "
			  "(name '%s', subject '%s'): '%s'",
			  fuzz_escape(exp->name, strlen(exp->name), 200),
			  fuzz_escape(exp->subject, strlen(exp->subject), 200),
			  fuzz_escape(html, strlen(html), 2000));
	for (i = 0; i < N_ELEMENTS(values); i++) {
		/* the text (markup is checked above) where it is not
		   part of the value's escaped form */
		const char *rest = *values[i] == '\0' ? "" :
			replace_all(strip_tags(html), html_escaped(values[i]), "\x01");

		if (strpbrk(values[i], "<>&\"'") != NULL &&
		    strstr(rest, values[i]) != NULL &&
		    strstr(strip_tags(tpl->html), values[i]) == NULL)
			fuzz_fail("ack: '%s' is in the HTML part unescaped",
				  fuzz_escape(values[i], strlen(values[i]), 200));
	}
	if (exp->own_template) {
		const char *want = t_strdup_printf("<p class=\"fz\">%s|%s|%s</p>",
			html_escaped(exp->name), html_escaped(exp->subject),
			exp->ticket);
		if (strstr(html, want) == NULL)
			fuzz_fail("ack: HTML part lacks '%s': '%s'",
				  fuzz_escape(want, strlen(want), 400),
				  fuzz_escape(html, strlen(html), 1000));
	}
}

/* RFC 2045 6.7 (3): a space or tab must not end an encoded line (decoders
   delete it there, as transport may have added it). */
static void check_qp_lines(const char *hname, const char *qp)
{
	const char *const *lines = t_strsplit(qp, "\n");
	unsigned int i;
	size_t len;

	for (i = 0; lines[i] != NULL; i++) {
		len = strlen(lines[i]);
		if (len > 0 && lines[i][len-1] == '\r')
			len--;
		if (len > 0 && (lines[i][len-1] == ' ' || lines[i][len-1] == '\t'))
			fuzz_fail("ack: %s part: quoted-printable line %u ends in "
				  "unencoded whitespace: '%s'", hname, i + 1,
				  fuzz_escape(lines[i], len, 200));
	}
}

static const char *part_decode(const char *hname, const char *qp)
{
	buffer_t *dest = t_buffer_create(strlen(qp) + 16);
	struct qp_decoder *dec = qp_decoder_init(dest);
	const char *error;
	size_t pos;
	int ret;

	ret = qp_decoder_more(dec, (const unsigned char *)qp, strlen(qp),
			      &pos, &error);
	if (qp_decoder_finish(dec, &error) < 0)
		ret = -1;
	qp_decoder_deinit(&dec);
	if (ret < 0)
		fuzz_fail("ack: %s part is not valid quoted-printable: '%s'",
			  hname, fuzz_escape(qp, strlen(qp), 600));
	if (!uni_utf8_data_is_valid(dest->data, dest->used))
		fuzz_fail("ack: %s part is not valid UTF-8", hname);
	/* compare with the template's LF line ends: CRLF -> LF */
	return replace_all(t_strndup(dest->data, dest->used), "\r\n", "\n");
}

static void check_body(const char *body, const char *boundary,
		       const struct fuzz_ack_expect *exp)
{
	static const char *const types[] = { "text/plain", "text/html" };
	const char *delim = t_strconcat("--", boundary, "\r\n", NULL);
	const char *close = t_strconcat("--", boundary, "--\r\n", NULL);
	const char *p = body, *next, *part, *hdr_end, *want_hdr;
	const char *decoded[2];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (strncmp(p, delim, strlen(delim)) != 0)
			fuzz_fail("ack: part %u does not start with its "
				  "boundary: '%s'", i + 1,
				  fuzz_escape(p, strlen(p), 200));
		p += strlen(delim);
		next = strstr(p, t_strconcat("\r\n--", boundary, NULL));
		if (next == NULL)
			fuzz_fail("ack: part %u is not closed", i + 1);
		part = t_strdup_until(p, next + 2);
		p = next + 2;
		want_hdr = t_strdup_printf("Content-Type: %s; charset=UTF-8\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
			types[i]);
		hdr_end = strstr(part, "\r\n\r\n");
		if (hdr_end == NULL || strncmp(part, want_hdr,
					       strlen(want_hdr)) != 0)
			fuzz_fail("ack: part %u headers are not '%s': '%s'",
				  i + 1, fuzz_escape(want_hdr, strlen(want_hdr), 200),
				  fuzz_escape(part, strlen(part), 300));
		check_qp_lines(types[i], part + strlen(want_hdr));
		decoded[i] = part_decode(types[i], part + strlen(want_hdr));
	}
	if (strcmp(p, close) != 0)
		fuzz_fail("ack: after the parts comes '%s', not the closing "
			  "boundary", fuzz_escape(p, strlen(p), 200));
	if (exp->own_template) {
		const char *want = t_strdup_printf("%s|%s|%s\n", exp->name,
						   exp->subject, exp->ticket);
		if (strstr(decoded[0], want) == NULL)
			fuzz_fail("ack: text part lacks '%s': '%s'",
				  fuzz_escape(want, strlen(want), 400),
				  fuzz_escape(decoded[0], strlen(decoded[0]), 800));
	}
	check_html(decoded[1], exp);
}

void fuzz_check_ack(const string_t *msg, const struct fuzz_ack_expect *exp)
{
	ARRAY_TYPE(const_string) names, values;
	const char *data, *sep, *value, *ctype, *boundary, *b_end;
	unsigned int i, j, n;

	check_bytes(str_data(msg), str_len(msg));
	data = t_strndup(str_data(msg), str_len(msg));
	sep = strstr(data, "\r\n\r\n");
	if (sep == NULL)
		fuzz_fail("ack: no empty line after the headers");

	t_array_init(&names, 16);
	t_array_init(&values, 16);
	parse_headers(t_strdup_until(data, sep + 2), &names, &values);
	for (i = 0; i < array_count(&names); i++) {
		const char *name = array_idx_elem(&names, i);

		if (!str_array_find(ack_header_names, name))
			fuzz_fail("ack: header '%s' is not one of the "
				  "composer's (value '%s')",
				  fuzz_escape(name, strlen(name), 100),
				  fuzz_escape(array_idx_elem(&values, i),
					      strlen(array_idx_elem(&values, i)),
					      200));
		for (j = n = 0; j < array_count(&names); j++) {
			if (strcasecmp(array_idx_elem(&names, j), name) == 0)
				n++;
		}
		if (n > 1)
			fuzz_fail("ack: header %s appears %u times", name, n);
	}
	for (i = 0; ack_header_names[i] != NULL; i++) {
		if (ack_header_required[i] &&
		    field(&names, &values, ack_header_names[i]) == NULL)
			fuzz_fail("ack: header %s is missing",
				  ack_header_names[i]);
	}

	check_address("From", field(&names, &values, "From"), exp->from_addr,
		      NULL);
	check_address("To", field(&names, &values, "To"), exp->to_addr,
		      exp->name);
	check_subject(field(&names, &values, "Subject"), exp);
	value = t_str_trim(field(&names, &values, "Date"), " \t");
	{
		time_t t;
		int tz;

		if (!message_date_parse((const unsigned char *)value,
					strlen(value), &t, &tz))
			fuzz_fail("ack: Date '%s' does not parse",
				  fuzz_escape(value, strlen(value), 100));
	}
	check_msgids("Message-ID", field(&names, &values, "Message-ID"));
	if ((value = field(&names, &values, "In-Reply-To")) != NULL)
		check_msgids("In-Reply-To", value);
	if ((value = field(&names, &values, "References")) != NULL)
		check_msgids("References", value);
	value = t_str_trim(field(&names, &values, "X-Frontdesk-Ack"), " \t");
	if (strcmp(value, exp->ticket) != 0)
		fuzz_fail("ack: X-Frontdesk-Ack '%s'",
			  fuzz_escape(value, strlen(value), 100));
	if (strcmp(t_str_trim(field(&names, &values, "Auto-Submitted"), " \t"),
		   "auto-replied") != 0)
		fuzz_fail("ack: Auto-Submitted is not auto-replied");

	ctype = t_str_trim(field(&names, &values, "Content-Type"), " \t");
	if (strncmp(ctype, "multipart/alternative; boundary=\"", 33) != 0 ||
	    (b_end = strchr(ctype + 33, '"')) == NULL)
		fuzz_fail("ack: Content-Type '%s'",
			  fuzz_escape(ctype, strlen(ctype), 200));
	boundary = t_strdup_until(ctype + 33, b_end);
	check_body(sep + 4, boundary, exp);
}
