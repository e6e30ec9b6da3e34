/* frontdesk_json_read_object() (src/compat): the same members, types and
   texts on Dovecot 2.3 and 2.4, and no crash on what a hostile sender or a
   broken scanner writes (numbers, true/false/null, "\u0000", nesting). */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "test-frontdesk.h"

static void collect(const char *key, enum json_type type, const char *value,
		    void *context)
{
	string_t *out = context;
	const char *t;

	switch (type) {
	case JSON_TYPE_STRING: t = "s"; break;
	case JSON_TYPE_NUMBER: t = "n"; break;
	case JSON_TYPE_TRUE: t = "t"; break;
	case JSON_TYPE_FALSE: t = "f"; break;
	case JSON_TYPE_NULL: t = "0"; break;
	default: t = "?"; break;
	}
	str_printfa(out, "%s:%s=%s;", key, t, value == NULL ? "(null)" : value);
}

void test_compat_json(void)
{
	static const struct {
		const char *json, *members;
		int ret;
	} tests[] = {
		{ "{\"a\":\"x\",\"b\":5,\"c\":-1.5,\"d\":true,\"e\":false,"
		  "\"f\":null}",
		  "a:s=x;b:n=5;c:n=-1.5;d:t=true;e:f=false;f:0=(null);", 0 },
		/* nested values are skipped as a whole */
		{ "{\"o\":{\"a\":1,\"b\":[1,{\"c\":2}]},\"l\":[1,2],\"z\":7}",
		  "z:n=7;", 0 },
		/* a NUL inside a string: refused (2.3's parser does), never
		   a crash (2.4 gives it as data, not a string) */
		{ "{\"a\":\"x\\u0000y\",\"b\":2}", NULL, -1 },
		{ "{\"big\":123456789012345678901234567890}",
		  "big:n=123456789012345678901234567890;", 0 },
		{ "[1,2]", "", -1 },
		{ "{\"a\":", NULL, -1 },
		{ "", "", -1 },
	};
	string_t *out = t_str_new(128);
	const char *error;
	unsigned int i;
	int ret;

	test_begin("compat: JSON object members, types and hostile values");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		str_truncate(out, 0);
		error = NULL;
		ret = frontdesk_json_read_object(tests[i].json, collect, out,
						 &error);
		test_assert_idx(ret == tests[i].ret, i);
		test_assert_idx(ret == 0 || error != NULL, i);
		if (tests[i].members != NULL && ret == 0)
			test_assert_strcmp_idx(str_c(out), tests[i].members, i);
	}
	test_end();
}
