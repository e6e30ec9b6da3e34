/* Dovecot 2.3 / 2.4 difference in reading the user's frontdesk_* settings
   (frontdesk-compat-settings.h): 2.3's plugin {} and userdb fields through
   mail_user_plugin_getenv(), 2.4's registered settings (settings_get()).
   Shared by the delivery plugin, the Sieve extension and doveadm. */

#include "lib.h"
#include "mail-user.h"
#include "frontdesk-compat-settings.h"

#if FRONTDESK_DOVECOT24
#  include "settings.h"
#  include "frontdesk-settings-module.h"
#endif

struct frontdesk_user_settings {
	struct mail_user *user;
#if FRONTDESK_DOVECOT24
	const struct frontdesk_registered_settings *set;
#endif
};

struct mail_user *
frontdesk_user_settings_user(struct frontdesk_user_settings *set)
{
	return set->user;
}

#if FRONTDESK_DOVECOT24
struct frontdesk_key_offset {
	const char *name;
	size_t offset;
};

#define FRONTDESK_KEY_OFFSET(name) \
	{ "frontdesk_"#name, \
	  offsetof(struct frontdesk_registered_settings, frontdesk_##name) },
static const struct frontdesk_key_offset frontdesk_key_offsets[] = {
	FRONTDESK_SETTING_KEYS(FRONTDESK_KEY_OFFSET)
};
/* keys whose empty value is a choice: "" is handed on as "" */
#define FRONTDESK_KEY_NAME(name, value) "frontdesk_"#name,
static const char *const frontdesk_empty_is_value[] = {
	FRONTDESK_SETTING_EMPTY_IS_VALUE(FRONTDESK_KEY_NAME)
};

static bool frontdesk_key_empty_is_value(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(frontdesk_empty_is_value); i++) {
		if (strcmp(frontdesk_empty_is_value[i], name) == 0)
			return TRUE;
	}
	return FALSE;
}

int frontdesk_user_settings_init(struct mail_user *user,
				 struct frontdesk_user_settings **set_r,
				 const char **error_r)
{
	const struct frontdesk_registered_settings *set;
	struct frontdesk_user_settings *fset;

	if (settings_get(user->event, &frontdesk_setting_parser_info, 0,
			 &set, error_r) < 0)
		return -1;
	fset = i_new(struct frontdesk_user_settings, 1);
	fset->user = user;
	fset->set = set;
	*set_r = fset;
	return 0;
}

void frontdesk_user_settings_deinit(struct frontdesk_user_settings **_fset)
{
	struct frontdesk_user_settings *fset = *_fset;

	if (fset == NULL)
		return;
	*_fset = NULL;
	settings_free(fset->set);
	i_free(fset);
}

const char *frontdesk_user_settings_getenv(const char *name, void *context)
{
	struct frontdesk_user_settings *fset = context;
	const char *value;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(frontdesk_key_offsets); i++) {
		if (strcmp(frontdesk_key_offsets[i].name, name) == 0) {
			value = *(const char *const *)
				CONST_PTR_OFFSET(fset->set,
						 frontdesk_key_offsets[i].offset);
			if (value == NULL || (*value == '\0' &&
					      !frontdesk_key_empty_is_value(name)))
				return NULL;
			return value;
		}
	}
	/* a key missing from frontdesk-setting-keys.h (the unit test
	   test_settings_keys catches it): unset, as it cannot be set */
	return NULL;
}

#else /* Dovecot 2.3 */

int frontdesk_user_settings_init(struct mail_user *user,
				 struct frontdesk_user_settings **set_r,
				 const char **error_r ATTR_UNUSED)
{
	struct frontdesk_user_settings *fset;

	fset = i_new(struct frontdesk_user_settings, 1);
	fset->user = user;
	*set_r = fset;
	return 0;
}

void frontdesk_user_settings_deinit(struct frontdesk_user_settings **_fset)
{
	i_free(*_fset);
}

const char *frontdesk_user_settings_getenv(const char *name, void *context)
{
	struct frontdesk_user_settings *fset = context;

	return mail_user_plugin_getenv(fset->user, name);
}
#endif
