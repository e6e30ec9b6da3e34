/* The need classifier: weighted lexicon evidence from the subject and the
   customer's new text, language detection from function words, urgency from
   explicit wording and priority headers, and an explanation an agent can
   read in a header. Deterministic and allocation-light: it runs inside
   every delivery. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "frontdesk-text.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-classify.h"
#include "frontdesk-features.h"
#include "frontdesk-weights.h"
#include "frontdesk-score.h"

#include <math.h>

struct classify_match {
	unsigned int rule_idx;
	/* where the match starts: scanned region and token */
	unsigned int region, pos;
	float region_weight;
	bool subject;
	/* matched the head of a compound (see classify_scan_heads) */
	bool head;
};

struct classify_ctx {
	const struct frontdesk_model *model;
	const struct frontdesk_settings *set;
	ARRAY(struct classify_match) matches;
	unsigned int region, pos;
	float region_weight;
	bool subject;
	/* the language whose compounds are read by their head, or -1; the
	   needs that never match a head */
	int compound_lang, lang_need, urgent_need;
	bool head;

	/* folded regions, kept for the learned model */
	string_t *subject_folded, *new_folded, *quoted_folded;
	unsigned int new_tokens;
	int priority;
	/* the lexicon's evidence per taxonomy need, and for urgency; the
	   part of it that the admin's own rules gave */
	float *lex_scores, *admin_scores;
	float lex_urgent, admin_urgent;
};

struct rule_score {
	unsigned int rule_idx;
	float score;
	unsigned int hits;
	bool subject;
};

static void classify_match_cb(unsigned int rule_idx, void *context)
{
	struct classify_ctx *ctx = context;
	struct classify_match *m;

	if (ctx->head) {
		const struct frontdesk_rule *rule =
			frontdesk_model_rule(ctx->model, rule_idx);

		if (rule->regex != NULL || rule->word_count != 1 ||
		    (int)rule->lang_idx != ctx->compound_lang ||
		    (int)rule->need_idx == ctx->lang_need ||
		    (int)rule->need_idx == ctx->urgent_need ||
		    strlen(rule->words[0]) < FRONTDESK_CLASSIFY_MIN_HEAD)
			return;
	}
	m = array_append_space(&ctx->matches);
	m->rule_idx = rule_idx;
	m->region = ctx->region;
	m->pos = ctx->pos;
	m->region_weight = ctx->region_weight;
	m->subject = ctx->subject;
	m->head = ctx->head;
}

/* German writes "Serverausfall", "Rücksendeetikett", "Stromrechnung" as one
   word, and the last part (the head) says what the thing is. A lexicon
   cannot list every compound, so the longest head of a token that is a
   single-word rule of the compounding language counts as that rule, at the
   token's position (so a rule for the whole compound and one for its head
   are one piece of evidence). At least 3 letters must come before the head
   ("Berechnung" is not a "Rechnung") and the head must have
   FRONTDESK_CLASSIFY_MIN_HEAD letters. */
static void
classify_scan_heads(struct classify_ctx *ctx, const struct frontdesk_token *tok)
{
	struct frontdesk_token head;
	unsigned int k, before = array_count(&ctx->matches);

	if (ctx->compound_lang < 0 ||
	    tok->len < FRONTDESK_MODEL_MIN_STEM + FRONTDESK_CLASSIFY_MIN_HEAD)
		return;
	ctx->head = TRUE;
	for (k = FRONTDESK_MODEL_MIN_STEM;
	     k + FRONTDESK_CLASSIFY_MIN_HEAD <= tok->len; k++) {
		head.str = tok->str + k;
		head.len = tok->len - k;
		frontdesk_model_match(ctx->model, &head, 1,
				      classify_match_cb, ctx);
		if (array_count(&ctx->matches) > before)
			break;
	}
	ctx->head = FALSE;
}

static string_t *classify_fold(const char *text, size_t size)
{
	string_t *folded = t_str_new(size + 1);

	frontdesk_text_fold((const unsigned char *)text, size, folded);
	return folded;
}

static unsigned int
classify_scan(struct classify_ctx *ctx, string_t *folded,
	      float weight, bool subject)
{
	ARRAY_TYPE(frontdesk_token) tokens;
	const struct frontdesk_token *tok;
	unsigned int i, count;

	t_array_init(&tokens, str_len(folded) / 5 + 4);
	frontdesk_text_tokenize(folded, &tokens);
	tok = array_get(&tokens, &count);
	if (weight <= 0)
		return count;
	ctx->region++;
	ctx->region_weight = weight;
	ctx->subject = subject;
	for (i = 0; i < count; i++) {
		ctx->pos = i;
		frontdesk_model_match(ctx->model, tok + i, count - i,
				      classify_match_cb, ctx);
		classify_scan_heads(ctx, tok + i);
	}
	ctx->pos = UINT_MAX;
	frontdesk_model_match_regex(ctx->model, str_c(folded),
				    FRONTDESK_CLASSIFY_MAX_HITS,
				    classify_match_cb, ctx);
	return count;
}

static const char *
classify_language(struct classify_ctx *ctx, const char *hint,
		  unsigned int *lang_idx_r)
{
	const struct frontdesk_model *model = ctx->model;
	unsigned int lang_count = frontdesk_model_lang_count(model);
	int lang_need = frontdesk_model_need_idx(model, FRONTDESK_NEED_LANG);
	float *scores = t_new(float, lang_count + 1);
	const struct classify_match *m;
	unsigned int i, best = 0, greeting = 0;
	int idx;

	if (lang_need >= 0) {
		array_foreach(&ctx->matches, m) {
			const struct frontdesk_rule *rule =
				frontdesk_model_rule(model, m->rule_idx);
			if (rule->need_idx != (unsigned int)lang_need)
				continue;
			scores[rule->lang_idx] += rule->weight;
			/* the first word of the customer's own text */
			if (!m->subject && m->pos == 0 &&
			    m->region_weight >= 1.0f)
				greeting = rule->lang_idx;
		}
	}
	for (i = 1; i < lang_count; i++) {
		if (scores[i] > scores[best])
			best = i;
	}
	/* A customer who greets us in a language ("Buongiorno, we would
	   like ...") and uses it again has chosen it to address us, even if
	   most of the text is in another one. */
	if (greeting != 0 && scores[greeting] >= 2.0f)
		best = greeting;
	/* two function words at least, or trust the sender's header */
	if (best != 0 && scores[best] >= 2.0f) {
		*lang_idx_r = best;
		return frontdesk_model_lang_name(model, best);
	}
	if (hint != NULL && strlen(hint) >= 2) {
		idx = frontdesk_model_lang_idx(model, t_strndup(hint, 2));
		if (idx > 0) {
			*lang_idx_r = idx;
			return frontdesk_model_lang_name(model, idx);
		}
	}
	if (best != 0 && scores[best] > 0) {
		*lang_idx_r = best;
		return frontdesk_model_lang_name(model, best);
	}
	idx = frontdesk_model_lang_idx(model, ctx->set->default_language);
	*lang_idx_r = idx > 0 ? (unsigned int)idx : 0;
	return ctx->set->default_language;
}

/* The weight a match adds before repetition is counted: a word of another
   language than the message's is weaker evidence (false friends exist). */
static float
classify_match_weight(const struct frontdesk_model *model,
		      const struct classify_match *m, unsigned int lang_idx)
{
	const struct frontdesk_rule *rule =
		frontdesk_model_rule(model, m->rule_idx);
	float w = rule->weight * m->region_weight;

	if (rule->lang_idx != 0 && rule->lang_idx != lang_idx)
		w *= 0.7f;
	return w;
}

/* Rules of several lexicons often cover the same words for the same need
   (en "compatibility", es/fr/pt "compatib*", it "compatibil*"). One word of
   the text is one piece of evidence: of the matches that start at the same
   token and span as many words for the same need, only the strongest
   counts. A phrase and a word inside it still both count. Matches come in
   text order, so the rivals of a match are its neighbours. */
static void
classify_drop_same_span(struct classify_ctx *ctx, unsigned int lang_idx)
{
	const struct frontdesk_model *model = ctx->model;
	struct classify_match *m;
	const struct frontdesk_rule *ri, *rj;
	unsigned int i, j, k, count;
	float wi, wj;

	m = array_get_modifiable(&ctx->matches, &count);
	for (i = 0, k = 0; i < count; i++) {
		ri = frontdesk_model_rule(model, m[i].rule_idx);
		if (ri->regex != NULL) {
			/* the admin's deliberate rule: always counts */
			m[k++] = m[i];
			continue;
		}
		wi = fabsf(classify_match_weight(model, &m[i], lang_idx));
		/* a kept match of the same span and need? */
		for (j = k; j > 0; j--) {
			if (m[j-1].region != m[i].region ||
			    m[j-1].pos != m[i].pos) {
				j = 0;
				break;
			}
			rj = frontdesk_model_rule(model, m[j-1].rule_idx);
			if (rj->regex == NULL && rj->need_idx == ri->need_idx &&
			    rj->word_count == ri->word_count)
				break;
		}
		if (j == 0) {
			m[k++] = m[i];
			continue;
		}
		wj = fabsf(classify_match_weight(model, &m[j-1], lang_idx));
		if (wi > wj)
			m[j-1] = m[i];
	}
	array_delete(&ctx->matches, k, count - k);
}

static int rule_score_cmp(const struct rule_score *a, const struct rule_score *b)
{
	if (a->score > b->score)
		return -1;
	if (a->score < b->score)
		return 1;
	return a->rule_idx < b->rule_idx ? -1 : (a->rule_idx > b->rule_idx);
}

static void
explain_need(string_t *dest, const struct frontdesk_model *model,
	     const char *name, float score, const struct rule_score *rules, unsigned int count,
	     unsigned int need_idx)
{
	unsigned int i, shown = 0;

	if (str_len(dest) > 0)
		str_append_c(dest, ' ');
	str_printfa(dest, "%s=%.1f [", name, score);
	for (i = 0; i < count && shown < 3; i++) {
		const struct frontdesk_rule *rule =
			frontdesk_model_rule(model, rules[i].rule_idx);

		if (rule->need_idx != need_idx || rules[i].score <= 0)
			continue;
		if (shown++ > 0)
			str_append_c(dest, ' ');
		if (rules[i].subject)
			str_append(dest, "S:");
		str_append(dest, rule->text);
		if (rules[i].hits > 1)
			str_printfa(dest, "x%u", rules[i].hits);
	}
	str_append_c(dest, ']');
}

static void
classify_decide(struct classify_ctx *ctx, const char *lang_hint, int priority,
		pool_t pool, struct frontdesk_classification *result_r)
{
	const struct frontdesk_model *model = ctx->model;
	const struct frontdesk_settings *set = ctx->set;
	unsigned int need_count = array_count(&set->needs);
	unsigned int rule_count = frontdesk_model_rule_count(model);
	const struct frontdesk_need_def *defs = array_front(&set->needs);
	/* model need index -> taxonomy index (or -1) */
	unsigned int model_needs = frontdesk_model_need_count(model);
	int *tax_of = t_new(int, model_needs + 1);
	float *scores = t_new(float, need_count);
	float *admin = t_new(float, need_count);
	unsigned char *hits = t_malloc0(rule_count + 1);
	ARRAY(struct rule_score) contrib;
	const struct classify_match *m;
	struct rule_score *rs;
	unsigned int i, lang_idx, best = 0, second = 0;
	int urgent_need, idx;
	float urgent_score = 0, s1, s2;
	string_t *expl;

	i_zero(result_r);
	result_r->language = p_strdup(pool,
		classify_language(ctx, lang_hint, &lang_idx));

	for (i = 0; i < model_needs; i++)
		tax_of[i] = -1;
	for (i = 0; i < need_count; i++) {
		idx = frontdesk_model_need_idx(model, defs[i].name);
		if (idx >= 0)
			tax_of[idx] = (int)i;
	}
	urgent_need = frontdesk_model_need_idx(model, FRONTDESK_NEED_URGENT);

	classify_drop_same_span(ctx, lang_idx);
	t_array_init(&contrib, 32);
	array_foreach(&ctx->matches, m) {
		const struct frontdesk_rule *rule =
			frontdesk_model_rule(model, m->rule_idx);
		bool is_urgent = (int)rule->need_idx == urgent_need;
		float w;

		if (!is_urgent && tax_of[rule->need_idx] < 0)
			continue;
		/* a compound's head only in its own language: in another
		   one the letters are not a compound */
		if (m->head && rule->lang_idx != lang_idx)
			continue;
		if (hits[m->rule_idx] >= FRONTDESK_CLASSIFY_MAX_HITS)
			continue;
		w = classify_match_weight(model, m, lang_idx);
		w = ldexpf(w, -(int)hits[m->rule_idx]);
		hits[m->rule_idx]++;

		if (is_urgent) {
			/* quoted text tells nothing about urgency now */
			if (m->region_weight >= 1.0f) {
				urgent_score += w;
				if (rule->admin)
					ctx->admin_urgent += w;
			}
		} else {
			scores[tax_of[rule->need_idx]] += w;
			if (rule->admin)
				admin[tax_of[rule->need_idx]] += w;
		}
		/* explanation bookkeeping */
		rs = NULL;
		for (i = 0; i < array_count(&contrib); i++) {
			rs = array_idx_modifiable(&contrib, i);
			if (rs->rule_idx == m->rule_idx)
				break;
		}
		if (i == array_count(&contrib)) {
			rs = array_append_space(&contrib);
			rs->rule_idx = m->rule_idx;
		}
		rs->score += w;
		rs->hits++;
		rs->subject = rs->subject || m->subject;
	}

	for (i = 0; i < need_count; i++) {
		if (scores[i] < 0)
			scores[i] = 0;
	}
	ctx->lex_scores = scores;
	ctx->admin_scores = admin;
	ctx->lex_urgent = urgent_score < 0 ? 0 : urgent_score;
	for (i = 1; i < need_count; i++) {
		if (scores[i] > scores[best])
			best = i;
	}
	second = best == 0 ? (need_count > 1 ? 1 : 0) : 0;
	for (i = 0; i < need_count; i++) {
		if (i != best && scores[i] > scores[second])
			second = i;
	}
	s1 = scores[best];
	s2 = second != best ? scores[second] : 0;

	result_r->score = s1;
	result_r->confidence = s1 <= 0 ? 0 :
		s1 / (s1 + FRONTDESK_CLASSIFY_RIVAL_WEIGHT * s2 +
		      FRONTDESK_CLASSIFY_CONFIDENCE_K);
	if (s1 > 0) {
		result_r->need = p_strdup(pool, defs[best].name);
		result_r->office = defs[best].office;
	} else {
		result_r->need = "";
		result_r->office = FRONTDESK_OFFICE_FRONT;
	}
	if (s2 >= set->min_score && s2 >= s1 * 0.5f) {
		result_r->secondary = p_strdup(pool, defs[second].name);
		result_r->secondary_score = s2;
	}
	result_r->unsure = s1 < set->min_score ||
		result_r->confidence < set->unsure_threshold;
	if (result_r->unsure)
		result_r->office = FRONTDESK_OFFICE_FRONT;
	result_r->urgent = urgent_score >= 1.0f ||
		(priority >= 1 && priority <= 2);
	result_r->need_named = !result_r->unsure && s1 > 0;

	/* explanation: the strongest rules of the top needs */
	array_sort(&contrib, rule_score_cmp);
	expl = t_str_new(128);
	if (s1 > 0) {
		int b = frontdesk_model_need_idx(model, defs[best].name);
		explain_need(expl, model, defs[best].name, s1,
			     array_front(&contrib), array_count(&contrib), b);
	}
	if (s2 > 0) {
		int b = frontdesk_model_need_idx(model, defs[second].name);
		explain_need(expl, model, defs[second].name, s2,
			     array_front(&contrib), array_count(&contrib), b);
	}
	if (urgent_score > 0 && urgent_need >= 0) {
		explain_need(expl, model, "urgent", urgent_score,
			     array_front(&contrib), array_count(&contrib),
			     urgent_need);
	}
	if (priority >= 1 && priority <= 2)
		str_printfa(expl, "%spriority=%d", str_len(expl) > 0 ? " " : "",
			    priority);
	if (str_len(expl) == 0)
		str_append(expl, "no need cue");
	if (str_len(expl) > FRONTDESK_CLASSIFY_MAX_EXPLANATION)
		str_truncate(expl, FRONTDESK_CLASSIFY_MAX_EXPLANATION);
	result_r->explanation = p_strdup(pool, str_c(expl));
}

static void
classify_body(struct classify_ctx *ctx, const char *subject, const char *body,
	      size_t body_size)
{
	string_t *new_text, *quoted;
	unsigned int new_tokens;

	new_text = t_str_new(body_size + 1);
	quoted = t_str_new(256);
	frontdesk_text_split(body, body_size, new_text, quoted);

	ctx->subject_folded = classify_fold(subject, strlen(subject));
	ctx->new_folded = classify_fold(str_c(new_text), str_len(new_text));
	(void)classify_scan(ctx, ctx->subject_folded,
			    FRONTDESK_CLASSIFY_SUBJECT_WEIGHT, TRUE);
	new_tokens = classify_scan(ctx, ctx->new_folded, 1.0f, FALSE);
	ctx->new_tokens = new_tokens;
	if (new_tokens < FRONTDESK_CLASSIFY_SHORT_NEW_TEXT) {
		ctx->quoted_folded = classify_fold(str_c(quoted),
						   str_len(quoted));
		(void)classify_scan(ctx, ctx->quoted_folded,
				    FRONTDESK_CLASSIFY_QUOTED_WEIGHT, FALSE);
	}
}

static void
classify_learned(struct classify_ctx *ctx, pool_t pool,
		 struct frontdesk_classification *result_r,
		 string_t *sparse, string_t *dense)
{
	const struct frontdesk_weights *weights =
		frontdesk_model_weights(ctx->model);
	const struct frontdesk_need_def *def;
	struct frontdesk_score_input in;

	i_zero(&in);
	in.subject = ctx->subject_folded;
	in.new_text = ctx->new_folded;
	in.quoted = ctx->quoted_folded;
	in.quoted_weight = FRONTDESK_CLASSIFY_QUOTED_WEIGHT;
	in.lex_scores = ctx->lex_scores;
	in.lex_urgent = ctx->lex_urgent;
	in.admin_scores = ctx->admin_scores;
	in.admin_urgent = ctx->admin_urgent;
	in.priority = ctx->priority;
	if (sparse != NULL) {
		frontdesk_score_features(weights, ctx->set, &in, sparse, dense);
		return;
	}
	if (weights == NULL)
		return;
	/* An admin's own need (not one the model learned) that the rules
	   found with confidence keeps the lexicon's decision. */
	if (result_r->need[0] != '\0' && !result_r->unsure) {
		unsigned int i, count = frontdesk_weights_class_count(weights);

		for (i = 0; i < count; i++) {
			if (strcmp(frontdesk_weights_class(weights, i),
				   result_r->need) == 0)
				break;
		}
		def = frontdesk_settings_find_need(ctx->set, result_r->need);
		if (i == count && def != NULL)
			return;
	}
	(void)frontdesk_score_decide(weights, ctx->set, &in, pool, result_r);
}

static void
classify_run(const struct frontdesk_model *model,
	     const struct frontdesk_settings *set, const char *subject,
	     const char *body, size_t body_size, const char *lang_hint,
	     int priority, pool_t pool,
	     struct frontdesk_classification *result_r,
	     string_t *sparse, string_t *dense)
{
	struct classify_ctx ctx;

	T_BEGIN {
		i_zero(&ctx);
		ctx.model = model;
		ctx.set = set;
		ctx.priority = priority;
		ctx.compound_lang = frontdesk_model_lang_idx(model,
			FRONTDESK_CLASSIFY_COMPOUND_LANG);
		ctx.lang_need = frontdesk_model_need_idx(model,
			FRONTDESK_NEED_LANG);
		ctx.urgent_need = frontdesk_model_need_idx(model,
			FRONTDESK_NEED_URGENT);
		t_array_init(&ctx.matches, 64);
		classify_body(&ctx, subject, body, body_size);
		classify_decide(&ctx, lang_hint, priority, pool, result_r);
		classify_learned(&ctx, pool, result_r, sparse, dense);
	} T_END;
}

void frontdesk_classify(const struct frontdesk_model *model,
			const struct frontdesk_settings *set,
			const struct frontdesk_view *view, pool_t pool,
			struct frontdesk_classification *result_r)
{
	classify_run(model, set, view->subject, str_c(view->text),
		     str_len(view->text), view->content_language,
		     view->priority, pool, result_r, NULL, NULL);
}

void frontdesk_classify_text(const struct frontdesk_model *model,
			     const struct frontdesk_settings *set,
			     const char *subject, const char *body,
			     const char *lang_hint, pool_t pool,
			     struct frontdesk_classification *result_r)
{
	classify_run(model, set, subject == NULL ? "" : subject,
		     body == NULL ? "" : body, body == NULL ? 0 : strlen(body),
		     lang_hint, 3, pool, result_r, NULL, NULL);
}

void frontdesk_classify_features(const struct frontdesk_model *model,
				 const struct frontdesk_settings *set,
				 const struct frontdesk_view *view,
				 string_t *sparse, string_t *dense)
{
	struct frontdesk_classification result;
	pool_t pool = pool_alloconly_create("frontdesk features", 1024);

	classify_run(model, set, view->subject, str_c(view->text),
		     str_len(view->text), view->content_language,
		     view->priority, pool, &result, sparse, dense);
	pool_unref(&pool);
}
