/* Tests for frontdesk-verdict: what a Sieve script's ack request may do
   against the verdict, template names, and ${frontdesk.*} values. */

#include "lib.h"
#include "test-frontdesk.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-verdict.h"

static const char *verdict_env(const char *name, void *context)
{
	const char *mode = context;

	if (strcmp(name, "frontdesk_addresses") == 0)
		return "support@example.com";
	if (strcmp(name, "frontdesk_ack") == 0)
		return mode;
	return NULL;
}

static void
verdict_init(struct frontdesk_verdict *v, const char *ack_mode,
	     struct frontdesk_classification *result)
{
	struct frontdesk_settings *set;
	const char *error;

	test_assert(frontdesk_settings_parse(pool_datastack_create(),
		verdict_env, (void *)ack_mode, &set, &error) == 0);
	i_zero(result);
	result->need = "billing";
	result->secondary = "technical";
	result->office = FRONTDESK_OFFICE_BACK;
	result->language = "it";
	result->confidence = 0.875f;
	i_zero(v);
	v->abi = FRONTDESK_VERDICT_ABI;
	v->set = set;
	v->result = result;
	v->office = FRONTDESK_OFFICE_BACK;
	v->guard.reason = "ok";
	v->ticket = "FD-AAAA-BBBB-CCCC";
	v->ack_send = TRUE;
	v->ack_reason = "ok";
}

static void test_verdict_ack_refusal(void)
{
	struct frontdesk_classification result;
	struct frontdesk_verdict v;

	test_begin("verdict: a script's ack request never beats the rules");
	verdict_init(&v, "yes", &result);
	test_assert(frontdesk_verdict_ack_refusal(&v) == NULL);

	/* machine mail: the kind and what showed it */
	v.guard.reason = "auto-submitted";
	v.guard.machine = FRONTDESK_MACHINE_BOUNCE;
	v.ack_send = FALSE;
	v.ack_reason = "auto-submitted";
	test_assert_strcmp(frontdesk_verdict_ack_refusal(&v),
			   "bounce (auto-submitted)");
	/* not machine, still refused by the guard (a loop, a list) */
	v.guard.machine = FRONTDESK_MACHINE_NONE;
	v.guard.reason = "own-address";
	test_assert_strcmp(frontdesk_verdict_ack_refusal(&v), "own-address");

	verdict_init(&v, "yes", &result);
	v.follow_up = TRUE;
	test_assert_strcmp(frontdesk_verdict_ack_refusal(&v), "follow-up");

	verdict_init(&v, "no", &result);
	test_assert_strcmp(frontdesk_verdict_ack_refusal(&v), "disabled");

	/* the delivery's own "no" (already acknowledged, state errors) */
	verdict_init(&v, "yes", &result);
	v.ack_send = FALSE;
	v.ack_reason = "already-acked";
	test_assert_strcmp(frontdesk_verdict_ack_refusal(&v), "already-acked");
	test_end();
}

static void test_verdict_template_name(void)
{
	static const struct {
		const char *name;
		bool valid;
	} tests[] = {
		{ "vip", TRUE }, { "brand-a_2", TRUE }, { "", FALSE },
		{ "..", FALSE }, { "a/b", FALSE }, { "a b", FALSE },
		{ "../etc", FALSE }, { "x.txt", FALSE }, { "ä", FALSE },
		/* 64 characters, then 65 */
		{ "0123456789012345678901234567890123456789"
		  "012345678901234567890123", TRUE },
		{ "0123456789012345678901234567890123456789"
		  "0123456789012345678901234", FALSE },
	};
	unsigned int i;

	test_begin("verdict: template names");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(frontdesk_template_name_valid(tests[i].name) ==
				tests[i].valid, i);
	}
	test_end();
}

static void test_verdict_values(void)
{
	struct frontdesk_classification result;
	struct frontdesk_verdict v;

	test_begin("verdict: ${frontdesk.*} values");
	verdict_init(&v, "yes", &result);
	test_assert_strcmp(frontdesk_verdict_value(&v, "need"), "billing");
	test_assert_strcmp(frontdesk_verdict_value(&v, "secondary"),
			   "technical");
	test_assert_strcmp(frontdesk_verdict_value(&v, "office"), "back");
	test_assert_strcmp(frontdesk_verdict_value(&v, "language"), "it");
	test_assert_strcmp(frontdesk_verdict_value(&v, "confidence"), "0.88");
	test_assert_strcmp(frontdesk_verdict_value(&v, "ticket"),
			   "FD-AAAA-BBBB-CCCC");
	test_assert_strcmp(frontdesk_verdict_value(&v, "machine"), "");
	test_assert_strcmp(frontdesk_verdict_value(&v, "urgent"), "no");
	test_assert_strcmp(frontdesk_verdict_value(&v, "followup"), "no");
	test_assert_strcmp(frontdesk_verdict_value(&v, "ack"), "yes");
	test_assert(frontdesk_verdict_value(&v, "nope") == NULL);
	test_assert(frontdesk_verdict_value_known("ack_reason"));
	test_assert(!frontdesk_verdict_value_known("Need"));
	/* a follow-up is filed where its ticket is */
	v.office = FRONTDESK_OFFICE_FRONT;
	test_assert_strcmp(frontdesk_verdict_value(&v, "office"), "front");
	v.guard.machine = FRONTDESK_MACHINE_LIST;
	test_assert_strcmp(frontdesk_verdict_value(&v, "machine"), "list");
	test_end();
}

void test_verdict(void)
{
	test_verdict_ack_refusal();
	test_verdict_template_name();
	test_verdict_values();
}
