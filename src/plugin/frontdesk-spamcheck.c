/* The optional rspamd check (frontdesk_spam_check): a mail the guard would
   acknowledge and that no scanner on the way gave a verdict on is sent to
   rspamd's POST /checkv2 with libdovecot's HTTP client, in a private
   ioloop bounded by frontdesk_spam_check_timeout. Spam (reject, add
   header, rewrite subject) gets no acknowledgment; everything else, and
   every failure, leaves the usual rules in charge (fail open). The mail is
   delivered either way: this only decides about the acknowledgment. */

#include "lib.h"
#include "str.h"
#include "buffer.h"
#include "ioloop.h"
#include "istream.h"
#include "http-response.h"
#include "http-client.h"
#include "frontdesk-compat-http.h"
#include "smtp-address.h"
#include "mail-storage.h"
#include "mail-deliver.h"
#include "frontdesk-view.h"
#include "frontdesk-settings.h"
#include "frontdesk-rspamd.h"
#include "frontdesk-plugin.h"
#include "frontdesk-spamcheck.h"

/* rspamd's answers are a few KB; more is not an answer */
#define SPAMCHECK_MAX_ANSWER (256*1024)
/* enough for the fields LMTP puts on top of the message */
#define SPAMCHECK_PEEK 4096

struct spamcheck {
	struct ioloop *ioloop;
	struct istream *payload;
	struct io *io;
	buffer_t *answer;
	/* why there is no answer; NULL while waiting or after an answer */
	char *error;
	bool done;
};

static void spamcheck_finish(struct spamcheck *sc, const char *error)
{
	if (sc->done)
		return;
	sc->done = TRUE;
	if (error != NULL)
		sc->error = i_strdup(error);
	io_remove(&sc->io);
	io_loop_stop(sc->ioloop);
}

static void spamcheck_payload_input(struct spamcheck *sc)
{
	const unsigned char *data;
	size_t size;
	int ret;

	while ((ret = i_stream_read_more(sc->payload, &data, &size)) > 0) {
		if (sc->answer->used + size > SPAMCHECK_MAX_ANSWER) {
			spamcheck_finish(sc, "the answer is too long");
			return;
		}
		buffer_append(sc->answer, data, size);
		i_stream_skip(sc->payload, size);
	}
	if (ret == 0)
		return;
	if (sc->payload->stream_errno != 0) {
		spamcheck_finish(sc, t_strdup_printf("reading the answer "
			"failed: %s", i_stream_get_error(sc->payload)));
	} else {
		spamcheck_finish(sc, NULL);
	}
}

static void spamcheck_response(const struct http_response *response,
			       struct spamcheck *sc)
{
	if (sc->done)
		return;
	if (response->status == HTTP_CLIENT_REQUEST_ERROR_TIMED_OUT) {
		/* lib-http's own timeout (the same length as ours) fired
		   first: one reason for the admin either way */
		spamcheck_finish(sc, "no answer in time");
		return;
	}
	if (response->status / 100 != 2) {
		spamcheck_finish(sc, http_response_get_message(response));
		return;
	}
	if (response->payload == NULL) {
		spamcheck_finish(sc, "empty answer");
		return;
	}
	sc->payload = response->payload;
	i_stream_ref(sc->payload);
	sc->io = io_add_istream(sc->payload, spamcheck_payload_input, sc);
	spamcheck_payload_input(sc);
}

static void spamcheck_timeout(struct spamcheck *sc)
{
	spamcheck_finish(sc, "no answer in time");
}

/* the envelope rspamd uses for SPF, DMARC and its logs */
static void spamcheck_add_envelope(struct http_client_request *req,
				   struct mail_deliver_context *ctx)
{
	/* The LMTP client's address is the MTA's, not the sender's, and
	   HELO is not known here: rspamd gets neither (a wrong IP would be
	   worse than none). "User" would tell rspamd the mail was sent by
	   an authenticated user of ours and skip its checks: not sent. */
	if (ctx->mail_from != NULL && ctx->mail_from->localpart != NULL) {
		http_client_request_add_header(req, "From",
			smtp_address_encode(ctx->mail_from));
	}
	if (ctx->rcpt_to != NULL && ctx->rcpt_to->localpart != NULL) {
		http_client_request_add_header(req, "Rcpt",
			smtp_address_encode(ctx->rcpt_to));
	}
	if (ctx->session_id != NULL && *ctx->session_id != '\0')
		http_client_request_add_header(req, "Queue-Id",
					       ctx->session_id);
}

/* Ask rspamd. Returns 0 with answer_r, or -1 with error_r. At most
   timeout_msecs (plus the time to read the message from the disk). */
static int spamcheck_ask(const struct frontdesk_rspamd_settings *set,
			 struct event *event, struct mail_deliver_context *ctx,
			 struct frontdesk_rspamd_answer *answer_r,
			 const char **error_r)
{
	pool_t http_pool;
	struct http_client *client;
	struct http_client_request *req;
	struct istream *input, *payload;
	struct timeout *to;
	struct spamcheck sc;
	const unsigned char *data;
	size_t size, skip;
	uoff_t total;
	int ret;

	if (mail_get_stream(ctx->src_mail, NULL, NULL, &input) < 0) {
		*error_r = t_strdup_printf("can't read the message: %s",
			mailbox_get_last_internal_error(ctx->src_mail->box,
							NULL));
		return -1;
	}
	i_zero(&sc);
	sc.answer = buffer_create_dynamic(default_pool, 4096);
	sc.ioloop = io_loop_create();

	client = frontdesk_http_client_init_once(event, "frontdesk",
						 set->timeout_msecs, &http_pool);

	req = http_client_request_url_str(client, "POST",
		t_strconcat(set->url, "/checkv2", NULL),
		spamcheck_response, &sc);
	spamcheck_add_envelope(req, ctx);
	/* a stream of our own over the mail's, as the MTA handed it to us:
	   the client reads it to the end, the delivery then reads the mail
	   from the start again */
	i_stream_seek(input, 0);
	(void)i_stream_read_bytes(input, &data, &size, SPAMCHECK_PEEK);
	skip = frontdesk_rspamd_skip_local_headers(data, size);
	/* the range's size must be given: the client checks it */
	if (i_stream_get_size(input, TRUE, &total) > 0 && total >= skip)
		payload = i_stream_create_range(input, skip, total - skip);
	else
		payload = i_stream_create_limit(input, (uoff_t)-1);
	http_client_request_set_payload(req, payload, FALSE);
	i_stream_unref(&payload);
	http_client_request_submit(req);

	to = timeout_add(set->timeout_msecs, spamcheck_timeout, &sc);
	while (!sc.done)
		io_loop_run(sc.ioloop);
	timeout_remove(&to);
	io_remove(&sc.io);
	i_stream_unref(&sc.payload);
	/* aborts a request still under way */
	frontdesk_http_client_deinit(&client, &http_pool);
	io_loop_destroy(&sc.ioloop);
	i_stream_seek(input, 0);

	if (sc.error != NULL) {
		*error_r = t_strdup(sc.error);
		i_free(sc.error);
		ret = -1;
	} else {
		ret = frontdesk_rspamd_parse_answer(sc.answer->data,
						    sc.answer->used, answer_r,
						    error_r);
	}
	buffer_free(&sc.answer);
	return ret;
}

bool frontdesk_spamcheck_is_spam(struct frontdesk_user *fuser,
				 struct mail_deliver_context *ctx,
				 const struct frontdesk_view *view)
{
	const struct frontdesk_settings *set = fuser->set;
	struct frontdesk_rspamd_answer answer;
	const char *error;

	if (*set->spam_check.url == '\0' ||
	    frontdesk_rspamd_has_verdict(&set->guard, view))
		return FALSE;
	if (spamcheck_ask(&set->spam_check, fuser->event, ctx, &answer,
			  &error) < 0) {
		e_warning(fuser->event, "spam check skipped, the usual rules "
			  "decide: rspamd at %s: %s", set->spam_check.url,
			  error);
		return FALSE;
	}
	if (!frontdesk_rspamd_is_spam(&answer)) {
		e_debug(fuser->event, "rspamd: action=%s score=%.2f/%.2f",
			answer.action_name, answer.score,
			answer.required_score);
		return FALSE;
	}
	e_info(fuser->event, "rspamd says spam, no ack: action=%s "
	       "score=%.2f/%.2f%s", answer.action_name, answer.score,
	       answer.required_score, answer.is_skipped ? " (prefilter)" : "");
	return TRUE;
}
