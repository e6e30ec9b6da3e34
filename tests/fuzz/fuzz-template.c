/* libFuzzer harness: acknowledgment templates (templates/README.md). The
   input is a template file. Oracles: a template that loads renders every
   deadline wording without error (the composer relies on it: "validated at
   load, rendering cannot fail"), and composes, for a hostile customer
   name and subject, an acknowledgment that passes fuzz_check_ack(): what
   the template's author writes can never let the customer's text out
   unescaped or break the message's structure. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-hours.h"
#include "frontdesk-template.h"
#include "frontdesk-ack.h"
#include "fuzz-common.h"

static const char hostile_mail[] =
	"From: \"Zoë O'Brien & Co\" <" FUZZ_CUSTOMER_ADDR ">\r\n"
	"To: " FUZZ_SUPPORT_ADDR "\r\n"
	"Subject: =?UTF-8?Q?<fzsubj_a=3D'1'>R=C3=BCckerstattung_&_\"Mahnung\"_f?=\r\n"
	" =?UTF-8?Q?=C3=BCr_die_doppelt_abgebuchte_Rechnung_</p>?=\r\n"
	"Message-ID: <hostile@example.org>\r\n"
	"\r\n"
	"Bitte erstatten Sie den Betrag.\r\n";

static pool_t hostile_pool;
static struct frontdesk_view *hostile_view;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	struct istream *input;
	const char *error;

	fuzz_init(FALSE);
	hostile_pool = pool_alloconly_create("fuzz hostile view", 16384);
	input = i_stream_create_from_data(hostile_mail, strlen(hostile_mail));
	if (frontdesk_view_parse(hostile_pool, input,
				 &fuzz_settings()->limits, &hostile_view,
				 &error) < 0)
		i_fatal("hostile view: %s", error);
	i_stream_unref(&input);
	if (*hostile_view->from_name == '\0' ||
	    strstr(hostile_view->subject, "<fzsubj") == NULL)
		i_fatal("hostile view: name '%s', subject '%s'",
			hostile_view->from_name, hostile_view->subject);
	return 0;
}

/* Does the template's [subject] show {{subject}} with these values? (The
   composer gives need, team, deadline and company non-empty values.) */
static bool subject_shown(const struct frontdesk_template *tpl,
			  const struct fuzz_ack_expect *exp, bool urgent)
{
	string_t *str = t_str_new(256);
	const char *error;
	const char *vars[] = {
		"name", exp->name, "ticket", exp->ticket,
		"subject", exp->subject, "need", "x", "team", "x",
		"deadline", "x", "company", "x", "urgent", urgent ? "yes" : "",
		NULL, NULL
	};

	if (*exp->subject == '\0' ||
	    frontdesk_template_render(tpl->subject, vars,
				      FRONTDESK_TEMPLATE_ESCAPE_TEXT, str,
				      &error) < 0)
		return FALSE;
	return strstr(str_c(str), exp->subject) != NULL;
}

static void compose_check(const struct frontdesk_template *tpl,
			  bool with_name, bool urgent, time_t now)
{
	const struct frontdesk_settings *set = fuzz_settings();
	struct frontdesk_classification r;
	struct frontdesk_ack_params params;
	struct frontdesk_ack_input in;
	struct frontdesk_when when;
	struct fuzz_ack_expect exp;
	string_t *msg = t_str_new(4096);
	const char *error, *to = with_name ? FUZZ_CUSTOMER_ADDR :
		"someone.else@example.net";

	i_zero(&r);
	r.need = with_name ? "billing" : "";
	r.language = tpl->language;
	r.office = with_name ? FRONTDESK_OFFICE_BACK : FRONTDESK_OFFICE_FRONT;
	r.unsure = !with_name;
	r.urgent = urgent;
	r.explanation = "";
	frontdesk_hours_describe(set->ack.hours, now, frontdesk_hours_deadline(
		set->ack.hours, now, set->ack.response_secs), &when);
	i_zero(&params);
	params.from_addr = FUZZ_SUPPORT_ADDR;
	params.from_name = with_name ? "Support" : "";
	params.company = "Example & Söhne <GmbH>";
	params.msgid_domain = FUZZ_MSGID_DOMAIN;
	params.subject_max = set->ack.subject_max;
	i_zero(&in);
	in.view = hostile_view;
	in.result = &r;
	in.tpl = tpl;
	in.to_addr = to;
	in.ticket = FUZZ_TICKET;
	in.when = &when;
	in.now = now;
	if (frontdesk_ack_compose(&params, &in, msg, &error) < 0)
		fuzz_fail("template: loaded, but composing failed: %s", error);
	i_zero(&exp);
	exp.from_addr = FUZZ_SUPPORT_ADDR;
	exp.to_addr = to;
	exp.ticket = FUZZ_TICKET;
	exp.tpl = tpl;
	exp.name = with_name ? frontdesk_ack_safe_name(hostile_view->from_name) : "";
	exp.subject = frontdesk_template_clean_value(hostile_view->subject,
						     params.subject_max);
	exp.subject_in_subject = subject_shown(tpl, &exp, urgent);
	fuzz_dump(msg);
	fuzz_check_ack(msg, &exp);
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	pool_t pool = pool_allocfree_create("fuzz template");
	struct frontdesk_template *tpl;
	struct frontdesk_when when;
	const char *error;
	unsigned int kind, i;

	if (frontdesk_template_parse(pool, "xx", "fuzz.txt",
				     t_strndup(data, size), &tpl, &error) < 0) {
		if (error == NULL || strstr(error, "fuzz.txt") == NULL)
			fuzz_fail("template: the error does not name the file: %s",
				  error == NULL ? "(null)" : error);
		pool_unref(&pool);
		return;
	}
	/* every wording of a deadline, every weekday and month */
	for (kind = FRONTDESK_WHEN_TODAY; kind <= FRONTDESK_WHEN_LATER; kind++) {
		for (i = 0; i < 12; i++) {
			i_zero(&when);
			when.kind = kind;
			when.weekday = i % 7;
			when.year = 2026;
			when.month = i + 1;
			when.day = 28 + i % 4;
			when.hour = (i * 5) % 24;
			when.minute = (i * 13) % 60;
			(void)frontdesk_ack_deadline(tpl, &when);
		}
	}
	compose_check(tpl, TRUE, TRUE, FUZZ_NOW);
	compose_check(tpl, FALSE, FALSE, FUZZ_NOW + 5 * 24 * 3600);
	pool_unref(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	T_BEGIN {
		fuzz_one(data, size);
	} T_END;
	return 0;
}
