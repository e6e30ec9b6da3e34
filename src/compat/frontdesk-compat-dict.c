/* Dovecot 2.3 / 2.4 difference in opening the shared-state dict of
   frontdesk_ack_dict (frontdesk-compat-dict.h): 2.3's dict_init(URI), 2.4's
   dict_init_auto() with the dict {} inside frontdesk_dict { }. In the core:
   the state store (frontdesk-state.c) is used by the delivery plugin, the
   Sieve extension and doveadm. */

#include "lib.h"
#include "dict.h"
#include "frontdesk-compat-dict.h"

#if FRONTDESK_DOVECOT24
#  include "settings.h"
#  include "frontdesk-settings-module.h"

int frontdesk_dict_init(const char *uri ATTR_UNUSED,
			const char *base_dir ATTR_UNUSED,
			unsigned int request_msecs ATTR_UNUSED,
			struct event *event, struct dict **dict_r,
			const char **error_r)
{
	struct event *dict_event = event_create(event);
	int ret;

	settings_event_add_filter_name(dict_event, FRONTDESK_STATE_FILTER);
	ret = dict_init_auto(dict_event, dict_r, error_r);
	event_unref(&dict_event);
	if (ret == 0) {
		*error_r = "no dict configured in "FRONTDESK_STATE_FILTER" { }";
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

#else /* Dovecot 2.3 */

/* The redis driver waits timeout_msecs for each reply (30 s by default):
   give it the time of one request unless the admin chose one. Other
   drivers bring their own timeouts. */
static const char *state_dict_uri(const char *uri, unsigned int msecs)
{
	if (!str_begins_with(uri, "redis:") ||
	    strstr(uri, "timeout_msecs=") != NULL)
		return uri;
	return t_strdup_printf("%s%stimeout_msecs=%u", uri,
			       uri[6] == '\0' ? "" : ":", msecs);
}

int frontdesk_dict_init(const char *uri, const char *base_dir,
			unsigned int request_msecs, struct event *event,
			struct dict **dict_r, const char **error_r)
{
	struct dict_settings dset;

	i_zero(&dset);
	dset.base_dir = base_dir;
	dset.event_parent = event;
	return dict_init(state_dict_uri(uri, request_msecs), &dset, dict_r,
			 error_r);
}
#endif
