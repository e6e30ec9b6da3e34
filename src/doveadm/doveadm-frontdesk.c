/* doveadm frontdesk: the administrator's commands (classify, queue, retry,
   drop, ticket) as a doveadm plugin. Every use of doveadm's API is in this
   file; the work is done by core and frontdesk-admin.c. Each command is a
   mail command, so -u USER (or -A, -F) gives it the user's real settings
   (frontdesk-compat-settings.h), as the delivery sees them. The commands
   read their options and arguments by name (doveadm_cmd_param_*()), the
   same on Dovecot 2.3 and 2.4; the rest of the difference is in
   frontdesk-compat-doveadm.h. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "ioloop.h"
#include "time-util.h"
#include "module-dir.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage.h"
#include "mail-search-build.h"
#include "doveadm-mail.h"
#include "doveadm-print.h"
#include "frontdesk-compat-doveadm.h"
#include "frontdesk-compat-settings.h"
#include "frontdesk-settings.h"
#include "frontdesk-model.h"
#include "frontdesk-report.h"
#include "frontdesk-admin.h"

#include <fcntl.h>

const char *doveadm_frontdesk_plugin_version = DOVECOT_ABI_VERSION;

void doveadm_frontdesk_plugin_init(struct module *module);
void doveadm_frontdesk_plugin_deinit(void);

struct frontdesk_cmd_context {
	struct doveadm_mail_cmd_context ctx;
	/* classify */
	bool human;
	const char *env_from, *env_to;
	ARRAY(struct istream *) inputs;
	/* retry, drop, ticket: the ID or reference */
	const char *arg;
};

static void frontdesk_cmd_fail(struct doveadm_mail_cmd_context *ctx,
			       int exit_code, const char *error)
{
	i_error("frontdesk: %s", error);
	ctx->exit_code = exit_code;
}

static struct frontdesk_desk *
frontdesk_cmd_desk(struct doveadm_mail_cmd_context *ctx,
		   struct mail_user *user)
{
	struct frontdesk_user_settings *uset;
	struct frontdesk_desk *desk;
	const char *home, *error;
	int ret;

	if (mail_user_get_home(user, &home) <= 0)
		home = NULL;
	if (frontdesk_user_settings_init(user, &uset, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_CONFIG, t_strdup_printf(
			"settings: %s", error));
		return NULL;
	}
	/* the settings are copied into ctx->pool */
	ret = frontdesk_desk_open(ctx->pool, user->username, home, user->event,
				  frontdesk_user_settings_getenv, uset, &desk,
				  &error);
	frontdesk_user_settings_deinit(&uset);
	if (ret < 0) {
		frontdesk_cmd_fail(ctx, EX_CONFIG, error);
		return NULL;
	}
	desk->base_dir = p_strdup(ctx->pool, user->set->base_dir);
	return desk;
}

static struct frontdesk_cmd_context *
frontdesk_cmd_alloc(int (*run)(struct doveadm_mail_cmd_context *,
			       struct mail_user *),
		    void (*init)(FRONTDESK_DOVEADM_INIT_ARGS(ctx)),
		    const char *print_type)
{
	struct frontdesk_cmd_context *fctx;

	fctx = doveadm_mail_cmd_alloc(struct frontdesk_cmd_context);
	fctx->ctx.v.run = run;
	fctx->ctx.v.init = init;
	doveadm_print_init(print_type);
	return fctx;
}

/* --- classify ------------------------------------------------------------ */

static void cmd_classify_init(FRONTDESK_DOVEADM_INIT_ARGS(ctx))
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);
	const char *const *args, *value;
	struct istream *input;
	bool human;
	int fd;

	if (!doveadm_cmd_param_array(ctx->cctx, "message", &args) ||
	    args[0] == NULL)
		doveadm_mail_help_name("frontdesk classify");
	fctx->human = doveadm_cmd_param_bool(ctx->cctx, "human", &human) &&
		human;
	if (doveadm_cmd_param_str(ctx->cctx, "from", &value))
		fctx->env_from = p_strdup(ctx->pool, value);
	if (doveadm_cmd_param_str(ctx->cctx, "to", &value))
		fctx->env_to = p_strdup(ctx->pool, value);
	/* opened before the privileges are dropped to the user */
	p_array_init(&fctx->inputs, ctx->pool, 4);
	for (; *args != NULL; args++) {
		if (strcmp(*args, "-") == 0) {
			/* doveadm's seekable copy of stdin: read again for
			   the next user (-A), a pipe cannot seek back */
			doveadm_mail_get_input(ctx);
			input = ctx->cmd_input;
			i_stream_ref(input);
		} else if ((fd = open(*args, O_RDONLY)) < 0) {
			i_error("open(%s) failed: %m", *args);
			ctx->exit_code = errno == ENOENT ? EX_NOINPUT :
				EX_NOPERM;
			continue;
		} else {
			input = i_stream_create_fd_autoclose(&fd, 65536);
		}
		i_stream_set_name(input, *args);
		array_push_back(&fctx->inputs, &input);
	}
	doveadm_print_header("verdict", "verdict",
			     DOVEADM_PRINT_HEADER_FLAG_HIDE_TITLE);
	if (fctx->human) {
		string_t *hdr = t_str_new(128);

		frontdesk_report_human_header(hdr);
		str_truncate(hdr, str_len(hdr) - 1);
		doveadm_print(str_c(hdr));
	}
}

static int
cmd_classify_run(struct doveadm_mail_cmd_context *ctx, struct mail_user *user)
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);
	struct frontdesk_desk *desk;
	struct frontdesk_model *model;
	struct istream *input;
	const char *error;
	string_t *out;

	if ((desk = frontdesk_cmd_desk(ctx, user)) == NULL)
		return -1;
	if (frontdesk_model_load(desk->set, &model, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_CONFIG,
				   t_strdup_printf("model: %s", error));
		return -1;
	}
	array_foreach_elem(&fctx->inputs, input) T_BEGIN {
		out = t_str_new(512);
		if (frontdesk_report_classify(model, desk->set,
					      i_stream_get_name(input), input,
					      fctx->env_from, fctx->env_to,
					      fctx->human, out, &error) < 0) {
			frontdesk_cmd_fail(ctx, EX_DATAERR, t_strdup_printf(
				"%s: %s", i_stream_get_name(input), error));
		} else {
			/* one line, without its "\n": the formatter ends it */
			str_truncate(out, str_len(out) - 1);
			doveadm_print(str_c(out));
		}
		/* another user (-A) reads it again */
		i_stream_seek(input, 0);
	} T_END;
	frontdesk_model_deinit(&model);
	return ctx->exit_code == 0 ? 0 : -1;
}

static void cmd_classify_deinit(struct doveadm_mail_cmd_context *ctx)
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);
	struct istream *input;

	if (!array_is_created(&fctx->inputs))
		return;
	array_foreach_elem(&fctx->inputs, input)
		i_stream_unref(&input);
}

static struct doveadm_mail_cmd_context *cmd_classify_alloc(void)
{
	struct frontdesk_cmd_context *fctx;

	fctx = frontdesk_cmd_alloc(cmd_classify_run, cmd_classify_init,
				   DOVEADM_PRINT_TYPE_FLOW);
	fctx->ctx.v.deinit = cmd_classify_deinit;
	frontdesk_doveadm_cmd_options(&fctx->ctx, "Hf:t:");
	return &fctx->ctx;
}

/* --- queue ---------------------------------------------------------------- */

static const char *frontdesk_time(time_t t)
{
	return t == 0 ? "-" : t_strflocaltime("%Y-%m-%d %H:%M:%S", t);
}

static void cmd_queue_init(FRONTDESK_DOVEADM_INIT_ARGS(ctx))
{
	/* it has no arguments: doveadm refuses extraneous ones */
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("state");
	doveadm_print_header_simple("attempts");
	doveadm_print_header_simple("next");
	doveadm_print_header_simple("ticket");
	doveadm_print_header_simple("to");
	doveadm_print_header("reason", "reason",
			     DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

static int
cmd_queue_run(struct doveadm_mail_cmd_context *ctx, struct mail_user *user)
{
	ARRAY_TYPE(frontdesk_queue_item) items;
	const struct frontdesk_queue_item *item;
	struct frontdesk_desk *desk;
	const char *error;

	if ((desk = frontdesk_cmd_desk(ctx, user)) == NULL)
		return -1;
	t_array_init(&items, 16);
	if (frontdesk_desk_queue(desk, &items, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_TEMPFAIL, error);
		return -1;
	}
	array_foreach(&items, item) {
		const struct frontdesk_spool_entry *e = item->entry;

		doveadm_print(item->id);
		doveadm_print(item->state);
		if (e == NULL) {
			doveadm_print("-");
			doveadm_print("-");
			doveadm_print("-");
			doveadm_print("-");
			doveadm_print(item->error);
			continue;
		}
		doveadm_print_num(e->attempts);
		doveadm_print(strcmp(item->state, "failed") == 0 ? "-" :
			      frontdesk_time(e->next_try));
		doveadm_print(e->ticket == NULL || *e->ticket == '\0' ?
			      "-" : e->ticket);
		doveadm_print(e->rcpt_to);
		doveadm_print(e->last_error == NULL ||
			      *e->last_error == '\0' ? "-" : e->last_error);
	}
	return 0;
}

static struct doveadm_mail_cmd_context *cmd_queue_alloc(void)
{
	return &frontdesk_cmd_alloc(cmd_queue_run, cmd_queue_init,
				    DOVEADM_PRINT_TYPE_TABLE)->ctx;
}

/* --- retry, drop ------------------------------------------------------------ */

/* The command's one positional argument (name), or its usage. */
static const char *
frontdesk_cmd_arg(struct doveadm_mail_cmd_context *ctx, const char *name,
		  const char *cmd_name)
{
	const char *value;

	if (!doveadm_cmd_param_str(ctx->cctx, name, &value) || *value == '\0')
		doveadm_mail_help_name(cmd_name);
	return p_strdup(ctx->pool, value);
}

static void cmd_retry_init(FRONTDESK_DOVEADM_INIT_ARGS(ctx))
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);

	fctx->arg = frontdesk_cmd_arg(ctx, "id", "frontdesk retry");
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("result");
}

static void cmd_drop_init(FRONTDESK_DOVEADM_INIT_ARGS(ctx))
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);

	fctx->arg = frontdesk_cmd_arg(ctx, "id", "frontdesk drop");
	doveadm_print_header_simple("id");
	doveadm_print_header_simple("result");
}

static int
cmd_retry_drop_run(struct doveadm_mail_cmd_context *ctx,
		   struct mail_user *user, bool retry)
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);
	ARRAY_TYPE(frontdesk_queue_item) items;
	const struct frontdesk_queue_item *item;
	struct frontdesk_desk *desk;
	const char *id = fctx->arg, *error;
	int ret = 0;

	if ((desk = frontdesk_cmd_desk(ctx, user)) == NULL)
		return -1;
	t_array_init(&items, 4);
	if (frontdesk_desk_find(desk, id, &items, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_TEMPFAIL, error);
		return -1;
	}
	if (array_count(&items) == 0) {
		frontdesk_cmd_fail(ctx, DOVEADM_EX_NOTFOUND, t_strdup_printf(
			"no acknowledgment %s in %s", id, desk->spool_dir));
		return -1;
	}
	array_foreach(&items, item) {
		if ((retry ? frontdesk_desk_retry(desk, item, ioloop_time,
						  &error) :
		     frontdesk_desk_drop(desk, item, &error)) < 0) {
			frontdesk_cmd_fail(ctx, EX_TEMPFAIL, error);
			ret = -1;
			continue;
		}
		doveadm_print(item->id);
		doveadm_print(retry ? "queued" : "dropped");
	}
	return ret;
}

static int
cmd_retry_run(struct doveadm_mail_cmd_context *ctx, struct mail_user *user)
{
	return cmd_retry_drop_run(ctx, user, TRUE);
}

static int
cmd_drop_run(struct doveadm_mail_cmd_context *ctx, struct mail_user *user)
{
	return cmd_retry_drop_run(ctx, user, FALSE);
}

static struct doveadm_mail_cmd_context *cmd_retry_alloc(void)
{
	return &frontdesk_cmd_alloc(cmd_retry_run, cmd_retry_init,
				    DOVEADM_PRINT_TYPE_TABLE)->ctx;
}

static struct doveadm_mail_cmd_context *cmd_drop_alloc(void)
{
	return &frontdesk_cmd_alloc(cmd_drop_run, cmd_drop_init,
				    DOVEADM_PRINT_TYPE_TABLE)->ctx;
}

/* --- ticket ------------------------------------------------------------------ */

/* The conversation's mail: the messages of the desk's folders that carry
   the reference in X-Frontdesk-Ticket (frontdesk_add_headers, the
   default), one line each: folder, date, From, Subject. */
static int
ticket_find_mail(struct mail_user *user, const struct frontdesk_desk *desk,
		 const char *ref, string_t *out, const char **error_r)
{
	const char *folders[] = {
		"INBOX", desk->set->folder_front, desk->set->folder_back
	};
	unsigned int i, j;
	int ret = 0;

	for (i = 0; i < N_ELEMENTS(folders); i++) {
		struct mail_namespace *ns;
		struct mailbox *box;
		struct mailbox_transaction_context *t;
		struct mail_search_args *args;
		struct mail_search_arg *arg;
		struct mail_search_context *search;
		struct mail *mail;
		const char *from, *subject;
		time_t date;
		int tz;

		for (j = 0; j < i; j++) {
			if (strcmp(folders[i], folders[j]) == 0)
				break;
		}
		if (j < i)
			continue;
		ns = mail_namespace_find(user->namespaces, folders[i]);
		box = mailbox_alloc(ns->list, folders[i],
				    MAILBOX_FLAG_READONLY);
		if (mailbox_open(box) < 0) {
			enum mail_error error;
			const char *errstr = mailbox_get_last_error(box, &error);

			mailbox_free(&box);
			if (error == MAIL_ERROR_NOTFOUND)
				continue;
			*error_r = t_strdup_printf("%s: %s", folders[i], errstr);
			return -1;
		}
		args = mail_search_build_init();
		arg = mail_search_build_add(args, SEARCH_HEADER);
		arg->hdr_field_name = "X-Frontdesk-Ticket";
		arg->value.str = p_strdup(args->pool, ref);
		t = mailbox_transaction_begin(box, 0, __func__);
		search = mailbox_search_init(t, args, NULL, 0, NULL);
		mail_search_args_unref(&args);
		while (mailbox_search_next(search, &mail)) {
			if (mail_get_first_header(mail, "From", &from) <= 0)
				from = "";
			if (mail_get_first_header(mail, "Subject",
						  &subject) <= 0)
				subject = "";
			if (mail_get_date(mail, &date, &tz) < 0 || date <= 0)
				date = 0;
			str_printfa(out, "\n  %s  %s  %s  %s", folders[i],
				    date == 0 ? "-" : t_strflocaltime(
					"%Y-%m-%d %H:%M", date),
				    from, subject);
		}
		if (mailbox_search_deinit(&search) < 0) {
			*error_r = t_strdup_printf("%s: %s", folders[i],
				mailbox_get_last_internal_error(box, NULL));
			ret = -1;
		}
		(void)mailbox_transaction_commit(&t);
		mailbox_free(&box);
	}
	return ret;
}

static void cmd_ticket_init(FRONTDESK_DOVEADM_INIT_ARGS(ctx))
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);

	fctx->arg = frontdesk_cmd_arg(ctx, "reference", "frontdesk ticket");
	doveadm_print_header_simple("reference");
	doveadm_print_header_simple("genuine");
	doveadm_print_header_simple("known");
	doveadm_print_header_simple("office");
	doveadm_print_header_simple("need");
	doveadm_print_header_simple("acks");
	doveadm_print_header("mail", "mail", DOVEADM_PRINT_HEADER_FLAG_EXPAND);
}

static int
cmd_ticket_run(struct doveadm_mail_cmd_context *ctx, struct mail_user *user)
{
	struct frontdesk_cmd_context *fctx =
		container_of(ctx, struct frontdesk_cmd_context, ctx);
	struct frontdesk_ticket_info info;
	const struct frontdesk_queue_item *item;
	struct frontdesk_desk *desk;
	const char *error;
	string_t *acks, *mail;

	if ((desk = frontdesk_cmd_desk(ctx, user)) == NULL)
		return -1;
	if (frontdesk_desk_ticket(desk, fctx->arg, &info, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_TEMPFAIL, error);
		return -1;
	}
	if (!info.genuine) {
		frontdesk_cmd_fail(ctx, EX_DATAERR, t_strdup_printf(
			"%s is not a genuine reference of this desk%s%s",
			info.reference, desk->secret_error == NULL ? "" :
			": ", desk->secret_error == NULL ? "" :
			desk->secret_error));
	}
	acks = t_str_new(128);
	array_foreach(&info.acks, item) {
		if (str_len(acks) > 0)
			str_append_c(acks, ' ');
		str_printfa(acks, "%s:%s", item->state,
			    item->entry == NULL ? item->id :
			    item->entry->rcpt_to);
	}
	doveadm_print(info.reference);
	doveadm_print(info.genuine ? "yes" : "no");
	doveadm_print(info.known ? "yes" : "no");
	doveadm_print(info.known ? info.office : "-");
	doveadm_print(info.known && *info.need != '\0' ? info.need : "-");
	doveadm_print(str_len(acks) == 0 ? "-" : str_c(acks));
	mail = t_str_new(256);
	if (info.genuine &&
	    ticket_find_mail(user, desk, info.reference, mail, &error) < 0) {
		frontdesk_cmd_fail(ctx, EX_TEMPFAIL, error);
		str_append(mail, " (search failed)");
	}
	doveadm_print(str_len(mail) == 0 ? "-" : str_c(mail));
	return info.genuine && ctx->exit_code == 0 ? 0 : -1;
}

static struct doveadm_mail_cmd_context *cmd_ticket_alloc(void)
{
	return &frontdesk_cmd_alloc(cmd_ticket_run, cmd_ticket_init,
				    DOVEADM_PRINT_TYPE_PAGER)->ctx;
}

/* --- registration --------------------------------------------------------- */

static struct doveadm_cmd_ver2 frontdesk_commands[] = {
	{
		.name = "frontdesk classify",
		.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX
			"[-H] [-f <from>] [-t <to>] <message file> [...]",
		.mail_cmd = cmd_classify_alloc,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('H', "human", CMD_PARAM_BOOL, 0)
DOVEADM_CMD_PARAM('f', "from", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('t', "to", CMD_PARAM_STR, 0)
DOVEADM_CMD_PARAM('\0', "message", CMD_PARAM_ARRAY, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
	},
	{
		.name = "frontdesk queue",
		.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "",
		.mail_cmd = cmd_queue_alloc,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAMS_END
	},
	{
		.name = "frontdesk retry",
		.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "<id>",
		.mail_cmd = cmd_retry_alloc,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
	},
	{
		.name = "frontdesk drop",
		.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "<id>",
		.mail_cmd = cmd_drop_alloc,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "id", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
	},
	{
		.name = "frontdesk ticket",
		.usage = DOVEADM_CMD_MAIL_USAGE_PREFIX "<reference>",
		.mail_cmd = cmd_ticket_alloc,
DOVEADM_CMD_PARAMS_START
DOVEADM_CMD_MAIL_COMMON
DOVEADM_CMD_PARAM('\0', "reference", CMD_PARAM_STR, CMD_PARAM_FLAG_POSITIONAL)
DOVEADM_CMD_PARAMS_END
	},
};

void doveadm_frontdesk_plugin_init(struct module *module ATTR_UNUSED)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(frontdesk_commands); i++)
		doveadm_cmd_register_ver2(&frontdesk_commands[i]);
}

void doveadm_frontdesk_plugin_deinit(void)
{
}
