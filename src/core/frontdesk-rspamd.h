#ifndef FRONTDESK_RSPAMD_H
#define FRONTDESK_RSPAMD_H

/* The pure half of the optional rspamd check (frontdesk_spam_check): its
   setting, the question whether a scanner already spoke, and rspamd's
   /checkv2 answer. The network half is src/plugin/frontdesk-spamcheck.c. */

struct frontdesk_view;
struct frontdesk_guard_settings;

#define FRONTDESK_RSPAMD_DEFAULT_TIMEOUT "300ms"
#define FRONTDESK_RSPAMD_MIN_TIMEOUT_MSECS 10
#define FRONTDESK_RSPAMD_MAX_TIMEOUT_MSECS 5000

struct frontdesk_rspamd_settings {
	/* "http://host:port" of rspamd's normal worker; "" = no check */
	const char *url;
	/* the most one delivery may wait for rspamd's answer */
	unsigned int timeout_msecs;
};

enum frontdesk_rspamd_action {
	FRONTDESK_RSPAMD_NO_ACTION = 0,
	FRONTDESK_RSPAMD_GREYLIST,
	FRONTDESK_RSPAMD_SOFT_REJECT,
	FRONTDESK_RSPAMD_ADD_HEADER,
	FRONTDESK_RSPAMD_REWRITE_SUBJECT,
	FRONTDESK_RSPAMD_REJECT,
	/* an action rspamd's configuration added that we do not know */
	FRONTDESK_RSPAMD_OTHER,
};

struct frontdesk_rspamd_answer {
	enum frontdesk_rspamd_action action;
	/* the action as rspamd wrote it (for the log) */
	const char *action_name;
	double score, required_score;
	/* rspamd stopped early: a prefilter (GTUBE, settings) decided */
	bool is_skipped;
};

/* frontdesk_spam_check and frontdesk_spam_check_timeout: value is the
   first ("" or NULL = off), timeout the second (NULL = the default). */
int frontdesk_rspamd_settings_parse(pool_t pool, const char *value,
				    const char *timeout,
				    struct frontdesk_rspamd_settings *set_r,
				    const char **error_r);

/* Did a scanner on the way already give its verdict: a header named like
   one of the guard's spam verdict headers (frontdesk_ack_spam_headers:
   X-Spam-Flag, X-Spam-Status, X-Spam, X-Rspamd-Action), whatever its
   value? */
bool frontdesk_rspamd_has_verdict(const struct frontdesk_guard_settings *set,
				  const struct frontdesk_view *view);

/* Where the message as the MTA handed it to Dovecot starts: past the
   Return-Path:, Delivered-To: and "Received: ... with LMTP" fields LMTP
   puts on top (rspamd would take the MTA's loopback hop for the sender's
   address, and count our own trace fields). data is the start of the
   message; returns 0 when nothing is ours or the fields are cut off. */
size_t frontdesk_rspamd_skip_local_headers(const unsigned char *data,
					   size_t size);

/* Parse rspamd's JSON answer to POST /checkv2. Returns 0, or -1 with
   error_r when it is not JSON or has no action. */
int frontdesk_rspamd_parse_answer(const unsigned char *data, size_t size,
				  struct frontdesk_rspamd_answer *answer_r,
				  const char **error_r);

/* Actions that mean "spam": reject, add header, rewrite subject. Greylist
   and soft reject are rspamd being unsure (or rate limits), not a
   verdict. */
bool frontdesk_rspamd_is_spam(const struct frontdesk_rspamd_answer *answer);

#endif
