/* Sending one acknowledgment to its relay. Entries with a submission_host
   go out with lib-smtp's client over connections that stay open and are
   reused: one smtp_client per relay (host, port, EHLO name, timeout), a
   bounded pool of connections, transactions queued on a connection and
   pipelined by lib-smtp, a connection that failed replaced by a new one,
   an idle one closed after a while. Entries without a submission_host go
   to sendmail through smtp-submit, as Dovecot itself sends them. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"
#include "ioloop.h"
#include "istream.h"
#include "ostream.h"
#include "hostpid.h"
#include "smtp-address.h"
#include "smtp-reply.h"
#include "smtp-client.h"
#include "smtp-client-connection.h"
#include "smtp-client-transaction.h"
#include "smtp-submit.h"
#include "smtp-submit-settings.h"
#include "frontdesk-spool.h"
#include "frontdesk-sender-relay.h"

/* RFC 5321 4.5.3.2.7: 10 minutes for DATA is the SMTP ceiling; a relay
   that accepts the connection and then stalls is given at most this. */
#define RELAY_DEFAULT_TIMEOUT_SECS 30
#define RELAY_DEFAULT_MAX_CONNECTIONS 4
/* an unused connection is closed after this (relays drop idle clients
   after a few minutes anyway: RFC 5321 4.5.3.2.7 says 5) */
#define RELAY_IDLE_CLOSE_MSECS (30*1000)
#define RELAY_DEFAULT_PORT 25

struct relay;

struct relay_conn {
	struct relay *relay;
	struct smtp_client_connection *conn;
	struct timeout *to_idle;
	unsigned int in_flight;
	/* a transaction failed for the connection's sake: no new ones */
	bool broken;
};

struct relay {
	char *key, *host;
	in_port_t port;
	struct smtp_client *client;
	ARRAY(struct relay_conn *) conns;
};

struct relay_send {
	pool_t pool;
	struct relay_conn *rconn;
	struct smtp_submit *subm;
	struct timeout *to_free;
	frontdesk_relay_callback_t *callback;
	void *context;
	int status;
	const char *error;
};

static ARRAY(struct relay *) relays;
static unsigned int relay_max_connections = RELAY_DEFAULT_MAX_CONNECTIONS;
static bool relay_deinitializing = FALSE;

static void relay_conn_destroy(struct relay_conn **_rconn)
{
	struct relay_conn *rconn = *_rconn;
	struct relay *relay = rconn->relay;
	struct relay_conn *const *rconns;
	unsigned int i, count;

	*_rconn = NULL;
	rconns = array_get(&relay->conns, &count);
	for (i = 0; i < count; i++) {
		if (rconns[i] == rconn) {
			array_delete(&relay->conns, i, 1);
			break;
		}
	}
	timeout_remove(&rconn->to_idle);
	smtp_client_connection_close(&rconn->conn);
	i_free(rconn);
}

static void relay_conn_idle(struct relay_conn *rconn)
{
	relay_conn_destroy(&rconn);
}

static struct relay_conn *relay_conn_create(struct relay *relay)
{
	struct relay_conn *rconn = i_new(struct relay_conn, 1);

	rconn->relay = relay;
	rconn->conn = smtp_client_connection_create(relay->client,
		SMTP_PROTOCOL_SMTP, relay->host, relay->port,
		SMTP_CLIENT_SSL_MODE_NONE, NULL);
	array_push_back(&relay->conns, &rconn);
	return rconn;
}

/* The connection for one more transaction: an idle one, else a new one
   while the pool has room, else the least busy one (its transactions are
   pipelined after those already queued). */
static struct relay_conn *relay_conn_pick(struct relay *relay)
{
	struct relay_conn *rconn, *best = NULL;
	unsigned int usable = 0;

	array_foreach_elem(&relay->conns, rconn) {
		if (rconn->broken)
			continue;
		usable++;
		if (best == NULL || rconn->in_flight < best->in_flight)
			best = rconn;
	}
	if (best == NULL || (best->in_flight > 0 &&
			     usable < relay_max_connections))
		best = relay_conn_create(relay);
	timeout_remove(&best->to_idle);
	return best;
}

static struct relay *
relay_get(const char *host, in_port_t port, const char *helo,
	  unsigned int timeout_secs)
{
	struct smtp_client_settings set;
	struct relay *relay;
	const char *key = t_strdup_printf("%s\t%u\t%s\t%u", host, port, helo,
					  timeout_secs);

	array_foreach_elem(&relays, relay) {
		if (strcmp(relay->key, key) == 0)
			return relay;
	}
	relay = i_new(struct relay, 1);
	relay->key = i_strdup(key);
	relay->host = i_strdup(host);
	relay->port = port;
	i_array_init(&relay->conns, 4);
	i_zero(&set);
	set.my_hostname = helo;
	set.connect_timeout_msecs = timeout_secs * 1000;
	set.command_timeout_msecs = timeout_secs * 1000;
	relay->client = smtp_client_init(&set);
	array_push_back(&relays, &relay);
	return relay;
}

static void relay_send_free(struct relay_send *rs)
{
	timeout_remove(&rs->to_free);
	if (rs->subm != NULL)
		smtp_submit_deinit(&rs->subm);
	pool_unref(&rs->pool);
}

/* 1 -> sent; otherwise 4xx and failures on our side are temporary, 5xx
   permanent (what smtp-submit decides too) */
static void relay_send_error(struct relay_send *rs, const char *what,
			     const struct smtp_reply *reply)
{
	bool temp = smtp_reply_is_temp_fail(reply) ||
		!smtp_reply_is_remote(reply);

	if (!smtp_reply_is_remote(reply) || reply->status == 421) {
		/* the connection is gone or unusable: transactions
		   queued after this one fail too, new ones get a new
		   connection */
		rs->rconn->broken = TRUE;
	}
	if (rs->error != NULL)
		return;
	rs->status = temp ? 0 : -1;
	rs->error = p_strdup_printf(rs->pool, "smtp(%s:%u): %s failed: %s",
				    rs->rconn->relay->host,
				    rs->rconn->relay->port, what,
				    smtp_reply_log(reply));
}

static void relay_rcpt_callback(const struct smtp_reply *reply,
				struct relay_send *rs)
{
	if (!smtp_reply_is_success(reply))
		relay_send_error(rs, "RCPT TO", reply);
}

static void relay_data_callback(const struct smtp_reply *reply,
				struct relay_send *rs)
{
	if (!smtp_reply_is_success(reply))
		relay_send_error(rs, "DATA", reply);
	else if (rs->error == NULL)
		rs->status = 1;
}

static void relay_data_dummy_callback(const struct smtp_reply *reply ATTR_UNUSED,
				      struct relay_send *rs ATTR_UNUSED)
{
}

static void relay_send_finished(struct relay_send *rs)
{
	struct relay_conn *rconn = rs->rconn;
	frontdesk_relay_callback_t *callback = rs->callback;
	void *context = rs->context;
	int status = rs->status;
	const char *error;

	if (status <= 0 && rs->error == NULL)
		rs->error = "transaction ended without a reply";
	error = t_strdup(rs->error);
	i_assert(rconn->in_flight > 0);
	rconn->in_flight--;
	pool_unref(&rs->pool);
	if (relay_deinitializing)
		return;
	if (rconn->in_flight == 0) {
		if (rconn->broken)
			relay_conn_destroy(&rconn);
		else {
			rconn->to_idle = timeout_add(RELAY_IDLE_CLOSE_MSECS,
						     relay_conn_idle, rconn);
		}
	}
	callback(status, status > 0 ? NULL : error, context);
}

static void relay_send_smtp(struct relay *relay, struct relay_send *rs,
			    const struct smtp_address *mail_from,
			    const struct smtp_address *rcpt,
			    const struct frontdesk_spool_entry *e)
{
	struct smtp_client_transaction *trans;
	struct istream *input;

	rs->rconn = relay_conn_pick(relay);
	rs->rconn->in_flight++;
	trans = smtp_client_transaction_create(rs->rconn->conn, mail_from,
		NULL, 0, relay_send_finished, rs);
	smtp_client_transaction_add_rcpt(trans, rcpt, NULL,
		relay_rcpt_callback, relay_data_dummy_callback, rs);
	input = i_stream_create_from_data(e->message, e->message_size);
	smtp_client_transaction_send(trans, input, relay_data_callback, rs);
	i_stream_unref(&input);
}

static void relay_sendmail_finished(const struct smtp_submit_result *result,
				    struct relay_send *rs)
{
	/* smtp-submit: 1 sent, 0 permanent failure, -1 temporary */
	rs->status = result->status > 0 ? 1 : result->status == 0 ? -1 : 0;
	rs->error = p_strdup(rs->pool, result->error == NULL ?
			     "unknown error" : result->error);
	if (relay_deinitializing)
		return;
	rs->callback(rs->status, rs->status > 0 ? NULL : rs->error,
		     rs->context);
	/* smtp-submit is not freed from inside its own callback */
	rs->to_free = timeout_add_short(0, relay_send_free, rs);
}

static void relay_send_sendmail(struct relay_send *rs,
				const struct smtp_address *mail_from,
				const struct smtp_address *rcpt,
				const struct frontdesk_spool_entry *e,
				const char *helo, unsigned int timeout_secs)
{
	struct smtp_submit_settings set;
	struct smtp_submit_input input;
	struct ostream *output;

	i_zero(&set);
	set.hostname = helo;
	set.submission_host = "";
	set.sendmail_path = e->sendmail_path == NULL ||
		*e->sendmail_path == '\0' ? "/usr/sbin/sendmail" :
		e->sendmail_path;
	set.submission_timeout = timeout_secs;
	set.submission_ssl = "no";
	i_zero(&input);
	rs->subm = smtp_submit_init_simple(&input, &set, mail_from);
	smtp_submit_add_rcpt(rs->subm, rcpt);
	output = smtp_submit_send(rs->subm);
	o_stream_nsend(output, e->message, e->message_size);
	smtp_submit_run_async(rs->subm, relay_sendmail_finished, rs);
}

int frontdesk_relay_send(const struct frontdesk_spool_entry *e,
			 frontdesk_relay_callback_t *callback, void *context,
			 const char **error_r)
{
	struct smtp_address *mail_from = NULL, *rcpt;
	struct relay_send *rs;
	const char *helo, *host, *error;
	unsigned int timeout_secs;
	in_port_t port;
	pool_t pool;

	pool = pool_alloconly_create("frontdesk relay send", 1024);
	if (smtp_address_parse_path(pool, e->rcpt_to,
				    SMTP_ADDRESS_PARSE_FLAG_BRACKETS_OPTIONAL,
				    &rcpt, &error) < 0) {
		*error_r = t_strdup_printf("bad recipient %s: %s",
					   str_sanitize(e->rcpt_to, 80), error);
		pool_unref(&pool);
		return -1;
	}
	if (e->mail_from != NULL && *e->mail_from != '\0' &&
	    smtp_address_parse_path(pool, e->mail_from,
				    SMTP_ADDRESS_PARSE_FLAG_BRACKETS_OPTIONAL,
				    &mail_from, &error) < 0) {
		*error_r = t_strdup_printf("bad sender %s: %s",
			str_sanitize(e->mail_from, 80), error);
		pool_unref(&pool);
		return -1;
	}
	rs = p_new(pool, struct relay_send, 1);
	rs->pool = pool;
	rs->callback = callback;
	rs->context = context;
	helo = e->hostname != NULL && *e->hostname != '\0' ?
		e->hostname : my_hostname;
	timeout_secs = e->submission_timeout > 0 ?
		e->submission_timeout : RELAY_DEFAULT_TIMEOUT_SECS;
	if (e->submission_host == NULL || *e->submission_host == '\0') {
		relay_send_sendmail(rs, mail_from, rcpt, e, helo,
				    timeout_secs);
		return 0;
	}
	if (net_str2hostport(e->submission_host, RELAY_DEFAULT_PORT,
			     &host, &port) < 0) {
		*error_r = t_strdup_printf("bad submission_host %s",
			str_sanitize(e->submission_host, 80));
		pool_unref(&pool);
		/* the admin's setting, not the entry: it may be fixed */
		return -1;
	}
	relay_send_smtp(relay_get(host, port, helo, timeout_secs), rs,
			mail_from, rcpt, e);
	return 0;
}

void frontdesk_relay_init(unsigned int max_connections)
{
	if (max_connections > 0)
		relay_max_connections = max_connections;
	i_array_init(&relays, 4);
}

void frontdesk_relay_deinit(void)
{
	struct relay *relay;
	struct relay_conn *rconn;

	relay_deinitializing = TRUE;
	array_foreach_elem(&relays, relay) {
		while (array_count(&relay->conns) > 0) {
			rconn = array_idx_elem(&relay->conns, 0);
			relay_conn_destroy(&rconn);
		}
		array_free(&relay->conns);
		smtp_client_deinit(&relay->client);
		i_free(relay->host);
		i_free(relay->key);
		i_free(relay);
	}
	array_free(&relays);
}
