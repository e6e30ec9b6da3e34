#ifndef FRONTDESK_COMPAT_H
#define FRONTDESK_COMPAT_H

/* Differences between Dovecot 2.3 and 2.4 that the core (libfrontdesk-core,
   the CLI, the tests) meets, in one place: the rest of the tree calls the
   names below and never tests the Dovecot version itself. The storage side
   (settings lookup, raw user, dict, storage settings) is in
   frontdesk-compat-storage.h; the table of differences is in README.md
   ("Dovecot 2.3 and 2.4"). Include after lib.h.

   Rules for code written against one line only:
   - str_begins(h, n) with two arguments is 2.3 only: write
     str_begins_with(h, n) (2.4's name, provided here for 2.3).
   - sizes and intervals: frontdesk_parse_size/_interval/_interval_msecs,
     never settings_get_size/settings_get_time (gone in 2.4).
   - JSON: frontdesk_json_read_object() below; the 2.3 json_parser and
     2.4 json_istream APIs are not compatible.
   - settings: only through frontdesk_settings_parse() and a getenv
     callback; every new frontdesk_* key also goes into
     modules/settings/frontdesk-setting-keys.h (a unit test checks).
   - smtp-submit: struct smtp_submit_input lost .ssl and .allow_root in 2.4
     (TLS is the submission_ssl setting): set only .event_parent, or add a
     FRONTDESK_SMTP_SUBMIT_INPUT_* helper here.
   - Sieve (src/sieve, Pigeonhole): sieve_extension_register() and a Sieve
     plugin's *_load() return int in 2.4 (a pointer / void in 2.3): wrap
     them in FRONTDESK_SIEVE_* macros here when that code is added. */

#include "macros.h"

/* json_append_escaped() has the same form in both, in different headers */
#if DOVECOT_PREREQ(2, 4, 0)
#  define FRONTDESK_DOVECOT24 1
#  include "str-parse.h"
#  include "json-types.h"
#  include "json-generator.h"
#else
#  define FRONTDESK_DOVECOT24 0
#  include "strfuncs.h"
#  include "settings-parser.h"
#  include "json-parser.h"
#endif

#if !FRONTDESK_DOVECOT24
/* 2.4 renamed the two-argument str_begins() to str_begins_with() */
static inline bool str_begins_with(const char *haystack, const char *needle)
{
	return strncmp(haystack, needle, strlen(needle)) == 0;
}
#endif

/* "10M", "30s", "500ms" as in dovecot.conf. All: 0 or -1 with error_r. */
#if FRONTDESK_DOVECOT24
#  define frontdesk_parse_size str_parse_get_size
#  define frontdesk_parse_interval str_parse_get_interval
#  define frontdesk_parse_interval_msecs str_parse_get_interval_msecs
#else
#  define frontdesk_parse_size settings_get_size
#  define frontdesk_parse_interval settings_get_time
#  define frontdesk_parse_interval_msecs settings_get_time_msecs
#endif

/* Called for each member of a flat JSON object whose value is a string,
   number, true, false or null: type is JSON_TYPE_STRING, _NUMBER, _TRUE,
   _FALSE or _NULL (the same names in both lines), value its text (NULL for
   null). Members that are objects or arrays are skipped. */
typedef void frontdesk_json_member_func_t(const char *key, enum json_type type,
					  const char *value, void *context);
/* Reads one JSON object from text (the whole string). Returns 0, or -1 with
   error_r when it is not a JSON object. */
int frontdesk_json_read_object(const char *text,
			       frontdesk_json_member_func_t *callback,
			       void *context, const char **error_r);
/* The same from size bytes of data (need not end in NUL). */
int frontdesk_json_read_object_data(const unsigned char *data, size_t size,
				    frontdesk_json_member_func_t *callback,
				    void *context, const char **error_r);

#endif
