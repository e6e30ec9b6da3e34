/* What agents see of a decision in their mail client: IMAP keywords (tags
   in Thunderbird and Roundcube) and X-Frontdesk-* headers in the spirit of
   X-Spam-Status. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-machine.h"
#include "frontdesk-tags.h"

/* RFC 5322 recommends lines of at most 78 characters. */
#define HEADER_FOLD_AT 76

static void add_keyword(const struct frontdesk_settings *set,
			ARRAY_TYPE(const_string) *keywords, const char *name)
{
	const char *kw;

	if (name == NULL || *name == '\0')
		return;
	kw = t_strconcat(set->keyword_prefix, name, NULL);
	array_push_back(keywords, &kw);
}

void frontdesk_tags_keywords(const struct frontdesk_settings *set,
			     const struct frontdesk_classification *result,
			     ARRAY_TYPE(const_string) *keywords)
{
	add_keyword(set, keywords, result->need);
	add_keyword(set, keywords, result->secondary);
	if (result->urgent)
		add_keyword(set, keywords, FRONTDESK_KEYWORD_URGENT);
	if (result->unsure)
		add_keyword(set, keywords, FRONTDESK_KEYWORD_UNSURE);
}

/* Append "Name: value" folded at spaces. The value holds only printable
   ASCII/UTF-8 without CR/LF (the classifier builds it from rule text). */
static void append_folded(string_t *dest, const char *name, const char *value)
{
	size_t line_start = str_len(dest);
	const char *p, *word;

	str_printfa(dest, "%s:", name);
	for (p = value; *p != '\0'; ) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p != ' ' && *p != '\0')
			p++;
		if (str_len(dest) - line_start + 1 + (p - word) >
		    HEADER_FOLD_AT && str_len(dest) - line_start > 20) {
			str_append(dest, "\r\n");
			line_start = str_len(dest);
			str_append_c(dest, '\t');
		} else {
			str_append_c(dest, ' ');
		}
		str_append_data(dest, word, p - word);
	}
	str_append(dest, "\r\n");
}

void frontdesk_tags_headers(const struct frontdesk_classification *result,
			    string_t *dest)
{
	const char *needs;

	if (result->need[0] == '\0')
		needs = "none";
	else if (result->secondary != NULL)
		needs = t_strdup_printf("%s, %s", result->need,
					result->secondary);
	else
		needs = result->need;
	append_folded(dest, "X-Frontdesk-Need", needs);
	append_folded(dest, "X-Frontdesk-Office", t_strdup_printf("%s%s",
		frontdesk_office_name(result->office),
		result->unsure ? " (unsure)" : ""));
	append_folded(dest, "X-Frontdesk-Score", t_strdup_printf(
		"%.2f need=%s urgent=%s unsure=%s lang=%s; %s",
		result->confidence,
		result->need[0] == '\0' ? "none" : result->need,
		result->urgent ? "yes" : "no", result->unsure ? "yes" : "no",
		result->language, result->explanation));
}

const char *frontdesk_tags_machine_ticket_note(enum frontdesk_machine_kind kind)
{
	return kind == FRONTDESK_MACHINE_BOUNCE ?
		FRONTDESK_KEYWORD_ACK_BOUNCED :
		frontdesk_machine_kind_name(kind);
}

void frontdesk_tags_machine_keywords(const struct frontdesk_settings *set,
				     enum frontdesk_machine_kind kind,
				     bool about_ticket,
				     ARRAY_TYPE(const_string) *keywords)
{
	i_assert(kind != FRONTDESK_MACHINE_NONE);
	add_keyword(set, keywords, frontdesk_machine_kind_name(kind));
	if (about_ticket && kind == FRONTDESK_MACHINE_BOUNCE)
		add_keyword(set, keywords, FRONTDESK_KEYWORD_ACK_BOUNCED);
}

void frontdesk_tags_machine_headers(enum frontdesk_machine_kind kind,
				    string_t *dest)
{
	i_assert(kind != FRONTDESK_MACHINE_NONE);
	append_folded(dest, "X-Frontdesk-Machine",
		      frontdesk_machine_kind_name(kind));
}
