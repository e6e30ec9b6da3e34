#ifndef FRONTDESK_COMPAT_STORAGE_H
#define FRONTDESK_COMPAT_STORAGE_H

/* Dovecot 2.3 / 2.4 differences that the plugin meets in lib-storage,
   lib-dict and the settings: each one behind one function here
   (frontdesk-compat-storage.c), so the plugin sources have no version
   tests. See frontdesk-compat.h for the core's. */

#include "frontdesk-compat.h"
#include "frontdesk-settings.h"
#include "frontdesk-compat-settings.h"
#include "frontdesk-compat-dict.h"

struct mail_user;
struct dict;
struct event;

/* The raw mail user that parses a mail outside any mailbox. */
struct mail_user *frontdesk_raw_user_create(struct mail_user *user);

/* Whether the user's mail_fsync is "always". */
bool frontdesk_user_fsync_always(struct mail_user *user);

#endif
