/* Acknowledgment templates: parsing, validation and rendering with values
   escaped for where they go (plain text, HTML; headers are encoded by the
   composer). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "frontdesk-template.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* Variable and condition names are short words. */
#define TEMPLATE_MAX_NAME 32

static const char *template_lookup(const char *const *vars, const char *name)
{
	for (; vars[0] != NULL; vars += 2) {
		if (strcmp(vars[0], name) == 0)
			return vars[1] == NULL ? "" : vars[1];
	}
	return NULL;
}

static void html_escape(string_t *dest, const char *value)
{
	for (; *value != '\0'; value++) {
		switch (*value) {
		case '&': str_append(dest, "&amp;"); break;
		case '<': str_append(dest, "&lt;"); break;
		case '>': str_append(dest, "&gt;"); break;
		case '"': str_append(dest, "&quot;"); break;
		case '\'': str_append(dest, "&#39;"); break;
		default: str_append_c(dest, *value); break;
		}
	}
}

/* Renders tpl; on error returns -1 with error_r and the byte offset of the
   mistake in tpl. */
static int
template_render(const char *tpl, const char *const *vars,
		enum frontdesk_template_escape escape, string_t *dest,
		const char **error_r, size_t *error_pos_r)
{
	const char *p = tpl, *open, *close, *value;
	const char *cond = NULL;
	bool show = TRUE;

	while ((open = strstr(p, "{{")) != NULL) {
		if (show)
			str_append_data(dest, p, open - p);
		close = strstr(open + 2, "}}");
		*error_pos_r = open - tpl;
		if (close == NULL || close - open - 2 > TEMPLATE_MAX_NAME ||
		    memchr(open + 2, '\n', close - open - 2) != NULL) {
			*error_r = "'{{' without its closing '}}'";
			return -1;
		}
		const char *name = t_strdup_until(open + 2, close);
		char kind = name[0];

		if (kind == '#' || kind == '^' || kind == '/')
			name++;
		if (*name == '\0') {
			*error_r = "empty {{ }}";
			return -1;
		}
		value = template_lookup(vars, name);
		if (value == NULL) {
			*error_r = t_strdup_printf(
				"unknown variable {{%s}}", name);
			return -1;
		}
		if (kind == '#' || kind == '^') {
			if (cond != NULL) {
				*error_r = t_strdup_printf("{{%c%s}} inside "
					"{{#%s}}: conditions cannot be nested",
					kind, name, cond);
				return -1;
			}
			cond = name;
			show = (*value != '\0') == (kind == '#');
		} else if (kind == '/') {
			if (cond == NULL || strcmp(cond, name) != 0) {
				*error_r = t_strdup_printf("{{/%s}} closes "
					"nothing that is open", name);
				return -1;
			}
			cond = NULL;
			show = TRUE;
		} else if (show) {
			if (escape == FRONTDESK_TEMPLATE_ESCAPE_HTML)
				html_escape(dest, value);
			else
				str_append(dest, value);
		}
		p = close + 2;
	}
	if (cond != NULL) {
		*error_pos_r = strlen(tpl);
		*error_r = t_strdup_printf("{{#%s}} or {{^%s}} is never "
					   "closed with {{/%s}}", cond, cond,
					   cond);
		return -1;
	}
	str_append(dest, p);
	return 0;
}

int frontdesk_template_render(const char *tpl, const char *const *vars,
			      enum frontdesk_template_escape escape,
			      string_t *dest, const char **error_r)
{
	size_t pos;

	return template_render(tpl, vars, escape, dest, error_r, &pos);
}

const char *
frontdesk_template_phrase(const ARRAY_TYPE(frontdesk_template_phrase) *phrases,
			  const char *key)
{
	const struct frontdesk_template_phrase *ph;

	array_foreach(phrases, ph) {
		if (strcmp(ph->key, key) == 0)
			return ph->value;
	}
	return NULL;
}

enum section {
	SECTION_NONE = 0,
	SECTION_SUBJECT,
	SECTION_NEED,
	SECTION_TEAM,
	SECTION_WHEN,
	SECTION_TEXT,
	SECTION_HTML,
	SECTION_COUNT
};
static const char *const section_names[SECTION_COUNT] = {
	"", "subject", "need", "team", "when", "text", "html"
};

struct parse_ctx {
	pool_t pool;
	struct frontdesk_template *tpl;
	const char *path;
	unsigned int first_line[SECTION_COUNT];
	string_t *body[SECTION_COUNT];
	const char *error;
};

static enum section section_header(const char *line)
{
	size_t len = strlen(line);
	unsigned int i;

	while (len > 0 && (line[len-1] == ' ' || line[len-1] == '\t'))
		len--;
	if (len < 3 || line[0] != '[' || line[len-1] != ']')
		return SECTION_NONE;
	for (i = 1; i < SECTION_COUNT; i++) {
		if (strlen(section_names[i]) == len - 2 &&
		    strncmp(line + 1, section_names[i], len - 2) == 0)
			return i;
	}
	return SECTION_COUNT;
}

static ARRAY_TYPE(frontdesk_template_phrase) *
section_phrases(struct frontdesk_template *tpl, enum section s)
{
	switch (s) {
	case SECTION_NEED: return &tpl->need;
	case SECTION_TEAM: return &tpl->team;
	case SECTION_WHEN: return &tpl->when;
	default: return NULL;
	}
}

static int parse_phrase(struct parse_ctx *ctx, enum section s,
			unsigned int linenum, const char *line)
{
	ARRAY_TYPE(frontdesk_template_phrase) *phrases =
		section_phrases(ctx->tpl, s);
	struct frontdesk_template_phrase ph;
	const char *eq = strchr(line, '=');

	if (eq == NULL) {
		ctx->error = t_strdup_printf("%s:%u: in [%s], '%s' must be "
			"'key = phrase'", ctx->path, linenum, section_names[s],
			line);
		return -1;
	}
	ph.key = p_strdup(ctx->pool, t_str_trim(t_strdup_until(line, eq),
						" \t"));
	ph.value = p_strdup(ctx->pool, t_str_trim(eq + 1, " \t"));
	if (*ph.key == '\0' || *ph.value == '\0') {
		ctx->error = t_strdup_printf("%s:%u: in [%s], the key or the "
			"phrase is empty", ctx->path, linenum,
			section_names[s]);
		return -1;
	}
	if (frontdesk_template_phrase(phrases, ph.key) != NULL) {
		ctx->error = t_strdup_printf("%s:%u: [%s] has '%s' twice",
			ctx->path, linenum, section_names[s], ph.key);
		return -1;
	}
	array_push_back(phrases, &ph);
	return 0;
}

static int require_phrases(struct parse_ctx *ctx, enum section s,
			   const char *const *keys)
{
	ARRAY_TYPE(frontdesk_template_phrase) *phrases =
		section_phrases(ctx->tpl, s);

	for (; *keys != NULL; keys++) {
		if (frontdesk_template_phrase(phrases, *keys) == NULL) {
			ctx->error = t_strdup_printf("%s:%u: [%s] has no "
				"line for '%s'", ctx->path,
				ctx->first_line[s], section_names[s], *keys);
			return -1;
		}
	}
	return 0;
}

static unsigned int line_of(const char *text, size_t pos)
{
	unsigned int lines = 0;
	size_t i;

	for (i = 0; i < pos && text[i] != '\0'; i++) {
		if (text[i] == '\n')
			lines++;
	}
	return lines;
}

/* Render a part with every variable set and unset, to find mistakes now. */
static int check_render(struct parse_ctx *ctx, enum section s,
			const char *tpl, const char *const *names)
{
	static const char *const states[] = { "x", "" };
	ARRAY_TYPE(const_string) vars;
	const char *error;
	size_t pos;
	unsigned int i, j;

	for (i = 0; i < N_ELEMENTS(states); i++) {
		t_array_init(&vars, 16);
		for (j = 0; names[j] != NULL; j++) {
			array_push_back(&vars, &names[j]);
			array_push_back(&vars, &states[i]);
		}
		array_append_zero(&vars);
		array_append_zero(&vars);
		if (template_render(tpl, array_front(&vars),
				    FRONTDESK_TEMPLATE_ESCAPE_TEXT,
				    t_str_new(256), &error, &pos) < 0) {
			/* the part's text starts on the line after [name] */
			ctx->error = t_strdup_printf("%s:%u: [%s]: %s",
				ctx->path, ctx->first_line[s] + 1 +
				line_of(tpl, pos), section_names[s], error);
			return -1;
		}
	}
	return 0;
}

static const char *const ack_vars[] = {
	"name", "ticket", "subject", "need", "team", "deadline", "company",
	"urgent", NULL
};
static const char *const when_vars[] = {
	"time", "weekday", "day", "month", "year", NULL
};

static int template_validate(struct parse_ctx *ctx)
{
	static const char *const team_keys[] = { "front", "back", NULL };
	static const char *const need_keys[] = { "unknown", NULL };
	static const char *const when_keys[] = {
		"today", "tomorrow", "week", "later", "weekdays", "months",
		NULL
	};
	struct frontdesk_template *tpl = ctx->tpl;
	const struct frontdesk_template_phrase *ph;
	unsigned int i;

	for (i = 1; i < SECTION_COUNT; i++) {
		if (ctx->first_line[i] == 0) {
			ctx->error = t_strdup_printf("%s: the part [%s] is "
				"missing", ctx->path, section_names[i]);
			return -1;
		}
	}
	if (require_phrases(ctx, SECTION_NEED, need_keys) < 0 ||
	    require_phrases(ctx, SECTION_TEAM, team_keys) < 0 ||
	    require_phrases(ctx, SECTION_WHEN, when_keys) < 0)
		return -1;
	if (str_array_length(t_strsplit_spaces(frontdesk_template_phrase(
			&tpl->when, "weekdays"), " ,")) != 7 ||
	    str_array_length(t_strsplit_spaces(frontdesk_template_phrase(
			&tpl->when, "months"), " ,")) != 12) {
		ctx->error = t_strdup_printf("%s:%u: [when] needs 7 "
			"'weekdays' (from Sunday) and 12 'months'",
			ctx->path, ctx->first_line[SECTION_WHEN]);
		return -1;
	}
	if (strchr(tpl->subject, '\n') != NULL) {
		ctx->error = t_strdup_printf("%s:%u: [subject] must be one "
			"line", ctx->path, ctx->first_line[SECTION_SUBJECT]);
		return -1;
	}
	if (strstr(tpl->subject, "{{ticket}}") == NULL) {
		ctx->error = t_strdup_printf("%s:%u: [subject] must contain "
			"{{ticket}}: replies are matched to their request by "
			"it", ctx->path, ctx->first_line[SECTION_SUBJECT]);
		return -1;
	}
	if (check_render(ctx, SECTION_SUBJECT, tpl->subject, ack_vars) < 0 ||
	    check_render(ctx, SECTION_TEXT, tpl->text, ack_vars) < 0 ||
	    check_render(ctx, SECTION_HTML, tpl->html, ack_vars) < 0)
		return -1;
	array_foreach(&tpl->when, ph) {
		if (strcmp(ph->key, "weekdays") == 0 ||
		    strcmp(ph->key, "months") == 0)
			continue;
		if (check_render(ctx, SECTION_WHEN, ph->value, when_vars) < 0)
			return -1;
	}
	return 0;
}

/* Text of a part: its lines, without the blank lines around them. */
static const char *part_text(pool_t pool, string_t *body)
{
	const char *text = str_c(body);
	size_t len = str_len(body);

	while (*text == '\n') {
		text++;
		len--;
	}
	while (len > 0 && (text[len-1] == '\n' || text[len-1] == ' ' ||
			   text[len-1] == '\t'))
		len--;
	return p_strndup(pool, text, len);
}

int frontdesk_template_parse(pool_t pool, const char *language,
			     const char *path, const char *data,
			     struct frontdesk_template **tpl_r,
			     const char **error_r)
{
	struct parse_ctx ctx;
	struct frontdesk_template *tpl;
	const char *const *lines, *line;
	enum section cur = SECTION_NONE, s;
	unsigned int linenum, i;
	int ret = 0;

	i_zero(&ctx);
	ctx.pool = pool;
	ctx.path = path;
	tpl = ctx.tpl = p_new(pool, struct frontdesk_template, 1);
	tpl->language = p_strdup(pool, language);
	tpl->path = p_strdup(pool, path);
	p_array_init(&tpl->need, pool, 16);
	p_array_init(&tpl->team, pool, 2);
	p_array_init(&tpl->when, pool, 8);
	for (i = 0; i < SECTION_COUNT; i++)
		ctx.body[i] = t_str_new(512);

	if (!uni_utf8_str_is_valid(data)) {
		*error_r = t_strdup_printf("%s: not valid UTF-8 (save the "
					   "file as UTF-8)", path);
		return -1;
	}
	lines = t_strsplit(data, "\n");
	for (linenum = 1; lines[linenum-1] != NULL && ret == 0; linenum++) {
		line = lines[linenum-1];
		if (*line != '\0' && line[strlen(line)-1] == '\r')
			line = t_strndup(line, strlen(line) - 1);
		s = section_header(line);
		if (s == SECTION_COUNT) {
			ctx.error = t_strdup_printf("%s:%u: unknown part %s",
						    path, linenum, line);
			ret = -1;
		} else if (s != SECTION_NONE) {
			if (ctx.first_line[s] != 0) {
				ctx.error = t_strdup_printf("%s:%u: [%s] "
					"appears twice", path, linenum,
					section_names[s]);
				ret = -1;
			}
			ctx.first_line[s] = linenum;
			cur = s;
		} else if (cur == SECTION_NONE) {
			if (*t_str_trim(line, " \t") != '\0' && line[0] != '#') {
				ctx.error = t_strdup_printf("%s:%u: text "
					"before the first part (notes start "
					"with #)", path, linenum);
				ret = -1;
			}
		} else if (section_phrases(tpl, cur) != NULL) {
			const char *t = t_str_trim(line, " \t");

			if (*t != '\0' && *t != '#')
				ret = parse_phrase(&ctx, cur, linenum, t);
		} else {
			str_append(ctx.body[cur], line);
			str_append_c(ctx.body[cur], '\n');
		}
	}
	if (ret == 0) {
		tpl->subject = part_text(pool, ctx.body[SECTION_SUBJECT]);
		tpl->text = part_text(pool, ctx.body[SECTION_TEXT]);
		tpl->html = part_text(pool, ctx.body[SECTION_HTML]);
		ret = template_validate(&ctx);
	}
	if (ret < 0) {
		*error_r = ctx.error;
		return -1;
	}
	*tpl_r = tpl;
	return 0;
}

int frontdesk_template_load(pool_t pool, const char *dir, const char *language,
			    struct frontdesk_template **tpl_r,
			    const char **error_r)
{
	const char *path;
	struct stat st;
	string_t *data;
	ssize_t ret;
	int fd;

	/* language codes come from the classifier or the settings: never a
	   path */
	if (*language == '\0' || strspn(language,
			"abcdefghijklmnopqrstuvwxyz-") != strlen(language)) {
		*error_r = t_strdup_printf("'%s' is not a language code",
					   language);
		return -1;
	}
	path = t_strdup_printf("%s/ack.%s.txt", dir, language);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size > FRONTDESK_TEMPLATE_MAX_SIZE) {
		*error_r = st.st_size > FRONTDESK_TEMPLATE_MAX_SIZE ?
			t_strdup_printf("%s: larger than %d bytes", path,
					FRONTDESK_TEMPLATE_MAX_SIZE) :
			t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	data = t_str_new(st.st_size + 1);
	for (;;) {
		unsigned char buf[4096];

		ret = read(fd, buf, sizeof(buf));
		if (ret <= 0)
			break;
		str_append_data(data, buf, ret);
		if (str_len(data) > FRONTDESK_TEMPLATE_MAX_SIZE) {
			*error_r = t_strdup_printf("%s: larger than %d bytes",
				path, FRONTDESK_TEMPLATE_MAX_SIZE);
			i_close_fd(&fd);
			return -1;
		}
	}
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	if (memchr(str_data(data), '\0', str_len(data)) != NULL) {
		*error_r = t_strdup_printf("%s: not a text file", path);
		return -1;
	}
	if (frontdesk_template_parse(pool, language, path, str_c(data), tpl_r,
				     error_r) < 0)
		return -1;
	return 1;
}

static bool unichar_is_control(unichar_t chr)
{
	return chr < 0x20 || (chr >= 0x7f && chr < 0xa0) ||
		/* line/paragraph separators and bidi overrides: a name must
		   not reorder or break the text around it */
		chr == 0x2028 || chr == 0x2029 ||
		(chr >= 0x200b && chr <= 0x200f) ||
		(chr >= 0x202a && chr <= 0x202e) ||
		(chr >= 0x2066 && chr <= 0x2069) || chr == 0xfeff;
}

const char *frontdesk_template_clean_value(const char *value,
					   unsigned int max_chars)
{
	string_t *valid = t_str_new(strlen(value) + 8);
	string_t *out = t_str_new(strlen(value) + 8);
	const unsigned char *p, *end;
	unsigned int chars = 0;
	size_t last_space = 0;
	bool space = TRUE, cut = FALSE;
	unichar_t chr;
	int n;

	if (!uni_utf8_get_valid_data((const unsigned char *)value,
				     strlen(value), valid))
		value = str_c(valid);
	p = (const unsigned char *)value;
	end = p + strlen(value);
	while (p < end) {
		n = uni_utf8_get_char_n(p, end - p, &chr);
		if (n <= 0)
			break;
		if (unichar_is_control(chr) || chr == ' ' || chr == 0xa0) {
			if (!space) {
				last_space = str_len(out);
				str_append_c(out, ' ');
				space = TRUE;
				chars++;
			}
		} else {
			if (max_chars > 0 && chars >= max_chars) {
				cut = TRUE;
				break;
			}
			str_append_data(out, p, n);
			space = FALSE;
			chars++;
		}
		p += n;
	}
	if (cut) {
		/* cut at the last word boundary if it keeps most of it */
		if (last_space > str_len(out) / 2)
			str_truncate(out, last_space);
		while (str_len(out) > 0 &&
		       str_data(out)[str_len(out)-1] == ' ')
			str_truncate(out, str_len(out) - 1);
		str_append(out, "\xE2\x80\xA6");
	}
	while (str_len(out) > 0 && str_data(out)[str_len(out)-1] == ' ')
		str_truncate(out, str_len(out) - 1);
	return str_c(out);
}
