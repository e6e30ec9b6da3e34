/* Tests for frontdesk-settings and frontdesk-config: defaults, validation
   messages that name the setting, and reading plugin { } from a file. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "array.h"
#include "test-frontdesk.h"
#include "frontdesk-settings.h"
#include "frontdesk-config.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char *const *test_env;

static const char *env_get(const char *name, void *context ATTR_UNUSED)
{
	const char *const *p;
	size_t len = strlen(name);

	for (p = test_env; p != NULL && *p != NULL; p++) {
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			return *p + len + 1;
	}
	return NULL;
}

static int parse(const char *const *env, struct frontdesk_settings **set_r,
		 const char **error_r)
{
	test_env = env;
	return frontdesk_settings_parse(pool_datastack_create(), env_get, NULL,
					set_r, error_r);
}

static void test_settings_defaults(void)
{
	struct frontdesk_settings *set;
	const char *error;
	const char *const env[] = { NULL };

	test_begin("settings defaults");
	test_assert(parse(env, &set, &error) == 0);
	test_assert(!set->enabled);
	test_assert_strcmp(set->folder_front, "FrontOffice");
	test_assert_strcmp(set->folder_back, "BackOffice");
	test_assert(array_count(&set->needs) == 10);
	test_assert(frontdesk_settings_find_need(set, "billing")->office ==
		    FRONTDESK_OFFICE_BACK);
	test_assert(frontdesk_settings_find_need(set, "complaint")->office ==
		    FRONTDESK_OFFICE_FRONT);
	test_assert(set->unsure_threshold > 0.39 && set->unsure_threshold < 0.41);
	test_assert(set->limits.max_body_bytes == 64*1024);
	test_end();
}

static void test_settings_errors(void)
{
	static const struct {
		const char *env[3];
		const char *error;
	} tests[] = {
		{ { "frontdesk_enabled=maybe" }, "frontdesk_enabled: 'maybe'" },
		{ { "frontdesk_unsure_threshold=banana" },
		  "frontdesk_unsure_threshold: 'banana' is not a number" },
		{ { "frontdesk_unsure_threshold=1.5" },
		  "frontdesk_unsure_threshold: '1.5'" },
		{ { "frontdesk_needs=billing:middle" },
		  "frontdesk_needs: office of 'billing'" },
		{ { "frontdesk_needs=billing" }, "frontdesk_needs: 'billing'" },
		{ { "frontdesk_needs=a:front a:back" },
		  "frontdesk_needs: 'a' listed twice" },
		{ { "frontdesk_needs=urgent:front" },
		  "frontdesk_needs: 'urgent' cannot" },
		{ { "frontdesk_folder_back=" }, "frontdesk_folder_back: ''" },
		{ { "frontdesk_max_body_size=10" },
		  "frontdesk_max_body_size: '10' is out of range" },
		{ { "frontdesk_max_message_size=lots" },
		  "frontdesk_max_message_size: " },
		{ { "frontdesk_keyword_prefix=fd(" },
		  "frontdesk_keyword_prefix: 'fd('" },
		{ { "frontdesk_ack=maybe" }, "frontdesk_ack: 'maybe' is not yes" },
		{ { "frontdesk_ack_from=Support <s@example.com>" },
		  "frontdesk_ack_from: 'Support <s@example.com>' is not a plain" },
		{ { "frontdesk_ack_from=support@" },
		  "frontdesk_ack_from: 'support@' is not a plain" },
		{ { "frontdesk_addresses=support@example.com support@" },
		  "frontdesk_addresses: 'support@' is not an address" },
		{ { "frontdesk_addresses=@example.com" },
		  "frontdesk_addresses: '@example.com' is not an address" },
		{ { "frontdesk_ack_return_path=sender" },
		  "frontdesk_ack_return_path: 'sender'" },
		{ { "frontdesk_ticket_prefix=F-D" }, "frontdesk_ticket_prefix: 'F-D'" },
		{ { "frontdesk_ack_sender_limit=-1" },
		  "frontdesk_ack_sender_limit: '-1' is not a whole number" },
		{ { "frontdesk_ack_retry_lifetime=forever" },
		  "frontdesk_ack_retry_lifetime: " },
		{ { "frontdesk_response_time=1d" }, "frontdesk_response_time: " },
		{ { "frontdesk_business_hours=mo-fr 9-5" },
		  "frontdesk_business_hours, frontdesk_holidays or frontdesk_timezone: " },
		{ { "frontdesk_timezone=../etc/passwd" },
		  "frontdesk_business_hours, frontdesk_holidays or frontdesk_timezone: " },
		{ { "frontdesk_holidays=13-45" },
		  "frontdesk_business_hours, frontdesk_holidays or frontdesk_timezone: " },
		{ { "frontdesk_dkim_key=/k.pem" }, "frontdesk_dkim_key needs" },
		{ { "frontdesk_state_timeout=soon" }, "frontdesk_state_timeout: " },
		{ { "frontdesk_state_timeout=0" },
		  "frontdesk_state_timeout: '0' is not from 10ms to 60s" },
		{ { "frontdesk_state_timeout=5m" },
		  "frontdesk_state_timeout: '5m' is not from 10ms to 60s" },
	};
	struct frontdesk_settings *set;
	const char *error;
	unsigned int i;

	test_begin("settings errors name the setting");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		test_assert_idx(parse(tests[i].env, &set, &error) < 0, i);
		test_assert_idx(str_begins_with(error, tests[i].error), i);
	}
	test_end();

	test_begin("settings custom values");
	{
		const char *const env[] = {
			"frontdesk_enabled=yes",
			"frontdesk_needs=tyres:back booking:front",
			"frontdesk_max_body_size=128k", NULL
		};
		test_assert(parse(env, &set, &error) == 0);
		test_assert(set->enabled);
		test_assert(array_count(&set->needs) == 2);
		test_assert(set->limits.max_body_bytes == 128*1024);
		/* acknowledgments are on by default, with safe limits */
		test_assert(set->ack.mode == FRONTDESK_ACK_YES);
		test_assert(set->ack.null_return_path);
		test_assert(set->ack.sender_limit == 3);
		test_assert(set->ack.global_limit == 300);
		test_assert(set->ack.response_secs == 8*3600);
		test_assert(set->ack.retry_lifetime_secs == 2*86400);
		/* a hung state store holds a delivery well under a second */
		test_assert(set->ack.state_timeout_msecs == 500);
	}
	{
		const char *const env[] = {
			"frontdesk_ack=shadow", "frontdesk_ack_return_path=from",
			"frontdesk_response_time_urgent=90m",
			"frontdesk_state_timeout=2s", NULL
		};
		test_assert(parse(env, &set, &error) == 0);
		test_assert(set->ack.mode == FRONTDESK_ACK_SHADOW);
		test_assert(!set->ack.null_return_path);
		test_assert(set->ack.urgent_response_secs == 90*60);
		test_assert(set->ack.state_timeout_msecs == 2000);
	}
	test_end();
}

static void test_config_file(void)
{
	const char *dir = t_strdup_printf("/tmp/fdtest-%d", (int)getpid());
	const char *path = t_strconcat(dir, "/dovecot.conf", NULL);
	const char *inc = t_strconcat(dir, "/90-frontdesk.conf", NULL);
	struct frontdesk_config *config;
	const char *error;
	pool_t pool = pool_alloconly_create("config", 1024);
	FILE *f;

	test_begin("config reads plugin { } with includes");
	(void)mkdir(dir, 0700);
	f = fopen(path, "w");
	fprintf(f, "protocols = lmtp # comment\n"
		"frontdesk_enabled = top-level-ignored\n"
		"protocol lmtp {\n  mail_plugins = $mail_plugins frontdesk\n"
		"  plugin {\n    frontdesk_folder_front = Wrong\n  }\n}\n"
		"!include_try %s/missing-*.conf\n!include 90-frontdesk.conf\n",
		dir);
	fclose(f);
	f = fopen(inc, "w");
	fprintf(f, "plugin {\n  frontdesk_enabled = yes\n"
		"  frontdesk_folder_front = \"Front Desk\" # quoted\n"
		"  frontdesk_rules = /etc/x#y\n}\n");
	fclose(f);
	test_assert(frontdesk_config_read(pool, path, &config, &error) == 0);
	test_assert_strcmp(frontdesk_config_getenv("frontdesk_enabled", config),
			   "yes");
	test_assert_strcmp(frontdesk_config_getenv("frontdesk_folder_front",
						   config), "Front Desk");
	test_assert_strcmp(frontdesk_config_getenv("frontdesk_rules", config),
			   "/etc/x");
	test_assert(frontdesk_config_getenv("mail_plugins", config) == NULL);
	test_end();

	test_begin("config errors");
	f = fopen(inc, "w");
	fprintf(f, "plugin {\n  frontdesk_enabled = yes\n");
	fclose(f);
	test_assert(frontdesk_config_read(pool, path, &config, &error) < 0);
	test_assert(strstr(error, "not closed") != NULL);
	test_assert(frontdesk_config_read(pool, "/nonexistent.conf", &config,
					  &error) < 0);
	test_assert(strstr(error, "/nonexistent.conf") != NULL);
	test_end();
	(void)unlink(path);
	(void)unlink(inc);
	(void)rmdir(dir);
	pool_unref(&pool);
}

void test_settings(void)
{
	test_settings_defaults();
	test_settings_errors();
	test_config_file();
}
