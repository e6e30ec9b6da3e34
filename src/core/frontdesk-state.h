#ifndef FRONTDESK_STATE_H
#define FRONTDESK_STATE_H

/* What frontdesk remembers between deliveries: which tickets exist (so a
   conversation is acknowledged once) and how many acks went out per sender
   and per minute. Two backends: files under the state directory (one
   server, no extra service: 256 bucket files per kind, flock'd, safe under
   concurrent deliveries; tickets expire after 90 days) and a Dovecot dict
   (e.g. redis) that several backends share. */

struct frontdesk_state;

/* One per delivery. dict_uri "" = files in dir. namespace separates
   support mailboxes that share one dict. The dict gets at most
   timeout_msecs in all (a third per request); a request that fails or
   would not fit fails, and so does every later one except a release. */
int frontdesk_state_init(const char *dir, const char *dict_uri,
			 unsigned int timeout_msecs, const char *namespace,
			 struct event *event, struct frontdesk_state **state_r,
			 const char **error_r);
void frontdesk_state_deinit(struct frontdesk_state **state);
/* With TRUE each write of the file store is flushed to disk before the
   call returns (fdatasync), as Dovecot does with mail_fsync = always: a
   claim then survives a power cut as surely as the ack it guards. */
void frontdesk_state_set_fsync(struct frontdesk_state *state, bool fsync);
/* Did a request of this delivery fail already? (Its error was reported.) */
bool frontdesk_state_failed(const struct frontdesk_state *state);

/* Claim ticket for its one acknowledgment. Returns 1 if this call claimed
   it, 0 if it was claimed before, -1 on error (then it is not claimed).
   Never returns 1 twice for one ticket, even under concurrent deliveries.
   A claim that returned 1 must be followed by _keep() once the ack is
   safely queued (or deliberately not sent), or by _release() when it could
   not be queued, so that the next mail of the conversation gets it. */
int frontdesk_state_claim(struct frontdesk_state *state, const char *ticket,
			  const char *value, const char **error_r);
/* The claim stands: remember value ("office need") for follow-ups, which
   frontdesk_state_lookup() returns. */
int frontdesk_state_claim_keep(struct frontdesk_state *state,
			       const char *ticket, const char *value,
			       const char **error_r);
/* No acknowledgment went out: undo the claim. */
int frontdesk_state_claim_release(struct frontdesk_state *state,
				  const char *ticket, const char **error_r);
/* Returns 1 with value_r, 0 if unknown, -1 on error. */
int frontdesk_state_lookup(struct frontdesk_state *state, const char *ticket,
			   const char **value_r, const char **error_r);
/* Count one more event for key in time window (a day or minute number);
   count_r is the count including this one (an upper bound with a dict). */
int frontdesk_state_count(struct frontdesk_state *state, const char *key,
			  unsigned long window, unsigned int *count_r,
			  const char **error_r);

#endif
