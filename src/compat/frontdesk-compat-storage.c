/* Dovecot 2.3 / 2.4 differences in the plugin's use of lib-storage,
   lib-dict and the settings, one function each (see the header). */

#include "lib.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-private.h"
#include "raw-storage.h"
#include "dict.h"
#include "frontdesk-compat-storage.h"

#if FRONTDESK_DOVECOT24
#  include "settings.h"
#  include "mail-storage-service.h"
#  include "frontdesk-settings-module.h"
#else
#  include "master-service.h"
#  include "master-service-settings.h"
#  include "mail-storage-settings.h"
#endif

#if FRONTDESK_DOVECOT24
struct mail_user *frontdesk_raw_user_create(struct mail_user *user)
{
	return raw_storage_create_from_set(
		mail_storage_service_user_get_service_ctx(user->service_user),
		mail_storage_service_user_get_settings_instance(
			user->service_user));
}

bool frontdesk_user_fsync_always(struct mail_user *user)
{
	struct mail_namespace *ns = mail_namespace_find_inbox(user->namespaces);

	return ns != NULL &&
		ns->storage->set->parsed_fsync_mode == FSYNC_MODE_ALWAYS;
}

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

struct mail_user *frontdesk_raw_user_create(struct mail_user *user)
{
	void **sets = master_service_settings_get_others(master_service);

	return raw_storage_create_from_set(user->set_info, sets[0]);
}

bool frontdesk_user_fsync_always(struct mail_user *user)
{
	const struct mail_storage_settings *set =
		mail_user_set_get_storage_set(user);

	return set->parsed_fsync_mode == FSYNC_MODE_ALWAYS;
}

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
