/* Tests for frontdesk-classify: needs, office, unsure, urgency, language,
   quoted text, explanations, on a small model written here so every
   expectation can be checked by hand. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "test-frontdesk.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-tags.h"

static const char *test_rules =
	"@language it\n"
	"lang 1 che\nlang 1 non\nlang 1 il\nlang 1 per\nlang 1 sono\n"
	"billing 2 fattur*\nbilling 1.5 addebit*\n"
	"technical 1 modem\ntechnical 1 non funziona\n"
	"complaint 1 vergogna\n"
	"urgent 2 urgente\nurgent -2 non urgente\n"
	"@language en\n"
	"lang 1 the\nlang 1 is\nlang 1 and\nlang 1 my\nlang 1 you\n"
	"billing 2 invoice\ntechnical 1 router\nsales 2 quote\n"
	"appointment 2 book an appointment\n";

static const char *null_env(const char *name ATTR_UNUSED,
			    void *context ATTR_UNUSED)
{
	return NULL;
}

static pool_t result_pool;

static void classify_msg(const struct frontdesk_model *model,
			 const struct frontdesk_settings *set,
			 const char *msg, struct frontdesk_classification *r)
{
	struct frontdesk_view *view;
	struct istream *input;
	const char *error;

	input = i_stream_create_from_data(msg, strlen(msg));
	test_assert(frontdesk_view_parse(result_pool, input, &set->limits,
					 &view, &error) == 0);
	i_stream_unref(&input);
	frontdesk_classify(model, set, view, result_pool, r);
}

static void test_classify_basic(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	struct frontdesk_settings *set;
	struct frontdesk_classification r;
	const char *error;

	test_assert(frontdesk_model_add_string(model, "t", test_rules,
					       &error) == 0);
	test_assert(frontdesk_settings_parse(pool_datastack_create(), null_env,
					     NULL, &set, &error) == 0);

	test_begin("classify need, office, language, explanation");
	classify_msg(model, set, "Subject: fattura sbagliata\n\n"
		     "Buongiorno, il mio addebito non e' corretto e sono "
		     "arrabbiato per questo.\n", &r);
	test_assert_strcmp(r.need, "billing");
	test_assert(r.office == FRONTDESK_OFFICE_BACK);
	test_assert(!r.unsure);
	test_assert(!r.urgent);
	test_assert_strcmp(r.language, "it");
	/* subject fattur* 2x2=4, body addebit* 1.5 */
	test_assert(r.score > 5.49 && r.score < 5.51);
	test_assert(r.confidence > 0.84 && r.confidence < 0.85);
	test_assert(strstr(r.explanation, "billing=5.5 [S:fattur* addebit*]")
		    != NULL);
	test_end();

	test_begin("classify secondary need and urgency");
	classify_msg(model, set, "Subject: URGENTE\n\nil modem non funziona e "
		     "la fattura e' una vergogna\n", &r);
	test_assert_strcmp(r.need, "billing");
	test_assert_strcmp(r.secondary, "technical");
	test_assert(r.urgent);
	/* a tie is a coin toss: a person looks first */
	test_assert(r.unsure);
	test_assert(r.office == FRONTDESK_OFFICE_FRONT);
	test_end();

	test_begin("classify negated urgency, priority header");
	classify_msg(model, set, "Subject: info\n\nnon urgente: il modem\n", &r);
	test_assert(!r.urgent);
	classify_msg(model, set, "Subject: info\nImportance: high\n\nmodem\n",
		     &r);
	test_assert(r.urgent);
	test_end();

	test_begin("classify unsure goes to the front office");
	classify_msg(model, set, "Subject: hello\n\nthe weather is nice and "
		     "you know my name\n", &r);
	test_assert(r.unsure);
	test_assert_strcmp(r.need, "");
	test_assert(r.office == FRONTDESK_OFFICE_FRONT);
	test_assert_strcmp(r.language, "en");
	classify_msg(model, set, "Subject: x\n\nrouter quote invoice\n", &r);
	test_assert(r.unsure);
	test_assert(r.office == FRONTDESK_OFFICE_FRONT);
	test_end();

	test_begin("classify quoted text does not mislead");
	classify_msg(model, set, "Subject: Re: x\n\nI want to book an "
		     "appointment for the router check please.\n\n"
		     "On Mon, 3 Mar 2025, Support <s@x> wrote:\n"
		     "> your invoice invoice invoice is ready\n", &r);
	test_assert_strcmp(r.need, "appointment");
	test_assert(r.office == FRONTDESK_OFFICE_FRONT);
	/* a bare forward: the forwarded text is all there is */
	classify_msg(model, set, "Subject: Fwd: x\n\nsee below\n\n"
		     "---------- Forwarded message ---------\nFrom: a@b\n\n"
		     "your invoice is wrong and the invoice is late\n", &r);
	test_assert_strcmp(r.need, "billing");
	test_end();

	test_begin("classify greeting in a language the customer uses again");
	classify_msg(model, set, "Subject: x\n\n"
		     "che bello, the modem is broken and my router is the "
		     "problem and you know it, sono stanco\n", &r);
	test_assert_strcmp(r.language, "it");
	/* one greeting word alone does not make the language */
	classify_msg(model, set, "Subject: x\n\n"
		     "che? the modem is broken and my router is the "
		     "problem and you know it\n", &r);
	test_assert_strcmp(r.language, "en");
	/* a greeting further down (quoted, signature) does not count */
	classify_msg(model, set, "Subject: x\n\n"
		     "the modem is broken and my router is the problem, "
		     "che sono\n", &r);
	test_assert_strcmp(r.language, "en");
	test_end();

	test_begin("classify language hint from Content-Language");
	classify_msg(model, set, "Subject: x\nContent-Language: it-IT\n\n"
		     "modem\n", &r);
	test_assert_strcmp(r.language, "it");
	test_end();

	test_begin("tags: keywords and headers");
	{
		ARRAY_TYPE(const_string) kws;
		string_t *hdr = t_str_new(256);
		const char *const *k;

		classify_msg(model, set, "Subject: URGENTE fattura\n\nil "
			     "modem non funziona\n", &r);
		test_assert(!r.unsure);
		t_array_init(&kws, 4);
		frontdesk_tags_keywords(set, &r, &kws);
		k = array_front(&kws);
		test_assert(array_count(&kws) == 3);
		test_assert_strcmp(k[0], "billing");
		test_assert_strcmp(k[1], "technical");
		test_assert_strcmp(k[2], "urgent");
		frontdesk_tags_headers(&r, hdr);
		test_assert(str_begins_with(str_c(hdr),
			"X-Frontdesk-Need: billing, technical\r\n"
			"X-Frontdesk-Office: back\r\n"
			"X-Frontdesk-Score: "));
		test_assert(strstr(str_c(hdr), "urgent=yes") != NULL);
		/* folded: no line over 78 characters, every line CRLF */
		{
			const char *p = str_c(hdr), *eol;
			while ((eol = strstr(p, "\r\n")) != NULL) {
				test_assert(eol - p <= 78);
				test_assert(memchr(p, '\n', eol - p) == NULL);
				p = eol + 2;
			}
			test_assert(*p == '\0');
		}
	}
	test_end();
	frontdesk_model_deinit(&model);
}

static void test_classify_same_span(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	struct frontdesk_settings *set;
	struct frontdesk_classification r;
	const char *error;

	/* the same word in three lexicons, and a phrase holding a word */
	test_assert(frontdesk_model_add_string(model, "t",
		"@language en\ntechnical 0.8 compatibility\n"
		"@language es\ntechnical 1.0 compatib*\n"
		"@language it\ntechnical 0.8 compatibil*\n"
		"@language *\nbilling 2 charged twice\nbilling 1 charged\n",
		&error) == 0);
	test_assert(frontdesk_settings_parse(pool_datastack_create(), null_env,
					     NULL, &set, &error) == 0);

	test_begin("classify one word is one piece of evidence per need");
	classify_msg(model, set, "Subject: x\n\ncompatibility\n", &r);
	test_assert_strcmp(r.need, "technical");
	/* the strongest of the three rules in an English text (es and it
	   count 0.7x), not their sum */
	test_assert(r.score > 0.79 && r.score < 0.81);
	test_assert(strstr(r.explanation, "[compatibility]") != NULL);
	/* a phrase and a word inside it both count */
	classify_msg(model, set, "Subject: x\n\nyou charged twice\n", &r);
	test_assert_strcmp(r.need, "billing");
	test_assert(r.score > 2.99 && r.score < 3.01);
	test_end();
	frontdesk_model_deinit(&model);
}

static void test_classify_regex(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	struct frontdesk_settings *set;
	struct frontdesk_classification r;
	const char *error;

	test_assert(frontdesk_model_add_string(model, "t", test_rules,
					       &error) == 0);
	test_assert(frontdesk_model_add_string(model, "admin",
		"@language it\norders 2 /\\<ordine (n |nr )?[0-9]{4,}/\n",
		&error) == 0);
	test_assert(frontdesk_settings_parse(pool_datastack_create(), null_env,
					     NULL, &set, &error) == 0);

	test_begin("classify regex rules add their weight and explain");
	classify_msg(model, set, "Subject: ciao\n\nil mio ordine nr. 48213 "
		     "non e' per il modem\n", &r);
	test_assert_strcmp(r.need, "orders");
	/* regex 2, modem 1 for technical */
	test_assert(r.score > 1.99 && r.score < 2.01);
	test_assert(strstr(r.explanation,
			   "orders=2.0 [/\\<ordine (n |nr )?[0-9]{4,}/]") != NULL);
	/* in the subject it counts double, like a word */
	classify_msg(model, set, "Subject: Ordine 48213\n\nsono il cliente\n",
		     &r);
	test_assert_strcmp(r.need, "orders");
	test_assert(r.score > 3.99 && r.score < 4.01);
	test_end();
	frontdesk_model_deinit(&model);
}

static void test_classify_compound_head(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	struct frontdesk_settings *set;
	struct frontdesk_classification r;
	const char *error;

	test_assert(frontdesk_model_add_string(model, "t",
		"@language de\nlang 1 der\nlang 1 ist\nlang 1 seit\n"
		"lang 1 nicht\nlang 1 wir\n"
		"outage 2 ausfall\nbilling 2 rechnung*\nbilling 1 stromrechnung\n"
		"urgent 2 notfall\n"
		"@language en\nlang 1 the\nlang 1 is\nlang 1 and\n"
		"technical 1 box\n",
		&error) == 0);
	test_assert(frontdesk_settings_parse(pool_datastack_create(), null_env,
					     NULL, &set, &error) == 0);

	test_begin("classify German compounds by their head");
	/* "Serverausfall" is an "Ausfall" */
	classify_msg(model, set, "Subject: x\n\nwir haben seit heute "
		     "einen Serverausfall, der nicht endet\n", &r);
	test_assert_strcmp(r.need, "outage");
	test_assert(r.score > 1.99 && r.score < 2.01);
	test_assert(strstr(r.explanation, "[ausfall]") != NULL);
	/* a stem as head: "Jahresrechnungen" */
	classify_msg(model, set, "Subject: x\n\nwir haben die "
		     "Jahresrechnungen nicht\n", &r);
	test_assert_strcmp(r.need, "billing");
	/* a rule for the whole compound and its head are one piece of
	   evidence: the stronger counts */
	classify_msg(model, set, "Subject: x\n\ndie Stromrechnung ist "
		     "nicht da\n", &r);
	test_assert_strcmp(r.need, "billing");
	test_assert(r.score > 1.99 && r.score < 2.01);
	/* fewer than 3 letters before the head: "Berechnung" is no bill */
	classify_msg(model, set, "Subject: x\n\nder Berechnung ist nicht "
		     "klar\n", &r);
	test_assert_strcmp(r.need, "");
	/* heads never carry urgency */
	classify_msg(model, set, "Subject: x\n\nder Zahnnotfall ist nicht "
		     "klar\n", &r);
	test_assert(!r.urgent);
	/* not in an English text: there the letters are no compound */
	classify_msg(model, set, "Subject: x\n\nthe boxausfall is the "
		     "box and the thing\n", &r);
	test_assert_strcmp(r.need, "technical");
	test_end();
	frontdesk_model_deinit(&model);
}

void test_classify(void)
{
	result_pool = pool_alloconly_create("classify results", 16384);
	T_BEGIN {
		test_classify_basic();
		test_classify_same_span();
		test_classify_regex();
		test_classify_compound_head();
	} T_END;
	pool_unref(&result_pool);
}
