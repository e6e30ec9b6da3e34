#ifndef FRONTDESK_FEATURES_H
#define FRONTDESK_FEATURES_H

#include "array.h"

/* Hashed features of a support mail for the learned need model: words of
   the subject (their own namespace: the customer's summary), words and word
   pairs of the text, and character n-grams of every word (they carry
   typos, missing accents, inflections and German compounds to the words
   the model has seen). */

/* Bounds: the weights file says which it was trained with; past these it
   is broken. */
#define FRONTDESK_FEATURES_MAX_BUCKETS (1U << 22)
#define FRONTDESK_FEATURES_MAX_CHAR_N 8
/* Tokens of one region read at most: the need is stated early, and the
   cost per mail must stay bounded whatever its size. */
#define FRONTDESK_FEATURES_MAX_TOKENS_LIMIT 4096

struct frontdesk_feature_params {
	unsigned int buckets;
	unsigned int char_min, char_max;
	unsigned int max_tokens;
};

struct frontdesk_feature {
	uint32_t idx;
	float value;
	/* the word (or "word word") behind the feature, for explanations;
	   points into the folded text */
	const char *src;
	unsigned int src_len;
};
ARRAY_DEFINE_TYPE(frontdesk_feature, struct frontdesk_feature);

void frontdesk_feature_params_default(struct frontdesk_feature_params *params_r);

/* Features of folded text regions (see frontdesk_text_fold()): the subject,
   the customer's new text and, when that is (nearly) empty, the quoted text
   at quoted_weight. Each bucket once (in no particular order), values
   L2-normalized. The
   array and the sources live as long as the data stack frame / the folded
   strings. */
void frontdesk_features_extract(const struct frontdesk_feature_params *params,
				const string_t *subject,
				const string_t *new_text,
				const string_t *quoted, float quoted_weight,
				ARRAY_TYPE(frontdesk_feature) *features);

#endif
