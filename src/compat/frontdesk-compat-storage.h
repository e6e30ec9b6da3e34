#ifndef FRONTDESK_COMPAT_STORAGE_H
#define FRONTDESK_COMPAT_STORAGE_H

/* Dovecot 2.3 / 2.4 differences that the plugin meets in lib-storage,
   lib-dict and the settings: each one behind one function here
   (frontdesk-compat-storage.c), so the plugin sources have no version
   tests. See frontdesk-compat.h for the core's. */

#include "frontdesk-compat.h"
#include "frontdesk-settings.h"

struct mail_user;
struct dict;
struct event;
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

/* The raw mail user that parses a mail outside any mailbox. */
struct mail_user *frontdesk_raw_user_create(struct mail_user *user);

/* Whether the user's mail_fsync is "always". */
bool frontdesk_user_fsync_always(struct mail_user *user);

/* The shared-state dict of frontdesk_ack_dict. 2.3: the value is a dict URI
   ("redis:host=..."), request_msecs is passed to redis as timeout_msecs;
   2.4: any non-empty value means the dict {} configured inside
   frontdesk_dict { } (redis_request_timeout there). */
int frontdesk_dict_init(const char *uri, const char *base_dir,
			unsigned int request_msecs, struct event *event,
			struct dict **dict_r, const char **error_r);

#endif
