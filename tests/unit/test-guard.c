/* Tests for frontdesk-guard: one case per rule, Pigeonhole vacation's
   conformance cases (../shared/data/vacation-conformance.md) and positive
   controls that must be acknowledged. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-guard.h"

static const char *guard_env[] = {
	"frontdesk_addresses=support@example.com help@example.com",
	"frontdesk_trusted_authserv_id=mx.example.com",
	"frontdesk_ack_ignore_senders=^alerts@monitoring\\.example\\.net$",
	NULL
};

static const char *const *cur_env = guard_env;

static const char *env_get(const char *name, void *context ATTR_UNUSED)
{
	const char *const *p;
	size_t len = strlen(name);

	for (p = cur_env; *p != NULL; p++) {
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	}
	return NULL;
}

#define HUMAN_HDR \
	"From: Mario Rossi <mario.rossi@example.it>\n" \
	"To: Support <support@example.com>\n" \
	"Subject: fattura sbagliata\n" \
	"Message-ID: <1@example.it>\n"

static const struct {
	const char *env_from;	/* NULL = take Return-Path */
	const char *env_to;
	const char *msg;
	const char *reason;
} guard_tests[] = {
	/* positive controls */
	{ "mario.rossi@example.it", "support@example.com",
	  HUMAN_HDR "\nla fattura di marzo e' sbagliata\n", "ok" },
	{ "mario.rossi@example.it", "support@example.com",
	  HUMAN_HDR "Auto-Submitted: no\nPrecedence: normal\n"
	  "X-Auto-Response-Suppress: None\n\nciao\n", "ok" },
	/* alias of ours in Cc, envelope to the main address */
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: x@y.example\nCc: HELP@Example.com\n"
	  "Subject: hi\n\nhello\n", "ok" },
	/* original recipient accepted */
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: Support+it@example.com\nSubject: hi\n\nhi\n",
	  "ok" },
	/* a customer writing about a bounce is still a customer */
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\nSubject: my mail to "
	  "you bounced\n\nI tried to write to sales and it bounced.\n", "ok" },

	/* RFC 3834 / vacation rules */
	{ "", "support@example.com", HUMAN_HDR "\nx\n", "null-sender" },
	{ NULL, "support@example.com",
	  "Return-Path: <>\n" HUMAN_HDR "\nx\n", "null-sender" },
	{ "support@example.com", "support@example.com",
	  HUMAN_HDR "\nx\n", "own-address" },
	{ "help@example.com", "support@example.com",
	  HUMAN_HDR "\nx\n", "own-address" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "List-Id: <users.lists.example.com>\n\nx\n", "list-header" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "List-Unsubscribe: <mailto:u@x>\n\nx\n", "list-header" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Precedence: bulk\n\nx\n", "precedence" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Precedence: JUNK\n\nx\n", "precedence" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Precedence: auto_reply\n\nx\n", "precedence" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Auto-Submitted: yes\n\nx\n", "auto-submitted" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Auto-Submitted: auto-notified\n\nx\n", "auto-submitted" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Auto-Submitted: Auto-Replied; owner-email=\"a@b\"\n\nx\n",
	  "auto-submitted" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Auto-Response-Suppress: All\n\nx\n",
	  "auto-response-suppress" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Auto-Response-Suppress: OOF\n\nx\n",
	  "auto-response-suppress" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Auto-Response-Suppress: DR, OOF,\tRN\n\nx\n",
	  "auto-response-suppress" },
	{ "dovecot-request@lists.example.com", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "MAILER-DAEMON@mx.example.org", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "owner-users@lists.example.org", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "no-reply@shop.example", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "DoNotReply@bank.example", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "alerts@monitoring.example.net", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: all@example.com\nSubject: x\n\nx\n",
	  "not-addressed-to-us" },

	/* machine-mail headers */
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Autoreply: yes\n\nx\n", "autoreply-header" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Loop: crm@b.example\n\nx\n", "autoreply-header" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-AMAZON-MAIL-RELAY-TYPE: NOTIFICATION\n\nx\n",
	  "autoreply-header" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-FC-Machinegenerated: true\n\nx\n", "autoreply-header" },
	{ "posta-certificata@pec.example.it", "support@example.com",
	  HUMAN_HDR "X-Ricevuta: avvenuta-consegna\n\nx\n", "pec-receipt" },
	{ "posta-certificata@pec.example.it", "support@example.com",
	  HUMAN_HDR "X-Trasporto: posta-certificata\n\nx\n", "pec-receipt" },

	/* our own acknowledgment coming back, and replies to it */
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\nSubject: x\n"
	  "Message-ID: <frontdesk.FD-AB12.x1@example.com>\n\nx\n", "loop" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\nSubject: Re: x\n"
	  "In-Reply-To: <frontdesk.FD-AB12.x1@example.com>\n\nthanks\n",
	  "follow-up" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Frontdesk-Ack: FD-AB12\n\nx\n", "autoreply-header" },

	/* reports and bounces without header signals */
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\nSubject: x\n"
	  "Content-Type: multipart/report; report-type=delivery-status; "
	  "boundary=b\n\n--b\n\nx\n--b--\n", "report" },
	{ "staff@isp.example", "support@example.com",
	  "From: staff@isp.example\nTo: support@example.com\nSubject: "
	  "complaint about message from 192.0.2.1\nContent-Type: multipart/"
	  "mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nabuse\n"
	  "--b\nContent-Type: message/feedback-report\n\nFeedback-Type: "
	  "abuse\n--b--\n", "report" },
	{ "post_master@vtext.example.com", "support@example.com",
	  HUMAN_HDR "\nx\n", "system-sender" },
	{ "mta@relay.example", "support@example.com",
	  "From: Mail System <mta@relay.example>\nTo: support@example.com\n"
	  "Subject: Returned: your message\n\nThis is the mail system at host "
	  "relay.example.\nYour message could not be delivered to one or more "
	  "recipients.\n", "bounce-body" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\n"
	  "Subject: Risposta automatica: fattura\n\nSono in ferie.\n",
	  "auto-reply-subject" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\n"
	  "Subject: Abwesenheitsnotiz: Rechnung\n\nx\n", "auto-reply-subject" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\n"
	  "Subject: AUTO: Jane is out of the office\n\nx\n",
	  "auto-reply-subject" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\n"
	  "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_facture?=\n\nx\n",
	  "auto-reply-subject" },
	{ "a@b.example", "support@example.com",
	  "From: a@b.example\nTo: support@example.com\n"
	  "Subject: Undeliverable: invoice\n\nx\n", "bounce-subject" },

	/* spam verdicts and forged senders */
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Spam-Flag: YES\n\nx\n", "spam" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Spam-Status: Yes, score=9.1\n\nx\n", "spam" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Spam-Status: No, score=0.1\n\nx\n", "ok" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "X-Rspamd-Action: add header\n\nx\n", "spam" },
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Authentication-Results: mx.example.com; spf=pass; "
	  "dmarc=fail (p=reject) header.from=bank.example\n\nx\n",
	  "dmarc-fail" },
	/* an untrusted authserv-id is ignored: anyone can write it */
	{ "a@b.example", "support@example.com",
	  HUMAN_HDR "Authentication-Results: evil.example; dmarc=fail\n\nx\n",
	  "ok" },

	/* hostile input */
	{ "not an address", "support@example.com", HUMAN_HDR "\nx\n",
	  "invalid-sender" },
};

static void test_guard_rules(void)
{
	struct frontdesk_settings *set;
	struct frontdesk_view_limits limits;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error, *reason;
	unsigned int i;
	pool_t pool;
	bool send;

	test_begin("guard rules");
	pool = pool_alloconly_create("guard", 8192);
	test_assert(frontdesk_settings_parse(pool, env_get, NULL, &set,
					     &error) == 0);
	frontdesk_view_limits_default(&limits);
	for (i = 0; i < N_ELEMENTS(guard_tests); i++) T_BEGIN {
		input = i_stream_create_from_data(guard_tests[i].msg,
						  strlen(guard_tests[i].msg));
		(void)frontdesk_view_parse(pool, input, &limits, &view, &error);
		i_stream_unref(&input);
		frontdesk_view_set_envelope(view, guard_tests[i].env_from,
					    guard_tests[i].env_to, NULL);
		send = frontdesk_guard_check(&set->guard, view, &reason);
		test_assert_strcmp_idx(reason, guard_tests[i].reason, i);
		test_assert_idx(send == (strcmp(guard_tests[i].reason, "ok") == 0),
				i);
	} T_END;
	pool_unref(&pool);
	test_end();
}

static const char *
guard_reason_of(const struct frontdesk_settings *set, const char *msg,
		const struct frontdesk_view_limits *limits)
{
	struct frontdesk_view *view;
	struct istream *input;
	const char *error, *reason;

	input = i_stream_create_from_data(msg, strlen(msg));
	(void)frontdesk_view_parse(pool_datastack_create(), input, limits,
				   &view, &error);
	i_stream_unref(&input);
	frontdesk_view_set_envelope(view, "a@b.example", "support@example.com",
				    NULL);
	(void)frontdesk_guard_check(&set->guard, view, &reason);
	return reason;
}

/* Milters append their verdict after a long Received: chain: a marker past
   frontdesk_max_headers (or past the byte limit) must still stop the ack. */
static void test_guard_truncated_headers(void)
{
	static const char *const markers[] = {
		"X-Spam-Flag: YES", "Auto-Submitted: auto-replied",
		"Precedence: bulk", "List-Id: <users.lists.example.com>",
		"X-Rspamd-Action: reject",
	};
	struct frontdesk_settings *set;
	struct frontdesk_view_limits limits;
	const char *error, *reason;
	string_t *received, *msg;
	unsigned int i, n;

	test_begin("guard: markers after the header limit");
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) == 0);
	frontdesk_view_limits_default(&limits);
	for (n = 200; n <= 300; n += 100) {
		received = t_str_new(128 * n);
		str_append(received, HUMAN_HDR);
		for (i = 0; i < n; i++) {
			str_printfa(received, "Received: from relay%u.example "
				    "by mx.example.com; Mon, 1 Jan 2024\n", i);
		}
		/* the mail without a marker: ok while its headers fit */
		msg = t_str_new(str_len(received) + 256);
		str_append_str(msg, received);
		str_append(msg, "\nla fattura\n");
		reason = guard_reason_of(set, str_c(msg), &limits);
		test_assert_strcmp(reason, n == 200 ? "ok" :
				   "headers-truncated");
		for (i = 0; i < N_ELEMENTS(markers); i++) {
			str_truncate(msg, str_len(received));
			str_printfa(msg, "%s\n\nla fattura\n", markers[i]);
			reason = guard_reason_of(set, str_c(msg), &limits);
			test_assert_idx(strcmp(reason, "ok") != 0, n + i);
		}
	}

	/* a header block longer than the byte limit hides its end too */
	limits.max_message_bytes = 4096;
	msg = t_str_new(8192);
	str_append(msg, HUMAN_HDR);
	for (i = 0; i < 60; i++) {
		str_printfa(msg, "X-Trace-%u: %s\n", i,
			    "0123456789abcdef0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef");
	}
	str_append(msg, "X-Spam-Flag: YES\n\nla fattura\n");
	test_assert_strcmp(guard_reason_of(set, str_c(msg), &limits),
			   "headers-truncated");

	/* a long body past the byte limit is not a cut header block */
	msg = t_str_new(8192);
	str_append(msg, HUMAN_HDR "\n");
	for (i = 0; i < 200; i++)
		str_append(msg, "la fattura di marzo e' sbagliata\n");
	test_assert_strcmp(guard_reason_of(set, str_c(msg), &limits), "ok");
	test_end();
}

static void test_guard_canonical(void)
{
	static const struct {
		const char *in, *out;
	} tests[] = {
		{ "Mario.Rossi@Example.IT", "mario.rossi@example.it" },
		{ "mario+shop@example.it", "mario@example.it" },
		{ "SRS0=HHH=TT=example.it=mario@fwd.example", "mario@example.it" },
		{ "SRS1=HHH=fwd1.example==HHH=TT=example.it=mario@fwd2.example",
		  "mario@example.it" },
		{ "prvs=1234abcd=mario@example.it", "mario@example.it" },
		{ "+@example.it", "+@example.it" },
		{ "noat", "noat" },
		/* SRS0's first separator may be '+' or '-' (libsrs2) */
		{ "SRS0+HHH=TT=example.org=ann@fwd.example", "ann@example.org" },
		{ "SRS0+xQ9/=TT=example.org=bob@fwd.example",
		  "bob@example.org" },
		{ "SRS0-HHH=TT=example.org=ann@fwd.example", "ann@example.org" },
		{ "srs0=AbC+/=Z2=Example.ORG=Ann.Lee+shop@fwd.example",
		  "ann.lee@example.org" },
		/* a local part with '=' stays whole */
		{ "SRS0=HHH=TT=example.org=a=b@fwd.example", "a=b@example.org" },
		/* SRS1 with any separators */
		{ "SRS1+HHH=fwd1.example==HHH=TT=example.it=mario@fwd2.example",
		  "mario@example.it" },
		{ "SRS1=HHH=fwd1.example=+HHH=TT=example.it=mario@fwd2.example",
		  "mario@example.it" },
		{ "SRS1-HHH=fwd1.example=-HHH=TT=example.it=mario@fwd2.example",
		  "mario@example.it" },
		/* BATV forms and Barracuda */
		{ "prvs=mario/1234abcd@example.it", "mario@example.it" },
		{ "msprvs1=17abcdefgh=mario@example.it", "mario@example.it" },
		{ "btv1==0123456789a==mario@example.it", "mario@example.it" },
		{ "BTV1==0123456789a==mario+shop@example.it",
		  "mario@example.it" },
		/* layered: BATV inside SRS, SRS signed with BATV */
		{ "SRS0=HHH=TT=example.org=prvs=1234abcd=ann@fwd.example",
		  "ann@example.org" },
		{ "prvs=1234abcd=SRS0+HHH=TT=example.org=ann@fwd.example",
		  "ann@example.org" },
		/* not SRS or BATV after all: left alone, never merged into one
		   "srs0@" or "prvs@" address */
		{ "SRS0+broken@fwd.example", "srs0+broken@fwd.example" },
		{ "srs0ann@example.org", "srs0ann@example.org" },
		{ "prvs=@example.it", "prvs=@example.it" },
		{ "btv1==tag@example.it", "btv1==tag@example.it" },
	};
	unsigned int i;

	test_begin("guard sender canonical form");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		test_assert_strcmp_idx(frontdesk_address_canonical(tests[i].in),
				       tests[i].out, i);
	} T_END;
	test_end();
}

static void test_guard_settings_errors(void)
{
	static const char *const bad_regex[] = {
		"frontdesk_ack_ignore_senders=([unclosed", NULL };
	static const char *const regex_bomb[] = {
		"frontdesk_ack_ignore_senders=^(a+)+++++++@x$", NULL };
	static const char *const bad_address[] = {
		"frontdesk_addresses=support", NULL };
	struct frontdesk_settings *set;
	const char *error;

	test_begin("guard settings errors");
	cur_env = bad_regex;
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) < 0);
	test_assert(str_begins_with(error, "frontdesk_ack_ignore_senders: "));
	cur_env = regex_bomb;
	error = "";
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) < 0);
	test_assert(str_begins_with(error, "frontdesk_ack_ignore_senders: ") &&
		    strstr(error, "regex repeats a repetition") != NULL);
	cur_env = bad_address;
	test_assert(frontdesk_settings_parse(pool_datastack_create(), env_get,
					     NULL, &set, &error) < 0);
	test_assert(str_begins_with(error, "frontdesk_addresses: 'support'"));
	cur_env = guard_env;
	test_end();
}

void test_guard(void)
{
	test_guard_rules();
	test_guard_truncated_headers();
	test_guard_canonical();
	test_guard_settings_errors();
}
