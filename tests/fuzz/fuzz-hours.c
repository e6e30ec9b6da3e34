/* libFuzzer harness: business hours, holidays, time zones and response
   times (frontdesk-hours.h). The input is up to five lines: business
   hours, holidays, time zone, response time, and an offset in seconds
   from a fixed Monday for "now". Oracles: the deadline is never earlier
   than now + the response time (business time cannot pass faster than
   real time) nor later than the day-by-day walk can reach; more business
   time never gives an earlier deadline (unless the walk gave up); the
   description's fields are in range and a past deadline is "today"; TZ is
   the same after every call as before. */

#include "lib.h"
#include "str.h"
#include "frontdesk-hours.h"
#include "fuzz-common.h"

#include <stdlib.h>
#include <time.h>

#define DAY_SECS (24*3600)
/* "now" is kept within ten years of the fixed Monday */
#define MAX_OFFSET (10LL * 366 * DAY_SECS)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc ATTR_UNUSED, char ***argv ATTR_UNUSED)
{
	fuzz_init(FALSE);
	/* the process's own zone is not the desk's */
	setenv("TZ", "America/New_York", 1);
	tzset();
	return 0;
}

static void check_tz(const char *when)
{
	const char *tz = getenv("TZ");

	if (tz == NULL || strcmp(tz, "America/New_York") != 0)
		fuzz_fail("hours: TZ is '%s' after %s", tz == NULL ? "(unset)" :
			  tz, when);
}

static void check_when(const struct frontdesk_hours *hours, time_t now,
		       time_t deadline)
{
	struct frontdesk_when w;

	frontdesk_hours_describe(hours, now, deadline, &w);
	check_tz("frontdesk_hours_describe()");
	if ((int)w.kind < FRONTDESK_WHEN_TODAY ||
	    w.kind > FRONTDESK_WHEN_LATER || w.weekday < 0 || w.weekday > 6 ||
	    w.month < 1 || w.month > 12 || w.day < 1 || w.day > 31 ||
	    w.hour < 0 || w.hour > 23 || w.minute < 0 || w.minute > 59)
		fuzz_fail("hours: describe(%lld, %lld) = kind %d weekday %d "
			  "%04d-%02d-%02d %02d:%02d", (long long)now,
			  (long long)deadline, w.kind, w.weekday, w.year,
			  w.month, w.day, w.hour, w.minute);
	if (deadline < now && w.kind != FRONTDESK_WHEN_TODAY)
		fuzz_fail("hours: a past deadline is described as kind %d",
			  w.kind);
}

static void fuzz_one(const uint8_t *data, size_t size)
{
	const char *const *f = t_strsplit(t_strndup(data, size), "\n");
	const char *field[5] = { "", "", "", "", "" }, *error;
	struct frontdesk_hours *hours;
	unsigned int i, secs, secs2;
	time_t now, d1, d2;
	long long offset;
	pool_t pool;

	for (i = 0; i < 5 && f[i] != NULL; i++)
		field[i] = t_strcut(f[i], '\r');
	if (frontdesk_hours_parse_duration(field[3], &secs, &error) < 0)
		secs = 8 * 3600;
	else if (secs == 0 || secs > FRONTDESK_HOURS_MAX_DURATION_SECS)
		fuzz_fail("hours: duration '%s' parsed to %u s", field[3], secs);
	offset = strtoll(field[4], NULL, 10) % MAX_OFFSET;
	now = FUZZ_NOW + (time_t)offset;

	pool = pool_allocfree_create("fuzz hours");
	if (frontdesk_hours_parse(pool, field[0], field[1], field[2], &hours,
				  &error) < 0) {
		check_tz("a refused frontdesk_hours_parse()");
		pool_unref(&pool);
		return;
	}
	check_tz("frontdesk_hours_parse()");
	d1 = frontdesk_hours_deadline(hours, now, secs);
	check_tz("frontdesk_hours_deadline()");
	if (d1 < now + (time_t)secs ||
	    d1 > now + (FRONTDESK_HOURS_MAX_DAYS + 2) * (time_t)DAY_SECS)
		fuzz_fail("hours: deadline(now=%lld, %u s) = %lld, %lld s "
			  "after now", (long long)now, secs, (long long)d1,
			  (long long)(d1 - now));
	check_when(hours, now, d1);
	check_when(hours, now, now - 3600);

	secs2 = secs + 60;
	if (secs2 <= FRONTDESK_HOURS_MAX_DURATION_SECS) {
		d2 = frontdesk_hours_deadline(hours, now, secs2);
		if (d2 < d1 && d2 != now + (time_t)secs2)
			fuzz_fail("hours: %u s of business time end at %lld, "
				  "%u s at %lld (earlier)", secs, (long long)d1,
				  secs2, (long long)d2);
	}
	pool_unref(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	T_BEGIN {
		fuzz_one(data, size);
	} T_END;
	return 0;
}
