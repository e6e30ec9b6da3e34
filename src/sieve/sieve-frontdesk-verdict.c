/* The Sieve extension's verdict: borrowed from the delivery in progress
   (lib95_frontdesk_plugin.so exports frontdesk_delivery_verdict(), found
   with dlsym() because Dovecot loads modules RTLD_GLOBAL), or computed
   here from core when frontdesk's delivery plugin is not loaded in this
   process (sieve-test, imapsieve in imap). When the delivery plugin is
   loaded but lent nothing, frontdesk is not active for this recipient and
   there is no verdict: classifying again would be the second
   classification the design forbids, and would disagree with what the
   delivery filed. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "mail-user.h"
#include "mail-storage.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-ticket.h"
#include "frontdesk-verdict.h"
#include "sieve-frontdesk-verdict.h"
#include "frontdesk-compat-settings.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* A secret file is small; see FRONTDESK_TICKET_MIN_SECRET for the least. */
#define SIEVE_FRONTDESK_SECRET_MAX 1024

struct sieve_model_cache {
	char *model_path, *rules_path, *weights_path;
	/* what the three files looked like when loaded: an imap process may
	   outlive a model update */
	char *stamp;
	struct frontdesk_model *model;
};
static struct sieve_model_cache model_cache;

/* mtime and size of each file, "" for unset paths */
static const char *model_stamp(const struct frontdesk_settings *set)
{
	const char *paths[] = {
		set->model_path, set->rules_path, set->weights_path
	};
	string_t *str = t_str_new(128);
	struct stat st;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(paths); i++) {
		if (*paths[i] != '\0' && stat(paths[i], &st) == 0) {
			str_printfa(str, "%lld.%ld:%lld ",
				    (long long)st.st_mtim.tv_sec,
				    (long)st.st_mtim.tv_nsec,
				    (long long)st.st_size);
		} else {
			str_append(str, "- ");
		}
	}
	return str_c(str);
}


/* One model per process for the paths last used (sieve-test runs once,
   an imap process serves one user), loaded again when a file changes. */
static const struct frontdesk_model *
sieve_frontdesk_model(const struct frontdesk_settings *set,
		      const char **error_r)
{
	struct sieve_model_cache *c = &model_cache;
	struct frontdesk_model *model;
	const char *stamp = model_stamp(set);

	if (c->model != NULL && strcmp(c->model_path, set->model_path) == 0 &&
	    strcmp(c->rules_path, set->rules_path) == 0 &&
	    strcmp(c->weights_path, set->weights_path) == 0 &&
	    strcmp(c->stamp, stamp) == 0)
		return c->model;
	if (frontdesk_model_load(set, &model, error_r) < 0)
		return NULL;
	frontdesk_sieve_verdict_deinit();
	c->stamp = i_strdup(stamp);
	c->model = model;
	c->model_path = i_strdup(set->model_path);
	c->rules_path = i_strdup(set->rules_path);
	c->weights_path = i_strdup(set->weights_path);
	return model;
}

/* The ticket secret, read only (the delivery creates it): without it no
   follow-up is recognised. */
static bool sieve_frontdesk_key(struct mail_user *user,
				const struct frontdesk_settings *set,
				pool_t pool, struct frontdesk_ticket_key *key_r)
{
	unsigned char buf[SIEVE_FRONTDESK_SECRET_MAX];
	const char *path, *home;
	ssize_t ret;
	int fd;

	if (*set->ack.secret_file != '\0')
		path = set->ack.secret_file;
	else if (*set->ack.state_dir != '\0')
		path = t_strconcat(set->ack.state_dir, "/secret", NULL);
	else if (mail_user_get_home(user, &home) > 0 && *home != '\0')
		path = t_strconcat(home, "/.frontdesk/secret", NULL);
	else
		return FALSE;
	if ((fd = open(path, O_RDONLY)) < 0)
		return FALSE;
	ret = read(fd, buf, sizeof(buf));
	i_close_fd(&fd);
	if (ret < FRONTDESK_TICKET_MIN_SECRET)
		return FALSE;
	key_r->prefix = set->ack.ticket_prefix;
	key_r->secret = p_memdup(pool, buf, ret);
	key_r->secret_len = ret;
	return TRUE;
}

static void
sieve_frontdesk_compute_with(struct frontdesk_user_settings *uset,
			     struct mail *mail,
			     const char *mail_from, const char *rcpt_to,
			     struct event *event, pool_t pool,
			     struct frontdesk_sieve_verdict *verdict_r)
{
	struct frontdesk_settings *set;
	const struct frontdesk_model *model;
	struct frontdesk_ticket_key key;
	struct frontdesk_view *view;
	struct frontdesk_verdict *v;
	struct istream *input;
	const char *enabled, *error;

	enabled = frontdesk_user_settings_getenv("frontdesk_enabled", uset);
	if (enabled == NULL || *enabled == '\0') {
		verdict_r->none_reason = "frontdesk_enabled is not set for "
			"this user";
		return;
	}
	if (frontdesk_settings_parse(pool, frontdesk_user_settings_getenv, uset,
				     &set, &error) < 0) {
		e_error(event, "Invalid setting, no frontdesk verdict: %s",
			error);
		verdict_r->none_reason = "invalid frontdesk settings";
		return;
	}
	if (!set->enabled) {
		verdict_r->none_reason = "frontdesk is disabled for this user";
		return;
	}
	if ((model = sieve_frontdesk_model(set, &error)) == NULL) {
		e_error(event, "model unusable, no frontdesk verdict: %s",
			error);
		verdict_r->none_reason = "model unusable";
		return;
	}
	if (mail_get_stream(mail, NULL, NULL, &input) < 0) {
		e_error(event, "can't read message, no frontdesk verdict: %s",
			mailbox_get_last_internal_error(mail->box, NULL));
		verdict_r->none_reason = "message unreadable";
		return;
	}
	i_stream_seek(input, 0);
	if (frontdesk_view_parse(pool, input, &set->limits, &view,
				 &error) < 0) {
		e_error(event, "can't read message, no frontdesk verdict: %s",
			error);
		verdict_r->none_reason = "message unreadable";
		return;
	}
	frontdesk_view_set_envelope(view, mail_from, rcpt_to, NULL);
	v = p_new(pool, struct frontdesk_verdict, 1);
	frontdesk_verdict_compute(model, set, view,
		sieve_frontdesk_key(frontdesk_user_settings_user(uset), set,
				    pool, &key) ? &key : NULL,
		pool, v);
	verdict_r->verdict = v;
}

static void
sieve_frontdesk_compute(struct mail_user *user, struct mail *mail,
			const char *mail_from, const char *rcpt_to,
			struct event *event, pool_t pool,
			struct frontdesk_sieve_verdict *verdict_r)
{
	struct frontdesk_user_settings *uset;
	const char *error;

	if (frontdesk_user_settings_init(user, &uset, &error) < 0) {
		e_error(event, "Invalid setting, no frontdesk verdict: %s",
			error);
		verdict_r->none_reason = "invalid frontdesk settings";
		return;
	}
	sieve_frontdesk_compute_with(uset, mail, mail_from, rcpt_to, event,
				     pool, verdict_r);
	frontdesk_user_settings_deinit(&uset);
}

void frontdesk_sieve_verdict_get(struct mail_user *user, struct mail *mail,
				 const char *mail_from, const char *rcpt_to,
				 struct event *event, pool_t pool,
				 struct frontdesk_sieve_verdict *verdict_r)
{
	frontdesk_delivery_verdict_func_t *lend;

	i_zero(verdict_r);
	if (user == NULL || mail == NULL) {
		verdict_r->none_reason = "no message";
		return;
	}
	lend = (frontdesk_delivery_verdict_func_t *)
		dlsym(RTLD_DEFAULT, FRONTDESK_DELIVERY_VERDICT_SYMBOL);
	if (lend != NULL) {
		verdict_r->verdict = lend(user, FRONTDESK_VERDICT_ABI);
		verdict_r->from_delivery = verdict_r->verdict != NULL;
		if (verdict_r->verdict == NULL) {
			verdict_r->none_reason = "frontdesk is not active "
				"for this delivery";
		}
		return;
	}
	T_BEGIN {
		sieve_frontdesk_compute(user, mail, mail_from, rcpt_to, event,
					pool, verdict_r);
	} T_END;
}

void frontdesk_sieve_verdict_deinit(void)
{
	frontdesk_model_deinit(&model_cache.model);
	i_free(model_cache.model_path);
	i_free(model_cache.rules_path);
	i_free(model_cache.weights_path);
	i_free(model_cache.stamp);
}
