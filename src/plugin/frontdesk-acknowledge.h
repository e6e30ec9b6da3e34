#ifndef FRONTDESK_ACKNOWLEDGE_H
#define FRONTDESK_ACKNOWLEDGE_H

#include "frontdesk-guard.h"

struct mail_deliver_context;
struct frontdesk_user;
struct frontdesk_view;
struct frontdesk_classification;
struct ack_env;

#include "frontdesk-machine.h"

struct frontdesk_ack_decision {
	/* the reference of this conversation; NULL when there is no secret
	   to make one with */
	const char *ticket;
	/* the ticket existed before: a follow-up (not acknowledged again) */
	bool follow_up;
	/* office recorded for the ticket ("front"/"back"), or NULL */
	const char *ticket_office;
	/* machine mail (the guard's kind; NONE for a person's mail): never
	   acknowledged, never a new ticket. With a ticket it is about one
	   of our acknowledgments (its bounce, an auto-reply to it) and joins
	   that ticket. */
	enum frontdesk_machine_kind machine;
	/* the guard's whole verdict, computed once per delivery (the Sieve
	   extension's verdict reads it too) */
	struct frontdesk_guard_verdict guard;
	/* verdict so far: may we acknowledge, and the reason token */
	bool send;
	const char *reason;
	/* a template set a Sieve script chose (frontdesk_ack :template), a
	   directory below frontdesk_templates; NULL = the default */
	const char *template_name;
	/* state directory, secret and state store, kept from the decision
	   to the acknowledgment; freed by frontdesk_ack_decision_free() */
	struct ack_env *env;
};

/* Before the message is saved: guard, ticket, follow-up. In shadow mode
   the whole decision (limits included) is taken here. */
void frontdesk_ack_prepare(struct frontdesk_user *fuser,
			   struct mail_deliver_context *ctx,
			   const struct frontdesk_view *view,
			   const struct frontdesk_classification *result,
			   pool_t pool, struct frontdesk_ack_decision *dec);

/* After the message is stored: record the ticket, apply the limits,
   compose the acknowledgment and queue it for the sender. Updates dec
   (send/reason: "queued" or why not). */
void frontdesk_ack_after_save(struct frontdesk_user *fuser,
			      struct mail_deliver_context *ctx,
			      const struct frontdesk_view *view,
			      const struct frontdesk_classification *result,
			      struct frontdesk_ack_decision *dec);

void frontdesk_ack_decision_free(struct frontdesk_ack_decision *dec);

void frontdesk_ack_deinit(void);

#endif
