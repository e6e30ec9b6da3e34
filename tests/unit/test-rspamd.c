/* Tests for frontdesk-rspamd: the frontdesk_spam_check settings, whether a
   scanner already gave its verdict, and rspamd's /checkv2 answer (as
   rspamd 3.4 writes it, and broken ones). */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "istream.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-rspamd.h"

static void test_rspamd_settings(void)
{
	static const struct {
		const char *value, *timeout;
		const char *url; /* NULL: an error starting with error */
		unsigned int msecs;
		const char *error;
	} tests[] = {
		{ "", NULL, "", 300, NULL },
		{ NULL, NULL, "", 300, NULL },
		{ "rspamd:http://127.0.0.1:11333", NULL,
		  "http://127.0.0.1:11333", 300, NULL },
		{ " rspamd:http://127.0.0.1:11333/ ", "2s",
		  "http://127.0.0.1:11333", 2000, NULL },
		{ "rspamd:http://localhost", "10ms", "http://localhost", 10,
		  NULL },
		{ "http://127.0.0.1:11333", NULL, NULL, 0,
		  "frontdesk_spam_check: 'http://127.0.0.1:11333' is not "
		  "rspamd:http://HOST:PORT" },
		{ "spamassassin:127.0.0.1:783", NULL, NULL, 0,
		  "frontdesk_spam_check: 'spamassassin:127.0.0.1:783' is not " },
		{ "yes", NULL, NULL, 0, "frontdesk_spam_check: 'yes' is not " },
		{ "rspamd:https://127.0.0.1:11333", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:https://127.0.0.1:11333': "
		  "only http://" },
		{ "rspamd:127.0.0.1:11333", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:127.0.0.1:11333': only " },
		{ "rspamd:http://127.0.0.1:11333/checkv2", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:http://127.0.0.1:11333/checkv2'"
		  ": give only" },
		{ "rspamd:http://127.0.0.1:99999", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:http://127.0.0.1:99999' is not "
		  "an HTTP URL" },
		{ "rspamd:http://u:p@127.0.0.1:11333", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:http://u:p@127.0.0.1:11333' "
		  "is not an HTTP URL" },
		{ "rspamd:http://", NULL, NULL, 0,
		  "frontdesk_spam_check: 'rspamd:http://' is not an HTTP URL" },
		{ "", "soon", NULL, 0, "frontdesk_spam_check_timeout: " },
		{ "", "5ms", NULL, 0,
		  "frontdesk_spam_check_timeout: '5ms' is not from 10ms to 5s" },
		{ "rspamd:http://127.0.0.1:11333", "1m", NULL, 0,
		  "frontdesk_spam_check_timeout: '1m' is not from 10ms to 5s" },
	};
	struct frontdesk_rspamd_settings set;
	const char *error;
	unsigned int i;
	int ret;

	test_begin("rspamd settings");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		error = NULL;
		ret = frontdesk_rspamd_settings_parse(pool_datastack_create(),
			tests[i].value, tests[i].timeout, &set, &error);
		if (tests[i].url != NULL) {
			test_assert_idx(ret == 0, i);
			if (ret == 0) {
				test_assert_strcmp_idx(set.url, tests[i].url,
						       i);
				test_assert_idx(set.timeout_msecs ==
						tests[i].msecs, i);
			}
		} else {
			test_assert_idx(ret < 0, i);
			test_assert_idx(error != NULL &&
					str_begins_with(error, tests[i].error), i);
		}
	}
	test_end();
}

static const char *env_value;
static const char *env_get(const char *name, void *context ATTR_UNUSED)
{
	if (strcmp(name, "frontdesk_spam_check") == 0)
		return env_value;
	return NULL;
}

static void test_rspamd_settings_in_plugin(void)
{
	struct frontdesk_settings *set;
	const char *error;

	test_begin("rspamd settings in plugin {}");
	env_value = NULL;
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) == 0);
	/* off by default */
	test_assert_strcmp(set->spam_check.url, "");
	test_assert(set->spam_check.timeout_msecs == 300);
	env_value = "rspamd:http://127.0.0.1:11333";
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) == 0);
	test_assert_strcmp(set->spam_check.url, "http://127.0.0.1:11333");
	env_value = "rspamd";
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) < 0);
	test_assert(str_begins_with(error, "frontdesk_spam_check: 'rspamd'"));
	test_end();
}

static void test_rspamd_answer(void)
{
	static const struct {
		const char *json;
		int ret;
		enum frontdesk_rspamd_action action;
		bool spam;
		double score;
		bool skipped;
	} tests[] = {
		/* GTUBE, as rspamd 3.4 answers it */
		{ "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,"
		  "\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"name\":"
		  "\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},\"messages\":"
		  "{\"smtp_message\":\"Gtube pattern\"},\"message-id\":"
		  "\"GTUBE1.1010101@example.com\",\"time_real\":0.098249}",
		  0, FRONTDESK_RSPAMD_REJECT, TRUE, 15.0, TRUE },
		{ "{\"is_skipped\":false,\"score\":8.7,\"required_score\":15.0,"
		  "\"action\":\"add header\",\"symbols\":{\"A\":{\"name\":\"A\","
		  "\"score\":1.0,\"options\":[\"x\",\"y\"]}},\"urls\":[\"a.b\"],"
		  "\"milter\":{\"remove_headers\":{\"X-Spam\":1},"
		  "\"add_headers\":{\"X-Spam\":\"Yes\"}}}",
		  0, FRONTDESK_RSPAMD_ADD_HEADER, TRUE, 8.7, FALSE },
		{ "{\"action\":\"rewrite subject\",\"score\":9,"
		  "\"subject\":\"*** SPAM *** hi\"}",
		  0, FRONTDESK_RSPAMD_REWRITE_SUBJECT, TRUE, 9.0, FALSE },
		{ "{\"is_skipped\":false,\"score\":-1.5,\"required_score\":15.0,"
		  "\"action\":\"no action\"}",
		  0, FRONTDESK_RSPAMD_NO_ACTION, FALSE, -1.5, FALSE },
		{ "{\"action\":\"greylist\",\"score\":5.2}",
		  0, FRONTDESK_RSPAMD_GREYLIST, FALSE, 5.2, FALSE },
		{ "{\"action\":\"soft reject\",\"score\":0}",
		  0, FRONTDESK_RSPAMD_SOFT_REJECT, FALSE, 0, FALSE },
		{ "{\"action\":\"discard\",\"score\":0}",
		  0, FRONTDESK_RSPAMD_OTHER, FALSE, 0, FALSE },
		/* a score that is not a number is as if absent */
		{ "{\"action\":\"reject\",\"score\":\"high\"}",
		  0, FRONTDESK_RSPAMD_REJECT, TRUE, 0, FALSE },
		/* broken answers: an error, never a verdict */
		{ "", -1, 0, FALSE, 0, FALSE },
		{ "{}", -1, 0, FALSE, 0, FALSE },
		{ "{\"score\":99}", -1, 0, FALSE, 0, FALSE },
		{ "{\"action\":[\"reject\"]}", -1, 0, FALSE, 0, FALSE },
		{ "{\"action\":\"reject\"", -1, 0, FALSE, 0, FALSE },
		{ "[\"action\",\"reject\"]", -1, 0, FALSE, 0, FALSE },
		{ "<html>502 Bad Gateway</html>", -1, 0, FALSE, 0, FALSE },
		{ "{\"error\":\"cannot parse input\"}", -1, 0, FALSE, 0, FALSE },
	};
	struct frontdesk_rspamd_answer answer;
	const char *error;
	unsigned int i;
	int ret;

	test_begin("rspamd answer");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		error = NULL;
		ret = frontdesk_rspamd_parse_answer(
			(const void *)tests[i].json, strlen(tests[i].json),
			&answer, &error);
		test_assert_idx(ret == tests[i].ret, i);
		if (ret < 0) {
			test_assert_idx(error != NULL, i);
			continue;
		}
		test_assert_idx(answer.action == tests[i].action, i);
		test_assert_idx(frontdesk_rspamd_is_spam(&answer) ==
				tests[i].spam, i);
		test_assert_idx(answer.score > tests[i].score - 0.001 &&
				answer.score < tests[i].score + 0.001, i);
		test_assert_idx(answer.is_skipped == tests[i].skipped, i);
	}
	test_end();
}

static bool has_verdict(const struct frontdesk_settings *set,
			const char *msg)
{
	struct frontdesk_view_limits limits;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;

	frontdesk_view_limits_default(&limits);
	input = i_stream_create_from_data(msg, strlen(msg));
	(void)frontdesk_view_parse(pool_datastack_create(), input, &limits,
				   &view, &error);
	i_stream_unref(&input);
	return frontdesk_rspamd_has_verdict(&set->guard, view);
}

static void test_rspamd_has_verdict(void)
{
	struct frontdesk_settings *set;
	const char *error;

	test_begin("rspamd: a scanner's verdict is there");
	env_value = NULL;
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) == 0);
	test_assert(!has_verdict(set, "From: a@b.example\r\nSubject: hi\r\n"
				 "\r\nbody\r\n"));
	test_assert(has_verdict(set, "From: a@b.example\r\nX-Spam-Flag: NO\r\n"
				"\r\nbody\r\n"));
	test_assert(has_verdict(set, "x-spam-status: No, score=-1.0\r\n"
				"\r\nbody\r\n"));
	test_assert(has_verdict(set, "X-Rspamd-Action: no action\r\n\r\nb\r\n"));
	/* a scanner's other headers are no verdict */
	test_assert(!has_verdict(set, "X-Spam-Level: **\r\n"
				 "X-Spam-Checker-Version: SpamAssassin 3\r\n"
				 "X-Spamd-Bar: +\r\n\r\nbody\r\n"));
	/* a verdict in the body is none */
	test_assert(!has_verdict(set, "Subject: fwd\r\n\r\nX-Spam-Flag: YES\r\n"));
	test_end();
}

static void test_rspamd_skip_local_headers(void)
{
	static const struct {
		const char *msg;
		const char *rest;
	} tests[] = {
		/* LMTP's three fields */
		{ "Return-Path: <a@b.example>\r\n"
		  "Delivered-To: support@example.com\r\n"
		  "Received: from mx.example.com ([127.0.0.1])\r\n"
		  "\tby mail.example.com with LMTP\r\n"
		  "\tid wHZ5OxNgEWs0CAAAg+zDdQ\r\n"
		  "\t(envelope-from <a@b.example>)\r\n"
		  "\tfor <support@example.com>; Thu, 03 Dec 2026 12:27:00 +0000\r\n"
		  "Received: from client.example ([192.0.2.7]) by mx\r\n"
		  "From: a@b.example\r\n\r\nbody\r\n",
		  "Received: from client.example ([192.0.2.7]) by mx\r\n" },
		/* no Delivered-To (lmtp_hdr_delivery_address = none) */
		{ "Return-Path: <>\r\nReceived: from x\r\n by h with LMTP id 1\r\n"
		  "From: a@b.example\r\n\r\nbody\r\n",
		  "From: a@b.example\r\n" },
		/* no trace field (lmtp_add_received_header = no); bare LF */
		{ "Return-Path: <a@b.example>\nDelivered-To: s@example.com\n"
		  "Received: from client ([192.0.2.7]) by mx with ESMTP\n"
		  "\n",
		  "Received: from client ([192.0.2.7]) by mx with ESMTP\n" },
		/* dovecot-lda: the message as it came */
		{ "From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n",
		  "From: a@b.example\r\n" },
		{ "Received: from x by y with LMTP\r\n\r\nbody",
		  "\r\nbody" },
		/* cut off: send everything */
		{ "Return-Path: <a@b.exa", "Return-Path: <a@b.exa" },
		{ "Return-Path: <a@b.example>\r\nReceived: from x\r\n"
		  "\tby h with LMTP", "Return-Path: <a@b.example>" },
		{ "", "" },
		{ "Return-Path-Evil: x\r\n\r\n", "Return-Path-Evil: x" },
	};
	unsigned int i;
	size_t skip;

	test_begin("rspamd: the message as the MTA handed it");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		const char *msg = tests[i].msg;

		skip = frontdesk_rspamd_skip_local_headers(
			(const unsigned char *)msg, strlen(msg));
		test_assert_idx(skip <= strlen(msg), i);
		test_assert_idx(str_begins_with(msg + skip, tests[i].rest), i);
	}
	test_end();
}

void test_rspamd(void)
{
	test_rspamd_skip_local_headers();
	test_rspamd_settings();
	test_rspamd_settings_in_plugin();
	test_rspamd_answer();
	test_rspamd_has_verdict();
}
