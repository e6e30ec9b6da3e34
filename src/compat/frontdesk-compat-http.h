#ifndef FRONTDESK_COMPAT_HTTP_H
#define FRONTDESK_COMPAT_HTTP_H

/* Dovecot 2.3 / 2.4 difference in lib-http's client settings (2.4 renamed
   max_redirects/max_attempts/no_auto_retry, moved event_parent into
   http_client_init*() and wants the settings from
   http_client_settings_init()), behind one function: the plugin's rspamd
   check has no version tests. */

struct event;
struct http_client;

/* A private client for one request to one local service: one connection,
   no pipelining, no redirects, one attempt, no retries, every timeout
   timeout_msecs. pool_r holds its settings: pass it to
   frontdesk_http_client_deinit(). */
struct http_client *
frontdesk_http_client_init_once(struct event *event_parent,
				const char *user_agent,
				unsigned int timeout_msecs, pool_t *pool_r);
void frontdesk_http_client_deinit(struct http_client **client, pool_t *pool);

#endif
