/* Dovecot 2.4 settings module: registers every frontdesk_* key with the
   config process, so doveconf shows them and a misspelt key is a config
   error. Built twice: as lib95_frontdesk_settings.so for
   $moduledir/settings (the config process loads it and reads
   frontdesk_settings_set_infos) and into the plugin, which looks the
   settings up with settings_get(). The keys are listed once, in
   frontdesk-setting-keys.h. */

#include "lib.h"
#include "settings.h"
#include "settings-parser.h"
#include "frontdesk-settings-module.h"

#undef DEF
#define DEF(name) \
	SETTING_DEFINE_STRUCT_STR("frontdesk_"#name, frontdesk_##name, \
				  struct frontdesk_registered_settings),

static const struct setting_define frontdesk_setting_defines[] = {
	/* frontdesk_dict { dict NAME { ... } }: the shared state dict */
	{ .type = SET_FILTER_NAME, .key = FRONTDESK_STATE_FILTER, },
	FRONTDESK_SETTING_KEYS(DEF)
	SETTING_DEFINE_LIST_END
};

/* "" for the keys whose default the core knows (frontdesk-settings.c), then
   the real default of those whose empty value is a choice: the later
   initializer wins (C11 6.7.9) */
#define FRONTDESK_SETTING_DEFAULT(name) .frontdesk_##name = "",
#define FRONTDESK_SETTING_REAL_DEFAULT(name, value) .frontdesk_##name = value,
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const struct frontdesk_registered_settings frontdesk_default_settings = {
	FRONTDESK_SETTING_KEYS(FRONTDESK_SETTING_DEFAULT)
	FRONTDESK_SETTING_EMPTY_IS_VALUE(FRONTDESK_SETTING_REAL_DEFAULT)
};
#pragma GCC diagnostic pop

const struct setting_parser_info frontdesk_setting_parser_info = {
	.name = "frontdesk",
	.defines = frontdesk_setting_defines,
	.defaults = &frontdesk_default_settings,
	.struct_size = sizeof(struct frontdesk_registered_settings),
	.pool_offset1 = 1 + offsetof(struct frontdesk_registered_settings, pool),
};

/* Default config the config process adds: a state dict request may take a
   third of the default frontdesk_state_timeout (500ms), as on 2.3 where
   the plugin puts it into the redis URI. An admin's redis_request_timeout
   inside frontdesk_dict { } wins. */
const char *frontdesk_settings_config_import =
	FRONTDESK_STATE_FILTER" {\n"
	"  redis_request_timeout = 166ms\n"
	"}\n";

/* what the config process looks up in lib95_frontdesk_settings.so */
const char *frontdesk_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *frontdesk_settings_set_infos[] = {
	&frontdesk_setting_parser_info,
	NULL
};
