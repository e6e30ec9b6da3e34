#ifndef FRONTDESK_GUARD_H
#define FRONTDESK_GUARD_H

#include "array.h"
#include "frontdesk-machine.h"

struct frontdesk_view;

/* Machine mail must never be acknowledged (RFC 3834, RFC 5230): bounces,
   auto-replies, lists, bulk, spam, reports, our own mail coming back. The
   guard is pure: it looks at one message. Rate limits and "already acked"
   need state and live with the plugin. */

struct frontdesk_guard_settings {
	/* Our own addresses (support address and aliases), lowercase. The
	   envelope recipient and original recipient count as ours too. */
	ARRAY_TYPE(const_string) addresses;
	/* Domain of our acknowledgments' Message-IDs (loop detection). */
	const char *message_id_domain;
	/* Extra system senders: POSIX extended regex on the whole address,
	   case-insensitive; NULL = none. */
	const char *ignore_senders;
	/* "Header:value-prefix" pairs whose presence is a spam verdict. */
	ARRAY_TYPE(const_string) spam_headers;
	/* authserv-id whose Authentication-Results we trust; NULL = none. */
	const char *trusted_authserv_id;
	/* RFC 5230 check that one of our addresses is in To/Cc/Bcc/Resent-*. */
	bool check_recipient;
};

/* The default spam verdict headers: SpamAssassin and rspamd. */
#define FRONTDESK_GUARD_DEFAULT_SPAM_HEADERS \
	"X-Spam-Flag:yes X-Spam-Status:yes X-Spam:yes " \
	"X-Rspamd-Action:reject X-Rspamd-Action:add?header " \
	"X-Rspamd-Action:rewrite?subject X-Rspamd-Action:soft?reject"

/* Prefix of the local part of our acknowledgments' Message-IDs. */
#define FRONTDESK_ACK_MSGID_PREFIX "frontdesk."

/* Canonical form of a sender address for limits and comparisons:
   lowercase, SRS0/SRS1 (any separator), BATV (prvs=, msprvs1=) and
   Barracuda (btv1==) undone, +detail removed. */
const char *frontdesk_address_canonical(const char *address);

struct frontdesk_guard_verdict {
	/* "ok", or why no acknowledgment may be sent: a short static token
	   ("null-sender", "auto-submitted", ...) for logs and headers */
	const char *reason;
	/* NONE unless the message is machine mail: then what kind. Only
	   signals a person's mail never carries make machine mail (null
	   sender, Auto-Submitted, List-Id, reports, mail systems, ...) or
	   the content (frontdesk_machine_recognize()); X-Auto-Response-
	   Suppress, Precedence, X-Loop or a no-reply sender with a
	   person's Reply-To alone deny the ack but leave a customer a
	   customer. A machine is never a "follow-up". */
	enum frontdesk_machine_kind machine;
	/* machine mail about one of our acknowledgments: our Message-ID is
	   in its In-Reply-To/References, the headers a report returns or
	   the quoted headers of a plain bounce */
	bool about_ack;
};

/* Does the message carry a scanner's verdict header (one named in
   frontdesk_ack_spam_headers, whatever its value)? spam_r: one of them
   says spam. */
bool frontdesk_guard_scanner_verdict(const struct frontdesk_guard_settings *set,
				     const struct frontdesk_view *view,
				     bool *spam_r);

/* The guard's whole verdict on one message. */
void frontdesk_guard_verdict(const struct frontdesk_guard_settings *set,
			     const struct frontdesk_view *view,
			     struct frontdesk_guard_verdict *verdict_r);

/* Returns TRUE if an acknowledgment may be sent. reason_r is a short token
   ("null-sender", "auto-submitted", ... or "ok") for logs and headers. */
bool frontdesk_guard_check(const struct frontdesk_guard_settings *set,
			   const struct frontdesk_view *view,
			   const char **reason_r);

/* Is this a reply to one of our acknowledgments (In-Reply-To/References
   carry our Message-ID)? Then it belongs to an existing ticket. */
bool frontdesk_guard_is_reply_to_ack(const struct frontdesk_guard_settings *set,
				     const struct frontdesk_view *view);

#endif
