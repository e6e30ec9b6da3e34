#ifndef FRONTDESK_SETTINGS_H
#define FRONTDESK_SETTINGS_H

#include "array.h"
#include "frontdesk-view.h"
#include "frontdesk-guard.h"
#include "frontdesk-rspamd.h"

enum frontdesk_office {
	FRONTDESK_OFFICE_FRONT = 0,
	FRONTDESK_OFFICE_BACK,
};

struct frontdesk_need_def {
	const char *name;
	enum frontdesk_office office;
};
ARRAY_DEFINE_TYPE(frontdesk_need_def, struct frontdesk_need_def);

#define FRONTDESK_DEFAULT_NEEDS \
	"billing:back technical:back outage:back orders:back account:back " \
	"privacy:back sales:front information:front complaint:front " \
	"appointment:front"

enum frontdesk_ack_mode {
	FRONTDESK_ACK_NO = 0,
	FRONTDESK_ACK_YES,
	/* decide everything, record the verdict in a header, send nothing */
	FRONTDESK_ACK_SHADOW,
};

struct frontdesk_hours;

/* Office hours of a small support desk; admins set their own. */
#define FRONTDESK_DEFAULT_BUSINESS_HOURS "mon-fri 09:00-17:00"

struct frontdesk_ack_settings {
	enum frontdesk_ack_mode mode;
	/* From: address ("" = the first of frontdesk_addresses, else the
	   address the mail was delivered to) and display name */
	const char *from;
	const char *from_name;
	const char *company;
	const char *templates_dir;
	/* envelope sender of acks: <> (TRUE) or the From address */
	bool null_return_path;
	/* "" = ~/.frontdesk of the support mailbox */
	const char *state_dir;
	/* Dovecot dict URI for shared state ("" = files in state_dir), and
	   the most time it may take in one delivery */
	const char *dict_uri;
	unsigned int state_timeout_msecs;
	const char *ticket_prefix;
	/* "" = <state_dir>/secret, created on first use */
	const char *secret_file;
	/* acks per sender per day, and overall per minute (0 = no limit) */
	unsigned int sender_limit;
	unsigned int global_limit;
	unsigned int subject_max;
	/* how long an ack that cannot be sent is retried */
	unsigned int retry_lifetime_secs;
	const char *sender_path;
	/* when the customer can expect an answer */
	const struct frontdesk_hours *hours;
	unsigned int response_secs, urgent_response_secs;
	/* DKIM ("" = no signature) */
	const char *dkim_key, *dkim_domain, *dkim_selector;
};

struct frontdesk_settings {
	bool enabled;
	const char *folder_front;
	const char *folder_back;
	/* machine mail (bounces, auto-replies, lists, ...): "" = leave it
	   where Sieve or Dovecot puts it */
	const char *folder_machine;
	/* shipped model, and the admin's rule file ("" = none) */
	const char *model_path;
	const char *rules_path;
	/* the learned need model ("" = the lexicon alone decides) */
	const char *weights_path;
	ARRAY_TYPE(frontdesk_need_def) needs;
	/* confidence below this: unsure (front office, a person looks) */
	double unsure_threshold;
	/* the same, only when the admin set it (0 otherwise): the learned
	   model has its own calibrated threshold, which this can only raise */
	double unsure_threshold_learned;
	/* a need scoring below this is no evidence at all */
	double min_score;
	const char *keyword_prefix;
	bool add_headers;
	const char *default_language;
	struct frontdesk_view_limits limits;
	/* who must never get an acknowledgment */
	struct frontdesk_guard_settings guard;
	struct frontdesk_ack_settings ack;
	/* optional rspamd check of mail no scanner looked at */
	struct frontdesk_rspamd_settings spam_check;
};

/* Looks up a setting by its full name ("frontdesk_enabled"); NULL when
   unset. The plugin passes mail_user_plugin_getenv(), the CLI a reader of
   the same plugin {} block. */
typedef const char *frontdesk_getenv_func_t(const char *name, void *context);

/* Parse and validate. On error, error_r names the setting and what is
   wrong with it. */
int frontdesk_settings_parse(pool_t pool, frontdesk_getenv_func_t *getenv_func,
			     void *context, struct frontdesk_settings **set_r,
			     const char **error_r);

/* Parse a decimal number (the whole string). Returns 0 or -1. */
int frontdesk_str_to_double(const char *str, double *num_r);

const struct frontdesk_need_def *
frontdesk_settings_find_need(const struct frontdesk_settings *set,
			     const char *name);
const char *frontdesk_office_name(enum frontdesk_office office);
const char *frontdesk_ack_mode_name(enum frontdesk_ack_mode mode);

#endif
