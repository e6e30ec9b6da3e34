/* Tests for the guard's machine kind (issue 12): what kind of machine
   wrote a message, as the filing sees it, and which signals a person's mail
   carries too (and so must not make it a machine's); a machine answering
   our acknowledgment is "about" it, and no customer follow-up. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-guard.h"

static const char *machine_env[] = {
	"frontdesk_addresses=support@example.com",
	"frontdesk_ack_message_id_domain=example.com",
	NULL
};

static const char *env_get(const char *name, void *context ATTR_UNUSED)
{
	const char *const *p;
	size_t len = strlen(name);

	for (p = machine_env; *p != NULL; p++) {
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	}
	return NULL;
}

#define TO_US "To: support@example.com\n"
#define PERSON "From: Mario Rossi <mario@example.it>\n" TO_US
#define ACK_ID "<frontdesk.fd-7k3m-q9xa-p4r2.19a2b3c@example.com>"

/* multipart/report with one delivery-status part saying action */
#define DSN(action) \
	"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n" TO_US \
	"Subject: Delivery Status Notification\n" \
	"Content-Type: multipart/report; report-type=delivery-status;\n" \
	"\tboundary=\"b1\"\n\n" \
	"--b1\nContent-Type: text/plain\n\nThe mail system\n\n" \
	"--b1\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.net\n\n" \
	"Final-Recipient: rfc822; jane@example.org\n" \
	"Action: " action "\nStatus: 5.1.1\n\n" \
	"--b1\nContent-Type: text/rfc822-headers\n\n" \
	"From: Support <support@example.com>\nTo: jane@example.org\n" \
	"Subject: Re: invoice [FD-7K3M-Q9XA-P4R2]\n" \
	"Message-ID: " ACK_ID "\n\n--b1--\n"

static const struct {
	const char *env_from;
	const char *msg;
	const char *kind;	/* "" = a person's mail */
	bool about_ack;
} machine_tests[] = {
	/* the DSN's Action decides (RFC 3464) */
	{ "", DSN("failed"), "bounce", TRUE },
	{ "", DSN("delayed"), "delay", TRUE },
	{ "", DSN("delivered"), "receipt", TRUE },
	{ "", DSN("relayed"), "receipt", TRUE },
	/* Postfix's sendmail -bv report */
	{ "", DSN("deliverable"), "receipt", TRUE },
	/* read receipt (RFC 8098) */
	{ "", "From: jane@example.org\n" TO_US "Subject: Read: invoice\n"
	  "Content-Type: multipart/report; "
	  "report-type=disposition-notification; boundary=b\n\n"
	  "--b\nContent-Type: text/plain\n\nread\n--b\n"
	  "Content-Type: message/disposition-notification\n\n"
	  "Final-Recipient: rfc822; jane@example.org\n"
	  "Disposition: manual-action/MDN-sent-manually; displayed\n--b--\n",
	  "receipt", FALSE },
	/* abuse report (ARF, RFC 5965) */
	{ "abuse@isp.example", "From: abuse@isp.example\n" TO_US
	  "Subject: complaint\nContent-Type: multipart/report; "
	  "report-type=feedback-report; boundary=b\n\n--b\n"
	  "Content-Type: text/plain\n\nabuse\n--b\n"
	  "Content-Type: message/feedback-report\n\nFeedback-Type: abuse\n"
	  "--b--\n", "report", FALSE },
	/* DMARC aggregate report */
	{ "dmarc@google.example", "From: dmarc@google.example\n" TO_US
	  "Subject: Report domain: example.com Submitter: google.com "
	  "Report-ID: <123>\n\nzip\n", "report", FALSE },
	/* RFC 3834: answers and notices */
	{ "jane@example.org", "From: jane@example.org\n" TO_US
	  "Subject: Re: your request\nAuto-Submitted: auto-replied\n"
	  "In-Reply-To: " ACK_ID "\n\nI am away.\n", "auto-reply", TRUE },
	{ "shop@example.net", "From: shop@example.net\n" TO_US
	  "Subject: your order shipped\nAuto-Submitted: auto-generated\n\n"
	  "shipped\n", "notification", FALSE },
	/* Exim's plain bounce says auto-replied too */
	{ "", "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
	  TO_US "Subject: Mail delivery failed: returning message to sender\n"
	  "Auto-Submitted: auto-replied\n\n"
	  "This message was created automatically by mail delivery software.\n"
	  "A message that you sent could not be delivered to one or more of "
	  "its recipients. This is a permanent error.\n\n  jane@example.org\n"
	  "    Unrouteable address\n\n------ This is a copy of the message, "
	  "including all the headers. ------\n\nMessage-ID: " ACK_ID "\n"
	  "Subject: Re: invoice\n", "bounce", TRUE },
	/* lists, and list servers' own notices */
	{ "owner@lists.example", PERSON "Subject: [users] hello\n"
	  "List-Id: <users.lists.example>\n\nhi\n", "list", FALSE },
	{ "neko-admin@example.org", "From: neko-admin@example.org\n" TO_US
	  "Subject: You are not member\nX-MLServer: fml\n\nnot a member\n",
	  "list", FALSE },
	/* PEC: receipts are machines, a person's PEC message is not */
	{ "posta-certificata@pec.example.it",
	  "From: posta-certificata@pec.example.it\n" TO_US
	  "Subject: CONSEGNA: fattura\nX-Ricevuta: avvenuta-consegna\n\nok\n",
	  "pec", FALSE },
	{ "mario@pec.example.it", "From: mario@pec.example.it\n" TO_US
	  "Subject: POSTA CERTIFICATA: fattura di marzo sbagliata\n"
	  "X-Trasporto: posta-certificata\n\nla fattura e' sbagliata\n",
	  "", FALSE },
	/* no-reply notices; a web form's no-reply with the customer in
	   Reply-To is the customer */
	{ "no-reply@portal.example", "From: no-reply@portal.example\n" TO_US
	  "Subject: your password was changed\n\nchanged\n",
	  "notification", FALSE },
	{ "no-reply@example.com", "From: Website <no-reply@example.com>\n"
	  TO_US "Reply-To: Anna <anna@example.org>\n"
	  "Subject: contact form: invoice wrong\n\nmy invoice is wrong\n",
	  "", FALSE },

	/* a person's mail that carries what robots carry too */
	{ "mario@example.it", PERSON "Subject: fattura\n"
	  "X-Auto-Response-Suppress: All\n\nla fattura\n", "", FALSE },
	{ "mario@example.it", PERSON "Subject: fattura\nPrecedence: bulk\n\n"
	  "la fattura\n", "", FALSE },
	{ "mario@example.it", PERSON "Subject: fattura\n"
	  "X-Loop: mario@example.it\n\nla fattura\n", "", FALSE },
	/* a customer's follow-up of our ack is a customer */
	{ "mario@example.it", PERSON "Subject: Re: invoice\n"
	  "In-Reply-To: " ACK_ID "\n\nany news?\n", "", FALSE },
	/* header-less machines answering our ack join its ticket, never
	   as the customer's follow-up */
	{ "luca@example.it", PERSON "Subject: Verifica richiesta\n"
	  "In-Reply-To: " ACK_ID "\n\nCiao,\n\nil tuo messaggio è stato "
	  "messo in attesa dal sistema antispam. Conferma una sola volta "
	  "che sei una persona e non un programma:\n\n"
	  "https://filtro.example/ok?id=9\n", "challenge", TRUE },
	{ "ines@example.pt", PERSON "Subject: Lida: Re: orçamento\n"
	  "In-Reply-To: " ACK_ID "\n\nA sua mensagem foi lida em 2 de "
	  "maio de 2026.\n", "receipt", TRUE },
	{ "tom@example.org", PERSON "Subject: Re: your request\n"
	  "In-Reply-To: " ACK_ID "\n\nSailing with no internet access "
	  "until 4 July. I'll get back to you when I return.\n",
	  "auto-reply", TRUE },
	/* ... while a person answering it about receipts is a follow-up */
	{ "tom@example.org", PERSON "Subject: Re: read receipt?\n"
	  "In-Reply-To: " ACK_ID "\n\nDid you get my read receipt? I "
	  "still need the invoice.\n", "", FALSE },
	/* a customer forwarding a bounce as an attachment is a customer */
	{ "mario@example.it", PERSON "Subject: my mail bounced\n"
	  "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	  "Content-Type: text/plain\n\nplease look at this\n--o\n"
	  "Content-Type: message/rfc822\n\n" DSN("failed") "\n--o--\n",
	  "", FALSE },
};

static void test_guard_machine_kinds(void)
{
	struct frontdesk_settings *set;
	struct frontdesk_view_limits limits;
	struct frontdesk_guard_verdict verdict;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;
	unsigned int i;
	pool_t pool;

	test_begin("guard machine kinds");
	pool = pool_alloconly_create("guard machine", 8192);
	test_assert(frontdesk_settings_parse(pool, env_get, NULL, &set,
					     &error) == 0);
	frontdesk_view_limits_default(&limits);
	for (i = 0; i < N_ELEMENTS(machine_tests); i++) T_BEGIN {
		input = i_stream_create_from_data(machine_tests[i].msg,
						  strlen(machine_tests[i].msg));
		(void)frontdesk_view_parse(pool, input, &limits, &view, &error);
		i_stream_unref(&input);
		frontdesk_view_set_envelope(view, machine_tests[i].env_from,
					    "support@example.com", NULL);
		frontdesk_guard_verdict(&set->guard, view, &verdict);
		test_assert_strcmp_idx(
			frontdesk_machine_kind_name(verdict.machine),
			machine_tests[i].kind, i);
		test_assert_idx(verdict.about_ack == machine_tests[i].about_ack,
				i);
		/* machine mail is never acknowledged, and never a
		   customer's follow-up */
		if (*machine_tests[i].kind != '\0') {
			test_assert_idx(strcmp(verdict.reason, "ok") != 0, i);
			test_assert_idx(strcmp(verdict.reason,
					       "follow-up") != 0, i);
		}
	} T_END;
	pool_unref(&pool);
	test_end();
}

static void test_view_report_fields(void)
{
	static const char msg[] = DSN("delayed");
	struct frontdesk_view_limits limits;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;
	pool_t pool;

	test_begin("view report-type, DSN action, returned headers");
	pool = pool_alloconly_create("view report", 4096);
	frontdesk_view_limits_default(&limits);
	input = i_stream_create_from_data(msg, strlen(msg));
	test_assert(frontdesk_view_parse(pool, input, &limits, &view,
					 &error) == 0);
	i_stream_unref(&input);
	test_assert_strcmp(view->report_type, "delivery-status");
	test_assert_strcmp(view->dsn_action, "delayed");
	test_assert(strstr(str_c(view->report_text), ACK_ID) != NULL);
	/* the report's own text is still the body */
	test_assert(strstr(str_c(view->text), "The mail system") != NULL);
	test_assert(strstr(str_c(view->text), ACK_ID) == NULL);
	pool_unref(&pool);
	test_end();
}

static const char *folder_value;

static const char *folder_env(const char *name, void *context ATTR_UNUSED)
{
	return strcmp(name, "frontdesk_folder_machine") == 0 ?
		folder_value : NULL;
}

static void test_settings_folder_machine(void)
{
	struct frontdesk_settings *set;
	const char *error;
	pool_t pool;

	test_begin("settings frontdesk_folder_machine");
	pool = pool_alloconly_create("folder machine", 4096);
	folder_value = NULL;
	test_assert(frontdesk_settings_parse(pool, folder_env, NULL, &set,
					     &error) == 0);
	test_assert_strcmp(set->folder_machine, "Automatic");
	/* empty: leave machine mail where Sieve or Dovecot puts it */
	folder_value = "";
	test_assert(frontdesk_settings_parse(pool, folder_env, NULL, &set,
					     &error) == 0);
	test_assert_strcmp(set->folder_machine, "");
	folder_value = "Robots";
	test_assert(frontdesk_settings_parse(pool, folder_env, NULL, &set,
					     &error) == 0);
	test_assert_strcmp(set->folder_machine, "Robots");
	folder_value = "Bad\tName";
	test_assert(frontdesk_settings_parse(pool, folder_env, NULL, &set,
					     &error) < 0);
	test_assert(strstr(error, "frontdesk_folder_machine") != NULL);
	pool_unref(&pool);
	test_end();
}

void test_guard_machine(void)
{
	test_guard_machine_kinds();
	test_view_report_fields();
	test_settings_folder_machine();
}
