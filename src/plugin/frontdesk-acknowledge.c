/* The acknowledgment in the delivery: decide (guard, ticket, follow-up,
   "already acknowledged", per-sender and global limits), compose it in
   the customer's language and leave it in the spool for frontdesk-sender.
   Nothing here waits for the relay, and nothing here can fail the
   delivery: every problem is one log line and no ack. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "randgen.h"
#include "ioloop.h"
#include "hostpid.h"
#include "write-full.h"
#include "mkdir-parents.h"
#include "str-sanitize.h"
#include "smtp-address.h"
#include "smtp-submit-settings.h"
#include "mail-user.h"
#include "mail-storage-settings.h"
#include "lda-settings.h"
#include "mail-deliver.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-guard.h"
#include "frontdesk-ticket.h"
#include "frontdesk-template.h"
#include "frontdesk-hours.h"
#include "frontdesk-ack.h"
#include "frontdesk-spool.h"
#include "frontdesk-dkim.h"
#include "frontdesk-state.h"
#include "frontdesk-plugin.h"
#include "frontdesk-acknowledge.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Bytes of secret we create; what an admin provides may be longer. */
#define ACK_SECRET_BYTES 32
#define ACK_SECRET_MAX 1024

struct template_cache_entry {
	char *path;
	struct timespec mtime;
	off_t size;
	pool_t pool;
	struct frontdesk_template *tpl;
};

static ARRAY(struct template_cache_entry) template_cache;
/* the minute in which this process last reported the circuit breaker */
static unsigned long breaker_reported_minute;

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

static const char *smtp_address_str(const struct smtp_address *addr)
{
	return addr == NULL ? "" : smtp_address_encode(addr);
}

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
	return frontdesk_state_init(env->state_dir, fuser->set->ack.dict_uri,
				    fuser->set->ack.state_timeout_msecs,
				    user->username, fuser->event, &env->state,
				    error_r);
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
	struct ack_env *env;
	const char *ticket, *record, *error, *reason;
	bool by_reference;
	int ret;

	i_zero(dec);
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
		if (str_begins(record, "front") || str_begins(record, "back"))
			dec->ticket_office = p_strdup(pool,
				t_strcut(record, ' '));
	}

	dec->send = frontdesk_guard_check(&set->guard, view, &reason);
	dec->reason = reason;
	if (dec->send && dec->follow_up) {
		/* a reference to the ticket, or a conversation we know */
		dec->send = FALSE;
		dec->reason = by_reference ? "follow-up" : "already-acked";
	}
	if (dec->send && set->ack.mode == FRONTDESK_ACK_SHADOW) {
		dec->send = ack_commit(env, view, result, ticket, ioloop_time,
				       &reason);
		dec->reason = reason;
		if (dec->send)
			ack_keep(env, ticket, ack_record(result));
	}
}

/* --- composing and queueing -------------------------------------------- */

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

/* Start frontdesk-sender unless one is running (it holds runner.lock). A
   runner that is leaving looks at the queue once more after letting the
   lock go, so an entry queued meanwhile is never stranded. */
static void ack_start_sender(struct ack_env *env, const char *spool_dir)
{
	const char *lock_path = t_strconcat(spool_dir, "/runner.lock", NULL);
	const char *path = env->set->ack.sender_path;
	pid_t pid;
	int fd, status;

	fd = open(lock_path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		e_error(env->event, "open(%s) failed: %m", lock_path);
		return;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		i_close_fd(&fd);
		return; /* a runner is at work */
	}
	i_close_fd(&fd);
	if (access(path, X_OK) < 0) {
		e_error(env->event, "frontdesk_sender_path %s: %m; the ack "
			"stays queued in %s", path, spool_dir);
		return;
	}
	pid = fork();
	if (pid < 0) {
		e_error(env->event, "fork() failed: %m; the ack stays queued "
			"in %s", spool_dir);
		return;
	}
	if (pid == 0) {
		/* the child forks the runner and leaves at once, so the
		   runner belongs to init and lmtp never waits for it */
		const char *argv[] = {
			path, "-d", spool_dir, NULL
		};
		const char *envp[] = {
			"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL
		};
		int null_fd;

		if (fork() != 0)
			_exit(0);
		(void)setsid();
		null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			(void)dup2(null_fd, 0);
			(void)dup2(null_fd, 1);
		}
		/* stderr stays: it is Dovecot's log */
		closefrom(3);
		if (getenv("TZ") != NULL)
			envp[1] = t_strconcat("TZ=", getenv("TZ"), NULL);
		(void)execve(path, (char **)argv, (char **)envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) ;
	/* ECHILD: a SIGCHLD handler of lmtp reaped it first; fine */
}

/* Compose the acknowledgment in the customer's language, else the default
   one, else English. A template that is missing is passed over, one that
   is broken too (logged): a mistake in ack.it.txt must not leave Italian
   customers without an ack. */
static int ack_compose(struct ack_env *env,
		       const struct frontdesk_ack_params *params,
		       struct frontdesk_ack_input *input, string_t *msg,
		       const char **error_r)
{
	const struct frontdesk_settings *set = env->set;
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
		e_error(env->event, "template ack.%s.txt unusable, trying "
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

/* The complete acknowledgment, signed when DKIM is set up; nothing is
   recorded or written yet. */
static int ack_build(struct ack_env *env, struct mail_deliver_context *ctx,
		     const struct frontdesk_view *view,
		     const struct frontdesk_classification *result,
		     const char *ticket, const char **from_r,
		     string_t **msg_r, const char **error_r)
{
	const struct frontdesk_ack_settings *a = &env->set->ack;
	struct frontdesk_ack_params params;
	struct frontdesk_ack_input input;
	struct frontdesk_when when;
	const char *from, *from_domain;
	string_t *msg;
	time_t now = ioloop_time, deadline;

	if (ack_from(ctx, env->set, &from, &from_domain, error_r) < 0)
		return -1;
	i_zero(&params);
	params.from_addr = from;
	params.from_name = a->from_name;
	params.company = a->company;
	params.msgid_domain = env->set->guard.message_id_domain != NULL ?
		env->set->guard.message_id_domain : from_domain;
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
	if (ack_compose(env, &params, &input, msg, error_r) < 0)
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
			e_error(env->event, "ack for ticket %s sent without "
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

/* Leave the acknowledgment in the spool for frontdesk-sender. */
static int ack_spool(struct ack_env *env, struct mail_deliver_context *ctx,
		     const char *ticket, const char *from, const string_t *msg,
		     const char **error_r)
{
	const struct frontdesk_ack_settings *a = &env->set->ack;
	const struct smtp_submit_settings *smtp = ctx->smtp_set;
	const struct mail_storage_settings *storage_set;
	struct frontdesk_spool_entry entry;
	const char *spool_dir;
	time_t now = ioloop_time;
	bool fsync_ack;
	int ret;

	spool_dir = t_strconcat(env->state_dir, "/spool", NULL);
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
	storage_set = mail_user_set_get_storage_set(ctx->rcpt_user);
	fsync_ack = storage_set->parsed_fsync_mode == FSYNC_MODE_ALWAYS;
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
	ack_start_sender(env, spool_dir);
	return 0;
}

void frontdesk_ack_after_save(struct frontdesk_user *fuser,
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
	if (ack_build(env, ctx, view, result, dec->ticket, &from, &msg,
		      &error) < 0) {
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
	if (ack_spool(env, ctx, dec->ticket, from, msg, &error) < 0) {
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

void frontdesk_ack_decision_free(struct frontdesk_ack_decision *dec)
{
	if (dec->env != NULL) {
		ack_env_deinit(dec->env);
		dec->env = NULL;
	}
}

void frontdesk_ack_deinit(void)
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
