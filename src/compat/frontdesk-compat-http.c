/* Dovecot 2.3 / 2.4 compatibility for lib-http's client
   (frontdesk-compat-http.h). */

#include "lib.h"
#include "http-client.h"
#include "frontdesk-compat.h"
#include "frontdesk-compat-http.h"

struct http_client *
frontdesk_http_client_init_once(struct event *event_parent,
				const char *user_agent,
				unsigned int timeout_msecs, pool_t *pool_r)
{
	struct http_client_settings *set;
	pool_t pool;

	pool = pool_alloconly_create("frontdesk http client", 1024);
	set = p_new(pool, struct http_client_settings, 1);
#if FRONTDESK_DOVECOT24
	http_client_settings_init(pool, set);
	set->auto_redirect = FALSE;
	set->request_max_redirects = 0;
	set->request_max_attempts = 1;
	set->auto_retry = FALSE;
#else
	set->max_redirects = 0;
	set->max_attempts = 1;
	set->no_auto_retry = TRUE;
	set->event_parent = event_parent;
#endif
	set->user_agent = p_strdup(pool, user_agent);
	set->max_idle_time_msecs = 0;
	set->max_parallel_connections = 1;
	set->max_pipelined_requests = 1;
	set->max_connect_attempts = 1;
	set->connect_timeout_msecs = timeout_msecs;
	set->request_timeout_msecs = timeout_msecs;
	set->request_absolute_timeout_msecs = timeout_msecs;
	*pool_r = pool;
#if FRONTDESK_DOVECOT24
	return http_client_init_private(set, event_parent);
#else
	return http_client_init_private(set);
#endif
}

void frontdesk_http_client_deinit(struct http_client **client, pool_t *pool)
{
	http_client_deinit(client);
	pool_unref(pool);
}
