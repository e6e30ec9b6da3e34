#ifndef FRONTDESK_TAG_H
#define FRONTDESK_TAG_H

struct mailbox;
struct mail_user;

/* Wrap delivery mailboxes so the keywords of the delivery in progress are
   added to whatever is saved: Sieve's fileinto or keep, or our own save. */
void frontdesk_tag_mailbox_allocated(struct mailbox *box);

/* Create (and subscribe) a folder if it does not exist yet. A folder seen
   in the last minute is not looked up again. */
int frontdesk_folder_ensure(struct mail_user *user, const char *name,
			    const char **error_r);
/* Saving to the folder failed: look it up again next time. */
void frontdesk_folder_forget(struct mail_user *user, const char *name);
void frontdesk_folder_cache_deinit(void);

#endif
