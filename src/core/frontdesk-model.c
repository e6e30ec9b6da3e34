/* The need model: weighted word and phrase rules (shipped lexicon plus the
   admin's own), compiled into a character trie on their first word so that
   matching costs one walk per token whatever the number of rules; and the
   admin's few regex rules, run over the folded text. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "strfuncs.h"
#include "istream.h"
#include "hash.h"
#include "unichar.h"
#include "sha2.h"
#include "hex-binary.h"
#include "frontdesk-text.h"
#include "frontdesk-regex.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-weights.h"

#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <ctype.h>

#define TRIE_NONE ((uint32_t)-1)

struct trie_node {
	uint32_t child, sibling;
	/* heads of rule lists in model->links */
	uint32_t exact, prefix;
	unsigned char c;
};

/* The trie compiled for matching: the children of a node are contiguous
   (breadth-first order), their characters side by side in cchars, so a step
   down scans a few bytes of one cache line instead of chasing siblings. */
struct trie_cnode {
	uint32_t first, count;
	uint32_t exact, prefix;
};

struct rule_link {
	uint32_t rule_idx;
	uint32_t next;
};

struct frontdesk_model {
	pool_t pool;
	ARRAY_TYPE(const_string) needs;
	ARRAY_TYPE(const_string) langs;
	ARRAY_TYPE(frontdesk_rule) rules;
	/* the trie while rules are added (freed once compiled) */
	ARRAY(struct trie_node) nodes;
	ARRAY(struct trie_cnode) cnodes;
	ARRAY(unsigned char) cchars;
	ARRAY(struct rule_link) links;
	/* indexes of the regex rules */
	ARRAY(uint32_t) regex_rules;
	/* "need<TAB>words" -> rule index + 1, to merge duplicates */
	HASH_TABLE(char *, void *) rule_keys;
	/* the learned need model, or NULL (lexicon only) */
	struct frontdesk_weights *weights;
};

struct frontdesk_model *frontdesk_model_init(void)
{
	struct frontdesk_model *model;
	pool_t pool;
	const char *any = "*";
	struct trie_node root = {
		.child = TRIE_NONE, .sibling = TRIE_NONE,
		.exact = TRIE_NONE, .prefix = TRIE_NONE,
	};

	pool = pool_alloconly_create("frontdesk model", 64*1024);
	model = p_new(pool, struct frontdesk_model, 1);
	model->pool = pool;
	p_array_init(&model->needs, pool, 16);
	p_array_init(&model->langs, pool, 8);
	array_push_back(&model->langs, &any);
	i_array_init(&model->rules, 1024);
	i_array_init(&model->nodes, 4096);
	i_array_init(&model->cnodes, 1);
	i_array_init(&model->cchars, 1);
	i_array_init(&model->links, 1024);
	i_array_init(&model->regex_rules, 8);
	array_push_back(&model->nodes, &root);
	hash_table_create(&model->rule_keys, pool, 1024, str_hash, strcmp);
	return model;
}

void frontdesk_model_deinit(struct frontdesk_model **_model)
{
	struct frontdesk_model *model = *_model;
	uint32_t idx;

	if (model == NULL)
		return;
	*_model = NULL;
	array_foreach_elem(&model->regex_rules, idx) {
		const struct frontdesk_rule *rule =
			array_idx(&model->rules, idx);
		regfree(rule->regex);
	}
	array_free(&model->regex_rules);
	hash_table_destroy(&model->rule_keys);
	array_free(&model->rules);
	if (array_is_created(&model->nodes))
		array_free(&model->nodes);
	array_free(&model->cnodes);
	array_free(&model->cchars);
	array_free(&model->links);
	frontdesk_weights_free(&model->weights);
	pool_unref(&model->pool);
}

void frontdesk_model_set_weights(struct frontdesk_model *model,
				 struct frontdesk_weights *weights)
{
	frontdesk_weights_free(&model->weights);
	model->weights = weights;
}

const struct frontdesk_weights *
frontdesk_model_weights(const struct frontdesk_model *model)
{
	return model->weights;
}

static int name_idx(const ARRAY_TYPE(const_string) *names, const char *name)
{
	const char *const *n;
	unsigned int i, count;

	n = array_get(names, &count);
	for (i = 0; i < count; i++) {
		if (strcmp(n[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static unsigned int
name_get_idx(struct frontdesk_model *model, ARRAY_TYPE(const_string) *names,
	     const char *name)
{
	int idx = name_idx(names, name);

	if (idx < 0) {
		name = p_strdup(model->pool, name);
		array_push_back(names, &name);
		idx = (int)array_count(names) - 1;
	}
	return (unsigned int)idx;
}

static uint32_t trie_child(struct frontdesk_model *model, uint32_t node_idx,
			   unsigned char c)
{
	struct trie_node *node = array_idx_modifiable(&model->nodes, node_idx);
	struct trie_node new_node = {
		.child = TRIE_NONE, .sibling = TRIE_NONE,
		.exact = TRIE_NONE, .prefix = TRIE_NONE, .c = c,
	};
	const struct trie_node *n;
	uint32_t idx;

	for (idx = node->child; idx != TRIE_NONE; idx = n->sibling) {
		n = array_idx(&model->nodes, idx);
		if (n->c == c)
			return idx;
	}
	new_node.sibling = node->child;
	idx = array_count(&model->nodes);
	array_push_back(&model->nodes, &new_node);
	/* the push may have moved the array */
	node = array_idx_modifiable(&model->nodes, node_idx);
	node->child = idx;
	return idx;
}

static void trie_add_rule(struct frontdesk_model *model, uint32_t rule_idx)
{
	const struct frontdesk_rule *rule = array_idx(&model->rules, rule_idx);
	const char *w = rule->words[0];
	struct rule_link link;
	struct trie_node *node;
	uint32_t idx = 0;

	for (; *w != '\0'; w++)
		idx = trie_child(model, idx, (unsigned char)*w);
	node = array_idx_modifiable(&model->nodes, idx);
	link.rule_idx = rule_idx;
	if ((rule->prefix_mask & 1) != 0) {
		link.next = node->prefix;
		node->prefix = array_count(&model->links);
	} else {
		link.next = node->exact;
		node->exact = array_count(&model->links);
	}
	array_push_back(&model->links, &link);
}

/* The trie is freed once compiled: rebuild it from the rules (in their
   order, so rule lists come out as before) when a file adds more. */
static void trie_rebuild(struct frontdesk_model *model)
{
	struct trie_node root = {
		.child = TRIE_NONE, .sibling = TRIE_NONE,
		.exact = TRIE_NONE, .prefix = TRIE_NONE,
	};
	const struct frontdesk_rule *rule;
	uint32_t idx = 0;

	i_array_init(&model->nodes, array_count(&model->cnodes) + 1);
	array_push_back(&model->nodes, &root);
	array_clear(&model->links);
	array_foreach(&model->rules, rule) {
		if (rule->regex == NULL)
			trie_add_rule(model, idx);
		idx++;
	}
}

struct trie_kid {
	uint32_t idx;
	unsigned char c;
};

static int trie_kid_cmp(const struct trie_kid *a, const struct trie_kid *b)
{
	return (int)a->c - (int)b->c;
}

static void trie_compile(struct frontdesk_model *model)
{
	const struct trie_node *nodes;
	struct trie_cnode *cn;
	ARRAY(uint32_t) queue;
	ARRAY(struct trie_kid) kids;
	const struct trie_kid *kid;
	struct trie_kid k;
	unsigned char c0 = 0;
	uint32_t u, v;
	unsigned int i, count;

	nodes = array_get(&model->nodes, &count);
	array_clear(&model->cnodes);
	array_clear(&model->cchars);
	i_array_init(&queue, count);
	i_array_init(&kids, 64);
	/* breadth first: a node's place in the queue is its new index */
	u = 0;
	array_push_back(&queue, &u);
	array_push_back(&model->cchars, &c0);
	for (i = 0; i < array_count(&queue); i++) {
		u = *array_idx(&queue, i);
		array_clear(&kids);
		for (v = nodes[u].child; v != TRIE_NONE;
		     v = nodes[v].sibling) {
			k.idx = v;
			k.c = nodes[v].c;
			array_push_back(&kids, &k);
		}
		array_sort(&kids, trie_kid_cmp);
		cn = array_append_space(&model->cnodes);
		cn->first = array_count(&queue);
		cn->count = array_count(&kids);
		cn->exact = nodes[u].exact;
		cn->prefix = nodes[u].prefix;
		array_foreach(&kids, kid) {
			array_push_back(&queue, &kid->idx);
			array_push_back(&model->cchars, &kid->c);
		}
	}
	array_free(&kids);
	array_free(&queue);
	array_free(&model->nodes);
}

static bool need_name_valid(const char *name)
{
	if (*name == '\0' || strlen(name) > 32)
		return FALSE;
	for (; *name != '\0'; name++) {
		if (!((*name >= 'a' && *name <= 'z') ||
		      (*name >= '0' && *name <= '9') ||
		      *name == '_' || *name == '-'))
			return FALSE;
	}
	return TRUE;
}

/* Where the regex of a regex rule starts (its third field begins with
   '/'), or NULL. */
static const char *rule_regex_start(const char *line)
{
	const char *p = line;
	unsigned int field;

	for (field = 0; field < 2; field++) {
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '#')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '/' ? p : NULL;
}

/* Drop a '#' comment; the regex of a regex rule may hold '#'. */
static const char *rule_strip_comment(const char *line)
{
	const char *p = rule_regex_start(line), *end, *hash;

	if (p != NULL && (end = strchr(p + 1, '/')) != NULL)
		p = end + 1;
	else
		p = line;
	hash = strchr(p, '#');
	return hash == NULL ? line : t_strdup_until(line, hash);
}

/* The regex is matched on folded text: fold its letters the same way
   (lowercase, no accents), leaving what follows a backslash alone. */
static int rule_fold_regex(const char *regex, string_t *dest,
			   const char **error_r)
{
	const unsigned char *p = (const unsigned char *)regex;
	string_t *folded = t_str_new(8);
	unichar_t chr;
	int n;

	while (*p != '\0') {
		if (*p == '\\' && p[1] != '\0') {
			str_append_data(dest, p, 2);
			p += 2;
		} else if (*p < 0x80) {
			str_append_c(dest, i_tolower(*p));
			p++;
		} else {
			n = uni_utf8_get_char_n(p, strlen((const char *)p),
						&chr);
			if (n <= 0) {
				*error_r = "regex is not valid UTF-8";
				return -1;
			}
			str_truncate(folded, 0);
			frontdesk_text_fold(p, n, folded);
			if (str_len(folded) == 0 || str_c(folded)[0] == ' ') {
				*error_r = t_strdup_printf("'%s' never occurs "
					"in the folded text (letters and "
					"digits only)", t_strndup(p, n));
				return -1;
			}
			str_append_str(dest, folded);
			p += n;
		}
	}
	return 0;
}

static int model_parse_regex(struct frontdesk_model *model, const char *start,
			     struct frontdesk_rule *rule_r,
			     const char **error_r)
{
	const char *end = strchr(start + 1, '/');
	string_t *regex = t_str_new(64);
	regex_t *re;
	char errbuf[256];
	int ret;

	if (end == NULL) {
		*error_r = "regex without its closing '/'";
		return -1;
	}
	if (*t_str_trim(end + 1, " \t") != '\0') {
		*error_r = t_strdup_printf("unexpected text after the regex: "
					   "'%s'", t_str_trim(end + 1, " \t"));
		return -1;
	}
	if (end == start + 1) {
		*error_r = "empty regex";
		return -1;
	}
	if (rule_fold_regex(t_strdup_until(start + 1, end), regex,
			    error_r) < 0)
		return -1;
	/* before regcomp(), which a few characters can make take
	   gigabytes */
	if (frontdesk_regex_check(str_c(regex), error_r) < 0)
		return -1;
	re = p_new(model->pool, regex_t, 1);
	ret = regcomp(re, str_c(regex), REG_EXTENDED);
	if (ret != 0) {
		(void)regerror(ret, re, errbuf, sizeof(errbuf));
		regfree(re);
		*error_r = t_strdup_printf("invalid regex /%s/: %s",
					   str_c(regex), errbuf);
		return -1;
	}
	/* it would match everywhere, and loop on nothing */
	if (regexec(re, "", 0, NULL, 0) == 0) {
		regfree(re);
		*error_r = t_strdup_printf("regex /%s/ matches the empty text",
					   str_c(regex));
		return -1;
	}
	rule_r->regex = re;
	rule_r->text = p_strdup_printf(model->pool, "/%s/", str_c(regex));
	return 0;
}

/* Parse one non-comment line into a rule. */
static int model_parse_rule(struct frontdesk_model *model, const char *line,
			    unsigned int lang_idx, struct frontdesk_rule *rule_r,
			    const char **error_r)
{
	const char *const *fields = t_strsplit_spaces(line, " \t");
	unsigned int i, count = str_array_length(fields);
	ARRAY_TYPE(const_string) words;
	string_t *text, *folded;
	double weight;

	if (count < 3) {
		*error_r = "expected: <need> <weight> <word> [<word>...]";
		return -1;
	}
	if (!need_name_valid(fields[0])) {
		*error_r = t_strdup_printf("invalid need name '%s' "
			"(lowercase letters, digits, '_', '-')", fields[0]);
		return -1;
	}
	if (frontdesk_str_to_double(fields[1], &weight) < 0 ||
	    weight < -10 || weight > 10 || weight == 0) {
		*error_r = t_strdup_printf("invalid weight '%s' "
			"(a number from -10 to 10, not 0)", fields[1]);
		return -1;
	}
	if (array_count(&model->needs) >= FRONTDESK_MODEL_MAX_NEEDS &&
	    frontdesk_model_need_idx(model, fields[0]) < 0) {
		*error_r = t_strdup_printf("more than %u needs",
					   FRONTDESK_MODEL_MAX_NEEDS);
		return -1;
	}
	if (fields[2][0] == '/') {
		const char *start = rule_regex_start(line);

		i_assert(start != NULL);
		i_zero(rule_r);
		if (model_parse_regex(model, start, rule_r, error_r) < 0)
			return -1;
		rule_r->weight = (float)weight;
		rule_r->lang_idx = lang_idx;
		rule_r->need_idx = name_get_idx(model, &model->needs,
						fields[0]);
		return 0;
	}
	if (count - 2 > FRONTDESK_MODEL_MAX_WORDS) {
		*error_r = t_strdup_printf("more than %u words in a rule",
					   FRONTDESK_MODEL_MAX_WORDS);
		return -1;
	}

	i_zero(rule_r);
	t_array_init(&words, count);
	text = t_str_new(64);
	for (i = 2; i < count; i++) {
		const char *w = fields[i];
		size_t len = strlen(w);
		bool prefix = len > 0 && w[len-1] == '*';

		if (prefix)
			w = t_strndup(w, --len);
		folded = t_str_new(len + 4);
		frontdesk_text_fold((const unsigned char *)w, len, folded);
		w = t_str_trim(str_c(folded), " ");
		if (*w == '\0' || strchr(w, ' ') != NULL) {
			*error_r = t_strdup_printf("word '%s' must be letters "
				"and digits only (punctuation separates words:"
				" write them as separate words)", fields[i]);
			return -1;
		}
		if (strlen(w) > FRONTDESK_TEXT_MAX_TOKEN) {
			*error_r = t_strdup_printf("word '%s' is too long",
						   fields[i]);
			return -1;
		}
		if (prefix && strlen(w) < FRONTDESK_MODEL_MIN_STEM) {
			*error_r = t_strdup_printf("prefix '%s' needs at least "
				"%u letters before '*'", fields[i],
				FRONTDESK_MODEL_MIN_STEM);
			return -1;
		}
		if (prefix)
			rule_r->prefix_mask |= 1U << (i - 2);
		w = p_strdup(model->pool, w);
		array_push_back(&words, &w);
		if (i > 2)
			str_append_c(text, ' ');
		str_append(text, w);
		if (prefix)
			str_append_c(text, '*');
	}
	array_append_zero(&words);
	rule_r->words = p_memdup(model->pool, array_front(&words),
				 sizeof(const char *) * (count - 1));
	rule_r->word_count = count - 2;
	rule_r->text = p_strdup(model->pool, str_c(text));
	rule_r->weight = (float)weight;
	rule_r->lang_idx = lang_idx;
	rule_r->need_idx = name_get_idx(model, &model->needs, fields[0]);
	return 0;
}

static void rules_free_regex(ARRAY_TYPE(frontdesk_rule) *rules)
{
	struct frontdesk_rule *r;

	array_foreach_modifiable(rules, r) {
		if (r->regex != NULL)
			regfree(r->regex);
	}
}

static int model_read_line(struct frontdesk_model *model, const char *name,
			   unsigned int linenum, const char *line,
			   unsigned int *lang_idx, unsigned int *regex_count,
			   ARRAY_TYPE(frontdesk_rule) *new_rules,
			   const char **error_r)
{
	struct frontdesk_rule rule;
	const char *error;

	if (strlen(line) > FRONTDESK_MODEL_MAX_LINE) {
		*error_r = t_strdup_printf("%s:%u: line too long "
			"(max %u bytes)", name, linenum,
			FRONTDESK_MODEL_MAX_LINE);
		return -1;
	}
	line = t_str_trim(rule_strip_comment(line), " \t\r");
	if (*line == '\0')
		return 0;
	if (str_begins_with(line, "@language")) {
		const char *lang = t_str_trim(line + 9, " \t");

		if (strcmp(lang, "*") != 0 && !need_name_valid(lang)) {
			*error_r = t_strdup_printf(
				"%s:%u: invalid language '%s'",
				name, linenum, lang);
			return -1;
		}
		if (array_count(&model->langs) >= FRONTDESK_MODEL_MAX_LANGS &&
		    frontdesk_model_lang_idx(model, lang) < 0) {
			*error_r = t_strdup_printf("%s:%u: too many languages",
						   name, linenum);
			return -1;
		}
		*lang_idx = name_get_idx(model, &model->langs, lang);
		return 0;
	}
	if (line[0] == '@') {
		*error_r = t_strdup_printf("%s:%u: unknown directive '%s'",
					   name, linenum, t_strcut(line, ' '));
		return -1;
	}
	if (model_parse_rule(model, line, *lang_idx, &rule, &error) < 0) {
		*error_r = t_strdup_printf("%s:%u: %s", name, linenum, error);
		return -1;
	}
	/* kept now so that an error below frees it */
	array_push_back(new_rules, &rule);
	if (array_count(&model->rules) + array_count(new_rules) >
	    FRONTDESK_MODEL_MAX_RULES) {
		*error_r = t_strdup_printf("%s:%u: more than %u rules",
			name, linenum, FRONTDESK_MODEL_MAX_RULES);
		return -1;
	}
	if (rule.regex != NULL &&
	    ++*regex_count > FRONTDESK_MODEL_MAX_REGEX_RULES) {
		*error_r = t_strdup_printf("%s:%u: more than %u regex rules",
			name, linenum, FRONTDESK_MODEL_MAX_REGEX_RULES);
		return -1;
	}
	return 0;
}

static bool model_line_is_end(const char *line)
{
	return str_begins_with(line, "@end") &&
		(line[4] == '\0' || line[4] == ' ' || line[4] == '\t');
}

/* Check the "@end format=1 rules=N sha256=HEX" line of a built model
   against the lines read before it. */
static int model_check_end(const char *name, unsigned int linenum,
			   const char *line, struct sha256_ctx *sha,
			   unsigned int rule_count, const char **error_r)
{
	const char *const *args = t_strsplit_spaces(line + 4, " \t");
	const char *format = NULL, *rules = NULL, *sum = NULL;
	unsigned char digest[SHA256_RESULTLEN];
	unsigned int count;

	for (; *args != NULL; args++) {
		if (str_begins_with(*args, "format="))
			format = *args + 7;
		else if (str_begins_with(*args, "rules="))
			rules = *args + 6;
		else if (str_begins_with(*args, "sha256="))
			sum = *args + 7;
		else {
			*error_r = t_strdup_printf("%s:%u: unknown field '%s' "
				"in the '@end' line", name, linenum, *args);
			return -1;
		}
	}
	if (format == NULL || rules == NULL || sum == NULL) {
		*error_r = t_strdup_printf("%s:%u: the '@end' line needs "
			"format=, rules= and sha256=", name, linenum);
		return -1;
	}
	if (strcmp(format, dec2str(FRONTDESK_MODEL_FORMAT)) != 0) {
		*error_r = t_strdup_printf("%s:%u: model format '%s', this "
			"frontdesk reads format %d (rebuild the model with "
			"its model/build-model)", name, linenum, format,
			FRONTDESK_MODEL_FORMAT);
		return -1;
	}
	if (str_to_uint(rules, &count) < 0 || count != rule_count) {
		*error_r = t_strdup_printf("%s:%u: the '@end' line says "
			"rules=%s but the file has %u rules: the model is "
			"damaged (rebuild it with model/build-model)",
			name, linenum, rules, rule_count);
		return -1;
	}
	sha256_result(sha, digest);
	if (strcasecmp(sum, binary_to_hex(digest, sizeof(digest))) != 0) {
		*error_r = t_strdup_printf("%s:%u: SHA-256 mismatch: the "
			"model was changed or damaged after model/build-model "
			"wrote it (rebuild it)", name, linenum);
		return -1;
	}
	return 0;
}

static int model_read_lines(struct frontdesk_model *model, const char *name,
			    struct istream *input, bool require_end,
			    ARRAY_TYPE(frontdesk_rule) *new_rules,
			    const char **error_r)
{
	unsigned int lang_idx = 0, linenum = 0, end_linenum = 0, regex_count;
	struct sha256_ctx sha;
	const char *line;
	int ret = 0;

	sha256_init(&sha);
	regex_count = array_count(&model->regex_rules);
	while (ret == 0 && (line = i_stream_read_next_line(input)) != NULL) {
		linenum++;
		/* one frame a line: what is kept lives in the model's pool,
		   and the data stack of the process that loads the model (an
		   lmtp process) does not grow with the model's size */
		T_BEGIN {
			if (end_linenum != 0) {
				*error_r = t_strdup_printf("%s:%u: text after "
					"the '@end' line", name, linenum);
				ret = -1;
			} else if (model_line_is_end(line)) {
				end_linenum = linenum;
				ret = model_check_end(name, linenum, line,
					&sha, array_count(new_rules), error_r);
			} else {
				sha256_loop(&sha, line, strlen(line));
				sha256_loop(&sha, "\n", 1);
				ret = model_read_line(model, name, linenum,
						      line, &lang_idx,
						      &regex_count, new_rules,
						      error_r);
			}
		} T_END_PASS_STR_IF(ret < 0, error_r);
	}
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", name,
					   i_stream_get_error(input));
		ret = -1;
	}
	if (ret == 0 && require_end && end_linenum == 0) {
		*error_r = linenum == 0 ?
			t_strdup_printf("%s: the model file is empty "
				"(rebuild it with model/build-model)", name) :
			t_strdup_printf("%s: no '@end' line after line %u: "
				"the model file is truncated or was not built "
				"by model/build-model", name, linenum);
		ret = -1;
	}
	if (ret == 0 && require_end && array_count(new_rules) == 0) {
		*error_r = t_strdup_printf("%s: the model has no rules", name);
		ret = -1;
	}
	return ret;
}

static void model_merge_rules(struct frontdesk_model *model,
			      ARRAY_TYPE(frontdesk_rule) *new_rules,
			      bool admin)
{
	string_t *key = t_str_new(128);
	struct frontdesk_rule *r;
	unsigned int first;

	/* The same words for the same need are one rule: a word shared by
	   several languages (iban, gdpr) must not count once per language.
	   Within a file the strongest weight wins and the rule applies to
	   any language; a later file (the admin's) overrides the weight. */
	if (!array_is_created(&model->nodes))
		trie_rebuild(model);
	first = array_count(&model->rules);
	array_foreach_modifiable(new_rules, r) {
		struct frontdesk_rule *old;
		void *value;

		str_truncate(key, 0);
		str_printfa(key, "%u\t%s", r->need_idx, r->text);
		value = hash_table_lookup(model->rule_keys, str_c(key));
		if (value != NULL) {
			old = array_idx_modifiable(&model->rules,
				POINTER_CAST_TO(value, unsigned int) - 1);
			if (POINTER_CAST_TO(value, unsigned int) - 1 < first) {
				old->weight = r->weight;
				old->lang_idx = r->lang_idx;
				old->admin = admin;
			} else {
				if (old->lang_idx != r->lang_idx)
					old->lang_idx = 0;
				if (fabsf(r->weight) > fabsf(old->weight))
					old->weight = r->weight;
			}
			if (r->regex != NULL)
				regfree(r->regex);
			continue;
		}
		r->admin = admin;
		array_push_back(&model->rules, r);
		hash_table_insert(model->rule_keys,
				  p_strdup(model->pool, str_c(key)),
				  POINTER_CAST(array_count(&model->rules)));
		if (r->regex != NULL) {
			uint32_t idx = array_count(&model->rules) - 1;

			array_push_back(&model->regex_rules, &idx);
		} else {
			trie_add_rule(model, array_count(&model->rules) - 1);
		}
	}
	trie_compile(model);
}

static int model_add_lines(struct frontdesk_model *model, const char *name,
			   struct istream *input, bool require_end,
			   const char **error_r)
{
	ARRAY_TYPE(frontdesk_rule) new_rules;
	int ret;

	i_array_init(&new_rules, 256);
	ret = model_read_lines(model, name, input, require_end, &new_rules,
			       error_r);
	if (ret < 0)
		rules_free_regex(&new_rules);
	else
		model_merge_rules(model, &new_rules, !require_end);
	array_free(&new_rules);
	return ret;
}

static int model_add_file(struct frontdesk_model *model, const char *path,
			  bool require_end, const char **error_r)
{
	struct istream *input;
	int fd, ret;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	input = i_stream_create_fd_autoclose(&fd, 65536);
	i_stream_set_name(input, path);
	T_BEGIN {
		ret = model_add_lines(model, path, input, require_end,
				      error_r);
		if (ret < 0)
			*error_r = t_strdup(*error_r);
	} T_END_PASS_STR_IF(ret < 0, error_r);
	i_stream_unref(&input);
	return ret;
}

int frontdesk_model_add_file(struct frontdesk_model *model, const char *path,
			     const char **error_r)
{
	return model_add_file(model, path, FALSE, error_r);
}

int frontdesk_model_add_lexicon_file(struct frontdesk_model *model,
				     const char *path, const char **error_r)
{
	return model_add_file(model, path, TRUE, error_r);
}

int frontdesk_model_add_string(struct frontdesk_model *model,
			       const char *name, const char *text,
			       const char **error_r)
{
	struct istream *input;
	int ret;

	input = i_stream_create_from_data(text, strlen(text));
	T_BEGIN {
		ret = model_add_lines(model, name, input, FALSE, error_r);
	} T_END_PASS_STR_IF(ret < 0, error_r);
	i_stream_unref(&input);
	return ret;
}

unsigned int frontdesk_model_rule_count(const struct frontdesk_model *model)
{
	return array_count(&model->rules);
}

const struct frontdesk_rule *
frontdesk_model_rule(const struct frontdesk_model *model, unsigned int idx)
{
	return array_idx(&model->rules, idx);
}

int frontdesk_model_need_idx(const struct frontdesk_model *model,
			     const char *need)
{
	return name_idx(&model->needs, need);
}

const char *frontdesk_model_need_name(const struct frontdesk_model *model,
				      unsigned int idx)
{
	return array_idx_elem(&model->needs, idx);
}

unsigned int frontdesk_model_need_count(const struct frontdesk_model *model)
{
	return array_count(&model->needs);
}

int frontdesk_model_lang_idx(const struct frontdesk_model *model,
			     const char *lang)
{
	return name_idx(&model->langs, lang);
}

const char *frontdesk_model_lang_name(const struct frontdesk_model *model,
				      unsigned int idx)
{
	return array_idx_elem(&model->langs, idx);
}

unsigned int frontdesk_model_lang_count(const struct frontdesk_model *model)
{
	return array_count(&model->langs);
}

static bool word_matches(const char *word, bool prefix,
			 const struct frontdesk_token *tok)
{
	size_t len = strlen(word);

	if (prefix)
		return tok->len >= len && memcmp(tok->str, word, len) == 0;
	return tok->len == len && memcmp(tok->str, word, len) == 0;
}

static void
model_match_list(const struct frontdesk_model *model, uint32_t link_idx,
		 const struct frontdesk_token *tokens, unsigned int count,
		 frontdesk_model_match_callback_t *callback, void *context)
{
	const struct rule_link *link;
	const struct frontdesk_rule *rule;
	unsigned int i;

	for (; link_idx != TRIE_NONE; link_idx = link->next) {
		link = array_idx(&model->links, link_idx);
		rule = array_idx(&model->rules, link->rule_idx);
		if (rule->word_count > count)
			continue;
		for (i = 1; i < rule->word_count; i++) {
			if (!word_matches(rule->words[i],
					  (rule->prefix_mask & (1U << i)) != 0,
					  &tokens[i]))
				break;
		}
		if (i == rule->word_count)
			callback(link->rule_idx, context);
	}
}

void frontdesk_model_match(const struct frontdesk_model *model,
			   const struct frontdesk_token *tokens,
			   unsigned int count,
			   frontdesk_model_match_callback_t *callback,
			   void *context)
{
	const struct trie_cnode *nodes, *n;
	const unsigned char *chars;
	const struct frontdesk_token *tok = &tokens[0];
	unsigned int i, j, end;
	unsigned char c;

	if (count == 0 || array_count(&model->cnodes) == 0)
		return;
	nodes = array_front(&model->cnodes);
	chars = array_front(&model->cchars);
	n = &nodes[0];
	for (i = 0; i < tok->len; i++) {
		c = (unsigned char)tok->str[i];
		end = n->first + n->count;
		for (j = n->first; j < end; j++) {
			if (chars[j] == c)
				break;
		}
		if (j == end)
			return;
		n = &nodes[j];
		if (n->prefix != TRIE_NONE) {
			model_match_list(model, n->prefix, tokens, count,
					 callback, context);
		}
	}
	if (n->exact != TRIE_NONE)
		model_match_list(model, n->exact, tokens, count, callback,
				 context);
}

unsigned int
frontdesk_model_regex_rule_count(const struct frontdesk_model *model)
{
	return array_count(&model->regex_rules);
}

void frontdesk_model_match_regex(const struct frontdesk_model *model,
				 const char *folded, unsigned int max_hits,
				 frontdesk_model_match_callback_t *callback,
				 void *context)
{
	const struct frontdesk_rule *rule;
	regmatch_t match;
	const char *p;
	unsigned int hits;
	uint32_t idx;
	int eflags;

	array_foreach_elem(&model->regex_rules, idx) {
		rule = array_idx(&model->rules, idx);
		p = folded;
		eflags = 0;
		for (hits = 0; hits < max_hits && *p != '\0'; hits++) {
			if (regexec(rule->regex, p, 1, &match, eflags) != 0)
				break;
			callback(idx, context);
			/* an empty match cannot loop: the empty text never
			   matches (checked when parsed), but step on anyway */
			p += match.rm_eo > match.rm_so ? match.rm_eo :
				match.rm_so + 1;
			eflags = REG_NOTBOL;
		}
	}
}

size_t frontdesk_model_memory_size(const struct frontdesk_model *model)
{
	/* the pool holds the words, texts, names and hash nodes */
	return pool_alloconly_get_total_alloc_size(model->pool) +
		buffer_get_size(model->rules.arr.buffer) +
		buffer_get_size(model->cnodes.arr.buffer) +
		buffer_get_size(model->cchars.arr.buffer) +
		buffer_get_size(model->links.arr.buffer) +
		buffer_get_size(model->regex_rules.arr.buffer) +
		hash_table_count(model->rule_keys) * 2 * sizeof(void *) * 2 +
		(model->weights == NULL ? 0 :
		 frontdesk_weights_memory_size(model->weights));
}
