/* Bounds for an admin's regex, checked before regcomp() sees it: a walk
   over POSIX extended regex syntax that estimates the size glibc gives the
   pattern once it has copied out every repetition, and how deeply the
   repetitions nest. The estimate only has to be close enough to stop the
   patterns that explode; syntax errors are left to regcomp(). */

#include "lib.h"
#include "frontdesk-regex.h"

/* One level of parentheses (the whole pattern is level 0). */
struct regex_group {
	/* elements of the finished alternatives, and of the current one */
	unsigned int alt_size, seq_size;
	/* the last atom of the current alternative, which a repetition
	   operator applies to */
	unsigned int last_size, last_depth;
	unsigned int max_depth;
	bool have_last;
};

struct regex_walk {
	struct regex_group *groups;
	unsigned int level;
	const char *error;
};

static int regex_too_large(struct regex_walk *w)
{
	w->error = t_strdup_printf("regex too large once its repetitions "
		"are expanded (more than %u elements): use smaller "
		"repetition counts or fewer nested repetitions",
		FRONTDESK_REGEX_MAX_SIZE);
	return -1;
}

static int regex_atom(struct regex_walk *w, unsigned int size,
		      unsigned int depth)
{
	struct regex_group *g = &w->groups[w->level];

	g->seq_size += size;
	g->last_size = size;
	g->last_depth = depth;
	g->max_depth = I_MAX(g->max_depth, depth);
	g->have_last = TRUE;
	return g->alt_size + g->seq_size > FRONTDESK_REGEX_MAX_SIZE ?
		regex_too_large(w) : 0;
}

/* A repetition of the last atom that glibc compiles as copies of it:
   "a*" and "a?" one, "a+" two ("aa*"), "a{m,n}" n, "a{m,}" m+1. */
static int regex_repeat(struct regex_walk *w, unsigned int copies)
{
	struct regex_group *g = &w->groups[w->level];
	unsigned int size, depth;

	if (!g->have_last) {
		/* nothing to repeat: regcomp() says what is wrong */
		return 0;
	}
	depth = g->last_depth + 1;
	if (depth > FRONTDESK_REGEX_MAX_DEPTH) {
		w->error = t_strdup_printf("regex repeats a repetition %u "
			"deep (max %u), as in '++' or '(a+)+'", depth,
			FRONTDESK_REGEX_MAX_DEPTH);
		return -1;
	}
	/* sizes stay below FRONTDESK_REGEX_MAX_SIZE and copies below
	   FRONTDESK_REGEX_MAX_COUNT + 2: no overflow */
	size = g->last_size * I_MAX(copies, 1) + 1;
	g->seq_size -= g->last_size;
	g->have_last = FALSE;
	return regex_atom(w, size, depth);
}

static bool regex_number(const char **p, unsigned int *num_r, bool *any_r)
{
	unsigned int num = 0;

	*any_r = FALSE;
	while (**p >= '0' && **p <= '9') {
		if (num <= FRONTDESK_REGEX_MAX_COUNT)
			num = num * 10 + (**p - '0');
		*any_r = TRUE;
		(*p)++;
	}
	*num_r = num;
	return *any_r;
}

/* "{m}", "{m,}", "{m,n}" or "{,n}" at *p: the number of copies glibc
   makes, or FALSE if this '{' is not an interval. */
static bool regex_interval(const char **p, unsigned int *copies_r,
			   unsigned int *max_count_r)
{
	const char *s = *p + 1;
	unsigned int m = 0, n = 0;
	bool have_m, have_n = FALSE, comma = FALSE;

	(void)regex_number(&s, &m, &have_m);
	if (*s == ',') {
		comma = TRUE;
		s++;
		(void)regex_number(&s, &n, &have_n);
	}
	if (*s != '}' || (!have_m && !have_n))
		return FALSE;
	*p = s + 1;
	*max_count_r = I_MAX(m, n);
	if (!comma)
		*copies_r = m;
	else if (!have_n)
		*copies_r = m + 1;
	else
		*copies_r = I_MAX(m, n);
	return TRUE;
}

/* The end of the bracket expression starting at p ("[...]"). */
static const char *regex_bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (p[0] == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			char close = p[1];
			const char *end = p + 2;

			while (*end != '\0' && !(end[0] == close && end[1] == ']'))
				end++;
			p = *end == '\0' ? end : end + 2;
		} else {
			p++;
		}
	}
	return *p == ']' ? p + 1 : p;
}

static int regex_walk(struct regex_walk *w, const char *p)
{
	struct regex_group *g;
	unsigned int copies, count, size, depth;

	while (*p != '\0') {
		g = &w->groups[w->level];
		switch (*p) {
		case '\\':
			p += p[1] != '\0' ? 2 : 1;
			if (regex_atom(w, 1, 0) < 0)
				return -1;
			break;
		case '[':
			p = regex_bracket_end(p);
			if (regex_atom(w, 1, 0) < 0)
				return -1;
			break;
		case '(':
			w->level++;
			i_zero(&w->groups[w->level]);
			p++;
			break;
		case ')':
			p++;
			if (w->level == 0) {
				if (regex_atom(w, 1, 0) < 0)
					return -1;
				break;
			}
			size = g->alt_size + g->seq_size + 1;
			depth = g->max_depth;
			w->level--;
			if (regex_atom(w, size, depth) < 0)
				return -1;
			break;
		case '|':
			g->alt_size += g->seq_size;
			g->seq_size = 0;
			g->have_last = FALSE;
			p++;
			break;
		case '*':
		case '?':
		case '+':
			copies = *p == '+' ? 2 : 1;
			p++;
			if (regex_repeat(w, copies) < 0)
				return -1;
			break;
		case '{':
			if (!regex_interval(&p, &copies, &count)) {
				p++;
				if (regex_atom(w, 1, 0) < 0)
					return -1;
				break;
			}
			if (count > FRONTDESK_REGEX_MAX_COUNT) {
				w->error = t_strdup_printf("repetition count "
					"over %u in the regex",
					FRONTDESK_REGEX_MAX_COUNT);
				return -1;
			}
			if (regex_repeat(w, copies) < 0)
				return -1;
			break;
		default:
			p++;
			if (regex_atom(w, 1, 0) < 0)
				return -1;
			break;
		}
	}
	/* glibc copies repetitions while it parses, before it notices a
	   missing ')': count unclosed groups in too */
	while (w->level > 0) {
		g = &w->groups[w->level];
		size = g->alt_size + g->seq_size + 1;
		depth = g->max_depth;
		w->level--;
		if (regex_atom(w, size, depth) < 0)
			return -1;
	}
	return 0;
}

int frontdesk_regex_check(const char *regex, const char **error_r)
{
	struct regex_walk w;
	size_t len = strlen(regex);

	if (len > FRONTDESK_REGEX_MAX_LEN) {
		*error_r = t_strdup_printf("regex longer than %u bytes",
					   FRONTDESK_REGEX_MAX_LEN);
		return -1;
	}
	i_zero(&w);
	/* one level per '(', and the pattern's own */
	w.groups = t_new(struct regex_group, len + 1);
	if (regex_walk(&w, regex) < 0) {
		*error_r = w.error;
		return -1;
	}
	return 0;
}
