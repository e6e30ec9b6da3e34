/* The learned need model's decision (frontdesk-score.h): softmax over the
   needs the taxonomy knows, the calibrated thresholds of the weights file,
   and an explanation made of the customer's own words that weighed most. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-features.h"
#include "frontdesk-weights.h"
#include "frontdesk-score.h"

#include <math.h>

/* The admin's rules on top of the learned model: a rule of weight 1 adds
   this much to its need's logit. The model is often sure of itself (odds of
   1000:1 are a logit gap of 7), and the lexicon's scale says a weight of
   3 to 5 settles the question alone: so weight 3 is a factor e^6 (400)
   on the odds, weight 5 e^10. */
#define SCORE_ADMIN_LOGIT 2.0f

/* Words shown per need in the explanation. */
#define SCORE_EXPLAIN_WORDS 3

/* The dense features a weights file may name, in the order the trainer
   gets them when it has no weights file yet. */
static const char *const default_dense[] = {
	"lex:billing", "lex:technical", "lex:outage", "lex:orders",
	"lex:account", "lex:privacy", "lex:sales", "lex:information",
	"lex:complaint", "lex:appointment", "lex:urgent", "prio:high",
	NULL
};

struct word_contrib {
	const char *src;
	unsigned int len;
	float value;
	bool subject;
};

static float
dense_value(const char *name, const struct frontdesk_settings *set,
	    const struct frontdesk_score_input *in)
{
	const struct frontdesk_need_def *defs;
	unsigned int i, count;

	if (strcmp(name, "prio:high") == 0)
		return in->priority >= 1 && in->priority <= 2 ? 1.0f : 0.0f;
	if (strcmp(name, "lex:urgent") == 0)
		return log1pf(in->lex_urgent);
	if (strncmp(name, "lex:", 4) != 0)
		return 0.0f;
	defs = array_get(&set->needs, &count);
	for (i = 0; i < count; i++) {
		if (strcmp(defs[i].name, name + 4) == 0)
			return log1pf(in->lex_scores[i]);
	}
	return 0.0f;
}

static void
score_extract(const struct frontdesk_feature_params *params,
	      const struct frontdesk_score_input *in,
	      ARRAY_TYPE(frontdesk_feature) *features)
{
	t_array_init(features, 256);
	frontdesk_features_extract(params, in->subject, in->new_text,
				   in->quoted, in->quoted_weight, features);
}

void frontdesk_score_features(const struct frontdesk_weights *weights,
			      const struct frontdesk_settings *set,
			      const struct frontdesk_score_input *in,
			      string_t *sparse, string_t *dense)
{
	struct frontdesk_feature_params defaults;
	ARRAY_TYPE(frontdesk_feature) features;
	const struct frontdesk_feature *f;
	unsigned int i, count;

	frontdesk_feature_params_default(&defaults);
	score_extract(weights == NULL ? &defaults :
		      frontdesk_weights_params(weights), in, &features);
	array_foreach(&features, f) {
		if (str_len(sparse) > 0)
			str_append_c(sparse, ' ');
		str_printfa(sparse, "%u:%.6g", f->idx, f->value);
	}
	count = weights == NULL ? N_ELEMENTS(default_dense) - 1 :
		frontdesk_weights_dense_count(weights);
	for (i = 0; i < count; i++) {
		const char *name = weights == NULL ? default_dense[i] :
			frontdesk_weights_dense_name(weights, i);

		if (str_len(dense) > 0)
			str_append_c(dense, ' ');
		str_printfa(dense, "%s=%.6g", name,
			    dense_value(name, set, in));
	}
}

static int word_contrib_ptr_cmp(const struct word_contrib *a,
				const struct word_contrib *b)
{
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a->len < b->len ? -1 : (a->len > b->len);
}

static bool
in_string(const string_t *str, const char *p)
{
	const char *start;

	if (str == NULL)
		return FALSE;
	start = (const char *)str_data(str);
	return p >= start && p < start + str_len(str);
}

static bool
word_shown(const struct word_contrib *shown, unsigned int count,
	   const struct word_contrib *w)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (shown[i].len == w->len &&
		    memcmp(shown[i].src, w->src, w->len) == 0)
			return TRUE;
	}
	return FALSE;
}

/* "need=0.93 [S:word word pair]": the words that pushed column col up the
   most, each occurrence's features (the word, its grams, its pairs: they
   share the word's place in the text) summed. Runs in every delivery: one
   integer sort of the positive contributions, then a linear pick. */
static void
explain_column(string_t *dest, const struct frontdesk_weights *weights,
	       const ARRAY_TYPE(frontdesk_feature) *features,
	       const struct frontdesk_score_input *in, const char *name,
	       float prob, unsigned int col, float admin)
{
	ARRAY(struct word_contrib) words;
	const struct frontdesk_feature *f;
	struct word_contrib *w, shown[SCORE_EXPLAIN_WORDS];
	unsigned int i, k, n, count, shown_count = 0;
	float v;

	t_array_init(&words, array_count(features) / 2 + 1);
	array_foreach(features, f) {
		v = frontdesk_weights_contribution(weights, f, col);
		if (v <= 0)
			continue;
		w = array_append_space(&words);
		w->src = f->src;
		w->len = f->src_len;
		w->value = v;
	}
	array_sort(&words, word_contrib_ptr_cmp);
	w = array_get_modifiable(&words, &count);
	for (i = 0, k = 0; i < count; i++) {
		if (k > 0 && word_contrib_ptr_cmp(&w[k-1], &w[i]) == 0)
			w[k-1].value += w[i].value;
		else
			w[k++] = w[i];
	}
	for (n = 0; n < SCORE_EXPLAIN_WORDS; n++) {
		int best = -1;

		for (i = 0; i < k; i++) {
			if (w[i].value > 0 &&
			    (best < 0 || w[i].value > w[best].value))
				best = i;
		}
		if (best < 0)
			break;
		if (!word_shown(shown, shown_count, &w[best])) {
			shown[shown_count] = w[best];
			shown[shown_count].subject =
				in_string(in->subject, w[best].src);
			shown_count++;
		} else {
			n--;
		}
		w[best].value = 0;
	}

	if (str_len(dest) > 0)
		str_append_c(dest, ' ');
	str_printfa(dest, "%s=%.2f [", name, prob);
	if (admin != 0) {
		/* the admin's own rules weighed in: say so first */
		str_printfa(dest, "rules%+.1f", admin);
	}
	for (i = 0; i < shown_count; i++) {
		if (i > 0 || admin != 0)
			str_append_c(dest, ' ');
		if (shown[i].subject)
			str_append(dest, "S:");
		str_append_data(dest, shown[i].src, shown[i].len);
	}
	str_append_c(dest, ']');
}

bool frontdesk_score_decide(const struct frontdesk_weights *weights,
			    const struct frontdesk_settings *set,
			    const struct frontdesk_score_input *in,
			    pool_t pool,
			    struct frontdesk_classification *r)
{
	const struct frontdesk_weights_calibration *cal =
		frontdesk_weights_calibration(weights);
	unsigned int classes = frontdesk_weights_class_count(weights);
	unsigned int dense_count = frontdesk_weights_dense_count(weights);
	const struct frontdesk_need_def *defs, *def;
	ARRAY_TYPE(frontdesk_feature) features;
	float *logits = t_new(float, classes + 1);
	float *dense = t_new(float, dense_count + 1);
	float *prob = t_new(float, classes);
	int *tax = t_new(int, classes);
	unsigned int i, need_count, known = 0;
	int best = -1, second = -1;
	float max = -INFINITY, sum = 0, urgent_p;
	string_t *expl;

	defs = array_get(&set->needs, &need_count);
	for (i = 0; i < classes; i++) {
		def = frontdesk_settings_find_need(set,
			frontdesk_weights_class(weights, i));
		tax[i] = def == NULL ? -1 : (int)(def - defs);
		if (tax[i] >= 0)
			known++;
	}
	if (known == 0)
		return FALSE;

	for (i = 0; i < dense_count; i++) {
		dense[i] = dense_value(frontdesk_weights_dense_name(weights, i),
				       set, in);
	}
	score_extract(frontdesk_weights_params(weights), in, &features);
	frontdesk_weights_score(weights, &features, dense, logits);
	/* the admin's rules on top */
	for (i = 0; i < classes; i++) {
		if (tax[i] >= 0 && in->admin_scores != NULL) {
			logits[i] += SCORE_ADMIN_LOGIT *
				in->admin_scores[tax[i]];
		}
	}
	logits[classes] += SCORE_ADMIN_LOGIT * in->admin_urgent;

	/* softmax over the needs this taxonomy has */
	for (i = 0; i < classes; i++) {
		if (tax[i] >= 0 && logits[i] > max)
			max = logits[i];
	}
	for (i = 0; i < classes; i++) {
		prob[i] = tax[i] < 0 ? 0 : expf(logits[i] - max);
		sum += prob[i];
	}
	for (i = 0; i < classes; i++) {
		prob[i] /= sum;
		if (tax[i] < 0)
			continue;
		if (best < 0 || prob[i] > prob[best]) {
			second = best;
			best = i;
		} else if (second < 0 || prob[i] > prob[second]) {
			second = i;
		}
	}
	urgent_p = 1.0f / (1.0f + expf(-logits[classes]));

	r->need = p_strdup(pool, defs[tax[best]].name);
	r->score = prob[best];
	r->confidence = prob[best];
	/* the admin may ask for more human eyes, never for fewer */
	r->unsure = prob[best] < cal->unsure ||
		prob[best] < set->unsure_threshold_learned;
	r->office = r->unsure ? FRONTDESK_OFFICE_FRONT : defs[tax[best]].office;
	r->need_named = !r->unsure && prob[best] >= cal->name;
	r->secondary = NULL;
	r->secondary_score = 0;
	if (second >= 0 && prob[second] >= cal->secondary) {
		r->secondary = p_strdup(pool, defs[tax[second]].name);
		r->secondary_score = prob[second];
	}
	r->urgent = urgent_p >= cal->urgent ||
		(in->priority >= 1 && in->priority <= 2);

	expl = t_str_new(256);
	explain_column(expl, weights, &features, in, r->need, prob[best], best,
		       in->admin_scores == NULL ? 0 : in->admin_scores[tax[best]]);
	if (r->secondary != NULL) {
		explain_column(expl, weights, &features, in, r->secondary,
			       prob[second], second, in->admin_scores == NULL ? 0 :
			       in->admin_scores[tax[second]]);
	}
	if (r->urgent) {
		explain_column(expl, weights, &features, in, "urgent",
			       urgent_p, classes, in->admin_urgent);
		if (in->priority >= 1 && in->priority <= 2)
			str_printfa(expl, " priority=%d", in->priority);
	}
	if (str_len(expl) > FRONTDESK_CLASSIFY_MAX_EXPLANATION)
		str_truncate(expl, FRONTDESK_CLASSIFY_MAX_EXPLANATION);
	r->explanation = p_strdup(pool, str_c(expl));
	return TRUE;
}
