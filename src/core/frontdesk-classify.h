#ifndef FRONTDESK_CLASSIFY_H
#define FRONTDESK_CLASSIFY_H

#include "frontdesk-settings.h"

struct frontdesk_model;
struct frontdesk_view;

/* Weight of a word in the subject against one in the new text: the subject
   is the customer's own summary of the need. */
#define FRONTDESK_CLASSIFY_SUBJECT_WEIGHT 2.0f
/* Quoted/forwarded text counts only when the customer wrote (almost)
   nothing new: "see below" forwards. */
#define FRONTDESK_CLASSIFY_QUOTED_WEIGHT 0.5f
#define FRONTDESK_CLASSIFY_SHORT_NEW_TEXT 8
/* Confidence = s1 / (s1 + R*s2 + K): one clear cue alone is not certainty
   (K), and a rival need as strong as the first makes it a coin toss (R > 1
   keeps every tie below the default unsure threshold of 0.4). */
#define FRONTDESK_CLASSIFY_CONFIDENCE_K 1.0f
#define FRONTDESK_CLASSIFY_RIVAL_WEIGHT 1.5f
/* A rule matched again and again counts 1, 1/2, 1/4: repetition is weak
   evidence. */
#define FRONTDESK_CLASSIFY_MAX_HITS 3
/* German compounds are read by their head ("Serverausfall" is an
   "Ausfall"): the language, and the shortest head that counts. */
#define FRONTDESK_CLASSIFY_COMPOUND_LANG "de"
#define FRONTDESK_CLASSIFY_MIN_HEAD 5
/* Explanation: what fits in a header line. */
#define FRONTDESK_CLASSIFY_MAX_EXPLANATION 240

struct frontdesk_classification {
	/* primary need ("" when nothing matched), then secondary */
	const char *need;
	const char *secondary;
	enum frontdesk_office office;
	bool unsure;
	/* confident enough that the acknowledgment may name the need */
	bool need_named;
	bool urgent;
	const char *language;
	float confidence;
	float score, secondary_score;
	/* e.g. "billing=4.0 [S:fattur* addebit*x2] technical=1.0 [modem]" */
	const char *explanation;
};

void frontdesk_classify(const struct frontdesk_model *model,
			const struct frontdesk_settings *set,
			const struct frontdesk_view *view, pool_t pool,
			struct frontdesk_classification *result_r);

/* Classify plain subject + body text (no MIME), for --jsonl tools. */
void frontdesk_classify_text(const struct frontdesk_model *model,
			     const struct frontdesk_settings *set,
			     const char *subject, const char *body,
			     const char *lang_hint, pool_t pool,
			     struct frontdesk_classification *result_r);

/* For the trainer (frontdesk-classify --features): the learned model's
   input for this message, as "idx:value ..." and "name=value ...". */
void frontdesk_classify_features(const struct frontdesk_model *model,
				 const struct frontdesk_settings *set,
				 const struct frontdesk_view *view,
				 string_t *sparse, string_t *dense);

#endif
