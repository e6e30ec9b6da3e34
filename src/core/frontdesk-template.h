#ifndef FRONTDESK_TEMPLATE_H
#define FRONTDESK_TEMPLATE_H

#include "array.h"

/* Acknowledgment templates: one file per language (templates/ack.<lang>.txt,
   format in templates/README.md), written by non-programmers. Loading
   checks everything (sections, keys, variables, conditions) so that a
   mistake is one clear error naming file and line at load time, never a
   broken mail to a customer. */

/* A template file is small text; anything bigger is not a template. */
#define FRONTDESK_TEMPLATE_MAX_SIZE (64*1024)

enum frontdesk_template_escape {
	/* plain text: values are inserted as they are (they never contain
	   control characters, see frontdesk_template_clean_value()) */
	FRONTDESK_TEMPLATE_ESCAPE_TEXT = 0,
	/* HTML: & < > " ' become entities */
	FRONTDESK_TEMPLATE_ESCAPE_HTML,
};

struct frontdesk_template_phrase {
	const char *key, *value;
};
ARRAY_DEFINE_TYPE(frontdesk_template_phrase, struct frontdesk_template_phrase);

struct frontdesk_template {
	const char *language;
	const char *path;
	/* the raw template texts of [subject], [text], [html] */
	const char *subject, *text, *html;
	/* key = phrase lines of [need], [team] and [when] */
	ARRAY_TYPE(frontdesk_template_phrase) need, team, when;
};

/* Variables: a NULL-terminated list of name, value pairs. {{#x}} .. {{/x}}
   shows its text when x's value is non-empty, {{^x}} when it is empty. */
int frontdesk_template_render(const char *tpl, const char *const *vars,
			      enum frontdesk_template_escape escape,
			      string_t *dest, const char **error_r);

int frontdesk_template_parse(pool_t pool, const char *language,
			     const char *path, const char *data,
			     struct frontdesk_template **tpl_r,
			     const char **error_r);
/* Reads <dir>/ack.<language>.txt. Returns 1, 0 if it does not exist, -1 on
   error. */
int frontdesk_template_load(pool_t pool, const char *dir, const char *language,
			    struct frontdesk_template **tpl_r,
			    const char **error_r);

/* The phrase for key, or NULL. */
const char *
frontdesk_template_phrase(const ARRAY_TYPE(frontdesk_template_phrase) *phrases,
			  const char *key);

/* A value made safe for every context: control characters (CR, LF, TAB,
   ...) become spaces, runs of spaces one space, invalid UTF-8 replaced,
   trimmed, and cut to max_chars characters at a word boundary with "..."
   (max_chars 0 = no limit). Returns a data stack string. */
const char *frontdesk_template_clean_value(const char *value,
					   unsigned int max_chars);

#endif
