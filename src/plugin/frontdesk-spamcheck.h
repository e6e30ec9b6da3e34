#ifndef FRONTDESK_SPAMCHECK_H
#define FRONTDESK_SPAMCHECK_H

struct mail_deliver_context;
struct frontdesk_user;
struct frontdesk_view;

/* Ask rspamd (frontdesk_spam_check) about a mail that no scanner on the
   way gave a verdict on. Returns TRUE only when rspamd answered in time
   that it is spam (reject, add header, rewrite subject); then the action
   and score are logged. Off, a verdict header present, no answer in
   frontdesk_spam_check_timeout or any error: FALSE (errors are one
   warning line). Never fails or delays the delivery beyond the timeout. */
bool frontdesk_spamcheck_is_spam(struct frontdesk_user *fuser,
				 struct mail_deliver_context *ctx,
				 const struct frontdesk_view *view);

#endif
