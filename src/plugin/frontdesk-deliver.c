/* The delivery hook: look at the message, decide, tag and file it, then
   hand over to Sieve (the previous hook) or save it ourselves; once it is
   stored (by whoever), acknowledge it and log one line. Whatever fails
   here, the message is still delivered: we log one error line and let
   Dovecot save it to the default mailbox. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"
#include "istream.h"
#include "istream-concat.h"
#include "istream-header-filter.h"
#include "message-parser.h"
#include "smtp-address.h"
#include "mail-storage-private.h"
#include "mail-deliver.h"
#include "raw-storage.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-tags.h"
#include "frontdesk-plugin.h"
#include "frontdesk-tag.h"
#include "frontdesk-acknowledge.h"
#include "frontdesk-verdict.h"

/* Header-derived values in log lines are cut to this. */
#define FRONTDESK_LOG_VALUE_MAX 80
/* The header fields frontdesk adds all start so; the customer's own are
   removed from the stored copy. */
#define FRONTDESK_HEADER_PREFIX "X-Frontdesk-"

struct frontdesk_delivery {
	pool_t pool;
	struct frontdesk_view *view;
	struct frontdesk_classification result;
	struct frontdesk_ack_decision ack;
	/* lent to the Sieve extension while Sieve runs */
	struct frontdesk_verdict verdict;
	const char *folder;
	ARRAY_TYPE(const_string) keywords;
	/* where the delivery stored the mail, whoever saved it */
	struct frontdesk_stored stored;

	/* the message with our headers prepended */
	struct istream *input;
	struct mailbox *raw_box;
	struct mailbox_transaction_context *raw_trans;
	struct mail *raw_mail;
};

static deliver_mail_func_t *next_deliver_mail;

static const char *smtp_address_or_null(const struct smtp_address *addr)
{
	return addr == NULL ? NULL : smtp_address_encode(addr);
}

/* A sender's own X-Frontdesk-* fields would pass for ours with a Sieve
   `header :is` test, an agent or a mail client: drop them, as spam filters
   drop forged verdict headers. Only where we add ours. */
static void
frontdesk_forged_header_filter(struct header_filter_istream *input ATTR_UNUSED,
			       struct message_header_line *hdr,
			       bool *matched, void *context ATTR_UNUSED)
{
	/* a folded line follows its first line's verdict */
	if (hdr != NULL && !hdr->eoh && !hdr->continued &&
	    strncasecmp(hdr->name, FRONTDESK_HEADER_PREFIX,
			strlen(FRONTDESK_HEADER_PREFIX)) == 0)
		*matched = TRUE;
}

/* Build the tagged copy of the message as a raw mail: our headers, then the
   message as received without its own X-Frontdesk-* fields. */
static int
frontdesk_delivery_raw_mail(struct mail_deliver_context *ctx,
			    struct frontdesk_delivery *d, const string_t *hdr,
			    const char **error_r)
{
	struct istream *src, *inputs[3];
	const char *sender;
	time_t received;

	if (mail_get_stream(ctx->src_mail, NULL, NULL, &src) < 0) {
		*error_r = mailbox_get_last_internal_error(
			ctx->src_mail->box, NULL);
		return -1;
	}
	if (mail_get_received_date(ctx->src_mail, &received) < 0)
		received = (time_t)-1;
	i_stream_seek(src, 0);
	inputs[0] = i_stream_create_copy_from_data(str_data(hdr),
						   str_len(hdr));
	inputs[1] = i_stream_create_header_filter(src,
		HEADER_FILTER_EXCLUDE | HEADER_FILTER_CRLF_PRESERVE, NULL, 0,
		frontdesk_forged_header_filter, (void *)NULL);
	inputs[2] = NULL;
	d->input = i_stream_create_concat(inputs);
	/* the raw storage names its mailbox after the stream */
	i_stream_set_name(d->input, "frontdesk-tagged");
	i_stream_unref(&inputs[0]);
	i_stream_unref(&inputs[1]);

	sender = ctx->mail_from == NULL ? "" :
		smtp_address_encode(ctx->mail_from);
	if (raw_mailbox_alloc_stream(frontdesk_raw_user_get(ctx->rcpt_user),
				     d->input, received, sender,
				     &d->raw_box) < 0) {
		*error_r = t_strdup_printf("can't open tagged mail as raw: %s",
			mailbox_get_last_internal_error(d->raw_box, NULL));
		mailbox_free(&d->raw_box);
		i_stream_unref(&d->input);
		return -1;
	}
	d->raw_trans = mailbox_transaction_begin(d->raw_box, 0, __func__);
	d->raw_mail = mail_alloc(d->raw_trans, 0, NULL);
	mail_set_seq(d->raw_mail, 1);
	return 0;
}

static void frontdesk_delivery_free(struct frontdesk_delivery *d)
{
	frontdesk_ack_decision_free(&d->ack);
	if (d->raw_mail != NULL)
		mail_free(&d->raw_mail);
	if (d->raw_trans != NULL)
		mailbox_transaction_rollback(&d->raw_trans);
	if (d->raw_box != NULL)
		mailbox_free(&d->raw_box);
	i_stream_unref(&d->input);
}

/* The verdict as the Sieve extension sees it (frontdesk-verdict.h). */
static void
frontdesk_delivery_verdict_fill(const struct frontdesk_settings *set,
				struct frontdesk_delivery *d,
				enum frontdesk_office office)
{
	struct frontdesk_verdict *v = &d->verdict;

	v->abi = FRONTDESK_VERDICT_ABI;
	v->set = set;
	v->view = d->view;
	v->result = &d->result;
	/* the guard ran once, for the acknowledgment's decision */
	v->guard = d->ack.guard;
	v->office = office;
	v->ticket = d->ack.ticket == NULL ? "" : d->ack.ticket;
	v->follow_up = d->ack.follow_up;
	v->ack_send = d->ack.send;
	v->ack_reason = d->ack.reason;
}

/* What a Sieve script asked of the acknowledgment (frontdesk_ack): it may
   withhold one or pick its template, never make one the rules forbid. */
static void frontdesk_delivery_script_ack(struct frontdesk_user *fuser,
					  struct frontdesk_delivery *d)
{
	struct frontdesk_verdict *v = &d->verdict;
	const char *refusal;

	switch (v->script_ack) {
	case FRONTDESK_SCRIPT_ACK_NONE:
		break;
	case FRONTDESK_SCRIPT_ACK_WITHHOLD:
		if (d->ack.send) {
			d->ack.send = FALSE;
			d->ack.reason = "sieve-noack";
		}
		break;
	case FRONTDESK_SCRIPT_ACK_REQUEST:
		refusal = frontdesk_verdict_ack_refusal(v);
		if (refusal != NULL) {
			e_info(fuser->event, "a Sieve script asked for an "
			       "acknowledgment, refused: %s", refusal);
			break;
		}
		if (v->script_template[0] != '\0') {
			d->ack.template_name =
				p_strdup(d->pool, v->script_template);
		}
		break;
	}
}

/* Decide and prepare everything; nothing of the delivery is changed yet.
   Returns 0, or -1 with error_r (the delivery then goes on untouched). */
static int
frontdesk_delivery_prepare(struct frontdesk_user *fuser,
			   struct mail_deliver_context *ctx,
			   struct frontdesk_delivery *d, const char **error_r)
{
	const struct frontdesk_settings *set = fuser->set;
	const struct frontdesk_model *model;
	struct frontdesk_view *view;
	struct istream *input;
	const char *error, *other;
	enum frontdesk_office office;
	string_t *hdr;

	model = frontdesk_model_get(set, &error);
	if (model == NULL) {
		*error_r = t_strdup_printf("model unusable: %s", error);
		return -1;
	}
	if (mail_get_stream(ctx->src_mail, NULL, NULL, &input) < 0) {
		*error_r = t_strdup_printf("can't read message: %s",
			mailbox_get_last_internal_error(ctx->src_mail->box,
							NULL));
		return -1;
	}
	i_stream_seek(input, 0);
	if (frontdesk_view_parse(d->pool, input, &set->limits, &view,
				 &error) < 0) {
		*error_r = t_strdup_printf("can't read message: %s", error);
		return -1;
	}
	frontdesk_view_set_envelope(view,
		smtp_address_or_null(ctx->mail_from),
		smtp_address_or_null(ctx->rcpt_to),
		smtp_address_or_null(ctx->rcpt_params.orcpt.addr));
	frontdesk_classify(model, set, view, d->pool, &d->result);
	d->view = view;
	frontdesk_ack_prepare(fuser, ctx, view, &d->result, d->pool, &d->ack);

	p_array_init(&d->keywords, d->pool, 4);
	T_BEGIN {
		ARRAY_TYPE(const_string) kws;
		const char *kw;

		t_array_init(&kws, 4);
		if (d->ack.machine != FRONTDESK_MACHINE_NONE) {
			frontdesk_tags_machine_keywords(set, d->ack.machine,
				d->ack.ticket != NULL, &kws);
		} else {
			frontdesk_tags_keywords(set, &d->result, &kws);
		}
		if (d->ack.follow_up) {
			kw = t_strconcat(set->keyword_prefix, "followup",
					 NULL);
			array_push_back(&kws, &kw);
		}
		array_foreach_elem(&kws, kw) {
			kw = p_strdup(d->pool, kw);
			array_push_back(&d->keywords, &kw);
		}
	} T_END;
	array_append_zero(&d->keywords);

	office = d->result.office;
	/* a follow-up joins its ticket, where the team already works on it */
	if (d->ack.ticket_office != NULL)
		office = strcmp(d->ack.ticket_office, "back") == 0 ?
			FRONTDESK_OFFICE_BACK : FRONTDESK_OFFICE_FRONT;
	d->folder = office == FRONTDESK_OFFICE_BACK ?
		set->folder_back : set->folder_front;
	frontdesk_delivery_verdict_fill(set, d, office);
	other = office == FRONTDESK_OFFICE_BACK ?
		set->folder_front : set->folder_back;
	/* machine mail apart, unless it joins a ticket: then where the
	   agent of that ticket sees why the customer never got our answer */
	if (d->ack.machine != FRONTDESK_MACHINE_NONE &&
	    d->ack.ticket_office == NULL) {
		d->folder = set->folder_machine;
		other = NULL;
	}
	if (*d->folder != '\0' &&
	    frontdesk_folder_ensure(ctx->rcpt_user, d->folder, &error) < 0) {
		*error_r = t_strdup_printf("can't create folder %s: %s",
			str_sanitize(d->folder, FRONTDESK_LOG_VALUE_MAX), error);
		return -1;
	}
	/* agents expect both folders from the first day */
	if (other != NULL &&
	    frontdesk_folder_ensure(ctx->rcpt_user, other, &error) < 0) {
		e_warning(fuser->event, "can't create folder %s: %s",
			  str_sanitize(other, FRONTDESK_LOG_VALUE_MAX), error);
	}

	if (set->add_headers) {
		hdr = t_str_new(256);
		if (d->ack.machine != FRONTDESK_MACHINE_NONE)
			frontdesk_tags_machine_headers(d->ack.machine, hdr);
		else
			frontdesk_tags_headers(&d->result, hdr);
		if (d->ack.ticket != NULL &&
		    d->ack.machine != FRONTDESK_MACHINE_NONE) {
			str_printfa(hdr, "X-Frontdesk-Ticket: %s (%s)\r\n",
				    d->ack.ticket,
				    frontdesk_tags_machine_ticket_note(
					d->ack.machine));
		} else if (d->ack.ticket != NULL) {
			str_printfa(hdr, "X-Frontdesk-Ticket: %s%s\r\n",
				    d->ack.ticket, d->ack.follow_up ?
				    " (follow-up)" : "");
		}
		if (set->ack.mode == FRONTDESK_ACK_SHADOW) {
			str_printfa(hdr, "X-Frontdesk-Would-Ack: %s; "
				    "reason=%s\r\n", d->ack.send ? "yes" : "no",
				    d->ack.reason);
		}
		if (frontdesk_delivery_raw_mail(ctx, d, hdr, error_r) < 0)
			return -1;
	}
	return 0;
}

/* The folders the mail is stored in, comma-separated, or "none". */
static const char *
frontdesk_delivery_folders(const struct frontdesk_delivery *d)
{
	string_t *str = t_str_new(64);
	const char *name;

	array_foreach_elem(&d->stored.folders, name) {
		if (str_len(str) > 0)
			str_append_c(str, ',');
		str_append(str, name);
	}
	return str_len(str) == 0 ? "none" :
		str_sanitize(str_c(str), FRONTDESK_LOG_VALUE_MAX);
}

static void
frontdesk_delivery_log(struct frontdesk_user *fuser,
		       struct mail_deliver_context *ctx,
		       const struct frontdesk_delivery *d)
{
	const struct frontdesk_classification *r = &d->result;
	const char *folders = frontdesk_delivery_folders(d);
	bool machine = d->ack.machine != FRONTDESK_MACHINE_NONE;
	/* machine mail has no need and no office of its own */
	const char *need = machine || r->need[0] == '\0' ? "none" : r->need;
	const char *office = !machine ? frontdesk_office_name(r->office) :
		d->ack.ticket_office != NULL ? d->ack.ticket_office : "none";
	struct event_passthrough *e;

	e = event_create_passthrough(fuser->event)->
		set_name("frontdesk_message_classified")->
		add_str("need", need)->
		add_str("office", office)->
		add_str("machine", machine ?
			frontdesk_machine_kind_name(d->ack.machine) : "none")->
		add_str("folder", folders)->
		add_str("language", r->language)->
		add_int("urgent", r->urgent ? 1 : 0)->
		add_int("unsure", r->unsure ? 1 : 0)->
		add_int("confidence_pct", (intmax_t)(r->confidence * 100))->
		add_str("ticket", d->ack.ticket == NULL ? "" : d->ack.ticket)->
		add_str("ack", d->ack.reason);
	e_info(e->event(), "need=%s%s%s office=%s folder=%s confidence=%.2f "
	       "urgent=%s unsure=%s lang=%s machine=%s ticket=%s ack=%s%s "
	       "msgid=%s", need,
	       !machine && r->secondary != NULL ? "," : "",
	       !machine && r->secondary != NULL ? r->secondary : "",
	       office, folders, r->confidence,
	       !machine && r->urgent ? "yes" : "no",
	       !machine && r->unsure ? "yes" : "no", r->language,
	       machine ? frontdesk_machine_kind_name(d->ack.machine) : "none",
	       d->ack.ticket == NULL ? "none" : d->ack.ticket,
	       fuser->set->ack.mode == FRONTDESK_ACK_SHADOW ?
	       (d->ack.send ? "shadow-yes:" : "shadow-no:") : "",
	       d->ack.reason,
	       ctx->fields.message_id == NULL ? "none" :
	       str_sanitize(ctx->fields.message_id, FRONTDESK_LOG_VALUE_MAX));
}

static int frontdesk_chain(struct mail_deliver_context *ctx,
			   struct mail_storage **storage_r)
{
	return next_deliver_mail == NULL ? 0 :
		next_deliver_mail(ctx, storage_r);
}

static bool frontdesk_delivery_stored(struct mail_deliver_context *ctx,
				      struct frontdesk_delivery *d)
{
	const char *folder;

	if (array_count(&d->stored.folders) > 0)
		return TRUE;
	if (!ctx->saved_mail)
		return FALSE;
	/* saved outside a mailbox we watch: should not happen */
	folder = p_strdup(d->pool, d->folder);
	array_push_back(&d->stored.folders, &folder);
	return TRUE;
}

/* The error of the last failed save, and whether it is the user's quota:
   then no other folder of this user can take the mail either. */
static const char *
frontdesk_save_error(struct mail_storage *storage, bool *quota_r)
{
	enum mail_error error;
	const char *errstr;

	*quota_r = FALSE;
	if (storage == NULL)
		return "unknown error";
	errstr = mail_storage_get_last_error(storage, &error);
	*quota_r = error == MAIL_ERROR_NOQUOTA;
	return t_strdup(errstr);
}

/* Store the mail when Sieve did not: its implicit keep in the office
   folder, that folder made again if it was deleted, and INBOX last, so a
   folder problem never turns into a refused mail. A full quota, or a
   temporary failure Sieve asked for, is left to Dovecot, which refuses
   the mail or has the MTA try again, as it would without frontdesk; the
   log says why, and claims no delivery that did not happen. Returns the
   hook's value. */
static int
frontdesk_deliver_fallback(struct frontdesk_user *fuser,
			   struct mail_deliver_context *ctx, int ret,
			   struct mail_storage **storage_r)
{
	const char *folder = ctx->rcpt_default_mailbox, *error, *error2;
	const char *name = str_sanitize(folder, FRONTDESK_LOG_VALUE_MAX);
	bool quota;

	if (ctx->tempfail_error != NULL)
		return ret;
	if (!ctx->tried_default_save) {
		/* no Sieve script: the implicit keep is ours to do while the
		   tags are in place */
		if (mail_deliver_save(ctx, folder, 0, NULL, storage_r) == 0)
			return 1;
	}
	error = frontdesk_save_error(*storage_r, &quota);
	if (!quota && strcasecmp(folder, "INBOX") != 0) {
		/* the folder may have been deleted since we last saw it:
		   look again, create it, and try once more */
		frontdesk_folder_forget(ctx->rcpt_user, folder);
		if (frontdesk_folder_ensure(ctx->rcpt_user, folder,
					    &error2) == 0 &&
		    mail_deliver_save(ctx, folder, 0, NULL, storage_r) == 0)
			return 1;
		error = frontdesk_save_error(*storage_r, &quota);
	}
	if (quota) {
		e_warning(fuser->event, "message not stored, the mailbox is "
			  "over quota: saving to %s failed: %s", name, error);
		return ret;
	}
	if (strcasecmp(folder, "INBOX") == 0) {
		e_error(fuser->event, "message not stored: saving to %s "
			"failed: %s", name, error);
		return ret;
	}
	/* the office folder failed: INBOX now */
	if (mail_deliver_save(ctx, "INBOX", 0, NULL, storage_r) == 0) {
		e_error(fuser->event, "saving to %s failed, saved to INBOX "
			"instead: %s", name, error);
		return 1;
	}
	e_error(fuser->event, "message not stored: saving to %s failed: %s; "
		"saving to INBOX failed too: %s", name, error,
		frontdesk_save_error(*storage_r, &quota));
	return ret;
}

static int frontdesk_deliver_mail(struct mail_deliver_context *ctx,
				  struct mail_storage **storage_r)
{
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(ctx->rcpt_user);
	struct frontdesk_delivery d;
	struct mail *orig_mail;
	const char *orig_default, *error = NULL;
	int ret;

	if (fuser == NULL || fuser->set == NULL)
		return frontdesk_chain(ctx, storage_r);

	i_zero(&d);
	d.pool = pool_alloconly_create("frontdesk delivery", 4096);
	T_BEGIN {
		ret = frontdesk_delivery_prepare(fuser, ctx, &d, &error);
	} T_END_PASS_STR_IF(ret < 0, &error);
	if (ret < 0) {
		e_error(fuser->event, "message not tagged, delivered to the "
			"default mailbox: %s", error);
		frontdesk_delivery_free(&d);
		pool_unref(&d.pool);
		return frontdesk_chain(ctx, storage_r);
	}

	orig_mail = ctx->src_mail;
	orig_default = ctx->rcpt_default_mailbox;
	if (d.raw_mail != NULL)
		ctx->src_mail = d.raw_mail;
	/* keep a detail mailbox (lmtp_save_to_detail_mailbox) chosen by the
	   admin; file only what would go to INBOX */
	if (strcasecmp(ctx->rcpt_default_mailbox, "INBOX") == 0 &&
	    *d.folder != '\0')
		ctx->rcpt_default_mailbox = p_strdup(ctx->pool, d.folder);
	else
		d.folder = ctx->rcpt_default_mailbox;
	/* LMTP would reuse our saved copy (with our headers) for the other
	   recipients of the transaction: they must get the original */
	ctx->save_dest_mail = FALSE;
	d.stored.pool = d.pool;
	p_array_init(&d.stored.folders, d.pool, 4);
	fuser->cur_keywords = array_front(&d.keywords);
	fuser->cur_stored = &d.stored;
	fuser->cur_verdict = &d.verdict;

	/* Sieve (if loaded) saves through its own transactions: whether the
	   mail was stored is what our commit hook saw, never saved_mail */
	ret = frontdesk_chain(ctx, storage_r);
	if (ret <= 0 && !frontdesk_delivery_stored(ctx, &d)) T_BEGIN {
		ret = frontdesk_deliver_fallback(fuser, ctx, ret, storage_r);
	} T_END;
	fuser->cur_keywords = NULL;
	fuser->cur_stored = NULL;
	fuser->cur_verdict = NULL;
	frontdesk_delivery_script_ack(fuser, &d);
	ctx->src_mail = orig_mail;
	ctx->rcpt_default_mailbox = orig_default;

	if (frontdesk_delivery_stored(ctx, &d)) {
		/* stored: now, and only now, the customer may hear from us;
		   once, however many copies Sieve made */
		T_BEGIN {
			frontdesk_ack_after_save(fuser, ctx, d.view, &d.result,
						 &d.ack);
		} T_END;
		/* if Sieve failed after a save, Dovecot must not save again */
		if (ret <= 0)
			ctx->saved_mail = TRUE;
	} else {
		d.ack.send = FALSE;
		d.ack.reason = "not-stored";
	}
	T_BEGIN {
		frontdesk_delivery_log(fuser, ctx, &d);
	} T_END;
	frontdesk_delivery_free(&d);
	pool_unref(&d.pool);
	return ret;
}

void frontdesk_deliver_init(void)
{
	next_deliver_mail = mail_deliver_hook_set(frontdesk_deliver_mail);
}

void frontdesk_deliver_deinit(void)
{
	mail_deliver_hook_set(next_deliver_mail);
}
