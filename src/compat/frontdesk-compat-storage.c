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

#endif
