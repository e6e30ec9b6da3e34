/* Composing one acknowledgment and leaving it in the spool: the template
   of the customer's language (cached per process, reloaded when the file
   changes), the From address, DKIM, the spool entry and telling the
   frontdesk-sender service about it (or, where the service is not set up,
   starting a one-spool frontdesk-sender). Nothing here records anything in the state store:
   frontdesk-acknowledge.c decides when to call it. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "ioloop.h"
#include "hostpid.h"
#include "net.h"
#include "smtp-address.h"
#include "smtp-submit-settings.h"
#include "mail-user.h"
#include "frontdesk-compat-storage.h"
#include "lda-settings.h"
#include "mail-deliver.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-guard.h"
#include "frontdesk-template.h"
#include "frontdesk-hours.h"
#include "frontdesk-ack.h"
#include "frontdesk-spool.h"
#include "frontdesk-dkim.h"
#include "frontdesk-sender-wake.h"
#include "frontdesk-ack-queue.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

struct template_cache_entry {
	char *path;
	struct timespec mtime;
	off_t size;
	pool_t pool;
	struct frontdesk_template *tpl;
};

static ARRAY(struct template_cache_entry) template_cache;

/* --- templates ------------------------------------------------------ */

static int template_get(const char *dir, const char *lang,
			const struct frontdesk_template **tpl_r,
			const char **error_r)
{
	const char *path = t_strdup_printf("%s/ack.%s.txt", dir, lang);
	struct template_cache_entry *e, new_e;
	struct stat st;
	int ret;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("stat(%s) failed: %m", path);
		return -1;
	}
	if (!array_is_created(&template_cache))
		i_array_init(&template_cache, 8);
	array_foreach_modifiable(&template_cache, e) {
		if (strcmp(e->path, path) != 0)
			continue;
		if (e->mtime.tv_sec == st.st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st.st_mtim.tv_nsec &&
		    e->size == st.st_size) {
			*tpl_r = e->tpl;
			return 1;
		}
		/* changed: load again below */
		pool_unref(&e->pool);
		i_free(e->path);
		array_delete(&template_cache,
			     array_foreach_idx(&template_cache, e), 1);
		break;
	}
	i_zero(&new_e);
	new_e.pool = pool_alloconly_create("frontdesk template", 8192);
	ret = frontdesk_template_load(new_e.pool, dir, lang, &new_e.tpl,
				      error_r);
	if (ret <= 0) {
		pool_unref(&new_e.pool);
		return ret;
	}
	new_e.path = i_strdup(path);
	new_e.mtime = st.st_mtim;
	new_e.size = st.st_size;
	array_push_back(&template_cache, &new_e);
	*tpl_r = new_e.tpl;
	return 1;
}

/* --- the acknowledgment --------------------------------------------- */

static const char *smtp_address_str(const struct smtp_address *addr)
{
	return addr == NULL ? "" : smtp_address_encode(addr);
}

/* The From address: the admin's, else our first address, else the one
   the mail was delivered to. A recipient without a domain (a userdb name
   without '@', LMTP "RCPT TO:<support>") gets Dovecot's hostname, as
   dovecot-lda makes user@hostname of a recipient it is not given. */
static int ack_from(struct mail_deliver_context *ctx,
		    const struct frontdesk_settings *set,
		    const char **from_r, const char **domain_r,
		    const char **error_r)
{
	const char *from, *at;

	if (*set->ack.from != '\0')
		from = set->ack.from;
	else if (array_count(&set->guard.addresses) > 0)
		from = array_idx_elem(&set->guard.addresses, 0);
	else
		from = t_str_lcase(smtp_address_str(ctx->rcpt_to));

	at = strrchr(from, '@');
	if (at != NULL)
		from = t_strdup_until(from, at);
	if (*from == '\0') {
		*error_r = "no address to send it from: set "
			"frontdesk_ack_from";
		return -1;
	}
	if (at == NULL || at[1] == '\0')
		at = t_strconcat("@", t_str_lcase(ctx->set->hostname), NULL);
	if (at[1] == '\0') {
		*error_r = "no domain to send it from: set frontdesk_ack_from";
		return -1;
	}
	*from_r = t_strconcat(from, at, NULL);
	*domain_r = at + 1;
	return 0;
}

/* Compose the acknowledgment in the customer's language, else the default
   one, else English. A template that is missing is passed over, one that
   is broken too (logged): a mistake in ack.it.txt must not leave Italian
   customers without an ack. */
static int ack_compose(const struct frontdesk_settings *set,
		       struct event *event,
		       const struct frontdesk_ack_params *params,
		       struct frontdesk_ack_input *input, string_t *msg,
		       const char **error_r)
{
	const char *const langs[] = {
		input->result->language, set->default_language, "en"
	};
	const struct frontdesk_template *tpl;
	const char *error, *broken = NULL;
	unsigned int i, j;
	int ret;

	for (i = 0; i < N_ELEMENTS(langs); i++) {
		if (langs[i] == NULL || *langs[i] == '\0')
			continue;
		for (j = 0; j < i; j++) {
			if (langs[j] != NULL && strcmp(langs[j], langs[i]) == 0)
				break;
		}
		if (j < i)
			continue;
		ret = template_get(set->ack.templates_dir, langs[i], &tpl,
				   &error);
		if (ret == 0)
			continue;
		if (ret > 0) {
			input->tpl = tpl;
			str_truncate(msg, 0);
			ret = frontdesk_ack_compose(params, input, msg, &error);
			if (ret == 0)
				return 0;
		}
		e_error(event, "template ack.%s.txt unusable, trying "
			"the next language: %s", langs[i], error);
		broken = error;
	}
	*error_r = broken != NULL ? t_strdup_printf("no usable template in "
		"%s (last error: %s)", set->ack.templates_dir, broken) :
		t_strdup_printf("no template ack.%s.txt, ack.%s.txt or "
			"ack.en.txt in %s", langs[0], set->default_language,
			set->ack.templates_dir);
	return -1;
}

int frontdesk_ack_queue_build(const struct frontdesk_settings *set,
			      struct event *event,
			      struct mail_deliver_context *ctx,
			      const struct frontdesk_view *view,
			      const struct frontdesk_classification *result,
			      const char *ticket, const char **from_r,
			      string_t **msg_r, const char **error_r)
{
	const struct frontdesk_ack_settings *a = &set->ack;
	struct frontdesk_ack_params params;
	struct frontdesk_ack_input input;
	struct frontdesk_when when;
	const char *from, *from_domain;
	string_t *msg;
	time_t now = ioloop_time, deadline;

	if (ack_from(ctx, set, &from, &from_domain, error_r) < 0)
		return -1;
	i_zero(&params);
	params.from_addr = from;
	params.from_name = a->from_name;
	params.company = a->company;
	params.msgid_domain = set->guard.message_id_domain != NULL ?
		set->guard.message_id_domain : from_domain;
	params.subject_max = a->subject_max;

	deadline = frontdesk_hours_deadline(a->hours, now, result->urgent ?
		a->urgent_response_secs : a->response_secs);
	frontdesk_hours_describe(a->hours, now, deadline, &when);
	i_zero(&input);
	input.view = view;
	input.result = result;
	input.to_addr = smtp_address_str(ctx->mail_from);
	input.ticket = ticket;
	input.when = &when;
	input.now = now;
	msg = t_str_new(4096);
	if (ack_compose(set, event, &params, &input, msg, error_r) < 0)
		return -1;
	if (*a->dkim_key != '\0') {
		struct frontdesk_dkim_key *key = NULL;
		string_t *signed_msg = t_str_new(str_len(msg) + 1024);
		const char *error;

		/* an unusable key means an unsigned ack, which receivers
		   may file as spam: better than none, and logged */
		if (frontdesk_dkim_key_load(a->dkim_key, a->dkim_domain,
					    a->dkim_selector, &key,
					    &error) < 0 ||
		    frontdesk_dkim_sign(key, str_data(msg), str_len(msg),
					NULL, now, signed_msg, &error) < 0) {
			e_error(event, "ack for ticket %s sent without "
				"DKIM signature: %s", ticket, error);
		} else {
			str_append_str(signed_msg, msg);
			msg = signed_msg;
		}
		if (key != NULL)
			frontdesk_dkim_key_free(&key);
	}
	*from_r = from;
	*msg_r = msg;
	return 0;
}

int frontdesk_ack_queue_write(const struct frontdesk_settings *set,
			      struct event *event,
			      struct mail_deliver_context *ctx,
			      const char *state_dir, const char *ticket,
			      const char *from, const string_t *msg,
			      const char **error_r)
{
	const struct frontdesk_ack_settings *a = &set->ack;
	const struct smtp_submit_settings *smtp = ctx->smtp_set;
	struct frontdesk_spool_entry entry;
	const char *spool_dir;
	time_t now = ioloop_time;
	bool fsync_ack;
	int ret;

	spool_dir = t_strconcat(state_dir, "/spool", NULL);
	i_zero(&entry);
	entry.name = t_strdup_printf("%ld.%s.%s", (long)now, ticket, my_pid);
	entry.created = now;
	entry.next_try = now;
	entry.expires = now + a->retry_lifetime_secs;
	entry.mail_from = a->null_return_path ? "" : from;
	entry.rcpt_to = smtp_address_str(ctx->mail_from);
	entry.ticket = ticket;
	if (smtp != NULL) {
		entry.hostname = smtp->hostname;
		entry.submission_host = smtp->submission_host;
		entry.sendmail_path = smtp->sendmail_path;
		entry.submission_timeout = smtp->submission_timeout;
	}
	entry.message = str_data(msg);
	entry.message_size = str_len(msg);
	/* the admin's mail_fsync says what is worth a disk flush: with the
	   default (optimized) Dovecot flushes the customer's mail, and an
	   ack lost to a power cut within the kernel's writeback delay is
	   not worth a flush per delivery; "always" flushes the ack too */
	fsync_ack = frontdesk_user_fsync_always(ctx->rcpt_user);
	ret = frontdesk_spool_write(spool_dir, &entry, fsync_ack, error_r);
	if (ret < 0 && errno == ENOENT) {
		/* first ack of this desk: create the spool and try again */
		if (frontdesk_spool_mkdirs(spool_dir, error_r) < 0)
			return -1;
		ret = frontdesk_spool_write(spool_dir, &entry, fsync_ack,
					    error_r);
	}
	if (ret < 0)
		return -1;
	frontdesk_sender_wake(event, ctx->rcpt_user->set->base_dir,
			      set->ack.sender_path, spool_dir, TRUE);
	return 0;
}

void frontdesk_ack_queue_deinit(void)
{
	struct template_cache_entry *e;

	if (!array_is_created(&template_cache))
		return;
	array_foreach_modifiable(&template_cache, e) {
		pool_unref(&e->pool);
		i_free(e->path);
	}
	array_free(&template_cache);
}
