/* Tests for frontdesk-hours. Times in the tables are local times written
   with their UTC offset ("2026-03-30 16:00 +0200") and converted here with
   plain arithmetic, so the expected instants do not depend on the code
   under test; the offsets were taken from the tz database (date(1)). */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "utc-mktime.h"
#include "test-frontdesk.h"
#include "frontdesk-hours.h"

#include <stdio.h>
#include <time.h>

#define MON_FRI "mon-fri 09:00-18:00"
#define SPLIT "mon-thu 08:30-12:30 14:00-18:00; fri 08:30-13:00"
#define ALWAYS "mon-sun 00:00-24:00"
#define HOLIDAYS "01-01 12-25 12-26 2026-04-06"
#define ROME "Europe/Rome"
#define NEW_YORK "America/New_York"

struct test_local {
	int year, month, day, hour, minute, weekday;
	time_t t;
};

/* "YYYY-MM-DD HH:MM +HHMM" -> the instant and its local fields */
static struct test_local test_local(const char *str)
{
	struct test_local l;
	struct tm tm;
	char sign;
	int off;
	time_t local;

	i_zero(&l);
	if (sscanf(str, "%d-%d-%d %d:%d %c%d", &l.year, &l.month, &l.day,
		   &l.hour, &l.minute, &sign, &off) != 7)
		i_panic("bad test time '%s'", str);
	i_zero(&tm);
	tm.tm_year = l.year - 1900;
	tm.tm_mon = l.month - 1;
	tm.tm_mday = l.day;
	tm.tm_hour = l.hour;
	tm.tm_min = l.minute;
	local = utc_mktime(&tm);
	/* the weekday of a local date does not depend on the zone */
	i_assert(gmtime_r(&local, &tm) != NULL);
	l.weekday = tm.tm_wday;
	off = (off / 100) * 3600 + (off % 100) * 60;
	l.t = local - (sign == '-' ? -off : off);
	return l;
}

static struct frontdesk_hours *
test_parse(pool_t pool, const char *hours_str, const char *holidays,
	   const char *tz)
{
	struct frontdesk_hours *hours = NULL;
	const char *error = NULL;

	if (frontdesk_hours_parse(pool, hours_str, holidays, tz, &hours,
				  &error) < 0)
		i_error("parse('%s', '%s', '%s') failed: %s",
			hours_str, holidays, tz, error);
	return hours;
}

static const struct {
	const char *hours, *holidays, *tz;
	const char *now, *response, *deadline;
	enum frontdesk_when_kind kind;
} deadline_tests[] = {
	/* inside hours, before opening, after closing (Tue 2026-01-13) */
	{ MON_FRI, "", ROME, "2026-01-13 10:00 +0100", "2h",
	  "2026-01-13 12:00 +0100", FRONTDESK_WHEN_TODAY },
	{ MON_FRI, "", ROME, "2026-01-13 14:00 +0100", "8h",
	  "2026-01-14 13:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ MON_FRI, "", ROME, "2026-01-13 07:30 +0100", "2h",
	  "2026-01-13 11:00 +0100", FRONTDESK_WHEN_TODAY },
	{ MON_FRI, "", ROME, "2026-01-13 19:00 +0100", "2h",
	  "2026-01-14 11:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ MON_FRI, "", ROME, "2026-01-13 00:00 +0100", "1h",
	  "2026-01-13 10:00 +0100", FRONTDESK_WHEN_TODAY },
	{ MON_FRI, "", ROME, "2026-01-13 17:15 +0100", "2h30m",
	  "2026-01-14 10:45 +0100", FRONTDESK_WHEN_TOMORROW },
	/* a deadline on the closing time stays there */
	{ MON_FRI, "", ROME, "2026-01-13 10:00 +0100", "8h",
	  "2026-01-13 18:00 +0100", FRONTDESK_WHEN_TODAY },
	/* arriving on the closing time is arriving after hours */
	{ MON_FRI, "", ROME, "2026-01-13 18:00 +0100", "1h",
	  "2026-01-14 10:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ MON_FRI, "", ROME, "2026-01-13 09:00 +0100", "30m",
	  "2026-01-13 09:30 +0100", FRONTDESK_WHEN_TODAY },
	/* friday evening -> monday; weekend */
	{ MON_FRI, "", ROME, "2026-01-16 18:30 +0100", "8h",
	  "2026-01-19 17:00 +0100", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, "", ROME, "2026-01-16 16:00 +0100", "8h",
	  "2026-01-19 15:00 +0100", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, "", ROME, "2026-01-17 11:00 +0100", "1h",
	  "2026-01-19 10:00 +0100", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, "", ROME, "2026-01-18 22:00 +0100", "1h",
	  "2026-01-19 10:00 +0100", FRONTDESK_WHEN_TOMORROW },
	/* 8+9+9+9+9 hours, then one more: next Tuesday = 7 days on */
	{ MON_FRI, "", ROME, "2026-01-13 10:00 +0100", "45h",
	  "2026-01-20 10:00 +0100", FRONTDESK_WHEN_LATER },

	/* split day with a lunch break, short friday */
	{ SPLIT, "", ROME, "2026-01-12 12:00 +0100", "1h",
	  "2026-01-12 14:30 +0100", FRONTDESK_WHEN_TODAY },
	{ SPLIT, "", ROME, "2026-01-12 13:00 +0100", "1h",
	  "2026-01-12 15:00 +0100", FRONTDESK_WHEN_TODAY },
	{ SPLIT, "", ROME, "2026-01-15 17:00 +0100", "2h",
	  "2026-01-16 09:30 +0100", FRONTDESK_WHEN_TOMORROW },
	{ SPLIT, "", ROME, "2026-01-16 12:00 +0100", "2h",
	  "2026-01-19 09:30 +0100", FRONTDESK_WHEN_WEEK },
	{ SPLIT, "", ROME, "2026-01-16 13:00 +0100", "4h",
	  "2026-01-19 12:30 +0100", FRONTDESK_WHEN_WEEK },

	/* recurring holidays (Wed 2025-12-24, Thu 2026-12-24) */
	{ MON_FRI, HOLIDAYS, ROME, "2025-12-24 17:00 +0100", "2h",
	  "2025-12-29 10:00 +0100", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, HOLIDAYS, ROME, "2026-12-24 17:00 +0100", "2h",
	  "2026-12-28 10:00 +0100", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, HOLIDAYS, ROME, "2025-12-31 17:00 +0100", "2h",
	  "2026-01-02 10:00 +0100", FRONTDESK_WHEN_WEEK },
	/* one-off holiday on the monday after a weekend (Easter Monday) */
	{ MON_FRI, HOLIDAYS, ROME, "2026-04-03 17:00 +0200", "2h",
	  "2026-04-07 10:00 +0200", FRONTDESK_WHEN_WEEK },
	/* ... which does not recur: 2027-04-06 is a working Tuesday */
	{ MON_FRI, HOLIDAYS, ROME, "2027-04-05 17:00 +0200", "2h",
	  "2027-04-06 10:00 +0200", FRONTDESK_WHEN_TOMORROW },
	/* 02-29 recurring, in a leap year */
	{ MON_FRI, "02-29", ROME, "2028-02-28 17:00 +0100", "2h",
	  "2028-03-01 10:00 +0100", FRONTDESK_WHEN_WEEK },

	/* day lists: Tue and Thu closed; fri-mon wraps over the weekend */
	{ "mon,wed,fri 09:00-13:00", "", ROME, "2026-01-12 12:00 +0100",
	  "2h", "2026-01-14 10:00 +0100", FRONTDESK_WHEN_WEEK },
	{ "mon wed, fri 09:00-13:00", "", ROME, "2026-01-14 12:00 +0100",
	  "2h", "2026-01-16 10:00 +0100", FRONTDESK_WHEN_WEEK },
	{ "fri-mon 10:00-12:00", "", ROME, "2026-01-16 11:00 +0100", "3h",
	  "2026-01-17 12:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ "Mon-Fri 09:00-12:00 12:00-18:00;", "", ROME,
	  "2026-01-13 11:00 +0100", "3h", "2026-01-13 14:00 +0100",
	  FRONTDESK_WHEN_TODAY },

	/* 24/7, also over the nights the clocks change: real hours count */
	{ ALWAYS, "", ROME, "2026-01-17 23:00 +0100", "2h",
	  "2026-01-18 01:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ ALWAYS, "", ROME, "2026-03-28 23:30 +0100", "3h",
	  "2026-03-29 03:30 +0200", FRONTDESK_WHEN_TOMORROW },
	{ ALWAYS, "", ROME, "2026-10-24 23:30 +0200", "4h",
	  "2026-10-25 02:30 +0100", FRONTDESK_WHEN_TOMORROW },
	{ ALWAYS, "", ROME, "2026-03-29 00:00 +0100", "23h",
	  "2026-03-30 00:00 +0200", FRONTDESK_WHEN_TOMORROW },
	{ ALWAYS, "", ROME, "2026-10-25 00:00 +0200", "25h",
	  "2026-10-26 00:00 +0100", FRONTDESK_WHEN_TOMORROW },
	{ ALWAYS, "", NEW_YORK, "2026-03-08 01:00 -0500", "2h",
	  "2026-03-08 04:00 -0400", FRONTDESK_WHEN_TODAY },
	{ ALWAYS, "", NEW_YORK, "2026-11-01 00:30 -0400", "2h",
	  "2026-11-01 01:30 -0500", FRONTDESK_WHEN_TODAY },

	/* DST weeks: monday opens at 09:00 local, whatever the offset */
	{ MON_FRI, "", ROME, "2026-03-27 17:00 +0100", "8h",
	  "2026-03-30 16:00 +0200", FRONTDESK_WHEN_WEEK },
	{ MON_FRI, "", ROME, "2026-10-23 17:00 +0200", "8h",
	  "2026-10-26 16:00 +0100", FRONTDESK_WHEN_WEEK },
	{ "mon-fri 09:00-17:00", "", NEW_YORK, "2026-03-06 16:00 -0500",
	  "3h", "2026-03-09 11:00 -0400", FRONTDESK_WHEN_WEEK },
	{ "mon-fri 09:00-17:00", "", NEW_YORK, "2026-10-30 16:00 -0400",
	  "3h", "2026-11-02 11:00 -0500", FRONTDESK_WHEN_WEEK },
	/* the same desk in UTC has no clock change */
	{ MON_FRI, "", "UTC", "2026-03-27 17:00 +0000", "8h",
	  "2026-03-30 16:00 +0000", FRONTDESK_WHEN_WEEK },
	/* 09:00 Rome is before a UTC desk opens */
	{ MON_FRI, "", "UTC", "2026-01-13 08:00 +0000", "1h",
	  "2026-01-13 10:00 +0000", FRONTDESK_WHEN_TODAY },
};

static void test_hours_deadline(void)
{
	pool_t pool = pool_alloconly_create("test hours", 4096);
	struct frontdesk_hours *hours;
	struct frontdesk_when when;
	struct test_local now, expected;
	const char *error;
	unsigned int i, secs;
	time_t deadline;

	test_begin("hours deadline");
	for (i = 0; i < N_ELEMENTS(deadline_tests); i++) {
		hours = test_parse(pool, deadline_tests[i].hours,
				   deadline_tests[i].holidays,
				   deadline_tests[i].tz);
		test_assert_idx(hours != NULL, i);
		test_assert_idx(frontdesk_hours_parse_duration(
			deadline_tests[i].response, &secs, &error) == 0, i);
		if (hours == NULL)
			continue;
		now = test_local(deadline_tests[i].now);
		expected = test_local(deadline_tests[i].deadline);
		deadline = frontdesk_hours_deadline(hours, now.t, secs);
		test_assert_cmp_idx((long long)deadline, ==,
				    (long long)expected.t, i);

		/* and in words: the local fields must be the zone's */
		frontdesk_hours_describe(hours, now.t, deadline, &when);
		test_assert_idx(when.kind == deadline_tests[i].kind, i);
		test_assert_idx(when.year == expected.year &&
				when.month == expected.month &&
				when.day == expected.day &&
				when.hour == expected.hour &&
				when.minute == expected.minute &&
				when.weekday == expected.weekday, i);
	}
	test_end();
	pool_unref(&pool);
}

/* A mail outside hours starts counting at the next opening: with nothing
   to count, that opening is the deadline; inside hours it is now. */
static void test_hours_deadline_zero(void)
{
	pool_t pool = pool_alloconly_create("test hours", 1024);
	struct frontdesk_hours *hours = test_parse(pool, MON_FRI, "", ROME);

	test_begin("hours deadline from the next opening");
	test_assert(frontdesk_hours_deadline(hours,
		test_local("2026-01-17 11:00 +0100").t, 0) ==
		test_local("2026-01-19 09:00 +0100").t);
	test_assert(frontdesk_hours_deadline(hours,
		test_local("2026-01-13 11:00 +0100").t, 0) ==
		test_local("2026-01-13 11:00 +0100").t);
	test_end();
	pool_unref(&pool);
}

/* Every MM-DD of a leap year, optionally leaving one out. */
static const char *every_day_but(int skip_month, int skip_day)
{
	static const int mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	string_t *str = t_str_new(366 * 6);
	int m, d;

	for (m = 1; m <= 12; m++) {
		for (d = 1; d <= mdays[m - 1]; d++) {
			if (m != skip_month || d != skip_day)
				str_printfa(str, "%02d-%02d ", m, d);
		}
	}
	return str_c(str);
}

static void test_hours_pathological(void)
{
	pool_t pool = pool_alloconly_create("test hours", 16384);
	struct frontdesk_hours *hours;
	time_t now = test_local("2026-01-01 10:00 +0100").t;
	const unsigned int max = FRONTDESK_HOURS_MAX_DURATION_SECS;

	test_begin("hours without business hours fall back to wall-clock");
	/* no hours at all */
	hours = test_parse(pool, "", "", ROME);
	test_assert(hours != NULL &&
		    frontdesk_hours_deadline(hours, now, 3600) == now + 3600);
	/* every day a holiday */
	hours = test_parse(pool, ALWAYS, every_day_but(0, 0), ROME);
	test_assert(hours != NULL &&
		    frontdesk_hours_deadline(hours, now, 7200) == now + 7200);
	/* one minute a week cannot hold 1000 hours within 400 days */
	hours = test_parse(pool, "mon 09:00-09:01", "", ROME);
	test_assert(hours != NULL &&
		    frontdesk_hours_deadline(hours, now, max) == now + max);
	/* but one open day a year is found, 364 days on */
	hours = test_parse(pool, ALWAYS, every_day_but(12, 31), ROME);
	test_assert(hours != NULL &&
		    frontdesk_hours_deadline(hours, now, 3600) ==
		    test_local("2026-12-31 01:00 +0100").t);
	test_end();
	pool_unref(&pool);
}

static const struct {
	const char *tz, *now, *deadline;
	enum frontdesk_when_kind kind;
} describe_tests[] = {
	/* from Tue 2026-01-13 10:00 */
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-13 23:59 +0100",
	  FRONTDESK_WHEN_TODAY },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-14 00:00 +0100",
	  FRONTDESK_WHEN_TOMORROW },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-14 23:59 +0100",
	  FRONTDESK_WHEN_TOMORROW },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-15 00:00 +0100",
	  FRONTDESK_WHEN_WEEK },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-19 23:59 +0100",
	  FRONTDESK_WHEN_WEEK },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-20 00:00 +0100",
	  FRONTDESK_WHEN_LATER },
	{ ROME, "2026-01-13 10:00 +0100", "2026-01-13 09:00 +0100",
	  FRONTDESK_WHEN_TODAY },
	{ ROME, "2026-12-31 20:00 +0100", "2027-01-01 09:00 +0100",
	  FRONTDESK_WHEN_TOMORROW },
	/* the desk's date, not UTC's: 00:30 in Rome is 23:30 UTC */
	{ ROME, "2026-01-13 00:30 +0100", "2026-01-13 23:30 +0100",
	  FRONTDESK_WHEN_TODAY },
	{ "UTC", "2026-01-12 23:30 +0000", "2026-01-13 22:30 +0000",
	  FRONTDESK_WHEN_TOMORROW },
	{ NEW_YORK, "2026-01-13 20:00 -0500", "2026-01-13 23:00 -0500",
	  FRONTDESK_WHEN_TODAY },
	/* calendar days over clock changes, not 24-hour steps */
	{ ROME, "2026-03-27 00:00 +0100", "2026-04-02 23:59 +0200",
	  FRONTDESK_WHEN_WEEK },
	{ ROME, "2026-03-27 00:00 +0100", "2026-04-03 00:00 +0200",
	  FRONTDESK_WHEN_LATER },
	{ ROME, "2026-10-24 00:00 +0200", "2026-10-25 23:30 +0100",
	  FRONTDESK_WHEN_TOMORROW },
};

static void test_hours_describe(void)
{
	pool_t pool = pool_alloconly_create("test hours", 1024);
	struct frontdesk_hours *hours;
	struct frontdesk_when when;
	struct test_local now, deadline;
	unsigned int i;

	test_begin("hours describe");
	for (i = 0; i < N_ELEMENTS(describe_tests); i++) {
		hours = test_parse(pool, MON_FRI, "", describe_tests[i].tz);
		if (hours == NULL) {
			test_assert_idx(hours != NULL, i);
			continue;
		}
		now = test_local(describe_tests[i].now);
		deadline = test_local(describe_tests[i].deadline);
		frontdesk_hours_describe(hours, now.t, deadline.t, &when);
		test_assert_idx(when.kind == describe_tests[i].kind, i);
		test_assert_idx(when.year == deadline.year &&
				when.month == deadline.month &&
				when.day == deadline.day &&
				when.hour == deadline.hour &&
				when.minute == deadline.minute &&
				when.weekday == deadline.weekday, i);
	}
	test_end();
	pool_unref(&pool);
}

/* "" follows the process's TZ, whatever it is at the time of the call;
   a named zone leaves the process's TZ as it found it. */
static void test_hours_system_zone(void)
{
	pool_t pool = pool_alloconly_create("test hours", 1024);
	struct frontdesk_hours *local, *rome;
	const char *old_tz = t_strdup(getenv("TZ"));
	time_t t = test_local("2026-01-13 12:00 +0000").t;
	struct tm tm;

	test_begin("hours system time zone and TZ restore");
	local = test_parse(pool, MON_FRI, "", "");
	rome = test_parse(pool, MON_FRI, "", ROME);
	test_assert(local != NULL && rome != NULL);

	setenv("TZ", ROME, 1);
	tzset();
	test_assert(frontdesk_hours_deadline(local,
		test_local("2026-03-27 17:00 +0100").t, 8 * 3600) ==
		test_local("2026-03-30 16:00 +0200").t);
	setenv("TZ", NEW_YORK, 1);
	tzset();
	test_assert(frontdesk_hours_deadline(local,
		test_local("2026-03-06 16:00 -0500").t, 8 * 3600) ==
		test_local("2026-03-09 15:00 -0400").t);

	/* Rome's conversion leaves New York in place, tzset() included */
	(void)frontdesk_hours_deadline(rome, t, 3600);
	test_assert_strcmp(getenv("TZ"), NEW_YORK);
	test_assert(localtime_r(&t, &tm) != NULL && tm.tm_hour == 7);
	/* and an unset TZ stays unset */
	unsetenv("TZ");
	tzset();
	(void)frontdesk_hours_deadline(rome, t, 3600);
	test_assert(getenv("TZ") == NULL);

	if (old_tz == NULL)
		unsetenv("TZ");
	else
		setenv("TZ", old_tz, 1);
	tzset();
	test_end();
	pool_unref(&pool);
}

static void test_hours_parse_valid(void)
{
	static const struct {
		const char *hours, *holidays, *tz;
	} valid[] = {
		{ MON_FRI, "", "" },
		{ SPLIT, HOLIDAYS, ROME },
		{ ALWAYS, "01-01,12-25, 2024-02-29", "UTC" },
		{ "sat-sun 10:00-12:00 ; mon 8:00-9:00", "02-29", "utc" },
		{ "  ", " ", "Etc/GMT+1" },
		{ "mon 00:00-00:01 23:59-24:00", "",
		  "America/Argentina/Buenos_Aires" },
	};
	pool_t pool = pool_alloconly_create("test hours", 1024);
	struct frontdesk_hours *hours;
	const char *error;
	unsigned int i;

	test_begin("hours parse valid");
	for (i = 0; i < N_ELEMENTS(valid); i++) {
		test_assert_idx(frontdesk_hours_parse(pool, valid[i].hours,
			valid[i].holidays, valid[i].tz, &hours, &error) == 0,
			i);
	}
	test_end();
	pool_unref(&pool);
}

static const struct {
	const char *hours, *holidays, *tz;
	const char *token;	/* the error must quote it */
} parse_error_tests[] = {
	{ "mon-fri 9-18", "", "", "'9-18'" },
	{ "mo-fri 09:00-18:00", "", "", "'mo'" },
	{ "tues 09:00-18:00", "", "", "'tues'" },
	{ "mon-fryday 09:00-18:00", "", "", "'fryday'" },
	{ "mon-fri 09:00-25:00", "", "", "'25:00'" },
	{ "mon-fri 09:60-18:00", "", "", "'09:60'" },
	{ "mon-fri 24:00-24:00", "", "", "'24:00-24:00'" },
	{ "mon-fri 18:00-09:00", "", "", "'18:00-09:00'" },
	{ "mon-fri 22:00-02:00", "", "", "'22:00-02:00'" },
	{ "mon-fri 09:00-18:00x", "", "", "'09:00-18:00x'" },
	{ "mon-fri 9:0-18:00", "", "", "'9:0-18:00'" },
	{ "mon-fri 09:00\xe2\x80\x93" "18:00", "", "",
	  "'09:00\xe2\x80\x93" "18:00'" },
	{ "mon-fri 09:00-18:00 sat 09:00-12:00", "", "", "'sat'" },
	{ "mon-fri", "", "", "'mon-fri'" },
	{ "09:00-18:00", "", "", "'09:00-18:00'" },
	{ "mon-fri 09:00-18:00; fri 10:00-12:00", "", "", "'fri'" },
	{ "mon 09:00-12:00 11:00-13:00", "", "", "'11:00-13:00'" },
	{ MON_FRI, "12/25", "", "'12/25'" },
	{ MON_FRI, "01-01 13-01", "", "'13-01'" },
	{ MON_FRI, "02-30", "", "'02-30'" },
	{ MON_FRI, "2025-02-29", "", "'2025-02-29'" },
	{ MON_FRI, "00-10", "", "'00-10'" },
	{ MON_FRI, "2026-4-6", "", "'2026-4-6'" },
	{ MON_FRI, "0000-01-01", "", "'0000-01-01'" },
	{ MON_FRI, "12-25x", "", "'12-25x'" },
	{ MON_FRI, "", "Europe/Roma", "'Europe/Roma'" },
	{ MON_FRI, "", "../etc", "'../etc'" },
	{ MON_FRI, "", "../../etc/passwd", "'../../etc/passwd'" },
	{ MON_FRI, "", "Europe/../Europe/Rome", "'Europe/../Europe/Rome'" },
	{ MON_FRI, "", "/etc/localtime", "'/etc/localtime'" },
	{ MON_FRI, "", "/usr/share/zoneinfo/Europe/Rome",
	  "'/usr/share/zoneinfo/Europe/Rome'" },
	{ MON_FRI, "", "Europe//Rome", "'Europe//Rome'" },
	{ MON_FRI, "", "Europe", "'Europe'" },	/* a directory */
	{ MON_FRI, "", "zone.tab", "'zone.tab'" },
	{ MON_FRI, "", "leapseconds", "'leapseconds'" }, /* not TZif */
};

static void test_hours_parse_errors(void)
{
	pool_t pool = pool_alloconly_create("test hours", 1024);
	struct frontdesk_hours *hours;
	const char *error;
	unsigned int i;

	test_begin("hours parse errors");
	for (i = 0; i < N_ELEMENTS(parse_error_tests); i++) {
		error = NULL;
		test_assert_idx(frontdesk_hours_parse(pool,
			parse_error_tests[i].hours,
			parse_error_tests[i].holidays,
			parse_error_tests[i].tz, &hours, &error) < 0, i);
		test_assert_idx(error != NULL &&
				strstr(error, parse_error_tests[i].token) !=
				NULL, i);
		/* and it says which setting */
		test_assert_idx(error != NULL &&
			str_begins_with(error,
				   *parse_error_tests[i].tz != '\0' ?
				   "time zone: " :
				   *parse_error_tests[i].holidays != '\0' ?
				   "holidays: " : "business hours: "), i);
	}
	test_end();
	pool_unref(&pool);
}

static void test_hours_duration(void)
{
	static const struct {
		const char *str;
		unsigned int secs;
	} valid[] = {
		{ "8h", 8 * 3600 }, { "2h30m", 2 * 3600 + 30 * 60 },
		{ "45m", 45 * 60 }, { "90m", 90 * 60 },
		{ " 2h 30m ", 2 * 3600 + 30 * 60 }, { "8H", 8 * 3600 },
		{ "1000h", 1000 * 3600 }, { "0h1m", 60 },
	};
	static const char *const invalid[] = {
		"1d", "2w", "8", "h", "30m2h", "2h2h", "0h", "0m", "1001h",
		"", "8x", "-1h", "2h30", "99999999999999999999h", "1.5h",
	};
	unsigned int i, secs;
	const char *error;

	test_begin("hours response time");
	for (i = 0; i < N_ELEMENTS(valid); i++) {
		secs = 0;
		test_assert_idx(frontdesk_hours_parse_duration(valid[i].str,
			&secs, &error) == 0 && secs == valid[i].secs, i);
	}
	for (i = 0; i < N_ELEMENTS(invalid); i++) {
		error = NULL;
		test_assert_idx(frontdesk_hours_parse_duration(invalid[i],
			&secs, &error) < 0, i);
		test_assert_idx(error != NULL && strstr(error,
			t_strdup_printf("'%s'", invalid[i])) != NULL, i);
	}
	/* a day is refused with the reason */
	test_assert(frontdesk_hours_parse_duration("1d", &secs, &error) < 0 &&
		    strstr(error, "days are not accepted") != NULL);
	test_end();
}

void test_hours(void)
{
	test_hours_parse_valid();
	test_hours_parse_errors();
	test_hours_duration();
	test_hours_deadline();
	test_hours_deadline_zero();
	test_hours_pathological();
	test_hours_describe();
	test_hours_system_zone();
}
