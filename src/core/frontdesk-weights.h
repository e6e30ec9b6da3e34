#ifndef FRONTDESK_WEIGHTS_H
#define FRONTDESK_WEIGHTS_H

#include "frontdesk-features.h"

/* The learned need model: a multinomial logistic regression over hashed
   features (frontdesk-features.h) and a few dense ones (the lexicon's
   evidence per need, explicit priority), plus a binary urgency head, with
   the calibrated thresholds chosen by the trainer (model/train).

   File format (model/README.md): text header lines "key value...", a blank
   line, then the little-endian payload:
     float32 scale[cols], float32 bias[cols], float32 dense[ndense][cols],
     int8 w[buckets][cols]           (cols = classes + 1, urgency last)
   The header names the payload's size and SHA-256: a truncated, padded or
   corrupted file is refused with an error naming the file. */

#define FRONTDESK_WEIGHTS_MAGIC "frontdesk-weights 1"
#define FRONTDESK_WEIGHTS_MAX_CLASSES 32
#define FRONTDESK_WEIGHTS_MAX_DENSE 64
/* A header past this is not ours. */
#define FRONTDESK_WEIGHTS_MAX_HEADER 8192
/* The largest payload we accept: 4M buckets x 33 columns. */
#define FRONTDESK_WEIGHTS_MAX_FILE (160U*1024*1024)

struct frontdesk_weights;

struct frontdesk_weights_calibration {
	/* below: unsure (front office, the unsure keyword) */
	float unsure;
	/* at or above: the acknowledgment names the need */
	float name;
	/* a second need is reported from this probability on */
	float secondary;
	/* urgency probability from which the mail is urgent */
	float urgent;
};

int frontdesk_weights_load(const char *path, struct frontdesk_weights **weights_r,
			   const char **error_r);
/* Parse a whole file image (name for errors). */
int frontdesk_weights_parse(const char *name, const unsigned char *data,
			    size_t size, struct frontdesk_weights **weights_r,
			    const char **error_r);
void frontdesk_weights_free(struct frontdesk_weights **weights);

const struct frontdesk_feature_params *
frontdesk_weights_params(const struct frontdesk_weights *weights);
const struct frontdesk_weights_calibration *
frontdesk_weights_calibration(const struct frontdesk_weights *weights);
unsigned int frontdesk_weights_class_count(const struct frontdesk_weights *weights);
const char *frontdesk_weights_class(const struct frontdesk_weights *weights,
				    unsigned int idx);
unsigned int frontdesk_weights_dense_count(const struct frontdesk_weights *weights);
const char *frontdesk_weights_dense_name(const struct frontdesk_weights *weights,
					 unsigned int idx);
size_t frontdesk_weights_memory_size(const struct frontdesk_weights *weights);

/* Logits of every column (classes, then urgency) for these features and
   dense values (in the file's dense order). logits_r has class_count+1
   entries. */
void frontdesk_weights_score(const struct frontdesk_weights *weights,
			     const ARRAY_TYPE(frontdesk_feature) *features,
			     const float *dense, float *logits_r);
/* What feature f adds to column col's logit. */
float frontdesk_weights_contribution(const struct frontdesk_weights *weights,
				     const struct frontdesk_feature *f,
				     unsigned int col);
float frontdesk_weights_dense_contribution(const struct frontdesk_weights *weights,
					   unsigned int dense_idx, float value,
					   unsigned int col);

#endif
