/* Hashed features for the learned need model (see frontdesk-features.h).
   The trainer never re-implements this: it reads what frontdesk-classify
   --features prints, so training and delivery see the very same numbers. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "frontdesk-text.h"
#include "frontdesk-features.h"

#include <math.h>

/* Feature namespaces: one byte mixed into the hash. */
#define NS_WORD 'w'
#define NS_SUBJECT 's'
#define NS_PAIR 'b'
#define NS_CHAR 'c'

struct feature_slot {
	uint32_t idx;
	float count;
	const char *src;
	unsigned int src_len;
};

struct feature_table {
	struct feature_slot *slots;
	unsigned int size, used;
	const struct frontdesk_feature_params *params;
};

void frontdesk_feature_params_default(struct frontdesk_feature_params *params_r)
{
	params_r->buckets = 1U << 18;
	/* character 4-grams alone: held out by kind of company they did as
	   well as 3- to 5-grams (macro-F1 0.829 against 0.832) at half the
	   features, and so half the time per mail. model/train uses these
	   defaults. */
	params_r->char_min = 4;
	params_r->char_max = 4;
	params_r->max_tokens = 400;
}

/* FNV-1a, 32 bits: simple, stable across machines, good enough spread for
   hashing words into a few hundred thousand buckets. */
static inline uint32_t fnv_start(unsigned char ns)
{
	return (2166136261U ^ ns) * 16777619U;
}

static inline uint32_t fnv_add(uint32_t h, const char *p, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619U;
	}
	return h;
}

static void table_grow(struct feature_table *t);

static void
table_add(struct feature_table *t, uint32_t hash, float count,
	  const char *src, unsigned int src_len)
{
	uint32_t idx = hash % t->params->buckets;
	unsigned int pos = (idx * 2654435761U) & (t->size - 1);

	for (;;) {
		struct feature_slot *s = &t->slots[pos];

		if (s->src == NULL) {
			s->idx = idx;
			s->count = count;
			s->src = src;
			s->src_len = src_len;
			if (++t->used * 2 > t->size)
				table_grow(t);
			return;
		}
		if (s->idx == idx) {
			s->count += count;
			return;
		}
		pos = (pos + 1) & (t->size - 1);
	}
}

static void table_grow(struct feature_table *t)
{
	struct feature_slot *old = t->slots;
	unsigned int i, old_size = t->size;

	t->size *= 2;
	t->used = 0;
	t->slots = t_new(struct feature_slot, t->size);
	for (i = 0; i < old_size; i++) {
		if (old[i].src != NULL) {
			/* re-adding an idx: hash % buckets == idx */
			table_add(t, old[i].idx, old[i].count,
				  old[i].src, old[i].src_len);
		}
	}
}

static void
add_char_ngrams(struct feature_table *t, const struct frontdesk_token *tok,
		float weight)
{
	/* "<word>": the edges make prefixes and suffixes their own grams */
	char buf[FRONTDESK_TEXT_MAX_TOKEN + 2];
	unsigned int n, i, len = tok->len + 2;

	buf[0] = '<';
	memcpy(buf + 1, tok->str, tok->len);
	buf[len - 1] = '>';
	/* FNV is sequential: the hash of a gram extends the hash of the
	   shorter gram at the same place */
	for (i = 0; i + t->params->char_min <= len; i++) {
		uint32_t h = fnv_add(fnv_start(NS_CHAR), buf + i,
				     t->params->char_min - 1);

		for (n = t->params->char_min; n <= t->params->char_max &&
		     i + n <= len; n++) {
			h = fnv_add(h, buf + i + n - 1, 1);
			table_add(t, h, weight, tok->str, tok->len);
		}
	}
}

static void
add_region(struct feature_table *t, const string_t *folded, float weight,
	   bool subject)
{
	ARRAY_TYPE(frontdesk_token) tokens;
	const struct frontdesk_token *tok;
	unsigned int i, count;

	if (folded == NULL || str_len(folded) == 0 || weight <= 0)
		return;
	t_array_init(&tokens, str_len(folded) / 5 + 4);
	frontdesk_text_tokenize(folded, &tokens);
	tok = array_get(&tokens, &count);
	if (count > t->params->max_tokens)
		count = t->params->max_tokens;
	for (i = 0; i < count; i++) {
		uint32_t h = fnv_add(fnv_start(NS_WORD), tok[i].str, tok[i].len);

		table_add(t, h, weight, tok[i].str, tok[i].len);
		if (subject) {
			h = fnv_add(fnv_start(NS_SUBJECT), tok[i].str,
				    tok[i].len);
			table_add(t, h, weight, tok[i].str, tok[i].len);
		}
		if (i + 1 < count) {
			/* both words are in the same folded string, one
			   space apart (tokenize splits on single spaces) */
			h = fnv_add(fnv_start(NS_PAIR), tok[i].str, tok[i].len);
			h = fnv_add(h, " ", 1);
			h = fnv_add(h, tok[i+1].str, tok[i+1].len);
			table_add(t, h, weight, tok[i].str,
				  (tok[i+1].str + tok[i+1].len) - tok[i].str);
		}
		if (t->params->char_min > 0)
			add_char_ngrams(t, &tok[i], weight);
	}
}

void frontdesk_features_extract(const struct frontdesk_feature_params *params,
				const string_t *subject,
				const string_t *new_text,
				const string_t *quoted, float quoted_weight,
				ARRAY_TYPE(frontdesk_feature) *features)
{
	struct feature_table t;
	struct frontdesk_feature *f;
	unsigned int i;
	double norm = 0;

	size_t text_len = (subject == NULL ? 0 : str_len(subject)) +
		(new_text == NULL ? 0 : str_len(new_text)) +
		(quoted == NULL ? 0 : str_len(quoted));

	i_zero(&t);
	t.params = params;
	/* distinct features are about one per letter of the text read (at
	   most max_tokens words a region): at most half full for ordinary
	   mail, and no larger, since the table is cleared and scanned */
	t.size = 256;
	while (t.size < 2 * I_MIN(text_len, params->max_tokens * 8U))
		t.size *= 2;
	t.slots = t_new(struct feature_slot, t.size);

	add_region(&t, subject, 1.0f, TRUE);
	add_region(&t, new_text, 1.0f, FALSE);
	add_region(&t, quoted, quoted_weight, FALSE);

	for (i = 0; i < t.size; i++) {
		const struct feature_slot *s = &t.slots[i];

		if (s->src == NULL)
			continue;
		f = array_append_space(features);
		f->idx = s->idx;
		/* sublinear counts: the tenth "please" adds little */
		f->value = s->count >= 1.0f ? 1.0f + logf(s->count) : s->count;
		f->src = s->src;
		f->src_len = s->src_len;
		norm += (double)f->value * f->value;
	}
	if (norm > 0) {
		float inv = (float)(1.0 / sqrt(norm));

		array_foreach_modifiable(features, f)
			f->value *= inv;
	}
}
