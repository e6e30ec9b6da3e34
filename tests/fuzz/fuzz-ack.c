/* libFuzzer harness: the acknowledgment composer. The input is a customer's
   raw mail: it is viewed and classified as in a delivery, then an
   acknowledgment is composed from every shipped template and from the
   harness's own one, and each goes through the oracle of fuzz_check_ack()
   (only our headers, CRLF, line lengths, the subject and name exactly
   and escaped). The customer controls the envelope sender too, so the
   From address is taken as theirs and the display name is used. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-hours.h"
#include "frontdesk-template.h"
#include "frontdesk-ack.h"
#include "fuzz-common.h"

static const char *const fuzz_langs[] = { "it", "en", "de", "fr", "es", "pt" };
static struct frontdesk_template *templates[N_ELEMENTS(fuzz_langs) + 1];
static pool_t tpl_pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	const char *dir = getenv("FRONTDESK_FUZZ_TEMPLATES"), *error;
	unsigned int i;

	fuzz_init(TRUE);
	if (dir == NULL)
		dir = FUZZ_TEMPLATE_DIR;
	tpl_pool = pool_alloconly_create("fuzz templates", 65536);
	for (i = 0; i < N_ELEMENTS(fuzz_langs); i++) {
		if (frontdesk_template_load(tpl_pool, dir, fuzz_langs[i],
					    &templates[i], &error) <= 0)
			i_fatal("template %s: %s", fuzz_langs[i], error);
	}
	if (frontdesk_template_parse(tpl_pool, "zz", "fuzz-template",
				     fuzz_ack_template_text, &templates[i],
				     &error) < 0)
		i_fatal("fuzz template: %s", error);
	return 0;
}

static void fuzz_one(const uint8_t *data, size_t size, pool_t pool)
{
	const struct frontdesk_settings *set = fuzz_settings();
	struct frontdesk_view *view;
	struct frontdesk_classification result;
	struct frontdesk_ack_params params;
	struct frontdesk_when when;
	struct istream *input;
	const char *error;
	uint32_t h = fuzz_hash(data, size);
	time_t now = FUZZ_NOW + (time_t)(h % (14 * 24 * 3600));
	time_t deadline;
	unsigned int i;

	input = i_stream_create_from_data(data, size);
	(void)frontdesk_view_parse(pool, input, &set->limits, &view, &error);
	i_stream_unref(&input);
	frontdesk_view_set_envelope(view, FUZZ_CUSTOMER_ADDR,
				    FUZZ_SUPPORT_ADDR, NULL);
	fuzz_check_view(view, set->limits.max_body_bytes,
			set->limits.max_headers);
	frontdesk_classify(fuzz_model(), set, view, pool, &result);
	fuzz_check_classification(fuzz_model(), set, &result);
	/* the sender controls the envelope as well as From: */
	view->from_addr = FUZZ_CUSTOMER_ADDR;

	deadline = frontdesk_hours_deadline(set->ack.hours, now, result.urgent ?
		set->ack.urgent_response_secs : set->ack.response_secs);
	frontdesk_hours_describe(set->ack.hours, now, deadline, &when);

	i_zero(&params);
	params.from_addr = FUZZ_SUPPORT_ADDR;
	params.from_name = (h & 1) != 0 ? "" : "Ufficio Clienti Società";
	params.company = set->ack.company;
	params.msgid_domain = FUZZ_MSGID_DOMAIN;
	params.subject_max = set->ack.subject_max;

	for (i = 0; i < N_ELEMENTS(templates); i++) T_BEGIN {
		struct frontdesk_classification r = result;
		struct frontdesk_ack_input in;
		struct fuzz_ack_expect exp;
		string_t *msg = t_str_new(4096);

		r.language = templates[i]->language;
		i_zero(&in);
		in.view = view;
		in.result = &r;
		in.tpl = templates[i];
		in.to_addr = FUZZ_CUSTOMER_ADDR;
		in.ticket = FUZZ_TICKET;
		in.when = &when;
		in.now = now;
		if (frontdesk_ack_compose(&params, &in, msg, &error) < 0)
			fuzz_fail("compose (%s) failed: %s",
				  templates[i]->language, error);
		i_zero(&exp);
		exp.from_addr = FUZZ_SUPPORT_ADDR;
		exp.to_addr = FUZZ_CUSTOMER_ADDR;
		exp.ticket = FUZZ_TICKET;
		exp.tpl = templates[i];
		exp.name = frontdesk_ack_safe_name(view->from_name);
		exp.subject = frontdesk_template_clean_value(view->subject,
							     params.subject_max);
		/* every shipped template: {{#subject}}: {{subject}}{{/subject}} */
		exp.subject_in_subject = *exp.subject != '\0';
		exp.own_template = i == N_ELEMENTS(fuzz_langs);
		fuzz_dump(msg);
		fuzz_check_ack(msg, &exp);
	} T_END;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* allocfree: every allocation is its own malloc, visible to ASan */
	pool_t pool = pool_allocfree_create("fuzz ack");

	T_BEGIN {
		fuzz_one(data, size, pool);
	} T_END;
	pool_unref(&pool);
	return 0;
}
