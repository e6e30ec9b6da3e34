/* The verdict on one message in the tools' output formats (JSON line and
   readable row), and the envelope a tool assumes for a message file. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "json-parser.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-tags.h"
#include "frontdesk-guard.h"
#include "frontdesk-report.h"

static void json_str(string_t *out, const char *key, const char *value)
{
	str_printfa(out, "\"%s\":\"", key);
	json_append_escaped(out, value == NULL ? "" : value);
	str_append(out, "\",");
}

void frontdesk_report_human_header(string_t *out)
{
	str_printfa(out, "%-28s %-12s %-5s %-4s %-3s %-3s %-3s %-20s %s\n",
		    "message", "need", "office", "conf", "urg", "uns", "lng",
		    "ack", "explanation");
}

void frontdesk_report_human(string_t *out, const char *id,
			    const struct frontdesk_classification *r,
			    const char *ack_reason,
			    enum frontdesk_machine_kind machine)
{
	bool ok = ack_reason != NULL && strcmp(ack_reason, "ok") == 0;

	str_printfa(out, "%-28s %-12s %-5s %4.2f %-3s %-3s %-3s %-20s %s\n",
		    id, machine != FRONTDESK_MACHINE_NONE ?
		    t_strconcat("[", frontdesk_machine_kind_name(machine), "]",
				NULL) :
		    r->need[0] == '\0' ? "-" : r->need,
		    frontdesk_office_name(r->office), r->confidence,
		    r->urgent ? "URG" : "", r->unsure ? "?" : "",
		    r->language, ack_reason == NULL ? "-" :
		    t_strconcat(ok ? "yes" : "no:", ok ? "" : ack_reason,
				NULL),
		    r->explanation);
}

void frontdesk_report_json(string_t *out, const struct frontdesk_settings *set,
			   const char *id_key, const char *id,
			   const struct frontdesk_classification *r,
			   const char *ack_reason,
			   enum frontdesk_machine_kind machine)
{
	ARRAY_TYPE(const_string) kws;
	const char *kw;
	unsigned int i;

	str_append_c(out, '{');
	json_str(out, id_key, id);
	json_str(out, "need", r->need[0] == '\0' ? NULL : r->need);
	str_append(out, "\"needs\":[");
	if (r->need[0] != '\0') {
		str_append_c(out, '"');
		json_append_escaped(out, r->need);
		str_append_c(out, '"');
		if (r->secondary != NULL) {
			str_append(out, ",\"");
			json_append_escaped(out, r->secondary);
			str_append_c(out, '"');
		}
	}
	str_append(out, "],");
	json_str(out, "office", frontdesk_office_name(r->office));
	str_printfa(out, "\"unsure\":%s,\"named\":%s,\"urgent\":%s,",
		    r->unsure ? "true" : "false",
		    r->need_named ? "true" : "false",
		    r->urgent ? "true" : "false");
	json_str(out, "language", r->language);
	str_printfa(out, "\"confidence\":%.3f,", r->confidence);
	json_str(out, "explanation", r->explanation);
	if (machine != FRONTDESK_MACHINE_NONE)
		json_str(out, "machine", frontdesk_machine_kind_name(machine));
	else
		str_append(out, "\"machine\":null,");
	t_array_init(&kws, 4);
	/* what the delivery tags (a ticket is known only to the plugin) */
	if (machine != FRONTDESK_MACHINE_NONE)
		frontdesk_tags_machine_keywords(set, machine, FALSE, &kws);
	else
		frontdesk_tags_keywords(set, r, &kws);
	str_append(out, "\"keywords\":[");
	i = 0;
	array_foreach_elem(&kws, kw) {
		str_printfa(out, "%s\"", i++ > 0 ? "," : "");
		json_append_escaped(out, kw);
		str_append_c(out, '"');
	}
	str_append(out, "],");
	json_str(out, "folder", machine != FRONTDESK_MACHINE_NONE ?
		 (*set->folder_machine != '\0' ? set->folder_machine :
		  "INBOX") :
		 r->office == FRONTDESK_OFFICE_BACK ?
		 set->folder_back : set->folder_front);
	if (ack_reason != NULL) {
		str_printfa(out, "\"ack\":{\"send\":%s,\"reason\":\"%s\"},",
			    strcmp(ack_reason, "ok") == 0 ? "true" : "false",
			    ack_reason);
	}
	str_truncate(out, str_len(out) - 1);
	str_append(out, "}\n");
}

static const char *header_addr(const struct frontdesk_view *view,
			       const char *name)
{
	const char *v = frontdesk_view_header(view, name), *lt, *gt;

	if (v == NULL)
		return NULL;
	lt = strchr(v, '<');
	gt = lt == NULL ? NULL : strchr(lt, '>');
	if (lt != NULL && gt != NULL)
		return t_strdup_until(lt + 1, gt);
	return t_str_trim(v, " \t");
}

void frontdesk_report_set_envelope(struct frontdesk_view *view,
				   const char *from, const char *to)
{
	if (from == NULL)
		from = header_addr(view, "Return-Path");
	/* no From either: the sender is unknown, not <> */
	if (from == NULL && *view->from_addr != '\0')
		from = view->from_addr;
	if (to == NULL)
		to = header_addr(view, "Delivered-To");
	if (to == NULL && array_count(&view->recipients) > 0)
		to = array_idx_elem(&view->recipients, 0);
	frontdesk_view_set_envelope(view, from, to, NULL);
}

int frontdesk_report_classify(const struct frontdesk_model *model,
			      const struct frontdesk_settings *set,
			      const char *name, struct istream *input,
			      const char *from, const char *to, bool human,
			      string_t *out, const char **error_r)
{
	struct frontdesk_classification result;
	struct frontdesk_guard_verdict verdict;
	struct frontdesk_view *view;
	const char *error;
	pool_t pool;
	int ret;

	pool = pool_alloconly_create("frontdesk message", 8192);
	ret = frontdesk_view_parse(pool, input, &set->limits, &view, &error);
	if (ret < 0)
		*error_r = t_strdup(error);
	else {
		frontdesk_report_set_envelope(view, from, to);
		frontdesk_classify(model, set, view, pool, &result);
		frontdesk_guard_verdict(&set->guard, view, &verdict);
		if (human) {
			frontdesk_report_human(out, name, &result,
					       verdict.reason, verdict.machine);
		} else {
			frontdesk_report_json(out, set, "file", name, &result,
					      verdict.reason, verdict.machine);
		}
	}
	pool_unref(&pool);
	return ret < 0 ? -1 : 0;
}
