/* libFuzzer harness: the model/rules file parser (the shipped model's and
   the admin's frontdesk_rules format, frontdesk-model.h). The input is a
   rule file added on top of a small base, as an admin's rules are added to
   the shipped model. Oracles: the bounds of frontdesk-model.h hold; a file
   that is refused leaves nothing of itself behind; a model that loads
   classifies text (the file itself and a fixed mail) within the
   classifier's contracts, its rule text reaching the X-Frontdesk-Score
   header only in a well-formed header. */

#include "lib.h"
#include "str.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "fuzz-common.h"

static const char base_rules[] =
	"@language en\n"
	"billing 2 invoice\n"
	"technical 1.5 modem* router\n"
	"urgent 2 asap\n"
	"@language *\n";

static const char fixed_text[] =
	"Hello, my invoice is wrong and the Serverausfall is urgent asap! "
	"Fattura sbagliata, modem rosso. Rückerstattung für die Rechnung.";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init(FALSE);
	return 0;
}

static void classify_check(const struct frontdesk_model *model,
			   const char *subject, const char *body,
			   const char *lang_hint)
{
	const struct frontdesk_settings *set = fuzz_settings();
	struct frontdesk_classification result;
	pool_t pool = pool_allocfree_create("fuzz classify");

	frontdesk_classify_text(model, set, subject, body, lang_hint, pool,
				&result);
	fuzz_check_classification(model, set, &result);
	pool_unref(&pool);
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	struct frontdesk_model *model = frontdesk_model_init();
	const char *text = t_strndup(data, size), *error;
	unsigned int base_count;

	if (frontdesk_model_add_string(model, "base", base_rules, &error) < 0)
		i_fatal("base rules: %s", error);
	base_count = frontdesk_model_rule_count(model);
	if (frontdesk_model_add_string(model, "fuzz.rules", text, &error) < 0) {
		if (error == NULL || strstr(error, "fuzz.rules") == NULL)
			fuzz_fail("model: the error does not name the file: %s",
				  error == NULL ? "(null)" : error);
		if (frontdesk_model_rule_count(model) != base_count)
			fuzz_fail("model: a refused file left %u rules behind",
				  frontdesk_model_rule_count(model) - base_count);
	}
	if (frontdesk_model_rule_count(model) > base_count +
	    FRONTDESK_MODEL_MAX_RULES)
		fuzz_fail("model: %u rules", frontdesk_model_rule_count(model));
	if (frontdesk_model_regex_rule_count(model) >
	    FRONTDESK_MODEL_MAX_REGEX_RULES)
		fuzz_fail("model: %u regex rules",
			  frontdesk_model_regex_rule_count(model));
	if (frontdesk_model_need_count(model) > FRONTDESK_MODEL_MAX_NEEDS + 2 ||
	    frontdesk_model_lang_count(model) > FRONTDESK_MODEL_MAX_LANGS + 1)
		fuzz_fail("model: %u needs, %u languages",
			  frontdesk_model_need_count(model),
			  frontdesk_model_lang_count(model));
	(void)frontdesk_model_memory_size(model);

	classify_check(model, "invoice asap", fixed_text, NULL);
	classify_check(model, t_strcut(text, '\n'), text, NULL);
	classify_check(model, "", text, "de");
	frontdesk_model_deinit(&model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	T_BEGIN {
		fuzz_one(data, size);
	} T_END;
	return 0;
}
