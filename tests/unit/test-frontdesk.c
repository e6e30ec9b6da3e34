/* Unit tests of src/core with Dovecot's test-lib: one runner, one file per
   module. */

#include "lib.h"
#include "test-frontdesk.h"

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_text,
		test_view,
		test_model,
		test_settings,
		test_settings_registered,
		test_classify,
		test_guard,
		test_guard_machine,
		test_ack,
		test_hours,
		test_dkim,
		test_spool,
		test_state,
		test_weights,
		test_rspamd,
		test_compat_json,
		test_verdict,
		test_machine,
		test_machine_rules,
		NULL
	};
	return test_run(test_functions);
}
