/* The acknowledgment in the delivery: decide (guard, ticket, follow-up,
   "already acknowledged", per-sender and global limits), have it composed
   and spooled (frontdesk-ack-queue.c), and claim the conversation only
   for an ack that is in the spool. Nothing here waits for the relay, and
   nothing here can fail the delivery: every problem is one log line and
   no ack. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "randgen.h"
#include "ioloop.h"
#include "hostpid.h"
#include "write-full.h"
#include "mkdir-parents.h"
#include "mail-user.h"
#include "mail-deliver.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-guard.h"
#include "frontdesk-ticket.h"
#include "frontdesk-ack.h"
#include "frontdesk-state.h"
#include "frontdesk-compat-storage.h"
#include "frontdesk-plugin.h"
#include "frontdesk-ack-queue.h"
#include "frontdesk-spamcheck.h"
#include "frontdesk-acknowledge.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* Bytes of secret we create; what an admin provides may be longer. */
#define ACK_SECRET_BYTES 32
#define ACK_SECRET_MAX 1024

/* the minute in which this process last reported the circuit breaker */
static unsigned long breaker_reported_minute;

/* --- state directory and secret -------------------------------------- */

/* The state directory, made if needed. The first mail of a new support
   mailbox arrives before its home exists (mail_home = /var/vmail/%d/%n):
   the home is made as Dovecot makes it (mail_user_home_mkdir(), with the
   mail root's permissions), an admin's directory with its parents. */
static int ack_state_dir(struct mail_user *user,
			 const struct frontdesk_settings *set,
			 const char **dir_r, const char **error_r)
{
	const char *home;
	bool in_home = FALSE;

	if (*set->ack.state_dir != '\0') {
		*dir_r = set->ack.state_dir;
	} else if (mail_user_get_home(user, &home) > 0 && *home != '\0') {
		*dir_r = t_strconcat(home, "/.frontdesk", NULL);
		in_home = TRUE;
	} else {
		*error_r = "the user has no home directory: set "
			"frontdesk_state_dir";
		return -1;
	}
	if (mkdir(*dir_r, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno == ENOENT && in_home) {
		if (mail_user_home_mkdir(user) < 0) {
			/* Dovecot logged why */
			*error_r = t_strdup_printf("creating the home %s "
						   "failed", home);
			return -1;
		}
		if (mkdir(*dir_r, 0700) == 0 || errno == EEXIST)
			return 0;
	} else if (errno == ENOENT) {
		if (mkdir_parents(*dir_r, 0700) == 0 || errno == EEXIST)
			return 0;
	}
	*error_r = t_strdup_printf("mkdir(%s) failed: %m", *dir_r);
	return -1;
}

static int secret_read(const char *path, buffer_t *secret,
		       const char **error_r)
{
	unsigned char buf[ACK_SECRET_MAX];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	ret = read(fd, buf, sizeof(buf));
	i_close_fd(&fd);
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	if (ret < FRONTDESK_TICKET_MIN_SECRET) {
		*error_r = t_strdup_printf("%s: a secret needs at least %d "
			"bytes", path, FRONTDESK_TICKET_MIN_SECRET);
		return -1;
	}
	buffer_append(secret, buf, ret);
	return 1;
}

/* The ticket secret: the admin's file, or one we create on first use
   (link() makes the creation atomic between concurrent deliveries). */
static int ack_secret(const struct frontdesk_settings *set,
		      const char *state_dir, buffer_t *secret,
		      const char **error_r)
{
	unsigned char buf[ACK_SECRET_BYTES];
	const char *path, *tmp;
	int fd, ret;

	if (*set->ack.secret_file != '\0') {
		ret = secret_read(set->ack.secret_file, secret, error_r);
		if (ret == 0) {
			*error_r = t_strdup_printf("frontdesk_ticket_secret_"
				"file %s does not exist",
				set->ack.secret_file);
		}
		return ret > 0 ? 0 : -1;
	}
	path = t_strconcat(state_dir, "/secret", NULL);
	if ((ret = secret_read(path, secret, error_r)) != 0)
		return ret > 0 ? 0 : -1;

	random_fill(buf, sizeof(buf));
	tmp = t_strdup_printf("%s.%s.tmp", path, my_pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		*error_r = t_strdup_printf("open(%s) failed: %m", tmp);
		return -1;
	}
	if (write_full(fd, buf, sizeof(buf)) < 0 || fsync(fd) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", tmp);
		i_close_fd(&fd);
		i_unlink(tmp);
		return -1;
	}
	i_close_fd(&fd);
	if (link(tmp, path) < 0 && errno != EEXIST) {
		*error_r = t_strdup_printf("link(%s, %s) failed: %m", tmp,
					   path);
		i_unlink(tmp);
		return -1;
	}
	i_unlink(tmp);
	/* whoever won the race, everyone uses the file's secret */
	ret = secret_read(path, secret, error_r);
	return ret > 0 ? 0 : -1;
}

/* --- the decision ----------------------------------------------------- */

/* The envelope sender, canonical: whom we answer and whom limits count. */
static const char *ack_sender(const struct frontdesk_view *view)
{
	const char *sender = view->envelope_from != NULL &&
		*view->envelope_from != '\0' ? view->envelope_from :
		view->from_addr;

	return frontdesk_address_canonical(sender == NULL ? "" : sender);
}

/* A conversation is its thread's root message from one sender: a
   customer's second mail in the same thread is the same request. */
static const char *conversation_key(const struct frontdesk_view *view)
{
	const char *const *refs, *root = NULL;
	const struct frontdesk_header *hdr;
	const char *date = "";

	if (view->references != NULL) {
		refs = t_strsplit_spaces(view->references, " \t,");
		for (; *refs != NULL && root == NULL; refs++) {
			if (frontdesk_ack_msgid_valid(*refs))
				root = *refs;
		}
	}
	if (root == NULL && frontdesk_ack_msgid_valid(view->in_reply_to))
		root = view->in_reply_to;
	if (root == NULL && frontdesk_ack_msgid_valid(view->message_id))
		root = view->message_id;
	if (root == NULL) {
		/* no Message-ID: what the sender wrote, when */
		array_foreach(&view->headers, hdr) {
			if (strcasecmp(hdr->name, "Date") == 0)
				date = hdr->value;
		}
		root = t_strdup_printf("no-id\n%s\n%s", view->subject, date);
	}
	return t_strdup_printf("%s %s", ack_sender(view), root);
}

struct ack_env {
	const struct frontdesk_settings *set;
	struct event *event;
	const char *state_dir;
	struct frontdesk_state *state;
	struct frontdesk_ticket_key key;
};

/* Once per delivery: the decision before saving and the acknowledgment
   after it share one state directory, secret and state connection. */
static int ack_env_init(struct frontdesk_user *fuser, struct mail_user *user,
			pool_t pool, struct ack_env *env, const char **error_r)
{
	buffer_t *secret = t_buffer_create(64);
	const char *state_dir;

	i_zero(env);
	env->set = fuser->set;
	env->event = fuser->event;
	if (ack_state_dir(user, fuser->set, &state_dir, error_r) < 0 ||
	    ack_secret(fuser->set, state_dir, secret, error_r) < 0)
		return -1;
	env->state_dir = p_strdup(pool, state_dir);
	env->key.prefix = fuser->set->ack.ticket_prefix;
	env->key.secret = p_memdup(pool, secret->data, secret->used);
	env->key.secret_len = secret->used;
	if (frontdesk_state_init(env->state_dir, fuser->set->ack.dict_uri,
				 fuser->set->ack.state_timeout_msecs,
				 user->username, fuser->event, &env->state,
				 error_r) < 0)
		return -1;
	/* the admin's mail_fsync, as for the spooled ack (ack-queue) */
	frontdesk_state_set_fsync(env->state,
				  frontdesk_user_fsync_always(user));
	return 0;
}

static void ack_env_deinit(struct ack_env *env)
{
	frontdesk_state_deinit(&env->state);
}

/* The ticket a follow-up refers to: a reference in the Subject, or the
   one inside our acknowledgment's Message-ID it replies to. */
static const char *followup_ticket(const struct ack_env *env,
				   const struct frontdesk_view *view)
{
	const char *ticket;

	if ((ticket = frontdesk_ticket_find(&env->key, view->subject)) != NULL)
		return ticket;
	if (view->in_reply_to != NULL &&
	    strstr(view->in_reply_to, FRONTDESK_ACK_MSGID_PREFIX) != NULL &&
	    (ticket = frontdesk_ticket_find(&env->key,
					    view->in_reply_to)) != NULL)
		return ticket;
	if (view->references != NULL &&
	    strstr(view->references, FRONTDESK_ACK_MSGID_PREFIX) != NULL)
		return frontdesk_ticket_find(&env->key, view->references);
	return NULL;
}

/* The ticket a machine mail is about: our reference in its Subject
   ("Automatic reply: Re: ... [FD-...]"), in the Message-ID of our ack it
   answers, in the headers a report returns, or quoted in a bounce's text.
   References are checked with the secret, so none can be made up. */
static const char *machine_ticket(const struct ack_env *env,
				  const struct frontdesk_view *view,
				  enum frontdesk_machine_kind kind,
				  bool about_ack)
{
	const char *ticket;

	if ((ticket = followup_ticket(env, view)) != NULL)
		return ticket;
	if ((ticket = frontdesk_ticket_find(&env->key,
					    str_c(view->report_text))) != NULL)
		return ticket;
	if (about_ack || kind == FRONTDESK_MACHINE_BOUNCE ||
	    kind == FRONTDESK_MACHINE_DELAY)
		return frontdesk_ticket_find(&env->key, str_c(view->text));
	return NULL;
}

static void ack_release(struct ack_env *env, const char *ticket)
{
	const char *error;

	if (frontdesk_state_claim_release(env->state, ticket, &error) < 0) {
		e_error(env->event, "ticket %s stays marked as acknowledged "
			"without an ack: %s", ticket, error);
	}
}

static void ack_keep(struct ack_env *env, const char *ticket,
		     const char *record)
{
	const char *error;

	/* the ack stands either way; only follow-ups miss the record */
	if (frontdesk_state_claim_keep(env->state, ticket, record,
				       &error) < 0) {
		e_warning(env->event, "ticket %s: recording its office for "
			  "follow-ups failed: %s", ticket, error);
	}
}

static const char *ack_record(const struct frontdesk_classification *result)
{
	return t_strdup_printf("%s %s", frontdesk_office_name(result->office),
			       result->need[0] == '\0' ? "none" :
			       result->need);
}

/* Claim the ticket and apply the limits. Returns TRUE if the ack may go
   out: the ticket is then claimed, and the caller keeps or releases the
   claim. reason_r says why not; a claim is released on errors and kept
   when a limit says no (that conversation was answered by silence). */
static bool ack_commit(struct ack_env *env,
		       const struct frontdesk_view *view,
		       const struct frontdesk_classification *result,
		       const char *ticket, time_t now, const char **reason_r)
{
	const struct frontdesk_ack_settings *a = &env->set->ack;
	const char *error, *record = ack_record(result);
	unsigned int count;
	int ret;

	if (frontdesk_state_failed(env->state)) {
		/* the ticket lookup failed: reported, and nothing is known */
		*reason_r = "state-error";
		return FALSE;
	}
	ret = frontdesk_state_claim(env->state, ticket, record, &error);
	if (ret < 0) {
		/* unsure whether we answered already: better silent than
		   twice */
		e_error(env->event, "ack state unusable, no ack: %s", error);
		*reason_r = "state-error";
		return FALSE;
	}
	if (ret == 0) {
		*reason_r = "already-acked";
		return FALSE;
	}
	if (a->sender_limit > 0) {
		if (frontdesk_state_count(env->state, t_strconcat("sender ",
				ack_sender(view), NULL), now / 86400, &count,
				&error) < 0) {
			e_error(env->event, "ack state unusable, no ack: %s",
				error);
			ack_release(env, ticket);
			*reason_r = "state-error";
			return FALSE;
		}
		if (count > a->sender_limit) {
			ack_keep(env, ticket, record);
			*reason_r = "sender-limit";
			return FALSE;
		}
	}
	if (a->global_limit > 0) {
		if (frontdesk_state_count(env->state, "global", now / 60,
					  &count, &error) < 0) {
			e_error(env->event, "ack state unusable, no ack: %s",
				error);
			ack_release(env, ticket);
			*reason_r = "state-error";
			return FALSE;
		}
		if (count > a->global_limit) {
			if (breaker_reported_minute != (unsigned long)now / 60) {
				breaker_reported_minute = now / 60;
				e_error(env->event, "acknowledgment circuit "
					"breaker tripped: more than %u acks "
					"this minute "
					"(frontdesk_ack_global_limit); no acks "
					"until the next minute", a->global_limit);
			}
			ack_keep(env, ticket, record);
			*reason_r = "global-limit";
			return FALSE;
		}
	}
	*reason_r = "ok";
	return TRUE;
}

void frontdesk_ack_prepare(struct frontdesk_user *fuser,
			   struct mail_deliver_context *ctx,
			   const struct frontdesk_view *view,
			   const struct frontdesk_classification *result,
			   pool_t pool, struct frontdesk_ack_decision *dec)
{
	const struct frontdesk_settings *set = fuser->set;
	struct frontdesk_guard_verdict verdict;
	struct ack_env *env;
	const char *ticket, *record = NULL, *error, *reason;
	bool by_reference;
	int ret;

	i_zero(dec);
	frontdesk_guard_verdict(&set->guard, view, &verdict);
	dec->guard = verdict;
	dec->machine = verdict.machine;
	dec->reason = "disabled";
	if (set->ack.mode == FRONTDESK_ACK_NO)
		return;
	env = p_new(pool, struct ack_env, 1);
	if (ack_env_init(fuser, ctx->rcpt_user, pool, env, &error) < 0) {
		e_error(fuser->event, "no ticket and no ack: %s", error);
		dec->reason = "state-error";
		ack_env_deinit(env);
		return;
	}
	dec->env = env;
	if (verdict.machine != FRONTDESK_MACHINE_NONE) {
		/* never answered, never a ticket of its own */
		dec->send = FALSE;
		dec->reason = verdict.reason;
		ticket = machine_ticket(env, view, verdict.machine,
					verdict.about_ack);
		if (ticket == NULL)
			return;
		dec->ticket = p_strdup(pool, ticket);
		ret = frontdesk_state_lookup(env->state, ticket, &record,
					     &error);
		if (ret < 0) {
			e_error(fuser->event, "ticket lookup failed: %s",
				error);
		} else if (ret > 0 && (str_begins_with(record, "front") ||
				       str_begins_with(record, "back"))) {
			dec->ticket_office = p_strdup(pool,
				t_strcut(record, ' '));
		}
		return;
	}
	ticket = followup_ticket(env, view);
	by_reference = ticket != NULL;
	if (by_reference)
		dec->follow_up = TRUE;
	else
		ticket = frontdesk_ticket_make(&env->key,
					       conversation_key(view));
	dec->ticket = p_strdup(pool, ticket);
	ret = frontdesk_state_lookup(env->state, ticket, &record, &error);
	if (ret < 0) {
		e_error(fuser->event, "ticket lookup failed, no ack: %s",
			error);
	}
	else if (ret > 0) {
		dec->follow_up = TRUE;
		if (str_begins_with(record, "front") || str_begins_with(record, "back"))
			dec->ticket_office = p_strdup(pool,
				t_strcut(record, ' '));
	}

	dec->reason = verdict.reason;
	dec->send = strcmp(verdict.reason, "ok") == 0;
	if (dec->send && dec->follow_up) {
		/* a reference to the ticket, or a conversation we know */
		dec->send = FALSE;
		dec->reason = by_reference ? "follow-up" : "already-acked";
	}
	/* only a mail we would answer is worth asking rspamd about */
	if (dec->send && frontdesk_spamcheck_is_spam(fuser, ctx, view)) {
		dec->send = FALSE;
		dec->reason = "spam-rspamd";
	}
	if (dec->send && set->ack.mode == FRONTDESK_ACK_SHADOW) {
		dec->send = ack_commit(env, view, result, ticket, ioloop_time,
				       &reason);
		dec->reason = reason;
		if (dec->send)
			ack_keep(env, ticket, ack_record(result));
	}
}

/* The acknowledgment from the template set a Sieve script chose, else
   (or when that set has no usable template) from the default one. */
static int ack_build(struct ack_env *env, struct mail_deliver_context *ctx,
		     const struct frontdesk_view *view,
		     const struct frontdesk_classification *result,
		     const struct frontdesk_ack_decision *dec,
		     const char **from_r, string_t **msg_r,
		     const char **error_r)
{
	struct frontdesk_settings tset;
	const char *error;

	if (dec->template_name != NULL) {
		tset = *env->set;
		tset.ack.templates_dir = t_strconcat(env->set->ack.templates_dir,
			"/", dec->template_name, NULL);
		if (frontdesk_ack_queue_build(&tset, env->event, ctx, view,
					      result, dec->ticket, from_r,
					      msg_r, &error) == 0)
			return 0;
		e_error(env->event, "template set %s asked for by a Sieve "
			"script is unusable, the default is used: %s",
			dec->template_name, error);
	}
	return frontdesk_ack_queue_build(env->set, env->event, ctx, view,
					 result, dec->ticket, from_r, msg_r,
					 error_r);
}

static void ack_after_save(struct frontdesk_user *fuser,
			   struct mail_deliver_context *ctx,
			   const struct frontdesk_view *view,
			   const struct frontdesk_classification *result,
			   struct frontdesk_ack_decision *dec)
{
	struct ack_env *env = dec->env;
	const char *from, *error, *reason;
	string_t *msg;

	if (fuser->set->ack.mode != FRONTDESK_ACK_YES || !dec->send)
		return;
	i_assert(env != NULL);
	/* the ticket is claimed only for an ack that exists, and kept only
	   once it is in the spool: otherwise a template or disk problem
	   would silence the whole conversation */
	if (ack_build(env, ctx, view, result, dec, &from, &msg, &error) < 0) {
		e_error(fuser->event, "no ack for ticket %s: %s",
			dec->ticket, error);
		dec->send = FALSE;
		dec->reason = "ack-error";
		return;
	}
	dec->send = ack_commit(env, view, result, dec->ticket, ioloop_time,
			       &reason);
	dec->reason = reason;
	if (!dec->send)
		return;
	if (frontdesk_ack_queue_write(env->set, env->event, ctx,
				      env->state_dir, dec->ticket, from, msg,
				      &error) < 0) {
		e_error(fuser->event, "no ack for ticket %s: %s",
			dec->ticket, error);
		ack_release(env, dec->ticket);
		dec->send = FALSE;
		dec->reason = "ack-error";
		return;
	}
	ack_keep(env, dec->ticket, ack_record(result));
	dec->reason = "queued";
}

/* The decision as events (docs/events.md): frontdesk_ack_decided once per
   stored mail of a desk that acknowledges (or shadows), then
   frontdesk_ack_queued or frontdesk_ack_suppressed. */
static void ack_emit(struct frontdesk_user *fuser,
		     const struct frontdesk_classification *result,
		     const struct frontdesk_ack_decision *dec)
{
	bool shadow = fuser->set->ack.mode == FRONTDESK_ACK_SHADOW;
	const char *name = dec->send && !shadow ? "frontdesk_ack_queued" :
		!dec->send ? "frontdesk_ack_suppressed" : NULL;
	struct event *event;

	if (fuser->set->ack.mode == FRONTDESK_ACK_NO)
		return;
	event = event_create(fuser->event);
	event_add_str(event, "reason", dec->reason);
	event_add_int(event, "send", dec->send ? 1 : 0);
	event_add_int(event, "shadow", shadow ? 1 : 0);
	event_add_str(event, "ticket", dec->ticket == NULL ? "" : dec->ticket);
	event_add_str(event, "need", result->need[0] == '\0' ? "none" :
		      result->need);
	event_add_str(event, "office", frontdesk_office_name(result->office));
	event_set_name(event, "frontdesk_ack_decided");
	e_debug(event, "ack decided: %s%s", shadow ? "shadow " : "",
		dec->reason);
	if (name != NULL) {
		event_set_name(event, name);
		e_debug(event, "ack %s: %s", dec->send ? "queued" :
			"suppressed", dec->reason);
	}
	event_unref(&event);
}

void frontdesk_ack_after_save(struct frontdesk_user *fuser,
			      struct mail_deliver_context *ctx,
			      const struct frontdesk_view *view,
			      const struct frontdesk_classification *result,
			      struct frontdesk_ack_decision *dec)
{
	ack_after_save(fuser, ctx, view, result, dec);
	ack_emit(fuser, result, dec);
}

void frontdesk_ack_decision_free(struct frontdesk_ack_decision *dec)
{
	if (dec->env != NULL) {
		ack_env_deinit(dec->env);
		dec->env = NULL;
	}
}

void frontdesk_ack_deinit(void)
{
	frontdesk_ack_queue_deinit();
}
