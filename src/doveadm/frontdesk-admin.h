#ifndef FRONTDESK_ADMIN_H
#define FRONTDESK_ADMIN_H

/* What `doveadm frontdesk` does for one support mailbox, without doveadm's
   API (that lives in doveadm-frontdesk.c alone, so a Dovecot with another
   doveadm API changes one file): the user's settings, state directory,
   secret and spool as the delivery plugin finds them, read-only except for
   retry and drop. */

#include "frontdesk-settings.h"
#include "frontdesk-spool.h"
#include "frontdesk-ticket.h"

struct frontdesk_desk {
	pool_t pool;
	const char *username;
	struct event *event;
	const struct frontdesk_settings *set;
	/* where the plugin keeps state and the spool (may not exist yet) */
	const char *state_dir, *spool_dir;
	/* Dovecot's base_dir (the sender service's socket); NULL: unknown */
	const char *base_dir;
	/* the ticket secret; secret_len 0 when there is none yet (then no
	   reference is ours), secret_error says why */
	struct frontdesk_ticket_key key;
	const char *secret_error;
};

/* The desk of a user: settings through getenv_func (the plugin's
   mail_user_plugin_getenv), home may be NULL. -1 with error_r when a
   setting is invalid or there is nowhere the state could be. */
int frontdesk_desk_open(pool_t pool, const char *username, const char *home,
			struct event *event,
			frontdesk_getenv_func_t *getenv_func, void *context,
			struct frontdesk_desk **desk_r, const char **error_r);

/* One acknowledgment in the spool. */
struct frontdesk_queue_item {
	const char *id;
	/* "queued" (not tried yet), "retrying", "failed" (given up, kept in
	   failed/), "unreadable" (error says why) */
	const char *state;
	const char *subdir;
	struct frontdesk_spool_entry *entry;
	const char *error;
};
ARRAY_DEFINE_TYPE(frontdesk_queue_item, struct frontdesk_queue_item);

/* Everything in queue/ and failed/, oldest first. */
int frontdesk_desk_queue(struct frontdesk_desk *desk,
			 ARRAY_TYPE(frontdesk_queue_item) *items,
			 const char **error_r);
/* The entries an ID names: a spool file name, or a ticket reference (all
   of that ticket's entries). */
int frontdesk_desk_find(struct frontdesk_desk *desk, const char *id,
			ARRAY_TYPE(frontdesk_queue_item) *items,
			const char **error_r);
/* Remove the entry: its acknowledgment will not be sent. */
int frontdesk_desk_drop(struct frontdesk_desk *desk,
			const struct frontdesk_queue_item *item,
			const char **error_r);
/* Send it again now: back into queue/ (from failed/), due now, with a
   fresh lifetime; the sender is started when none runs. */
int frontdesk_desk_retry(struct frontdesk_desk *desk,
			 const struct frontdesk_queue_item *item, time_t now,
			 const char **error_r);

struct frontdesk_ticket_info {
	/* the reference in canonical form (or as given when not ours) */
	const char *reference;
	/* its check matches this desk's secret */
	bool genuine;
	/* the state store knows the conversation: its office and need */
	bool known;
	const char *office, *need;
	/* its acknowledgments still in the spool */
	ARRAY_TYPE(frontdesk_queue_item) acks;
};

/* What the desk knows about a reference. -1 on a state error. */
int frontdesk_desk_ticket(struct frontdesk_desk *desk, const char *ref,
			  struct frontdesk_ticket_info *info_r,
			  const char **error_r);

#endif
