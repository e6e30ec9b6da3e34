#ifndef FRONTDESK_STATE_PRIVATE_H
#define FRONTDESK_STATE_PRIVATE_H

/* Shared by the state store's front (frontdesk-state.c, which also holds
   the dict backend) and its file backend (frontdesk-state-file.c). */

struct frontdesk_state {
	char *dir;
	char *namespace;
	struct dict *dict;
	struct event *event;

	/* The dict's time in this delivery: budget, what one request may
	   take, and what the requests took so far. After a request failed
	   the dict is only asked to release a claim. */
	unsigned int budget_msecs, request_msecs, spent_msecs;
	bool failed;
	/* flush each file write to disk (the admin's mail_fsync = always) */
	bool fsync;
};

/* 32 hex digits of SHA-256: keys are stored hashed. */
const char *frontdesk_state_hash(const char *key);

int frontdesk_state_file_claim(struct frontdesk_state *state,
			       const char *ticket, const char *value,
			       const char **error_r);
int frontdesk_state_file_lookup(struct frontdesk_state *state,
				const char *ticket, const char **value_r,
				const char **error_r);
int frontdesk_state_file_release(struct frontdesk_state *state,
				 const char *ticket, const char **error_r);
int frontdesk_state_file_count(struct frontdesk_state *state, const char *key,
			       unsigned long window, unsigned int *count_r,
			       const char **error_r);

#endif
