#ifndef FRONTDESK_VERDICT_H
#define FRONTDESK_VERDICT_H

/* The verdict of one delivery as one value: classification, the guard's
   verdict (with the machine kind), the ticket and the acknowledgment
   decision taken before the mail is filed. The delivery plugin computes
   it once and lends it to the Sieve extension (vnd.frontdesk), which
   reads it and writes back what a script asked of the acknowledgment.
   Outside a delivery (sieve-test, imapsieve) the extension computes the
   same value itself with frontdesk_verdict_compute(). */

#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-guard.h"
#include "frontdesk-ticket.h"

/* Both modules link the core statically, each with its own copy: the
   struct crosses the module boundary, so its layout is versioned. Bump
   this whenever frontdesk_verdict, frontdesk_classification or
   frontdesk_guard_verdict change. */
#define FRONTDESK_VERDICT_ABI 1

/* The function the delivery plugin exports (found by the Sieve extension
   with dlsym() at run time, Dovecot loads modules RTLD_GLOBAL): the
   verdict of the delivery in progress for this user, or NULL when there
   is none, or when abi is not the plugin's FRONTDESK_VERDICT_ABI. */
#define FRONTDESK_DELIVERY_VERDICT_SYMBOL "frontdesk_delivery_verdict"
struct mail_user;
struct frontdesk_verdict;
typedef struct frontdesk_verdict *
frontdesk_delivery_verdict_func_t(struct mail_user *user, unsigned int abi);

/* A template name (frontdesk_ack :template): a directory below
   frontdesk_templates holding ack.<lang>.txt files. */
#define FRONTDESK_TEMPLATE_NAME_MAX 64

enum frontdesk_script_ack {
	/* the script said nothing: frontdesk's own decision stands */
	FRONTDESK_SCRIPT_ACK_NONE = 0,
	/* frontdesk_ack: acknowledge if every rule allows it */
	FRONTDESK_SCRIPT_ACK_REQUEST,
	/* frontdesk_ack :noack */
	FRONTDESK_SCRIPT_ACK_WITHHOLD,
};

struct frontdesk_verdict {
	unsigned int abi;
	const struct frontdesk_settings *set;
	const struct frontdesk_view *view;
	const struct frontdesk_classification *result;
	struct frontdesk_guard_verdict guard;
	/* the office the mail is filed in: a follow-up joins its ticket's */
	enum frontdesk_office office;
	/* "" when there is no ticket (no secret, or acks disabled) */
	const char *ticket;
	bool follow_up;
	/* frontdesk's decision before any script: may an ack go out, and
	   the reason token ("ok", "bounce" kinds' reasons, "follow-up", ...) */
	bool ack_send;
	const char *ack_reason;

	/* written by the Sieve extension, read by the delivery after the
	   script ran; the template name lives in the buffer */
	enum frontdesk_script_ack script_ack;
	char script_template[FRONTDESK_TEMPLATE_NAME_MAX + 1];
};

/* Classify and judge a message: what the extension does where no delivery
   lent it a verdict. key (may be NULL) finds a follow-up's reference in
   the Subject; no new ticket is made and nothing is recorded. */
void frontdesk_verdict_compute(const struct frontdesk_model *model,
			       const struct frontdesk_settings *set,
			       const struct frontdesk_view *view,
			       const struct frontdesk_ticket_key *key,
			       pool_t pool,
			       struct frontdesk_verdict *verdict_r);

/* Why an acknowledgment a script asks for cannot be sent (the guard, a
   follow-up, acks turned off), or NULL when nothing in the verdict
   forbids it (limits are still checked when the ack is sent). Machine
   mail reads "<kind> (<guard reason>)". Data stack string. */
const char *frontdesk_verdict_ack_refusal(const struct frontdesk_verdict *v);

/* 1..FRONTDESK_TEMPLATE_NAME_MAX letters, digits, '-' and '_'. */
bool frontdesk_template_name_valid(const char *name);

/* The values of ${frontdesk.<name>}: need, secondary, office, language,
   confidence, ticket, machine, urgent, unsure, followup, ack. NULL for an
   unknown name. */
const char *frontdesk_verdict_value(const struct frontdesk_verdict *v,
				    const char *name);
/* Is name one of the names above? */
bool frontdesk_verdict_value_known(const char *name);

#endif
