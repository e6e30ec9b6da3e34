#ifndef FRONTDESK_COMPAT_DICT_H
#define FRONTDESK_COMPAT_DICT_H

/* Opening frontdesk's state dict on Dovecot 2.3 and 2.4
   (frontdesk-compat-dict.c, part of the core). */

#include "frontdesk-compat.h"

struct dict;
struct event;

/* The shared-state dict of frontdesk_ack_dict. 2.3: the value is a dict URI
   ("redis:host=..."), request_msecs is passed to redis as timeout_msecs;
   2.4: any non-empty value means the dict {} configured inside
   frontdesk_dict { } (redis_request_timeout there). */
int frontdesk_dict_init(const char *uri, const char *base_dir,
			unsigned int request_msecs, struct event *event,
			struct dict **dict_r, const char **error_r);

#endif
