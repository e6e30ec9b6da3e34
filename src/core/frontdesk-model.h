#ifndef FRONTDESK_MODEL_H
#define FRONTDESK_MODEL_H

#include "array.h"

#include <regex.h>

/* A rule file is text, one rule a line:
     <need> <weight> <word> [<word>...]
   '#' starts a comment; "@language xx" sets the language of the rules that
   follow ("*" = any, the default). Words are matched on folded text
   (lowercase, no accents); a word ending in '*' matches any word it starts
   (at least FRONTDESK_MODEL_MIN_STEM letters before the '*'). Instead of
   words, a rule may give a POSIX extended regular expression between
   slashes (<need> <weight> /<regex>/), matched on the folded text. The need
   "urgent" marks explicit urgency, the need "lang" a language cue. */

/* Bounds: a rule file is written by people; past these it is a mistake. */
#define FRONTDESK_MODEL_MAX_LINE 1024
#define FRONTDESK_MODEL_MAX_RULES 200000
#define FRONTDESK_MODEL_MAX_WORDS 8
#define FRONTDESK_MODEL_MIN_STEM 3
#define FRONTDESK_MODEL_MAX_NEEDS 64
#define FRONTDESK_MODEL_MAX_LANGS 32
/* Regex rules are run over the whole text of every message: few of them. */
#define FRONTDESK_MODEL_MAX_REGEX_RULES 256

#define FRONTDESK_NEED_URGENT "urgent"
#define FRONTDESK_NEED_LANG "lang"

struct frontdesk_rule {
	/* the words as written (folded), or "/regex/", for explanations */
	const char *text;
	const char *const *words;
	/* 0 for a regex rule */
	unsigned int word_count;
	/* compiled regex of a regex rule, else NULL */
	regex_t *regex;
	/* bit i set: word i is a prefix */
	unsigned int prefix_mask;
	unsigned int need_idx;
	/* 0 = any language */
	unsigned int lang_idx;
	float weight;
	/* from the admin's rule file (not the signed, shipped lexicon): its
	   evidence also goes straight onto the learned model's scores */
	bool admin;
};
ARRAY_DEFINE_TYPE(frontdesk_rule, struct frontdesk_rule);

struct frontdesk_model;

struct frontdesk_model *frontdesk_model_init(void);
void frontdesk_model_deinit(struct frontdesk_model **model);

/* The model built by model/build-model ends with one line
     @end format=1 rules=<N> sha256=<hex>
   giving the file format, the number of rule lines and the SHA-256 of every
   line before it (each with its LF). A file cut short or damaged on its way
   (a full disk, a partial copy, an edit) then fails to load, instead of
   classifying with fewer rules or none. */
#define FRONTDESK_MODEL_FORMAT 1

/* Add the rules of a file. On error nothing of the file is kept and error_r
   names the file and line. An admin's rule file needs no "@end" line; if it
   has one, it is checked. */
int frontdesk_model_add_file(struct frontdesk_model *model, const char *path,
			     const char **error_r);
/* Like frontdesk_model_add_file() for the lexicon model built by
   model/build-model: the file must end with a valid "@end" line and hold at
   least one rule, so an empty, truncated or damaged model is an error. */
int frontdesk_model_add_lexicon_file(struct frontdesk_model *model,
				     const char *path, const char **error_r);
/* Add rules from a string (for tests and --jsonl tools); name is used in
   error messages. */
int frontdesk_model_add_string(struct frontdesk_model *model,
			       const char *name, const char *text,
			       const char **error_r);

/* Attach the learned need model (frontdesk-weights.h); the model owns it
   from now on. NULL detaches it: the lexicon alone decides. */
struct frontdesk_weights;
void frontdesk_model_set_weights(struct frontdesk_model *model,
				 struct frontdesk_weights *weights);
const struct frontdesk_weights *
frontdesk_model_weights(const struct frontdesk_model *model);

/* The shipped lexicon, the admin's rules and the learned weights named by
   the settings; error_r names the file at fault. */
struct frontdesk_settings;
int frontdesk_model_load(const struct frontdesk_settings *set,
			 struct frontdesk_model **model_r, const char **error_r);

unsigned int frontdesk_model_rule_count(const struct frontdesk_model *model);
const struct frontdesk_rule *
frontdesk_model_rule(const struct frontdesk_model *model, unsigned int idx);
/* Index of a need or language name, or -1. Language index 0 is "*". */
int frontdesk_model_need_idx(const struct frontdesk_model *model,
			     const char *need);
const char *frontdesk_model_need_name(const struct frontdesk_model *model,
				      unsigned int idx);
unsigned int frontdesk_model_need_count(const struct frontdesk_model *model);
int frontdesk_model_lang_idx(const struct frontdesk_model *model,
			     const char *lang);
const char *frontdesk_model_lang_name(const struct frontdesk_model *model,
				      unsigned int idx);
unsigned int frontdesk_model_lang_count(const struct frontdesk_model *model);

/* Call callback for every rule whose words match tokens starting at
   tokens[0]. */
typedef void frontdesk_model_match_callback_t(unsigned int rule_idx,
					      void *context);
struct frontdesk_token;
void frontdesk_model_match(const struct frontdesk_model *model,
			   const struct frontdesk_token *tokens,
			   unsigned int count,
			   frontdesk_model_match_callback_t *callback,
			   void *context);

/* Call callback for every match of the regex rules in folded text (a
   NUL-terminated string), at most max_hits times per rule. */
void frontdesk_model_match_regex(const struct frontdesk_model *model,
				 const char *folded, unsigned int max_hits,
				 frontdesk_model_match_callback_t *callback,
				 void *context);
unsigned int
frontdesk_model_regex_rule_count(const struct frontdesk_model *model);
/* Bytes allocated for the model (pool, arrays, hash table; an estimate
   for the hash table's own array), for the benchmark. */
size_t frontdesk_model_memory_size(const struct frontdesk_model *model);

#endif
