#ifndef FRONTDESK_TAG_H
#define FRONTDESK_TAG_H

#include "array.h"

struct mailbox;
struct mail_user;

/* Where one delivery stored the mail, whoever saved it: frontdesk or
   Dovecot (mail_deliver_save) or Pigeonhole (keep, fileinto), which saves
   through its own mailbox transactions and never sets the delivery
   context's saved_mail. Each mailbox once, in the order of the commits. */
struct frontdesk_stored {
	pool_t pool;
	ARRAY_TYPE(const_string) folders;
};

/* Wrap delivery mailboxes so the keywords of the delivery in progress are
   added to whatever is saved (Sieve's fileinto or keep, or our own save),
   and every committed save is noted in the delivery's frontdesk_stored. */
void frontdesk_tag_mailbox_allocated(struct mailbox *box);

/* Create (and subscribe) a folder if it does not exist yet. A folder seen
   in the last minute is not looked up again. */
int frontdesk_folder_ensure(struct mail_user *user, const char *name,
			    const char **error_r);
/* Saving to the folder failed: look it up again next time. */
void frontdesk_folder_forget(struct mail_user *user, const char *name);
void frontdesk_folder_cache_deinit(void);

#endif
