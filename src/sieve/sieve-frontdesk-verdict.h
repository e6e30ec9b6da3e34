#ifndef SIEVE_FRONTDESK_VERDICT_H
#define SIEVE_FRONTDESK_VERDICT_H

/* Where the Sieve extension gets its verdict. No Pigeonhole API here: only
   Dovecot's mail storage and frontdesk's core, so this part is the same
   for every Pigeonhole version. */

struct mail_user;
struct mail;
struct frontdesk_verdict;

struct frontdesk_sieve_verdict {
	/* NULL when there is none: then none_reason says why */
	struct frontdesk_verdict *verdict;
	const char *none_reason;
	/* TRUE when the delivery lent it (a script's ack request then
	   reaches the acknowledgment), FALSE when computed here */
	bool from_delivery;
};

/* The verdict for this message: the delivery's when the delivery plugin
   runs one for this user, else one computed with the user's frontdesk
   settings (sieve-test, imapsieve). Allocated from pool; call once per
   message and keep the result. Never fails the script: problems are
   logged on event and give no verdict. */
void frontdesk_sieve_verdict_get(struct mail_user *user, struct mail *mail,
				 const char *mail_from, const char *rcpt_to,
				 struct event *event, pool_t pool,
				 struct frontdesk_sieve_verdict *verdict_r);

/* Free the model cache (plugin unload). */
void frontdesk_sieve_verdict_deinit(void);

#endif
