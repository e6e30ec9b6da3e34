/* Tests for frontdesk-model: rule syntax, errors with file:line, matching. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "array.h"
#include "istream.h"
#include "write-full.h"
#include "sha2.h"
#include "hex-binary.h"
#include "unlink-directory.h"
#include "test-frontdesk.h"
#include "frontdesk-text.h"
#include "frontdesk-model.h"

#include <fcntl.h>
#include <unistd.h>

struct hits {
	ARRAY_TYPE(const_string) texts;
	const struct frontdesk_model *model;
};

static void hit_cb(unsigned int rule_idx, void *context)
{
	struct hits *h = context;
	const char *text = frontdesk_model_rule(h->model, rule_idx)->text;

	array_push_back(&h->texts, &text);
}

static const char *match_all(const struct frontdesk_model *model,
			     const char *text)
{
	ARRAY_TYPE(frontdesk_token) tokens;
	string_t *folded = t_str_new(64), *out = t_str_new(64);
	const struct frontdesk_token *tok;
	struct hits h;
	unsigned int i, count;
	const char *t;

	frontdesk_text_fold((const unsigned char *)text, strlen(text), folded);
	t_array_init(&tokens, 8);
	frontdesk_text_tokenize(folded, &tokens);
	t_array_init(&h.texts, 8);
	h.model = model;
	tok = array_get(&tokens, &count);
	for (i = 0; i < count; i++)
		frontdesk_model_match(model, tok + i, count - i, hit_cb, &h);
	array_foreach_elem(&h.texts, t)
		str_printfa(out, "%s|", t);
	return str_c(out);
}

static void test_model_match(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	const char *error;

	test_begin("model rules and matching");
	test_assert(frontdesk_model_add_string(model, "t",
		"# comment\n"
		"@language it\n"
		"billing 2 fattur*   # stem\n"
		"billing 1.5 addebito doppio\n"
		"technical 1 non funziona\n"
		"technical 1 modem\n"
		"@language *\n"
		"urgent 2 asap\n"
		"billing -1 fatturato annuo\n", &error) == 0);
	test_assert(frontdesk_model_rule_count(model) == 6);
	test_assert(frontdesk_model_lang_idx(model, "it") == 1);
	test_assert(frontdesk_model_rule(model, 0)->lang_idx == 1);
	test_assert(frontdesk_model_rule(model, 4)->lang_idx == 0);
	test_assert_strcmp(match_all(model, "La FATTURAZIONE: addebito doppio!"),
			   "fattur*|addebito doppio|");
	test_assert_strcmp(match_all(model, "Il modem non funziona ASAP"),
			   "modem|non funziona|asap|");
	test_assert_strcmp(match_all(model, "fatturato annuo"),
			   "fattur*|fatturato annuo|");
	/* a stem needs the whole stem; an exact word the whole word */
	test_assert_strcmp(match_all(model, "fat modems addebito"), "");
	test_end();
	frontdesk_model_deinit(&model);
}

static const char *match_regex(const struct frontdesk_model *model,
			       const char *text)
{
	string_t *folded = t_str_new(64), *out = t_str_new(64);
	struct hits h;
	const char *t;

	frontdesk_text_fold((const unsigned char *)text, strlen(text), folded);
	t_array_init(&h.texts, 8);
	h.model = model;
	frontdesk_model_match_regex(model, str_c(folded), 3, hit_cb, &h);
	array_foreach_elem(&h.texts, t)
		str_printfa(out, "%s|", t);
	return str_c(out);
}

static void test_model_regex(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	const struct frontdesk_rule *rule;
	const char *error;

	test_begin("model regex rules");
	test_assert(frontdesk_model_add_string(model, "t",
		"@language it\n"
		"orders 2 /ordine (n |numero )?[0-9]{5,}/   # order numbers\n"
		"billing 1.5 /\\<Rimborsat[oaie]\\>/\n"
		"technical 1 /perch[ÉE] non/\n"
		"@language *\n"
		"sales 1 modem\n", &error) == 0);
	test_assert(frontdesk_model_rule_count(model) == 4);
	test_assert(frontdesk_model_regex_rule_count(model) == 3);
	rule = frontdesk_model_rule(model, 0);
	test_assert(rule->regex != NULL && rule->word_count == 0);
	test_assert(rule->lang_idx == 1);
	test_assert_strcmp(rule->text, "/ordine (n |numero )?[0-9]{5,}/");
	/* letters folded like the text; what follows '\' left alone */
	test_assert_strcmp(frontdesk_model_rule(model, 1)->text,
			   "/\\<rimborsat[oaie]\\>/");
	test_assert_strcmp(frontdesk_model_rule(model, 2)->text,
			   "/perch[ee] non/");
	test_assert_strcmp(match_regex(model, "Ordine N. 123456 e ordine "
				       "numero 99999; ordine 12"),
			   "/ordine (n |numero )?[0-9]{5,}/|"
			   "/ordine (n |numero )?[0-9]{5,}/|");
	test_assert_strcmp(match_regex(model, "rimborsati? non rimborsatore"),
			   "/\\<rimborsat[oaie]\\>/|");
	test_assert_strcmp(match_regex(model, "PERCHÉ NON va"),
			   "/perch[ee] non/|");
	/* at most max_hits per rule */
	test_assert_strcmp(match_regex(model, "perche non perche non perche "
				       "non perche non"),
			   "/perch[ee] non/|/perch[ee] non/|/perch[ee] non/|");
	/* regex rules are not word rules */
	test_assert_strcmp(match_all(model, "ordine 123456 modem"), "modem|");
	/* the same regex again: one rule, the admin's weight */
	test_assert(frontdesk_model_add_string(model, "admin",
		"orders 3 /ordine (n |numero )?[0-9]{5,}/\n"
		"technical 1 router\nsales 2 modem\n", &error) == 0);
	test_assert(frontdesk_model_regex_rule_count(model) == 3);
	test_assert(frontdesk_model_rule(model, 0)->weight == 3.0f);
	/* the first file's words still match next to the second's */
	test_assert_strcmp(match_all(model, "ordine 123456 modem router"),
			   "modem|router|");
	test_assert(frontdesk_model_rule(model, 3)->weight == 2.0f);
	/* a failed file leaves the model as it was */
	test_assert(frontdesk_model_add_string(model, "bad",
		"technical 1 switch\nbilling 1 /x(/\n", &error) < 0);
	test_assert_strcmp(match_all(model, "switch modem router"),
			   "modem|router|");
	test_end();
	frontdesk_model_deinit(&model);
}

static void test_model_regex_bounds(void)
{
	static const char *const good[] = {
		"\\<ordine (n |nr |numero )?[0-9]{5,}\\>",
		"(ord|ordine) ?[0-9]{6,}",
		"(x[0-9]+ )+y",
		"((ab)?c[0-9]+)+d",
		"[0-9]{255}",
		"([0-9]{1,20} ?){1,20}x",
		"[[:digit:]]{3}[]a-z]+",
	};
	static const struct {
		const char *regex, *error;
	} bad[] = {
		/* issue 10: 2.7 GB and 12 s in regcomp() */
		{ "[0-9]++++++++++++++++++++{5,}", "regex repeats a repetition" },
		{ "x(((a+)+)+)+", "regex repeats a repetition 4 deep" },
		{ "x(a{100}){100}", "regex too large" },
		{ "x((a{10}){10}){10}", "regex too large" },
		{ "(x(a{100}){100}", "regex too large" },
		{ "xa{256}", "repetition count over 255" },
		{ "xa{1000,}", "repetition count over 255" },
		{ "xa{99999999999999999999}", "repetition count over 255" },
	};
	struct frontdesk_model *model;
	const char *error;
	string_t *long_regex = t_str_new(512);
	unsigned int i;

	test_begin("model regex rules: bounded before regcomp()");
	for (i = 0; i < N_ELEMENTS(good); i++) {
		model = frontdesk_model_init();
		error = NULL;
		test_assert_idx(frontdesk_model_add_string(model, "t",
			t_strdup_printf("orders 2 /%s/\n", good[i]),
			&error) == 0, i);
		if (error != NULL)
			i_error("%s", error);
		frontdesk_model_deinit(&model);
	}
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		model = frontdesk_model_init();
		error = "";
		test_assert_idx(frontdesk_model_add_string(model, "rules.txt",
			t_strdup_printf("sales 1 modem\norders 2 /%s/\n",
					bad[i].regex), &error) < 0, i);
		test_assert_idx(str_begins_with(error, t_strconcat(
			"rules.txt:2: ", bad[i].error, NULL)), i);
		test_assert_idx(frontdesk_model_rule_count(model) == 0, i);
		frontdesk_model_deinit(&model);
	}
	for (i = 0; i < 300; i++)
		str_append_c(long_regex, 'a' + i % 26);
	model = frontdesk_model_init();
	error = "";
	test_assert(frontdesk_model_add_string(model, "t", t_strdup_printf(
		"orders 2 /%s/\n", str_c(long_regex)), &error) < 0);
	test_assert(str_begins_with(error, "t:1: regex longer than 256 bytes"));
	frontdesk_model_deinit(&model);
	test_end();
}

static void test_model_errors(void)
{
	static const struct {
		const char *text, *error;
	} tests[] = {
		{ "billing 2\n", "t:1: expected" },
		{ "\n\nBilling 2 x\n", "t:3: invalid need name 'Billing'" },
		{ "billing heavy x\n", "t:1: invalid weight 'heavy'" },
		{ "billing 0 x\n", "t:1: invalid weight '0'" },
		{ "billing 99 x\n", "t:1: invalid weight '99'" },
		{ "billing 1 ab*\n", "t:1: prefix 'ab*' needs at least 3" },
		{ "billing 1 e-mail\n", "t:1: word 'e-mail' must be letters" },
		{ "@language\n", "t:1: invalid language ''" },
		{ "@frobnicate x\n", "t:1: unknown directive '@frobnicate'" },
		{ "billing 1 a b c d e f g h i\n", "t:1: more than 8 words" },
		{ "billing 1 modem\nbilling 1 /fattur\n",
		  "t:2: regex without its closing '/'" },
		{ "billing 1 /fattura(/\n", "t:1: invalid regex /fattura(/: " },
		{ "billing 1 //\n", "t:1: empty regex" },
		{ "billing 1 /x*/\n", "t:1: regex /x*/ matches the empty text" },
		{ "billing 1 /fattura/ modem\n",
		  "t:1: unexpected text after the regex: 'modem'" },
		{ "billing 1 /fattura€/\n", "t:1: '€' never occurs" },
	};
	struct frontdesk_model *model;
	const char *error;
	unsigned int i;

	test_begin("model errors name file and line");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		model = frontdesk_model_init();
		test_assert_idx(frontdesk_model_add_string(model, "t",
			tests[i].text, &error) < 0, i);
		test_assert_idx(str_begins_with(error, tests[i].error), i);
		test_assert_idx(frontdesk_model_rule_count(model) == 0, i);
		frontdesk_model_deinit(&model);
	}
	model = frontdesk_model_init();
	test_assert(frontdesk_model_add_file(model, "/nonexistent/x.model",
					     &error) < 0);
	test_assert(strstr(error, "/nonexistent/x.model") != NULL);
	frontdesk_model_deinit(&model);
	test_end();
}

static void test_model_shipped(void)
{
	struct frontdesk_model *model = frontdesk_model_init();
	const char *error = NULL;
	const char *langs[] = { "it", "en", "de", "fr", "es", "pt" };
	unsigned int i;

	test_begin("shipped model loads, every language and need present");
	test_assert(frontdesk_model_add_lexicon_file(model, TEST_MODEL_PATH,
						     &error) == 0);
	if (error != NULL)
		i_error("%s", error);
	for (i = 0; i < N_ELEMENTS(langs); i++)
		test_assert_idx(frontdesk_model_lang_idx(model, langs[i]) > 0, i);
	test_assert(frontdesk_model_need_idx(model, "billing") >= 0);
	test_assert(frontdesk_model_need_idx(model, "appointment") >= 0);
	test_assert(frontdesk_model_need_idx(model, "urgent") >= 0);
	test_assert(frontdesk_model_need_idx(model, "lang") >= 0);
	test_end();
	frontdesk_model_deinit(&model);
}

static const char *model_test_path;

/* Write text to the test's model file and load it; returns the result of
   the load, with rule_count_r the number of rules then in the model. */
static int model_load_text(const char *text, size_t size, bool lexicon,
			   unsigned int *rule_count_r, const char **error_r)
{
	struct frontdesk_model *model = frontdesk_model_init();
	int fd, ret;

	*error_r = "";
	fd = open(model_test_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write_full(fd, text, size) < 0)
		i_fatal("write(%s) failed: %m", model_test_path);
	i_close_fd(&fd);
	ret = lexicon ?
		frontdesk_model_add_lexicon_file(model, model_test_path,
						 error_r) :
		frontdesk_model_add_file(model, model_test_path, error_r);
	*rule_count_r = frontdesk_model_rule_count(model);
	frontdesk_model_deinit(&model);
	return ret;
}

/* body followed by the "@end" line build-model writes for it */
static const char *model_with_end(const char *body, const char *format,
				  unsigned int rules)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(body, strlen(body), digest);
	return t_strdup_printf("%s@end format=%s rules=%u sha256=%s\n", body,
			       format, rules,
			       binary_to_hex(digest, sizeof(digest)));
}

static void test_model_integrity(void)
{
	char dir[] = "/tmp/fdmodel.XXXXXX";
	struct istream *input;
	const unsigned char *data;
	const char *shipped, *text, *error, *p, *end;
	size_t size, cut;
	unsigned int rules, shipped_rules;

	test_begin("model file integrity: empty, truncated, damaged");
	if (mkdtemp(dir) == NULL)
		i_fatal("mkdtemp() failed: %m");
	model_test_path = t_strconcat(dir, "/frontdesk.model", NULL);
	input = i_stream_create_file(TEST_MODEL_PATH, SIZE_MAX);
	while (i_stream_read(input) > 0) ;
	if (input->stream_errno != 0)
		i_fatal("read(%s) failed", TEST_MODEL_PATH);
	data = i_stream_get_data(input, &size);
	shipped = t_strndup(data, size);
	i_stream_unref(&input);
	size = strlen(shipped);

	/* as built: all of it */
	test_assert(model_load_text(shipped, size, TRUE, &shipped_rules,
				    &error) == 0);
	test_assert(shipped_rules > 1000);

	/* empty */
	test_assert(model_load_text("", 0, TRUE, &rules, &error) < 0);
	test_assert(rules == 0);
	test_assert(str_begins_with(error, model_test_path));
	test_assert(strstr(error, "empty") != NULL);

	/* cut anywhere: mid-line, and at a line end */
	for (cut = size / 10; cut < size; cut += size / 7) {
		test_assert_idx(model_load_text(shipped, cut, TRUE, &rules,
						&error) < 0, cut);
		test_assert_idx(rules == 0, cut);
		test_assert_idx(str_begins_with(error, model_test_path), cut);
	}
	end = strstr(shipped, "\n@end ");
	test_assert(end != NULL);
	if (end != NULL) {
		test_assert(model_load_text(shipped, end - shipped + 1, TRUE,
					    &rules, &error) < 0);
		test_assert(strstr(error, "no '@end' line") != NULL);
		/* the same text is fine as an admin's rule file */
		test_assert(model_load_text(shipped, end - shipped + 1, FALSE,
					    &rules, &error) == 0);
		test_assert(rules == shipped_rules);
	}

	/* one rule line lost */
	p = strstr(shipped, "\nbilling ");
	test_assert(p != NULL);
	text = t_strconcat(t_strdup_until(shipped, p + 1),
			   strchr(p + 1, '\n') + 1, NULL);
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "but the file has") != NULL);
	test_assert(rules == 0);
	/* one weight changed: "\nbilling   W..." */
	text = t_strdup(shipped);
	cut = p - shipped + 8;
	while (text[cut] == ' ' || text[cut] == '\t')
		cut++;
	((char *)text)[cut] = text[cut] == '1' ? '2' : '1';
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "SHA-256 mismatch") != NULL);
	/* something after the end */
	text = t_strconcat(shipped, "billing 2 extra\n", NULL);
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "text after the '@end' line") != NULL);

	/* format, rule count and an end line in an admin's rule file */
	text = model_with_end("@language it\nbilling 2 fattura\n", "1", 1);
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) == 0);
	test_assert(rules == 1);
	test_assert(model_load_text(text, strlen(text), FALSE, &rules,
				    &error) == 0);
	text = model_with_end("@language it\nbilling 2 fattura\n", "2", 1);
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "model format '2'") != NULL);
	text = model_with_end("# nothing\n@language *\n", "1", 0);
	test_assert(model_load_text(text, strlen(text), TRUE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "no rules") != NULL);
	text = model_with_end("billing 2 fattura\n", "1", 2);
	test_assert(model_load_text(text, strlen(text), FALSE, &rules,
				    &error) < 0);
	test_assert(strstr(error, "rules=2") != NULL);

	if (unlink_directory(dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
	test_end();
}

void test_model(void)
{
	test_model_match();
	test_model_regex();
	test_model_regex_bounds();
	test_model_errors();
	test_model_shipped();
	test_model_integrity();
}
