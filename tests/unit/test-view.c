/* Tests for frontdesk-view: decoding, bounds, hostile input. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"

static struct frontdesk_view *
view_of(pool_t pool, const char *msg, const struct frontdesk_view_limits *lim)
{
	struct frontdesk_view_limits def;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;

	if (lim == NULL) {
		frontdesk_view_limits_default(&def);
		lim = &def;
	}
	input = i_stream_create_from_data(msg, strlen(msg));
	test_assert(frontdesk_view_parse(pool, input, lim, &view, &error) == 0);
	i_stream_unref(&input);
	return view;
}

static void test_view_basic(void)
{
	pool_t pool = pool_alloconly_create("test", 4096);
	struct frontdesk_view *view;
	const char *const *rcpt;

	test_begin("view headers and text");
	view = view_of(pool,
		"From: =?UTF-8?Q?Mario_Ros=C3=A8i?= <Mario.Rossi@Example.IT>\n"
		"To: Support <support@example.com>, other@x.org\n"
		"Cc: help@example.com\n"
		"Subject: =?ISO-8859-1?Q?Fattura_di_marzo_=E8_sbagliata?=\n"
		"Message-ID: <abc@example.it>\n"
		"X-Priority: 1 (Highest)\n"
		"Content-Language: IT\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"Perch=E9 mi avete addebitato due volte?\n", NULL);
	test_assert_strcmp(view->from_addr, "mario.rossi@example.it");
	test_assert_strcmp(view->from_name, "Mario Rosèi");
	test_assert_strcmp(view->subject, "Fattura di marzo è sbagliata");
	test_assert_strcmp(view->message_id, "<abc@example.it>");
	test_assert_strcmp(view->content_language, "it");
	test_assert(view->priority == 1);
	rcpt = array_front(&view->recipients);
	test_assert(array_count(&view->recipients) == 3);
	test_assert_strcmp(rcpt[0], "support@example.com");
	test_assert_strcmp(rcpt[2], "help@example.com");
	test_assert(strstr(str_c(view->text), "Perché mi avete") != NULL);
	test_assert_strcmp(frontdesk_view_header(view, "x-priority"),
			   "1 (Highest)");
	test_end();
	pool_unref(&pool);
}

static void test_view_mime(void)
{
	pool_t pool = pool_alloconly_create("test", 4096);
	struct frontdesk_view *view;

	test_begin("view multipart: plain text preferred, attachments skipped");
	view = view_of(pool,
		"From: a@b.c\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"B1\"\n\n"
		"preamble\n--B1\n"
		"Content-Type: multipart/alternative; boundary=\"B2\"\n\n"
		"--B2\nContent-Type: text/plain; charset=utf-8\n\nplain words\n"
		"--B2\nContent-Type: text/html\n\n<p>html words</p>\n--B2--\n"
		"--B1\nContent-Type: text/plain\n"
		"Content-Disposition: attachment; filename=log.txt\n\n"
		"attached log words\n--B1--\n", NULL);
	test_assert(strstr(str_c(view->text), "plain words") != NULL);
	test_assert(strstr(str_c(view->text), "html words") == NULL);
	test_assert(strstr(str_c(view->text), "attached") == NULL);
	test_assert(strstr(str_c(view->text), "preamble") == NULL);
	test_assert_strcmp(view->content_type, "multipart/mixed");
	test_end();

	test_begin("view HTML-only, base64");
	view = view_of(pool,
		"From: a@b.c\nSubject: x\nMIME-Version: 1.0\n"
		"Content-Type: text/html; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n\n"
		/* <p>Il <b>modem</b> &egrave; rotto</p> */
		"PHA+SWwgPGI+bW9kZW08L2I+ICZlZ3JhdmU7IHJvdHRvPC9wPg==\n", NULL);
	test_assert(view->from_html);
	test_assert(strstr(str_c(view->text), "modem") != NULL);
	test_assert(strstr(str_c(view->text), "<b>") == NULL);
	test_end();
	pool_unref(&pool);
}

static void test_view_hostile(void)
{
	pool_t pool = pool_alloconly_create("test", 4096);
	struct frontdesk_view_limits lim;
	struct frontdesk_view *view;
	string_t *msg = t_str_new(1024*64);
	unsigned int i;

	test_begin("view header injection stays on one line");
	view = view_of(pool,
		"From: =?UTF-8?Q?Evil=0D=0ABcc:_victim@x.org?= <e@x.org>\n"
		"Subject: =?UTF-8?Q?hi=0D=0AX-Injected:_yes?=\n\nbody\n", NULL);
	test_assert(strchr(view->subject, '\n') == NULL);
	test_assert(strchr(view->subject, '\r') == NULL);
	test_assert(strchr(view->from_name, '\n') == NULL);
	test_assert(strstr(view->subject, "X-Injected") != NULL);
	test_end();

	test_begin("view bounds: header count, body size, message size");
	frontdesk_view_limits_default(&lim);
	lim.max_headers = 20;
	lim.max_body_bytes = 1024;
	lim.max_message_bytes = 32*1024;
	for (i = 0; i < 500; i++)
		str_printfa(msg, "X-Junk-%u: %u\n", i, i);
	str_append(msg, "Subject: late\n\n");
	for (i = 0; i < 2000; i++)
		str_append(msg, "lots of words in a long body ");
	view = view_of(pool, str_c(msg), &lim);
	test_assert(array_count(&view->headers) == 20);
	test_assert(view->header_count > 20);
	test_assert(view->truncated);
	test_assert(view->headers_truncated);
	test_assert(str_len(view->text) <= 1024);
	test_end();

	test_begin("view knows whether it saw the whole header block");
	/* the body is cut, the headers are whole */
	str_truncate(msg, 0);
	str_append(msg, "From: a@b.example\nSubject: long\n\n");
	for (i = 0; i < 2000; i++)
		str_append(msg, "lots of words in a long body ");
	view = view_of(pool, str_c(msg), &lim);
	test_assert(view->truncated);
	test_assert(!view->headers_truncated);
	/* the byte limit falls inside the header block */
	str_truncate(msg, 0);
	for (i = 0; i < 15; i++) {
		str_printfa(msg, "X-Long-%u: ", i);
		for (unsigned int j = 0; j < 300; j++)
			str_append(msg, "0123456789");
		str_append_c(msg, '\n');
	}
	str_append(msg, "X-Spam-Flag: YES\n\nbody\n");
	view = view_of(pool, str_c(msg), &lim);
	test_assert(view->headers_truncated);
	test_assert(frontdesk_view_header(view, "X-Spam-Flag") == NULL);
	/* headers only, no blank line: all of them were seen */
	view = view_of(pool, "From: a@b.example\nSubject: x", NULL);
	test_assert(!view->headers_truncated);
	test_assert_strcmp(view->subject, "x");
	view = view_of(pool, "From: a@b.example\nSubject: x\n\nbody\n", NULL);
	test_assert(!view->headers_truncated);
	test_end();

	test_begin("view broken input never fails");
	view = view_of(pool, "", NULL);
	test_assert_strcmp(view->subject, "");
	view = view_of(pool, "no colon line\n\xff\xfe\x00garbage", NULL);
	view = view_of(pool, "Content-Type: multipart/mixed; boundary=x\n\n"
		       "--x\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"
		       "--x--\n", NULL);
	view = view_of(pool, "Content-Type: text/plain; charset=x-unknown-9\n"
		       "Content-Transfer-Encoding: base64\n\n!!!notbase64@@\n",
		       NULL);
	view = view_of(pool, "From: <<<@@@>>>\nTo: ,,,;;;\nSubject: "
		       "=?UTF-8?B?////?= =?bogus?Q?x?=\n\nx\n", NULL);
	test_assert(view->from_addr != NULL);
	test_end();
	pool_unref(&pool);
}

void test_view(void)
{
	test_view_basic();
	test_view_mime();
	test_view_hostile();
}
