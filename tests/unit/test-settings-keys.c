/* The registered key table (modules/settings/frontdesk-setting-keys.h)
   against what frontdesk_settings_parse() really reads: on Dovecot 2.4 a
   key missing from the table can never be set (the config process rejects
   it), so a key added to the parser without a line in the table fails here,
   on either Dovecot line. */

#include "lib.h"
#include "array.h"
#include "frontdesk-compat.h"
#include "test-frontdesk.h"
#include "frontdesk-settings.h"
#include "frontdesk-setting-keys.h"

#define TABLE_KEY(name) "frontdesk_"#name,
static const char *const table_keys[] = {
	FRONTDESK_SETTING_KEYS(TABLE_KEY)
};

struct recorder {
	ARRAY_TYPE(const_string) read;
	const char *const *env;
};

static const char *recording_getenv(const char *name, void *context)
{
	struct recorder *rec = context;
	const char *const *p;
	size_t len = strlen(name);

	if (!array_lsearch(&rec->read, &name, i_strcmp_p))
		array_push_back(&rec->read, &name);
	for (p = rec->env; *p != NULL; p++) {
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	}
	return NULL;
}

static bool in_table(const char *key)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(table_keys); i++) {
		if (strcmp(table_keys[i], key) == 0)
			return TRUE;
	}
	return FALSE;
}

static void test_settings_keys(void)
{
	/* the defaults, then everything switched on, so that keys read
	   only in a branch are read too */
	static const char *const env_defaults[] = { NULL };
	static const char *const env_on[] = {
		"frontdesk_enabled=yes", "frontdesk_ack=yes",
		"frontdesk_addresses=support@example.com",
		"frontdesk_ack_from=support@example.com",
		"frontdesk_dkim_key=/nonexistent/key.pem",
		"frontdesk_dkim_domain=example.com",
		"frontdesk_dkim_selector=fd",
		NULL
	};
	struct frontdesk_settings *set;
	struct recorder rec;
	const char *const *key, *error;
	unsigned int i;

	test_begin("settings keys: the registered table is what is read");
	t_array_init(&rec.read, 64);
	rec.env = env_defaults;
	test_assert(frontdesk_settings_parse(pool_datastack_create(),
		recording_getenv, &rec, &set, &error) == 0);
	rec.env = env_on;
	(void)frontdesk_settings_parse(pool_datastack_create(),
		recording_getenv, &rec, &set, &error);

	array_foreach(&rec.read, key) {
		if (!in_table(*key)) {
			i_error("%s is read by frontdesk_settings_parse() but "
				"missing from modules/settings/"
				"frontdesk-setting-keys.h", *key);
			test_assert(FALSE);
		}
	}
	for (i = 0; i < N_ELEMENTS(table_keys); i++) {
		const char *name = table_keys[i];

		if (str_begins_with(name, FRONTDESK_DICT_FILTER"_")) {
			i_error("%s starts with the filter name "
				FRONTDESK_DICT_FILTER": Dovecot 2.4 would read "
				"it as a setting inside that filter", name);
			test_assert(FALSE);
		}

		if (!array_lsearch(&rec.read, &name, i_strcmp_p)) {
			i_error("%s is in frontdesk-setting-keys.h but never "
				"read by frontdesk_settings_parse()", name);
			test_assert(FALSE);
		}
	}
	test_end();
}

static void test_settings_empty_is_value(void)
{
#define EMPTY_KEY(name, value) "frontdesk_"#name,
	static const char *const empty_keys[] = {
		FRONTDESK_SETTING_EMPTY_IS_VALUE(EMPTY_KEY)
	};
	static const char *const env_unset[] = {
		"frontdesk_enabled=yes", NULL
	};
	static const char *const env_empty[] = {
		"frontdesk_enabled=yes", "frontdesk_folder_machine=",
		"frontdesk_weights=", NULL
	};
	struct frontdesk_settings *set;
	struct recorder rec;
	const char *error;
	unsigned int i;

	test_begin("settings keys: an empty value that is a choice");
	/* the keys whose empty value the 2.4 glue hands on are real keys */
	for (i = 0; i < N_ELEMENTS(empty_keys); i++)
		test_assert_idx(in_table(empty_keys[i]), i);
	t_array_init(&rec.read, 64);
	/* unset: the default the 2.4 module registers too */
	rec.env = env_unset;
	test_assert(frontdesk_settings_parse(pool_datastack_create(),
		recording_getenv, &rec, &set, &error) == 0);
	test_assert_strcmp(set->folder_machine,
			   FRONTDESK_DEFAULT_FOLDER_MACHINE);
	test_assert_strcmp(set->weights_path, FRONTDESK_WEIGHTS_PATH);
	/* empty: machine mail stays where it is; no learned weights */
	rec.env = env_empty;
	test_assert(frontdesk_settings_parse(pool_datastack_create(),
		recording_getenv, &rec, &set, &error) == 0);
	test_assert_strcmp(set->folder_machine, "");
	test_assert_strcmp(set->weights_path, "");
	test_end();
}

void test_settings_registered(void)
{
	test_settings_keys();
	test_settings_empty_is_value();
}
