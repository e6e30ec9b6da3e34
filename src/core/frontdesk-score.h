#ifndef FRONTDESK_SCORE_H
#define FRONTDESK_SCORE_H

/* The learned need model's decision, inside the classifier (core only):
   features of the folded regions plus the lexicon's evidence in, need,
   secondary, confidence, urgency and explanation out. */

struct frontdesk_weights;
struct frontdesk_settings;
struct frontdesk_classification;

struct frontdesk_score_input {
	const string_t *subject, *new_text, *quoted;
	float quoted_weight;
	/* lexicon evidence per taxonomy need (set->needs order) */
	const float *lex_scores;
	float lex_urgent;
	/* what the admin's own rules gave, per taxonomy need (a part of
	   lex_scores): added to the learned scores, so an admin's rule
	   decides as its weight says */
	const float *admin_scores;
	float admin_urgent;
	/* 1 (highest) .. 5, 3 when unset */
	int priority;
};

/* Overwrite the lexicon's need, secondary, office, confidence, unsure,
   need_named, urgent and explanation with the learned model's. Returns
   FALSE (result untouched) when the model knows none of the taxonomy's
   needs. */
bool frontdesk_score_decide(const struct frontdesk_weights *weights,
			    const struct frontdesk_settings *set,
			    const struct frontdesk_score_input *input,
			    pool_t pool,
			    struct frontdesk_classification *result);

/* The trainer's view of a mail: "idx:value ..." (sparse, sorted) and
   "name:value ..." (dense, in the model's order, or the default order
   when weights is NULL). */
void frontdesk_score_features(const struct frontdesk_weights *weights,
			      const struct frontdesk_settings *set,
			      const struct frontdesk_score_input *input,
			      string_t *sparse, string_t *dense);

#endif
