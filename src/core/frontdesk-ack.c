/* The acknowledgment message: RFC 3834 headers, a Subject with the ticket
   reference, and a multipart/alternative body rendered from the
   template of the customer's language. Every customer-controlled value is
   cleaned (no control characters) and then escaped for where it goes:
   RFC 2047 in headers, entities in HTML. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "hex-binary.h"
#include "unichar.h"
#include "message-date.h"
#include "message-header-encode.h"
#include "qp-encoder.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-template.h"
#include "frontdesk-hours.h"
#include "frontdesk-guard.h"
#include "frontdesk-ack.h"

#include <ctype.h>

/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters. */
#define ACK_HEADER_LINE_MAX 78

const char *frontdesk_ack_safe_name(const char *display_name)
{
	const char *name, *p;
	unsigned int words = 1, letters = 0;
	unichar_t chr;
	int n;

	if (display_name == NULL)
		return "";
	name = frontdesk_template_clean_value(display_name, 0);
	/* quotes some clients leave around the name */
	name = t_str_trim(name, "\"' ");
	if (*name == '\0' || uni_utf8_strlen(name) > FRONTDESK_ACK_NAME_MAX_CHARS)
		return "";
	/* addresses, links and encoded-word leftovers are not names */
	if (strchr(name, '@') != NULL || strstr(name, "://") != NULL ||
	    strstr(t_str_lcase(name), "www.") != NULL || strstr(name, "=?") != NULL)
		return "";
	for (p = name; *p != '\0'; p += n) {
		n = uni_utf8_get_char(p, &chr);
		if (n <= 0)
			return "";
		if (chr == ' ')
			words++;
		else if (chr >= 0x80 || i_isalpha(chr))
			letters++;
		else if (strchr(".,'-()&", chr) == NULL)
			return ""; /* digits, <>, /, :, ... */
	}
	if (letters < 2 || words > FRONTDESK_ACK_NAME_MAX_WORDS)
		return "";
	return name;
}

const char *frontdesk_ack_deadline(const struct frontdesk_template *tpl,
				   const struct frontdesk_when *when)
{
	static const char *const kinds[] = {
		[FRONTDESK_WHEN_TODAY] = "today",
		[FRONTDESK_WHEN_TOMORROW] = "tomorrow",
		[FRONTDESK_WHEN_WEEK] = "week",
		[FRONTDESK_WHEN_LATER] = "later",
	};
	const char *const *weekdays, *const *months, *error;
	string_t *str = t_str_new(64);

	weekdays = t_strsplit_spaces(frontdesk_template_phrase(&tpl->when,
		"weekdays"), " ,");
	months = t_strsplit_spaces(frontdesk_template_phrase(&tpl->when,
		"months"), " ,");
	const char *vars[] = {
		"time", t_strdup_printf("%02d:%02d", when->hour, when->minute),
		"weekday", weekdays[when->weekday % 7],
		"day", t_strdup_printf("%d", when->day),
		"month", months[(when->month + 11) % 12],
		"year", t_strdup_printf("%d", when->year),
		NULL, NULL
	};
	/* validated at load: rendering cannot fail */
	if (frontdesk_template_render(frontdesk_template_phrase(&tpl->when,
			kinds[when->kind]), vars,
			FRONTDESK_TEMPLATE_ESCAPE_TEXT, str, &error) < 0)
		i_unreached();
	return str_c(str);
}

bool frontdesk_ack_msgid_valid(const char *msgid)
{
	const char *p, *at = NULL;
	size_t len;

	if (msgid == NULL || msgid[0] != '<')
		return FALSE;
	len = strlen(msgid);
	if (len < 5 || len > 250 || msgid[len-1] != '>')
		return FALSE;
	for (p = msgid + 1; p < msgid + len - 1; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '<' || *p == '>' || *p == '"' || *p == '\\' ||
		    *p == '(' || *p == ')' || *p == ',' || *p == ';')
			return FALSE;
		if (*p == '@')
			at = p;
	}
	return at != NULL && at > msgid + 1 && at < msgid + len - 2;
}

const char *frontdesk_ack_message_id(const struct frontdesk_ack_params *params,
				     const char *ticket, time_t now)
{
	return t_strdup_printf("<"FRONTDESK_ACK_MSGID_PREFIX"%s.%llx@%s>",
			       t_str_lcase(ticket), (unsigned long long)now,
			       params->msgid_domain);
}

/* Appends "Name: value" folded at spaces; value is ASCII already. */
static void header_append(string_t *dest, const char *name, const char *value)
{
	size_t line_start = str_len(dest), last_space = 0;
	const char *p;

	str_printfa(dest, "%s:", name);
	if (*value != ' ')
		str_append_c(dest, ' ');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' && str_len(dest) > line_start)
			last_space = str_len(dest);
		str_append_c(dest, *p);
		if (str_len(dest) - line_start > ACK_HEADER_LINE_MAX &&
		    last_space > line_start + strlen(name) + 2) {
			/* fold: the space becomes CRLF + space */
			str_insert(dest, last_space, "\r\n");
			line_start = last_space + 2;
			last_space = 0;
		}
	}
	str_append(dest, "\r\n");
}

static bool is_plain_ascii(const char *value)
{
	for (; *value != '\0'; value++) {
		if ((unsigned char)*value < 0x20 ||
		    (unsigned char)*value >= 0x7f)
			return FALSE;
	}
	return TRUE;
}

/* value as RFC 2047 encoded words, all of it: the spaces go inside the words
   ("_" in Q), so the folds between words are ignored when decoding (RFC 2047
   6.2) and the reader sees exactly value. Mixing plain and encoded words
   would turn a fold next to a plain word into visible whitespace. B only
   when most of it is not ASCII (Greek, Cyrillic, CJK), where Q triples it.
   libdovecot folds with a bare "\n\t" (it cannot know the message's line
   ending): every line of ours ends in CRLF. In a display name (phrase)
   always B: Q would leave "," "(" ")" '"' of the name as they are, which a
   phrase's encoded words may not hold (RFC 2047 5(3)), and a reader would
   split "Müller, Hans" into two addresses. */
static void header_encode_words(string_t *dest, const char *value,
				size_t first_line_len, bool phrase)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t i, len = strlen(value), high = 0;
	string_t *enc = t_str_new(len * 3 + 32);

	for (i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			high++;
	}
	if (phrase || high > len / 2)
		message_header_encode_b(p, len, enc, first_line_len);
	else
		message_header_encode_q(p, len, enc, first_line_len);
	p = str_data(enc);
	for (i = 0; i < str_len(enc); i++) {
		if (p[i] == '\n' && (i == 0 || p[i-1] != '\r'))
			str_append_c(dest, '\r');
		str_append_c(dest, p[i]);
	}
}

/* A header value with text from outside: plain if it is harmless ASCII,
   else RFC 2047. A literal "=?" would be decoded by the reader as an
   encoded word of the sender's making, so it forces encoding too. */
static void header_append_text(string_t *dest, const char *name,
			       const char *value)
{
	if (is_plain_ascii(value) && strstr(value, "=?") == NULL) {
		header_append(dest, name, value);
		return;
	}
	str_printfa(dest, "%s: ", name);
	header_encode_words(dest, value, strlen(name) + 2, FALSE);
	str_append(dest, "\r\n");
}

static void address_append(string_t *dest, const char *name,
			   const char *display, const char *addr)
{
	string_t *value = t_str_new(128);
	const char *p;

	if (*display == '\0') {
		header_append(dest, name, t_strdup_printf("<%s>", addr));
		return;
	}
	if (!is_plain_ascii(display) || strstr(display, "=?") != NULL) {
		header_encode_words(value, display, strlen(name) + 2, TRUE);
	} else {
		str_append_c(value, '"');
		for (p = display; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				str_append_c(value, '\\');
			str_append_c(value, *p);
		}
		str_append_c(value, '"');
	}
	str_printfa(value, " <%s>", addr);
	if (strstr(str_c(value), "\r\n") != NULL)
		str_printfa(dest, "%s: %s\r\n", name, str_c(value));
	else
		header_append(dest, name, str_c(value));
}

/* References: the customer's thread (root and latest) plus their mail. */
static const char *ack_references(const struct frontdesk_view *view)
{
	ARRAY_TYPE(const_string) ids;
	const char *const *refs, *id;
	string_t *str = t_str_new(256);
	unsigned int i, count;

	t_array_init(&ids, 16);
	refs = view->references == NULL ? NULL :
		t_strsplit_spaces(view->references, " \t,");
	for (i = 0; refs != NULL && refs[i] != NULL; i++) {
		if (frontdesk_ack_msgid_valid(refs[i]))
			array_push_back(&ids, &refs[i]);
	}
	if (array_count(&ids) == 0 &&
	    frontdesk_ack_msgid_valid(view->in_reply_to))
		array_push_back(&ids, &view->in_reply_to);
	if (frontdesk_ack_msgid_valid(view->message_id))
		array_push_back(&ids, &view->message_id);
	count = array_count(&ids);
	for (i = 0; i < count; i++) {
		/* keep the root and the newest */
		if (count > FRONTDESK_ACK_MAX_REFERENCES && i > 0 &&
		    i < count - (FRONTDESK_ACK_MAX_REFERENCES - 1))
			continue;
		id = array_idx_elem(&ids, i);
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append(str, id);
	}
	return str_c(str);
}

static const char *strip_line_ends(const char *text)
{
	string_t *out = t_str_new(strlen(text) + 1);
	const char *p;
	size_t keep;

	for (p = text; *p != '\0'; p++) {
		if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {
			keep = str_len(out);
			while (keep > 0 && (str_data(out)[keep-1] == ' ' ||
					    str_data(out)[keep-1] == '\t'))
				keep--;
			str_truncate(out, keep);
		}
		str_append_c(out, *p);
	}
	return str_c(out);
}

static void body_part_append(string_t *dest, const char *boundary,
			     const char *content_type, const char *text)
{
	struct qp_encoder *qp;

	str_printfa(dest, "--%s\r\n"
		    "Content-Type: %s; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
		    boundary, content_type);
	/* whitespace at the end of a line (a template author's) is invisible,
	   and quoted-printable must not leave it unencoded there (RFC 2045
	   6.7 (3)): libdovecot's encoder does, so drop it */
	text = strip_line_ends(text);
	qp = qp_encoder_init(dest, 76, 0);
	qp_encoder_more(qp, text, strlen(text));
	qp_encoder_finish(qp);
	qp_encoder_deinit(&qp);
	if (str_len(dest) < 2 ||
	    memcmp(str_data(dest) + str_len(dest) - 2, "\r\n", 2) != 0)
		str_append(dest, "\r\n");
}

int frontdesk_ack_compose(const struct frontdesk_ack_params *params,
			  const struct frontdesk_ack_input *input,
			  string_t *dest, const char **error_r)
{
	const struct frontdesk_view *view = input->view;
	const struct frontdesk_classification *r = input->result;
	const struct frontdesk_template *tpl = input->tpl;
	const char *name, *subject, *need, *team, *boundary, *refs, *error;
	string_t *subj, *text, *html;

	name = frontdesk_ack_safe_name(view->from_name);
	/* the display name is theirs only if the mail is from that address */
	if (view->from_addr == NULL ||
	    strcasecmp(view->from_addr, input->to_addr) != 0)
		name = "";
	subject = frontdesk_template_clean_value(view->subject,
						 params->subject_max);
	need = !r->need_named || r->need == NULL || r->need[0] == '\0' ? NULL :
		frontdesk_template_phrase(&tpl->need, r->need);
	if (need == NULL)
		need = frontdesk_template_phrase(&tpl->need, "unknown");
	team = frontdesk_template_phrase(&tpl->team,
		r->office == FRONTDESK_OFFICE_BACK ? "back" : "front");

	const char *vars[] = {
		"name", name,
		"ticket", input->ticket,
		"subject", subject,
		"need", need,
		"team", team,
		"deadline", frontdesk_ack_deadline(tpl, input->when),
		"company", frontdesk_template_clean_value(params->company, 0),
		"urgent", r->urgent ? "yes" : "",
		NULL, NULL
	};
	subj = t_str_new(256);
	text = t_str_new(2048);
	html = t_str_new(4096);
	str_printfa(html, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>"
		    "<meta charset=\"utf-8\"></head>\n<body>\n",
		    tpl->language);
	if (frontdesk_template_render(tpl->subject, vars,
			FRONTDESK_TEMPLATE_ESCAPE_TEXT, subj, &error) < 0 ||
	    frontdesk_template_render(tpl->text, vars,
			FRONTDESK_TEMPLATE_ESCAPE_TEXT, text, &error) < 0 ||
	    frontdesk_template_render(tpl->html, vars,
			FRONTDESK_TEMPLATE_ESCAPE_HTML, html, &error) < 0) {
		*error_r = t_strdup_printf("%s: %s", tpl->path, error);
		return -1;
	}
	str_append(text, "\n");
	str_append(html, "\n</body>\n</html>\n");

	address_append(dest, "From",
		       frontdesk_template_clean_value(params->from_name, 0),
		       params->from_addr);
	address_append(dest, "To", name, input->to_addr);
	header_append_text(dest, "Subject",
			   frontdesk_template_clean_value(str_c(subj), 0));
	header_append(dest, "Date", message_date_create(input->now));
	header_append(dest, "Message-ID",
		      frontdesk_ack_message_id(params, input->ticket,
					       input->now));
	if (frontdesk_ack_msgid_valid(view->message_id))
		header_append(dest, "In-Reply-To", view->message_id);
	refs = ack_references(view);
	if (*refs != '\0')
		header_append(dest, "References", refs);
	/* RFC 3834 5.1; and Exchange's own "don't answer this" */
	header_append(dest, "Auto-Submitted", "auto-replied");
	header_append(dest, "X-Auto-Response-Suppress", "All");
	header_append(dest, "X-Frontdesk-Ack", input->ticket);
	header_append(dest, "Content-Language", tpl->language);
	header_append(dest, "MIME-Version", "1.0");
	/* "=_" cannot occur in quoted-printable text */
	boundary = t_strdup_printf("=_frontdesk_%s_%llx", input->ticket,
				   (unsigned long long)input->now);
	header_append(dest, "Content-Type", t_strdup_printf(
		"multipart/alternative; boundary=\"%s\"", boundary));
	str_append(dest, "\r\n");
	body_part_append(dest, boundary, "text/plain", str_c(text));
	body_part_append(dest, boundary, "text/html", str_c(html));
	str_printfa(dest, "--%s--\r\n", boundary);
	return 0;
}
