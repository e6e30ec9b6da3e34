/* Shared set-up of the libFuzzer harnesses, and the oracles on what the
   view and the classifier promise (frontdesk-view.h, frontdesk-tags.h). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-tags.h"
#include "fuzz-common.h"

#include <stdio.h>
#include <math.h>

static bool fuzz_initialized = FALSE;
static pool_t fuzz_pool;
static struct frontdesk_settings *fuzz_set;
static struct frontdesk_model *fuzz_the_model;

static const char *fuzz_env(const char *name, void *context ATTR_UNUSED)
{
	if (strcmp(name, "frontdesk_addresses") == 0)
		return FUZZ_SUPPORT_ADDR;
	if (strcmp(name, "frontdesk_ack_message_id_domain") == 0)
		return FUZZ_MSGID_DOMAIN;
	if (strcmp(name, "frontdesk_ack") == 0)
		return "yes";
	if (strcmp(name, "frontdesk_timezone") == 0)
		return "Europe/Rome";
	if (strcmp(name, "frontdesk_holidays") == 0)
		return "12-25 12-26 01-01";
	return NULL;
}

void fuzz_init(bool with_model)
{
	const char *error, *path;

	if (fuzz_initialized)
		return;
	fuzz_initialized = TRUE;
	lib_init();
	fuzz_pool = pool_alloconly_create("fuzz settings", 4096);
	if (frontdesk_settings_parse(fuzz_pool, fuzz_env, NULL, &fuzz_set,
				     &error) < 0)
		i_fatal("fuzz settings: %s", error);
	if (!with_model)
		return;
	path = getenv("FRONTDESK_FUZZ_MODEL");
	if (path == NULL)
		path = FUZZ_MODEL_PATH;
	fuzz_the_model = frontdesk_model_init();
	if (frontdesk_model_add_file(fuzz_the_model, path, &error) < 0)
		i_fatal("fuzz model: %s", error);
}

const struct frontdesk_settings *fuzz_settings(void)
{
	return fuzz_set;
}

const struct frontdesk_model *fuzz_model(void)
{
	return fuzz_the_model;
}

void fuzz_fail(const char *fmt, ...)
{
	va_list args;

	fflush(stdout);
	fputs("frontdesk fuzz oracle: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

const char *fuzz_escape(const void *data, size_t size, size_t max)
{
	const unsigned char *p = data;
	string_t *str = t_str_new(I_MIN(size, max) * 2 + 8);
	size_t i;

	for (i = 0; i < size && i < max; i++) {
		if (p[i] == '\r')
			str_append(str, "\\r");
		else if (p[i] == '\n')
			str_append(str, "\\n");
		else if (p[i] == '\t')
			str_append(str, "\\t");
		else if (p[i] == '\\')
			str_append(str, "\\\\");
		else if (p[i] < 0x20 || p[i] == 0x7f)
			str_printfa(str, "\\x%02x", p[i]);
		else
			str_append_c(str, p[i]);
	}
	if (size > max)
		str_append(str, "...");
	return str_c(str);
}

void fuzz_dump(const string_t *msg)
{
	if (getenv("FRONTDESK_FUZZ_DUMP") == NULL)
		return;
	fwrite(str_data(msg), 1, str_len(msg), stderr);
	fputs("\n----\n", stderr);
}

uint32_t fuzz_hash(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

static bool has_control(const char *str)
{
	for (; *str != '\0'; str++) {
		if ((unsigned char)*str < 0x20 || *str == 0x7f)
			return TRUE;
	}
	return FALSE;
}

void fuzz_check_view(const struct frontdesk_view *view,
		     size_t max_body_bytes, unsigned int max_headers)
{
	const struct frontdesk_header *h;
	const char *p;

	if (view->subject == NULL)
		fuzz_fail("view: subject is NULL");
	if (!uni_utf8_str_is_valid(view->subject))
		fuzz_fail("view: subject is not valid UTF-8: '%s'",
			  fuzz_escape(view->subject, strlen(view->subject), 200));
	if (has_control(view->subject))
		fuzz_fail("view: subject has control characters: '%s'",
			  fuzz_escape(view->subject, strlen(view->subject), 200));
	if (view->from_addr == NULL || view->content_type == NULL)
		fuzz_fail("view: from_addr or content_type is NULL");
	for (p = view->from_addr; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			fuzz_fail("view: from_addr not lowercase: '%s'",
				  fuzz_escape(view->from_addr,
					      strlen(view->from_addr), 200));
	}
	if (view->from_name != NULL &&
	    !uni_utf8_str_is_valid(view->from_name))
		fuzz_fail("view: from_name is not valid UTF-8: '%s'",
			  fuzz_escape(view->from_name,
				      strlen(view->from_name), 200));
	if (view->text == NULL)
		fuzz_fail("view: text is NULL");
	if (str_len(view->text) > max_body_bytes)
		fuzz_fail("view: text has %zu bytes, max_body_bytes is %zu",
			  str_len(view->text), max_body_bytes);
	if (!uni_utf8_data_is_valid(str_data(view->text), str_len(view->text)))
		fuzz_fail("view: text is not valid UTF-8");
	if (array_count(&view->headers) > max_headers)
		fuzz_fail("view: %u headers kept, max_headers is %u",
			  array_count(&view->headers), max_headers);
	if (view->priority < 1 || view->priority > 5)
		fuzz_fail("view: priority %d", view->priority);
	array_foreach(&view->headers, h) {
		if (h->name == NULL || h->value == NULL)
			fuzz_fail("view: header with NULL name or value");
		if (strlen(h->value) > FRONTDESK_VIEW_MAX_HEADER_VALUE)
			fuzz_fail("view: header %s value has %zu bytes",
				  h->name, strlen(h->value));
	}
}

/* RFC 3501 atom: no atom-specials, no CTL, not empty. */
static bool imap_atom_valid(const char *kw)
{
	if (*kw == '\0')
		return FALSE;
	for (; *kw != '\0'; kw++) {
		unsigned char c = *kw;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return FALSE;
	}
	return TRUE;
}

static void check_tag_headers(const string_t *hdr)
{
	const unsigned char *d = str_data(hdr), *line, *end, *nl;
	size_t size = str_len(hdr);

	if (size < 2 || d[size-2] != '\r' || d[size-1] != '\n')
		fuzz_fail("tags: header block does not end in CRLF: '%s'",
			  fuzz_escape(d, size, 400));
	for (line = d, end = d + size; line < end; line = nl + 1) {
		nl = memchr(line, '\n', end - line);
		if (nl == NULL || nl == line || nl[-1] != '\r')
			fuzz_fail("tags: bare LF or missing CRLF: '%s'",
				  fuzz_escape(d, size, 600));
		if (memchr(line, '\r', nl - 1 - line) != NULL)
			fuzz_fail("tags: bare CR: '%s'",
				  fuzz_escape(d, size, 600));
		if (nl - 1 - line > 998)
			fuzz_fail("tags: line of %zu bytes",
				  (size_t)(nl - 1 - line));
		if (line[0] == '\t' || line[0] == ' ')
			continue;
		if (!((nl - line > 17 && memcmp(line, "X-Frontdesk-Need:", 17) == 0) ||
		      (nl - line > 19 && memcmp(line, "X-Frontdesk-Office:", 19) == 0) ||
		      (nl - line > 18 && memcmp(line, "X-Frontdesk-Score:", 18) == 0)))
			fuzz_fail("tags: unexpected header line '%s'",
				  fuzz_escape(line, nl - line, 200));
		for (const unsigned char *p = line; p < nl - 1; p++) {
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				fuzz_fail("tags: control character 0x%02x in '%s'",
					  *p, fuzz_escape(line, nl - line, 300));
		}
	}
}

void fuzz_check_classification(const struct frontdesk_model *model,
			       const struct frontdesk_settings *set,
			       const struct frontdesk_classification *r)
{
	ARRAY_TYPE(const_string) keywords;
	const char *kw;
	string_t *hdr;

	if (r->need == NULL || r->language == NULL || r->explanation == NULL)
		fuzz_fail("classify: NULL need, language or explanation");
	if (r->need[0] != '\0' && frontdesk_model_need_idx(model, r->need) < 0)
		fuzz_fail("classify: need '%s' is not in the model", r->need);
	if (r->secondary != NULL &&
	    frontdesk_model_need_idx(model, r->secondary) < 0)
		fuzz_fail("classify: secondary '%s' is not in the model",
			  r->secondary);
	if (!isfinite(r->confidence) || r->confidence < 0 ||
	    r->confidence > 1)
		fuzz_fail("classify: confidence %f", r->confidence);
	if (!isfinite(r->score) || !isfinite(r->secondary_score))
		fuzz_fail("classify: score %f / %f", r->score,
			  r->secondary_score);
	if (r->language[0] == '\0' || strlen(r->language) > 16)
		fuzz_fail("classify: language '%s'", r->language);
	if (strlen(r->explanation) > FRONTDESK_CLASSIFY_MAX_EXPLANATION)
		fuzz_fail("classify: explanation of %zu bytes",
			  strlen(r->explanation));
	if (!uni_utf8_str_is_valid(r->explanation))
		fuzz_fail("classify: explanation is not valid UTF-8: '%s'",
			  fuzz_escape(r->explanation, strlen(r->explanation),
				      300));

	t_array_init(&keywords, 8);
	frontdesk_tags_keywords(set, r, &keywords);
	array_foreach_elem(&keywords, kw) {
		if (!imap_atom_valid(kw))
			fuzz_fail("tags: keyword '%s' is not an IMAP atom",
				  fuzz_escape(kw, strlen(kw), 100));
	}
	hdr = t_str_new(512);
	frontdesk_tags_headers(r, hdr);
	check_tag_headers(hdr);
}
