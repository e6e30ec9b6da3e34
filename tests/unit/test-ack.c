/* Tests for ticket references, acknowledgment templates and the composed
   acknowledgment: what the customer receives, parsed back. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "message-header-decode.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-ticket.h"
#include "frontdesk-template.h"
#include "frontdesk-hours.h"
#include "frontdesk-ack.h"

#ifndef TEST_TEMPLATE_DIR
#  define TEST_TEMPLATE_DIR "templates"
#endif

static const struct frontdesk_ticket_key test_key = {
	.prefix = "FD",
	.secret = (const unsigned char *)"0123456789abcdef0123456789abcdef",
	.secret_len = 32,
};

static void test_ticket(void)
{
	struct frontdesk_ticket_key other = test_key;
	const char *t1, *t2, *found;
	char *forged;

	test_begin("ticket: stable, distinct, found, unforgeable");
	t1 = frontdesk_ticket_make(&test_key, "<a@example.org>");
	t2 = frontdesk_ticket_make(&test_key, "<b@example.org>");
	test_assert(strlen(t1) == strlen("FD-XXXX-XXXX-XXXX"));
	test_assert(strncmp(t1, "FD-", 3) == 0 && t1[7] == '-' &&
		    t1[12] == '-');
	test_assert(strcmp(t1, frontdesk_ticket_make(&test_key,
						     "<a@example.org>")) == 0);
	test_assert(strcmp(t1, t2) != 0);

	found = frontdesk_ticket_find(&test_key,
		t_strdup_printf("Re: [%s] We received your message", t1));
	test_assert(found != NULL && strcmp(found, t1) == 0);
	/* typed by hand: lowercase */
	found = frontdesk_ticket_find(&test_key,
		t_strdup_printf("about %s please", t_str_lcase(t1)));
	test_assert(found != NULL && strcmp(found, t1) == 0);
	/* one character changed: not ours */
	forged = t_strdup_noconst(t1);
	forged[5] = forged[5] == 'A' ? 'B' : 'A';
	test_assert(frontdesk_ticket_find(&test_key, forged) == NULL);
	/* another server's secret */
	other.secret = (const unsigned char *)"another secret of 32 bytes......";
	test_assert(frontdesk_ticket_find(&other, t1) == NULL);
	/* glued to other characters: not a reference */
	test_assert(frontdesk_ticket_find(&test_key,
		t_strdup_printf("X%s", t1)) == NULL);
	test_assert(frontdesk_ticket_find(&test_key,
		t_strdup_printf("%sZ", t1)) == NULL);
	test_assert(frontdesk_ticket_find(&test_key, "FD-") == NULL);
	test_assert(frontdesk_ticket_find(&test_key, "") == NULL);
	test_assert(frontdesk_ticket_prefix_valid("FD"));
	test_assert(!frontdesk_ticket_prefix_valid("F-D"));
	test_assert(!frontdesk_ticket_prefix_valid(""));
	test_assert(!frontdesk_ticket_prefix_valid("TOOLONGPREFIX"));
	test_end();
}

#define TPL_OK \
	"# note\n[subject]\n[{{ticket}}] Got it{{#subject}}: {{subject}}{{/subject}}\n" \
	"[need]\nbilling = your invoice question\nunknown = your message\n" \
	"[team]\nfront = our desk\nback = our experts\n" \
	"[when]\ntoday = by {{time}} today\ntomorrow = by tomorrow {{time}}\n" \
	"week = by {{weekday}} {{time}}\nlater = by {{day}} {{month}}\n" \
	"weekdays = Sun Mon Tue Wed Thu Fri Sat\n" \
	"months = Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec\n" \
	"[text]\n{{#name}}Dear {{name}},{{/name}}{{^name}}Hello,{{/name}}\n\n" \
	"We got {{need}}; {{team}} answers {{deadline}}.{{#urgent}} Urgent.{{/urgent}}\n" \
	"{{company}}\n" \
	"[html]\n<p>{{#name}}Dear {{name}},{{/name}}{{^name}}Hello,{{/name}}</p>\n" \
	"<p>We got {{need}} ({{subject}}).</p>\n"

static void test_template_errors(void)
{
	static const struct {
		const char *replace, *with, *error;
	} cases[] = {
		{ "[html]\n", "[html]\n{{#name}}{{#urgent}}x{{/urgent}}{{/name}}\n",
		  "t.txt:23: [html]: {{#urgent}} inside {{#name}}" },
		{ "{{company}}", "{{compagny}}", "t.txt:21: [text]: unknown variable {{compagny}}" },
		{ "{{company}}", "{{#name}}x", "never closed" },
		{ "{{company}}", "{{/name}}", "closes nothing" },
		{ "{{company}}", "{{company", "without its closing" },
		{ "[{{ticket}}] Got it", "Got it", "must contain {{ticket}}" },
		{ "unknown = your message\n", "", "[need] has no line for 'unknown'" },
		{ "back = our experts\n", "", "[team] has no line for 'back'" },
		{ "back = our experts\n", "back our experts\n", "t.txt:9: in [team], 'back our experts' must be 'key = phrase'" },
		{ "front = our desk\n", "front = our desk\nfront = again\n", "[team] has 'front' twice" },
		{ "Sat\n", "\n", "needs 7 'weekdays'" },
		{ "[html]\n", "", "the part [html] is missing" },
		{ "# note\n", "oops\n", "t.txt:1: text before the first part" },
		{ "[when]\n", "[wen]\n", "t.txt:10: unknown part [wen]" },
		{ "today = by {{time}} today", "today = by {{hour}}", "unknown variable {{hour}}" },
	};
	struct frontdesk_template *tpl;
	const char *error, *data, *p;
	pool_t pool = pool_alloconly_create("test template", 4096);
	unsigned int i;

	test_begin("template: a good file loads");
	test_assert(frontdesk_template_parse(pool, "en", "t.txt", TPL_OK,
					     &tpl, &error) == 0);
	test_end();

	test_begin("template: mistakes are one clear error with file:line");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		p = strstr(TPL_OK, cases[i].replace);
		i_assert(p != NULL);
		data = t_strconcat(t_strdup_until(TPL_OK, p), cases[i].with,
				   p + strlen(cases[i].replace), NULL);
		error = NULL;
		test_assert_idx(frontdesk_template_parse(pool, "en", "t.txt",
					data, &tpl, &error) < 0, i);
		test_assert_idx(error != NULL &&
				strstr(error, cases[i].error) != NULL, i);
		if (error != NULL && strstr(error, cases[i].error) == NULL)
			i_info("case %u: got '%s'", i, error);
	}
	test_assert(frontdesk_template_parse(pool, "en", "t.txt",
		"\xff\xfe[subject]", &tpl, &error) < 0 &&
		strstr(error, "UTF-8") != NULL);
	test_end();
	pool_unref(&pool);
}

static void test_template_render(void)
{
	const char *vars[] = {
		"name", "Ann <b>&</b> \"O'Neil\"", "urgent", "", NULL, NULL
	};
	const char *error;
	string_t *out = t_str_new(128);

	test_begin("template: values escaped per context, conditions");
	test_assert(frontdesk_template_render(
		"{{#name}}Hi {{name}}{{/name}}{{^urgent}}.{{/urgent}}{{#urgent}}!{{/urgent}}",
		vars, FRONTDESK_TEMPLATE_ESCAPE_HTML, out, &error) == 0);
	test_assert_strcmp(str_c(out),
		"Hi Ann &lt;b&gt;&amp;&lt;/b&gt; &quot;O&#39;Neil&quot;.");
	str_truncate(out, 0);
	test_assert(frontdesk_template_render("{{name}}", vars,
		FRONTDESK_TEMPLATE_ESCAPE_TEXT, out, &error) == 0);
	test_assert_strcmp(str_c(out), "Ann <b>&</b> \"O'Neil\"");
	test_end();

	test_begin("template: values cleaned and cut");
	test_assert_strcmp(frontdesk_template_clean_value(
		"a\r\nBcc: x@evil\t  b", 0), "a Bcc: x@evil b");
	test_assert_strcmp(frontdesk_template_clean_value(
		"  \xe2\x80\xae" "evil\xe2\x80\xac ", 0), "evil");
	test_assert_strcmp(frontdesk_template_clean_value(
		"invoice number twelve is wrong", 14), "invoice number\xE2\x80\xA6");
	test_assert_strcmp(frontdesk_template_clean_value("bad \xc3 utf", 0),
			   "bad \xEF\xBF\xBD utf");
	test_end();
}

static void test_shipped_templates(void)
{
	static const char *const langs[] = { "it", "en", "de", "fr", "es", "pt" };
	struct frontdesk_template *tpl;
	const char *error;
	pool_t pool = pool_alloconly_create("test template", 16384);
	unsigned int i;

	test_begin("template: every shipped language loads");
	for (i = 0; i < N_ELEMENTS(langs); i++) {
		error = NULL;
		test_assert_idx(frontdesk_template_load(pool, TEST_TEMPLATE_DIR,
					langs[i], &tpl, &error) == 1, i);
		if (error != NULL)
			i_info("%s", error);
	}
	test_assert(frontdesk_template_load(pool, TEST_TEMPLATE_DIR, "xx",
					    &tpl, &error) == 0);
	test_assert(frontdesk_template_load(pool, TEST_TEMPLATE_DIR,
					    "../etc", &tpl, &error) < 0);
	test_end();
	pool_unref(&pool);
}

static void test_safe_name(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Mario Rossi", "Mario Rossi" },
		{ "\"Rossi, Mario\"", "Rossi, Mario" },
		{ "Zoë O'Brien-Müller", "Zoë O'Brien-Müller" },
		{ "José", "José" },
		{ "Mario Rossi (ACME S.r.l.)", "Mario Rossi (ACME S.r.l.)" },
		{ "mario@example.com", "" },
		{ "Visit www.cheap-pills.example now", "" },
		{ "http://evil.example", "" },
		{ "Winner 1000000 USD", "" },
		{ "<script>alert(1)</script>", "" },
		{ "=?utf-8?q?x?=", "" },
		{ "a b c d e f g h", "" },
		{ "X", "" },
		{ "", "" },
		{ "Eve\r\nBcc: victim@example.com", "" },
	};
	unsigned int i;

	test_begin("ack: only name-like display names greet the customer");
	for (i = 0; i < N_ELEMENTS(cases); i++)
		test_assert_strcmp_idx(frontdesk_ack_safe_name(cases[i].in),
				       cases[i].out, i);
	test_assert(frontdesk_ack_safe_name(NULL)[0] == '\0');
	test_end();
}

static struct frontdesk_view *parse(pool_t pool, const char *msg)
{
	struct frontdesk_view_limits limits;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;

	frontdesk_view_limits_default(&limits);
	input = i_stream_create_from_data(msg, strlen(msg));
	if (frontdesk_view_parse(pool, input, &limits, &view, &error) < 0)
		i_fatal("parse: %s", error);
	i_stream_unref(&input);
	return view;
}

static const char *header(struct frontdesk_view *view, const char *name)
{
	const struct frontdesk_header *hdr;

	array_foreach(&view->headers, hdr) {
		if (strcasecmp(hdr->name, name) == 0)
			return hdr->value;
	}
	return NULL;
}

static unsigned int header_count(struct frontdesk_view *view, const char *name)
{
	const struct frontdesk_header *hdr;
	unsigned int n = 0;

	array_foreach(&view->headers, hdr) {
		if (strcasecmp(hdr->name, name) == 0)
			n++;
	}
	return n;
}

static const char *
compose_max(pool_t pool, const char *lang, const char *msg, const char *need,
	    bool urgent, unsigned int subject_max, const char **ticket_r)
{
	struct frontdesk_ack_params params = {
		.from_addr = "support@example.com",
		.from_name = "Example Support",
		.company = "Example Support",
		.msgid_domain = "example.com",
		.subject_max = subject_max,
	};
	struct frontdesk_classification result;
	struct frontdesk_when when = {
		.kind = FRONTDESK_WHEN_WEEK, .weekday = 1, .year = 2026,
		.month = 11, .day = 23, .hour = 10, .minute = 0,
	};
	struct frontdesk_ack_input input;
	struct frontdesk_template *tpl;
	struct frontdesk_view *view;
	const char *error;
	string_t *out = t_str_new(4096);

	if (frontdesk_template_load(pool, TEST_TEMPLATE_DIR, lang, &tpl,
				    &error) != 1)
		i_fatal("template: %s", error);
	view = parse(pool, msg);
	i_zero(&result);
	result.need = need;
	result.need_named = TRUE;
	result.office = strcmp(need, "sales") == 0 ? FRONTDESK_OFFICE_FRONT :
		FRONTDESK_OFFICE_BACK;
	result.urgent = urgent;
	result.language = lang;
	i_zero(&input);
	input.view = view;
	input.result = &result;
	input.tpl = tpl;
	input.to_addr = view->from_addr;
	input.ticket = frontdesk_ticket_make(&test_key, view->message_id);
	input.when = &when;
	input.now = 1795000000;
	*ticket_r = input.ticket;
	if (frontdesk_ack_compose(&params, &input, out, &error) < 0)
		i_fatal("compose: %s", error);
	return str_c(out);
}

static const char *
compose(pool_t pool, const char *lang, const char *msg, const char *need,
	bool urgent, const char **ticket_r)
{
	return compose_max(pool, lang, msg, need, urgent,
			   FRONTDESK_ACK_DEFAULT_SUBJECT_MAX, ticket_r);
}

/* The raw header name (with its folds) of msg, NULL if absent. */
static const char *raw_header(const char *msg, const char *name)
{
	const char *prefix = t_strconcat("\r\n", name, ": ", NULL);
	const char *start, *end;

	start = strstr(msg, prefix);
	if (start == NULL)
		return NULL;
	start += 2;
	for (end = start; (end = strstr(end, "\r\n")) != NULL; end += 2) {
		if (end[2] != ' ' && end[2] != '\t')
			break;
	}
	return end == NULL ? NULL : t_strdup_until(start, end);
}

/* Every line of msg ends in CRLF and, in the header, is at most 78
   characters long. */
static bool lines_crlf_short(const char *msg)
{
	const char *p, *line = msg, *body = strstr(msg, "\r\n\r\n");

	for (p = msg; *p != '\0'; p++) {
		if (*p != '\n')
			continue;
		if (p == msg || p[-1] != '\r')
			return FALSE;
		if (p < body && p - 1 - line > 78)
			return FALSE;
		line = p + 1;
	}
	return TRUE;
}

/* A folded header decoded as a reader does: unfold (drop the CRLFs only),
   then RFC 2047 with libdovecot's decoder. */
static const char *header_decoded(const char *raw, const char *name)
{
	string_t *unfolded = t_str_new(256), *out = t_str_new(256);
	const char *p = raw + strlen(name) + 2;

	for (; *p != '\0'; p++) {
		if (*p != '\r' && *p != '\n')
			str_append_c(unfolded, *p);
	}
	message_header_decode_utf8(str_data(unfolded), str_len(unfolded),
				   out, NULL);
	return str_c(out);
}

static void test_compose_folding(void)
{
	static const struct {
		const char *lang, *wording, *subject;
	} tests[] = {
		{ "de", "Ihre Nachricht ist bei uns eingegangen: ",
		  "Rückerstattung für die doppelt abgebuchte Rechnung vom "
		  "März, bitte dringend prüfen und zurücküberweisen" },
		{ "it", "Abbiamo ricevuto la sua richiesta: ",
		  "Perché la fattura di febbraio è più alta del solito? "
		  "Non è possibile, l'addebito è già stato fatto due volte" },
		{ "fr", "Nous avons bien reçu votre message : ",
		  "Problème de facturation : prélèvement effectué deux fois "
		  "pour la même période, je voudrais être remboursé" },
		{ "en", "We received your message: ",
		  "I have been charged twice for the premium plan since "
		  "this month’s renewal and nobody answers the phone" },
		{ "en", "We received your message: ",
		  "Invoice 2024-117 has the wrong VAT number and the wrong "
		  "address since this month, please fix it before Friday" },
		{ "en", "We received your message: ",
		  "Заказ 48213 не доставлен, курьер не приходил уже "
		  "неделю, прошу вернуть деньги за доставку" },
	};
	pool_t pool = pool_alloconly_create("test ack folding", 65536);
	const char *msg, *ticket, *raw, *expected, *cut;
	unsigned int i, max;

	test_begin("ack: folded Subject has CRLF and decodes to the text");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		for (max = 0; max <= FRONTDESK_ACK_DEFAULT_SUBJECT_MAX;
		     max += FRONTDESK_ACK_DEFAULT_SUBJECT_MAX) T_BEGIN {
			msg = compose_max(pool, tests[i].lang, t_strdup_printf(
				"From: a@example.org\nSubject: %s\n"
				"Message-ID: <f%u@example.org>\n\nHi\n",
				tests[i].subject, i), "billing", FALSE, max,
				&ticket);
			test_assert_idx(lines_crlf_short(msg), i);
			raw = raw_header(msg, "Subject");
			test_assert_idx(raw != NULL &&
					strstr(raw, "\r\n") != NULL, i);
			if (raw == NULL)
				continue;
			cut = frontdesk_template_clean_value(tests[i].subject,
							     max);
			expected = t_strdup_printf("[%s] %s%s", ticket,
						   tests[i].wording, cut);
			test_assert_strcmp_idx(header_decoded(raw, "Subject"),
					       expected, i);
		} T_END;
	}

	/* a long display name is folded the same way */
	msg = compose(pool, "de",
		"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller-L=C3=BCdenscheidt_von_"
		"Schl=C3=B6=C3=9Fberg?= <jm@example.de>\n"
		"Subject: Rechnung\nMessage-ID: <g1@example.de>\n\nHallo\n",
		"billing", FALSE, &ticket);
	test_assert(lines_crlf_short(msg));
	raw = raw_header(msg, "To");
	test_assert(raw != NULL && strstr(raw, "\r\n") != NULL);
	if (raw != NULL) {
		test_assert_strcmp(header_decoded(raw, "To"),
			"Jürgen Müller-Lüdenscheidt von Schlößberg "
			"<jm@example.de>");
	}
	test_end();
	pool_unref(&pool);
}

static void test_compose(void)
{
	pool_t pool = pool_alloconly_create("test ack", 65536);
	struct frontdesk_view *ack;
	const char *msg, *ticket;

	test_begin("ack: headers and body a customer's client sees");
	msg = compose(pool, "en",
		"From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.org>\n"
		"To: support@example.com\n"
		"Subject: Invoice 2024-117 is wrong\n"
		"Message-ID: <m1@example.org>\n"
		"References: <r0@example.org>\n"
		"\nHello\n", "billing", TRUE, &ticket);
	ack = parse(pool, msg);
	test_assert(strstr(msg, "\r\n\r\n") != NULL &&
		    strstr(msg, "\n\n") == NULL);
	test_assert_strcmp(ack->from_addr, "support@example.com");
	test_assert_strcmp(ack->from_name, "Example Support");
	test_assert_strcmp(header(ack, "To"), "Zoë Müller <zoe@example.org>");
	/* a display name is B-encoded: Q would leave its "," and "(" bare */
	test_assert(strstr(msg, "\r\nTo: =?utf-8?b?Wm/DqyBNw7xsbGVy?=") != NULL);
	test_assert_strcmp(ack->subject, t_strdup_printf(
		"[%s] We received your message: Invoice 2024-117 is wrong",
		ticket));
	test_assert_strcmp(ack->in_reply_to, "<m1@example.org>");
	test_assert_strcmp(ack->references,
			   "<r0@example.org> <m1@example.org>");
	test_assert_strcmp(header(ack, "Auto-Submitted"), "auto-replied");
	test_assert_strcmp(header(ack, "X-Auto-Response-Suppress"), "All");
	test_assert_strcmp(header(ack, "Content-Language"), "en");
	test_assert_strcmp(header(ack, "X-Frontdesk-Ack"), ticket);
	test_assert(strncmp(ack->message_id, "<frontdesk.", 11) == 0 &&
		    strstr(ack->message_id, "@example.com>") != NULL);
	test_assert(header(ack, "Date") != NULL);
	test_assert(strstr(header(ack, "Content-Type"),
			   "multipart/alternative") != NULL);
	test_assert(strstr(str_c(ack->text), "Dear Zoë Müller,") != NULL);
	test_assert(strstr(str_c(ack->text),
		"your question about an invoice or a payment") != NULL);
	test_assert(strstr(str_c(ack->text), "our specialist team") != NULL);
	test_assert(strstr(str_c(ack->text), "by Monday 10:00") != NULL);
	test_assert(strstr(str_c(ack->text), "marked as urgent") != NULL);
	test_assert(strstr(str_c(ack->text), ticket) != NULL);
	test_assert(strstr(msg, "text/html; charset=UTF-8") != NULL);
	test_end();

	test_begin("ack: header injection through name and subject");
	msg = compose(pool, "en",
		"From: \"Eve\\r\\nBcc: victim@example.net\" <eve@example.org>\n"
		"To: support@example.com\n"
		"Subject: =?utf-8?q?hi=0D=0ABcc:_victim@example.net?=\n"
		"Message-ID: <m2@example.org>\n"
		"\nHello\n", "sales", FALSE, &ticket);
	ack = parse(pool, msg);
	test_assert(header_count(ack, "Bcc") == 0);
	test_assert(strstr(msg, "\r\nBcc:") == NULL);
	test_assert_strcmp(header(ack, "To"), "<eve@example.org>");
	test_assert(strstr(str_c(ack->text), "Hello,") != NULL);
	test_assert(strstr(str_c(ack->text), "marked as urgent") == NULL);
	test_end();

	test_begin("ack: an encoded word typed literally stays literal");
	msg = compose(pool, "it",
		"From: Mario Rossi <mario@example.it>\n"
		"Subject: =?utf-8?q?prova_=3D=3Futf-8=3Fb=3FSGFja2Vk=3F=3D_fattura?=\n"
		"Message-ID: <m3@example.it>\n"
		"\nCiao\n", "billing", FALSE, &ticket);
	ack = parse(pool, msg);
	/* the view decodes RFC 2047: the customer's literal text comes back
	   as it was typed, never as "Hacked" */
	test_assert(strstr(ack->subject, "Hacked") == NULL);
	test_assert(strstr(ack->subject, "prova =?utf-8?b?SGFja2Vk?= fattura") != NULL);
	test_assert(strstr(str_c(ack->text), "Gentile Mario Rossi") != NULL ||
		    strstr(str_c(ack->text), "Mario Rossi") != NULL);
	test_assert_strcmp(header(ack, "Content-Language"), "it");
	test_end();

	test_begin("ack: no subject, long subject, bad Message-ID");
	msg = compose(pool, "de",
		"From: a@example.de\nMessage-ID: <bad id>\n\nHallo\n",
		"technical", FALSE, &ticket);
	ack = parse(pool, msg);
	test_assert_strcmp(ack->subject, t_strdup_printf(
		"[%s] Ihre Nachricht ist bei uns eingegangen", ticket));
	test_assert(ack->in_reply_to == NULL);
	msg = compose(pool, "en",
		"From: a@example.org\nSubject: "
		"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll "
		"mmmm nnnn oooo pppp qqqq rrrr\nMessage-ID: <x@y>\n\nHi\n",
		"technical", FALSE, &ticket);
	ack = parse(pool, msg);
	if (strstr(ack->subject, "llll\xE2\x80\xA6") == NULL) i_info("%s", ack->subject);
	test_assert(strstr(ack->subject, "llll\xE2\x80\xA6") != NULL);
	test_assert(strstr(ack->subject, "mmmm") == NULL);
	test_end();
	pool_unref(&pool);
}

void test_ack(void)
{
	test_ticket();
	test_template_errors();
	test_template_render();
	test_shipped_templates();
	test_safe_name();
	test_compose();
	test_compose_folding();
}
