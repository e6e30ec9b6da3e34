/* Tests of the learned need model: hashed features, the weights file's
   integrity checks, scoring, and the shipped model on plain requests in
   each language. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "sha2.h"
#include "hex-binary.h"
#include "frontdesk-text.h"
#include "frontdesk-features.h"
#include "frontdesk-weights.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "test-frontdesk.h"

#include <math.h>

static const char *null_env(const char *name ATTR_UNUSED,
			    void *context ATTR_UNUSED)
{
	return NULL;
}

static string_t *fold(const char *text)
{
	string_t *str = t_str_new(128);

	frontdesk_text_fold((const unsigned char *)text, strlen(text), str);
	return str;
}

static void
extract(const struct frontdesk_feature_params *params, const char *subject,
	const char *text, ARRAY_TYPE(frontdesk_feature) *features)
{
	t_array_init(features, 64);
	frontdesk_features_extract(params, fold(subject), fold(text), NULL, 0,
				   features);
}

static void test_features(void)
{
	struct frontdesk_feature_params params;
	ARRAY_TYPE(frontdesk_feature) a, b, c;
	const struct frontdesk_feature *f;
	double norm = 0;
	unsigned int i;

	test_begin("weights: features are stable and normalized");
	frontdesk_feature_params_default(&params);
	extract(&params, "Rechnung doppelt", "Sie haben zweimal abgebucht.", &a);
	extract(&params, "Rechnung doppelt", "Sie haben zweimal abgebucht.", &b);
	test_assert(array_count(&a) == array_count(&b) && array_count(&a) > 20);
	for (i = 0; i < array_count(&a) && i < array_count(&b); i++) {
		const struct frontdesk_feature *fa = array_idx(&a, i);
		const struct frontdesk_feature *fb = array_idx(&b, i);

		test_assert_idx(fa->idx == fb->idx && fa->value == fb->value, i);
		test_assert_idx(fa->idx < params.buckets, i);
		norm += fa->value * fa->value;
	}
	test_assert(fabs(norm - 1.0) < 1e-4);
	/* the same words in the subject weigh differently than in the body */
	extract(&params, "", "Rechnung doppelt Sie haben zweimal abgebucht.", &c);
	test_assert(array_count(&c) < array_count(&a));
	/* explanations point at the customer's words */
	array_foreach(&a, f)
		test_assert(f->src != NULL && f->src_len > 0);
	test_end();

	test_begin("weights: a long mail is read up to max-tokens");
	T_BEGIN {
		string_t *big = t_str_new(70000);

		for (i = 0; i < 10000; i++)
			str_printfa(big, "word%u ", i);
		params.max_tokens = 10;
		params.char_min = params.char_max = 0;
		extract(&params, "", str_c(big), &c);
		/* 10 words, 10 pairs (the last one reaches past the cut) */
		test_assert(array_count(&c) <= 20);
	} T_END;
	test_end();
}

/* A weights file for 2 classes, 8 buckets, one dense feature. */
static buffer_t *
make_weights(const int8_t w[8][3], const char *calibration)
{
	buffer_t *payload = t_buffer_create(256), *file = t_buffer_create(512);
	const float scale[3] = { 0.5f, 0.5f, 1.0f }, bias[3] = { 0, 0.1f, -1 };
	const float dense[3] = { 2.0f, 0, 0 };
	unsigned char digest[SHA256_RESULTLEN];

	buffer_append(payload, scale, sizeof(scale));
	buffer_append(payload, bias, sizeof(bias));
	buffer_append(payload, dense, sizeof(dense));
	buffer_append(payload, w, 8 * 3);
	sha256_get_digest(payload->data, payload->used, digest);
	str_printfa(file, "frontdesk-weights 1\n# test\nbuckets 8\nchar 0 0\n"
		    "max-tokens 50\nclasses billing sales\ndense lex:billing\n"
		    "calibration %s\npayload-bytes %zu\npayload-sha256 %s\n\n",
		    calibration, payload->used,
		    binary_to_hex(digest, sizeof(digest)));
	buffer_append_buf(file, payload, 0, SIZE_MAX);
	return file;
}

static void test_weights_file(void)
{
	static const int8_t w[8][3] = {
		{ 10, -10, 0 }, { 0, 20, 5 }, { 0 }, { 0 },
		{ 0 }, { 0 }, { 0 }, { -4, 4, 127 },
	};
	struct frontdesk_weights *weights;
	ARRAY_TYPE(frontdesk_feature) features;
	struct frontdesk_feature *f;
	const char *error;
	buffer_t *file;
	unsigned char *copy;
	float logits[3], dense = 1.0f;

	test_begin("weights: a good file loads and scores");
	file = make_weights(w, "0.30 0.60 0.25 0.50");
	test_assert(frontdesk_weights_parse("t", file->data, file->used,
					    &weights, &error) == 0);
	test_assert(frontdesk_weights_class_count(weights) == 2);
	test_assert(strcmp(frontdesk_weights_class(weights, 1), "sales") == 0);
	test_assert(frontdesk_weights_params(weights)->buckets == 8);
	test_assert(frontdesk_weights_calibration(weights)->name == 0.60f);
	t_array_init(&features, 4);
	f = array_append_space(&features);
	f->idx = 0; f->value = 1.0f;
	f = array_append_space(&features);
	f->idx = 7; f->value = 0.5f;
	frontdesk_weights_score(weights, &features, &dense, logits);
	/* billing: 0 + (10 - 2) * 0.5 + 2 * 1; sales: 0.1 + (-10 + 2) * 0.5;
	   urgency: -1 + 63.5 */
	test_assert(fabsf(logits[0] - 6.0f) < 1e-5);
	test_assert(fabsf(logits[1] - (-3.9f)) < 1e-5);
	test_assert(fabsf(logits[2] - 62.5f) < 1e-5);
	frontdesk_weights_free(&weights);
	test_end();

	test_begin("weights: damaged files are refused with a reason");
	/* truncated by one byte */
	test_assert(frontdesk_weights_parse("m.w", file->data, file->used - 1,
					    &weights, &error) < 0);
	test_assert(strstr(error, "m.w") != NULL &&
		    strstr(error, "truncated") != NULL);
	/* one payload bit flipped */
	copy = t_malloc_no0(file->used);
	memcpy(copy, file->data, file->used);
	copy[file->used - 3] ^= 1;
	test_assert(frontdesk_weights_parse("m.w", copy, file->used,
					    &weights, &error) < 0);
	test_assert(strstr(error, "checksum") != NULL);
	/* empty, and not ours */
	test_assert(frontdesk_weights_parse("m.w", (const void *)"", 0,
					    &weights, &error) < 0);
	test_assert(strstr(error, "not a frontdesk weights file") != NULL);
	test_assert(frontdesk_weights_parse("m.w", (const void *)"billing 2 x\n",
					    12, &weights, &error) < 0);
	/* a header that lies about its sizes */
	file = make_weights(w, "0.30 0.60 0.25 2.0");
	test_assert(frontdesk_weights_parse("m.w", file->data, file->used,
					    &weights, &error) < 0);
	test_assert(strstr(error, "m.w:8") != NULL);
	test_end();
}

static void test_shipped_model(void)
{
	static const struct {
		const char *subject, *body, *need;
	} cases[] = {
		{ "", "Buongiorno, nella bolletta di marzo mi avete addebitato "
		  "due volte lo stesso importo. Potete rimborsarmi?", "billing" },
		{ "order", "Hi, I ordered a lamp three weeks ago and the parcel "
		  "never arrived. The tracking has not moved since Monday.",
		  "orders" },
		{ "Passwort", "Hallo, ich komme nicht mehr in mein Kundenkonto, "
		  "das Passwort wird nicht akzeptiert und die Mail zum "
		  "Zurücksetzen kommt nie an.", "account" },
		{ "", "Bonjour, je voudrais prendre rendez-vous pour un "
		  "contrôle la semaine prochaine, plutôt le matin.",
		  "appointment" },
	};
	struct frontdesk_settings *set;
	struct frontdesk_model *model;
	struct frontdesk_classification r;
	const char *error;
	unsigned int i;
	pool_t pool;

	test_begin("weights: the shipped model on plain requests");
	pool = pool_alloconly_create("test", 4096);
	test_assert(frontdesk_settings_parse(pool, null_env, NULL,
					     &set, &error) == 0);
	set->model_path = TEST_MODEL_PATH;
	set->rules_path = "";
	set->weights_path = TEST_WEIGHTS_PATH;
	if (frontdesk_model_load(set, &model, &error) < 0)
		i_fatal("model: %s", error);
	test_assert(frontdesk_model_weights(model) != NULL);
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		frontdesk_classify_text(model, set, cases[i].subject,
					cases[i].body, NULL, pool, &r);
		test_assert_idx(strcmp(r.need, cases[i].need) == 0, i);
		test_assert_idx(r.confidence > 0 && r.confidence <= 1, i);
		test_assert_idx(r.explanation[0] != '\0', i);
	}
	test_end();

	test_begin("weights: the admin's rules go on top of the learned model");
	/* an admin who wants every "bolletta" mail in sales */
	test_assert(frontdesk_model_add_string(model, "admin.rules",
		"@language *\nsales 6 bolletta\n", &error) == 0);
	frontdesk_classify_text(model, set, cases[0].subject, cases[0].body,
				NULL, pool, &r);
	test_assert_strcmp(r.need, "sales");
	test_assert(strncmp(r.explanation, "sales=", 6) == 0 &&
		    strstr(r.explanation, "[rules+6.0") != NULL);
	frontdesk_classify_text(model, set, cases[1].subject, cases[1].body,
				NULL, pool, &r);
	test_assert_strcmp(r.need, "orders");
	frontdesk_model_deinit(&model);
	pool_unref(&pool);
	test_end();
}

void test_weights(void)
{
	test_features();
	test_weights_file();
	test_shipped_model();
}
