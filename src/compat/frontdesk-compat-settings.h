#ifndef FRONTDESK_COMPAT_SETTINGS_H
#define FRONTDESK_COMPAT_SETTINGS_H

/* Reading a user's frontdesk_* settings on Dovecot 2.3 and 2.4, one API
   (frontdesk-compat-settings.c); used by the delivery plugin, the Sieve
   extension and doveadm. */

#include "frontdesk-compat.h"

struct mail_user;
struct frontdesk_user_settings;

/* The user's frontdesk_* settings as a frontdesk_settings_parse() source.
   2.3: plugin {} and userdb fields (mail_user_plugin_getenv); 2.4: the
   registered settings (settings_get(), which applies userdb fields too).
   Returns 0, or -1 with error_r. Free with frontdesk_user_settings_deinit()
   when the user goes. */
int frontdesk_user_settings_init(struct mail_user *user,
				 struct frontdesk_user_settings **set_r,
				 const char **error_r);
void frontdesk_user_settings_deinit(struct frontdesk_user_settings **set);
/* A frontdesk_getenv_func_t over it: NULL for a key that is not set (on
   2.4 an empty value counts as not set: every key defaults to ""). */
const char *frontdesk_user_settings_getenv(const char *name, void *context);

/* The user the settings were read for. */
struct mail_user *
frontdesk_user_settings_user(struct frontdesk_user_settings *set);

#endif
