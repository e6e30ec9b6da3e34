/* The verdict of one message as one value, shared by the delivery plugin
   and the Sieve extension: computed here when no delivery lent one, read
   here for ${frontdesk.*} and for the rule that a script's ack request
   never beats the guard. */

#include "lib.h"
#include "str.h"
#include "frontdesk-view.h"
#include "frontdesk-verdict.h"

#include <ctype.h>

void frontdesk_verdict_compute(const struct frontdesk_model *model,
			       const struct frontdesk_settings *set,
			       const struct frontdesk_view *view,
			       const struct frontdesk_ticket_key *key,
			       pool_t pool, struct frontdesk_verdict *verdict_r)
{
	struct frontdesk_classification *result;
	const char *ticket = NULL;

	i_zero(verdict_r);
	verdict_r->abi = FRONTDESK_VERDICT_ABI;
	verdict_r->set = set;
	verdict_r->view = view;
	result = p_new(pool, struct frontdesk_classification, 1);
	frontdesk_classify(model, set, view, pool, result);
	verdict_r->result = result;
	verdict_r->office = result->office;
	frontdesk_guard_verdict(&set->guard, view, &verdict_r->guard);
	if (key != NULL)
		ticket = frontdesk_ticket_find(key, view->subject);
	verdict_r->ticket = ticket == NULL ? "" : p_strdup(pool, ticket);
	verdict_r->follow_up = ticket != NULL;
	verdict_r->ack_reason = frontdesk_verdict_ack_refusal(verdict_r);
	verdict_r->ack_send = verdict_r->ack_reason == NULL;
	if (verdict_r->ack_send)
		verdict_r->ack_reason = "ok";
}

const char *frontdesk_verdict_ack_refusal(const struct frontdesk_verdict *v)
{
	if (v->guard.machine != FRONTDESK_MACHINE_NONE) {
		/* "bounce (auto-submitted)": what it is, and what showed it */
		return t_strdup_printf("%s (%s)",
			frontdesk_machine_kind_name(v->guard.machine),
			v->guard.reason);
	}
	if (strcmp(v->guard.reason, "ok") != 0)
		return v->guard.reason;
	if (v->follow_up)
		return "follow-up";
	if (v->set->ack.mode == FRONTDESK_ACK_NO)
		return "disabled";
	/* the delivery's own decision (already acknowledged, state errors)
	   holds too */
	if (!v->ack_send && v->ack_reason != NULL)
		return v->ack_reason;
	return NULL;
}

bool frontdesk_template_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > FRONTDESK_TEMPLATE_NAME_MAX)
		return FALSE;
	for (i = 0; i < len; i++) {
		if (!i_isalnum(name[i]) && name[i] != '-' && name[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static const char *const verdict_value_names[] = {
	"need", "secondary", "office", "language", "confidence", "ticket",
	"machine", "urgent", "unsure", "followup", "ack", "ack_reason", NULL
};

bool frontdesk_verdict_value_known(const char *name)
{
	return str_array_find(verdict_value_names, name);
}

static const char *yes_no(bool value)
{
	return value ? "yes" : "no";
}

const char *frontdesk_verdict_value(const struct frontdesk_verdict *v,
				    const char *name)
{
	const struct frontdesk_classification *r = v->result;

	if (strcmp(name, "need") == 0)
		return r->need;
	if (strcmp(name, "secondary") == 0)
		return r->secondary == NULL ? "" : r->secondary;
	if (strcmp(name, "office") == 0)
		return frontdesk_office_name(v->office);
	if (strcmp(name, "language") == 0)
		return r->language == NULL ? "" : r->language;
	if (strcmp(name, "confidence") == 0)
		return t_strdup_printf("%.2f", r->confidence);
	if (strcmp(name, "ticket") == 0)
		return v->ticket == NULL ? "" : v->ticket;
	if (strcmp(name, "machine") == 0)
		return frontdesk_machine_kind_name(v->guard.machine);
	if (strcmp(name, "urgent") == 0)
		return yes_no(r->urgent);
	if (strcmp(name, "unsure") == 0)
		return yes_no(r->unsure);
	if (strcmp(name, "followup") == 0)
		return yes_no(v->follow_up);
	if (strcmp(name, "ack") == 0)
		return yes_no(v->ack_send);
	if (strcmp(name, "ack_reason") == 0)
		return v->ack_reason == NULL ? "" : v->ack_reason;
	return NULL;
}
