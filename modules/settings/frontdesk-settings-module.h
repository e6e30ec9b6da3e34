#ifndef FRONTDESK_SETTINGS_MODULE_H
#define FRONTDESK_SETTINGS_MODULE_H

/* Dovecot 2.4 only: frontdesk's registered settings, one string per key of
   frontdesk-setting-keys.h ("" = not set). */

#include "frontdesk-setting-keys.h"

struct frontdesk_registered_settings {
	pool_t pool;
#define FRONTDESK_SETTING_MEMBER(name) const char *frontdesk_##name;
	FRONTDESK_SETTING_KEYS(FRONTDESK_SETTING_MEMBER)
#undef FRONTDESK_SETTING_MEMBER
};

/* the filter whose dict {} frontdesk_ack_dict uses on 2.4 */
#define FRONTDESK_STATE_FILTER FRONTDESK_DICT_FILTER

extern const struct setting_parser_info frontdesk_setting_parser_info;

#endif
