/* Business hours: parse the desk's opening hours, holidays and time zone,
   turn "N hours of business time from now" into a deadline, and describe
   the deadline relative to now ("today", "tomorrow", a weekday, a date) so
   the acknowledgment can promise an answer in words a customer reads at a
   glance. The clock is passed in: this module never reads it. */

#include "lib.h"
#include "array.h"
#include "strfuncs.h"
#include "frontdesk-hours.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#ifndef FRONTDESK_ZONEINFO_DIR
#  define FRONTDESK_ZONEINFO_DIR "/usr/share/zoneinfo"
#endif
/* Longest IANA zone name is about 30 characters; the bound keeps paths
   short and error messages readable. */
#define HOURS_TZ_NAME_MAX 128
#define MINUTES_PER_DAY (24 * 60)

struct hours_range {
	/* minutes since local midnight, start < end <= MINUTES_PER_DAY */
	unsigned int start, end;
	const char *token;	/* as written, for error messages */
};

struct hours_holiday {
	int year;		/* 0 = every year */
	int month, day;
};

struct frontdesk_hours {
	/* indexed like struct tm's tm_wday: 0 = Sunday */
	ARRAY(struct hours_range) days[7];
	ARRAY(struct hours_holiday) holidays;
	/* value of TZ while converting; NULL = the process's own */
	const char *tz;
};

/* tm_wday order; ranges like "mon-fri" step through them in week order,
   which is the same order wrapped around. */
static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* Calendar arithmetic on proleptic Gregorian dates, independent of any
   time zone (H. Hinnant's days_from_civil/civil_from_days): day numbers
   count from 1970-01-01. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2 ? 1 : 0;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y_r, int *m_r, int *d_r)
{
	int64_t era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(yoe + era * 400 + (*m_r <= 2 ? 1 : 0));
}

static int weekday_of_days(int64_t days)
{
	/* 1970-01-01 was a Thursday */
	int64_t w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int days_in_month(int year, int month)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	bool leap;

	if (month != 2)
		return mdays[month - 1];
	/* year 0 = a recurring holiday: 02-29 is allowed */
	leap = year == 0 ||
		(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0));
	return leap ? 29 : 28;
}

/* --- business hours ------------------------------------------------------ */

static int parse_day_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(day_names); i++) {
		if (strcasecmp(name, day_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* One item of a day list: "mon" or "mon-fri". */
static int parse_day_item(const char *item, unsigned int *mask,
			  const char **error_r)
{
	const char *dash = strchr(item, '-'), *first, *last;
	int a, b, i;

	first = dash == NULL ? item : t_strdup_until(item, dash);
	last = dash == NULL ? item : dash + 1;
	if ((a = parse_day_name(first)) < 0) {
		*error_r = dash == NULL ?
			t_strdup_printf("unknown day '%s'", item) :
			t_strdup_printf("unknown day '%s' in '%s'",
					first, item);
		return -1;
	}
	if ((b = parse_day_name(last)) < 0) {
		*error_r = t_strdup_printf("unknown day '%s' in '%s'",
					   last, item);
		return -1;
	}
	for (i = a;; i = (i + 1) % 7) {
		*mask |= 1U << i;
		if (i == b)
			break;
	}
	return 0;
}

/* "H:MM" or "HH:MM"; -1 if it is not written as a time at all. */
static int parse_clock(const char *str, unsigned int *hour_r,
		       unsigned int *min_r)
{
	unsigned int hour = 0, digits = 0;

	for (; i_isdigit(*str) && digits < 2; str++, digits++)
		hour = hour * 10 + (*str - '0');
	if (digits == 0 || str[0] != ':' || !i_isdigit(str[1]) ||
	    !i_isdigit(str[2]) || str[3] != '\0')
		return -1;
	*hour_r = hour;
	*min_r = (str[1] - '0') * 10 + (str[2] - '0');
	return 0;
}

static int parse_time_of_day(const char *str, const char *token,
			     unsigned int *minutes_r, const char **error_r)
{
	unsigned int hour, min;

	if (parse_clock(str, &hour, &min) < 0) {
		*error_r = t_strdup_printf(
			"'%s' is not a time range HH:MM-HH:MM", token);
		return -1;
	}
	if (hour > 24 || min > 59 || (hour == 24 && min != 0)) {
		*error_r = t_strdup_printf(
			"time '%s' out of range (00:00-24:00) in '%s'",
			str, token);
		return -1;
	}
	*minutes_r = hour * 60 + min;
	return 0;
}

static int parse_range(const char *token, struct hours_range *range_r,
		       const char **error_r)
{
	const char *dash = strchr(token, '-');

	if (dash == NULL) {
		*error_r = t_strdup_printf(
			"'%s' is not a time range HH:MM-HH:MM", token);
		return -1;
	}
	if (parse_time_of_day(t_strdup_until(token, dash), token,
			      &range_r->start, error_r) < 0 ||
	    parse_time_of_day(dash + 1, token, &range_r->end, error_r) < 0)
		return -1;
	if (range_r->start >= range_r->end) {
		*error_r = t_strdup_printf(
			"'%s': the end must be after the start (split hours "
			"past midnight into two days)", token);
		return -1;
	}
	range_r->token = token;
	return 0;
}

static int range_cmp(const struct hours_range *r1,
		     const struct hours_range *r2)
{
	if (r1->start != r2->start)
		return r1->start < r2->start ? -1 : 1;
	return 0;
}

/* One ';'-separated group: days, then time ranges. */
static int parse_group(pool_t pool, struct frontdesk_hours *hours,
		       const char *group, unsigned int *seen_days,
		       const char **error_r)
{
	const char *const *tokens = t_strsplit_spaces(group, " \t");
	const char *const *items;
	ARRAY(struct hours_range) ranges;
	const struct hours_range *r, *prev = NULL;
	struct hours_range range;
	unsigned int i, day, mask = 0;

	if (tokens[0] == NULL)
		return 0;	/* empty group, e.g. a trailing ';' */

	for (i = 0; tokens[i] != NULL && !i_isdigit(tokens[i][0]); i++) {
		items = t_strsplit(tokens[i], ",");
		for (; *items != NULL; items++) {
			if (**items != '\0' &&
			    parse_day_item(*items, &mask, error_r) < 0)
				return -1;
		}
	}
	if (mask == 0) {
		*error_r = t_strdup_printf("'%s' has no days before it",
					   tokens[i] != NULL ? tokens[i] :
					   t_strarray_join(tokens, " "));
		return -1;
	}
	if (tokens[i] == NULL) {
		*error_r = t_strdup_printf("'%s' has no time ranges",
					   t_strarray_join(tokens, " "));
		return -1;
	}

	t_array_init(&ranges, 4);
	for (; tokens[i] != NULL; i++) {
		if (!i_isdigit(tokens[i][0])) {
			*error_r = t_strdup_printf(
				"'%s' is not a time range (separate groups "
				"of days with ';')", tokens[i]);
			return -1;
		}
		if (parse_range(tokens[i], &range, error_r) < 0)
			return -1;
		array_push_back(&ranges, &range);
	}
	array_sort(&ranges, range_cmp);
	array_foreach(&ranges, r) {
		if (prev != NULL && r->start < prev->end) {
			*error_r = t_strdup_printf("'%s' overlaps '%s'",
						   r->token, prev->token);
			return -1;
		}
		prev = r;
	}

	for (day = 0; day < 7; day++) {
		if ((mask & (1U << day)) == 0)
			continue;
		if ((*seen_days & (1U << day)) != 0) {
			*error_r = t_strdup_printf(
				"'%s' appears in more than one group",
				day_names[day]);
			return -1;
		}
		*seen_days |= 1U << day;
		p_array_init(&hours->days[day], pool, array_count(&ranges));
		array_foreach(&ranges, r) {
			range = *r;
			range.token = NULL;	/* lives on the data stack */
			array_push_back(&hours->days[day], &range);
		}
	}
	return 0;
}

static int parse_business_hours(pool_t pool, struct frontdesk_hours *hours,
				const char *str, const char **error_r)
{
	const char *const *groups = t_strsplit(str, ";");
	unsigned int seen_days = 0;

	for (; *groups != NULL; groups++) {
		if (parse_group(pool, hours, *groups, &seen_days, error_r) < 0)
			return -1;
	}
	return 0;
}

/* --- holidays ------------------------------------------------------------- */

static bool digits_at(const char *str, unsigned int pos, unsigned int count,
		      int *value_r)
{
	unsigned int i;
	int value = 0;

	for (i = pos; i < pos + count; i++) {
		if (!i_isdigit(str[i]))
			return FALSE;
		value = value * 10 + (str[i] - '0');
	}
	*value_r = value;
	return TRUE;
}

static int parse_holiday(const char *token, struct hours_holiday *hol_r,
			 const char **error_r)
{
	size_t len = strlen(token);
	unsigned int pos;

	i_zero(hol_r);
	if (len == 5 && token[2] == '-')
		pos = 0;
	else if (len == 10 && token[4] == '-' && token[7] == '-' &&
		 digits_at(token, 0, 4, &hol_r->year))
		pos = 5;
	else
		pos = UINT_MAX;
	if (pos == UINT_MAX || !digits_at(token, pos, 2, &hol_r->month) ||
	    !digits_at(token, pos + 3, 2, &hol_r->day)) {
		*error_r = t_strdup_printf(
			"'%s' is not MM-DD or YYYY-MM-DD", token);
		return -1;
	}
	if ((pos != 0 && hol_r->year == 0) ||
	    hol_r->month < 1 || hol_r->month > 12 || hol_r->day < 1 ||
	    hol_r->day > days_in_month(hol_r->year, hol_r->month)) {
		*error_r = t_strdup_printf("'%s' is not a valid date", token);
		return -1;
	}
	return 0;
}

static int parse_holidays(struct frontdesk_hours *hours, const char *str,
			  const char **error_r)
{
	const char *const *tokens = t_strsplit_spaces(str, " \t,");
	struct hours_holiday hol;

	for (; *tokens != NULL; tokens++) {
		if (parse_holiday(*tokens, &hol, error_r) < 0)
			return -1;
		array_push_back(&hours->holidays, &hol);
	}
	return 0;
}

static bool hours_is_holiday(const struct frontdesk_hours *hours,
			     int year, int month, int day)
{
	const struct hours_holiday *hol;

	array_foreach(&hours->holidays, hol) {
		if (hol->month == month && hol->day == day &&
		    (hol->year == 0 || hol->year == year))
			return TRUE;
	}
	return FALSE;
}

/* --- time zone ---------------------------------------------------------- */

static bool tz_name_is_valid(const char *name)
{
	const char *p;

	if (strlen(name) > HOURS_TZ_NAME_MAX || name[0] == '/')
		return FALSE;
	/* No '.' at all: that rules out "..", "." and file names such as
	   zone.tab; no empty component: "a//b" or "a/". */
	for (p = name; *p != '\0'; p++) {
		if (i_isalnum(*p) || *p == '_' || *p == '-' || *p == '+')
			continue;
		if (*p == '/' && p[1] != '/' && p[1] != '\0')
			continue;
		return FALSE;
	}
	return TRUE;
}

static int parse_timezone(pool_t pool, struct frontdesk_hours *hours,
			  const char *name, const char **error_r)
{
	const char *path;
	char magic[4];
	struct stat st;
	ssize_t ret;
	int fd;

	if (*name == '\0') {
		hours->tz = NULL;
		return 0;
	}
	if (strcasecmp(name, "UTC") == 0) {
		/* a POSIX TZ string: needs no file */
		hours->tz = "UTC0";
		return 0;
	}
	if (!tz_name_is_valid(name)) {
		*error_r = t_strdup_printf(
			"'%s' is not a time zone name such as Europe/Rome "
			"(paths are not allowed)", name);
		return -1;
	}
	path = t_strconcat(FRONTDESK_ZONEINFO_DIR"/", name, NULL);
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*error_r = errno == ENOENT || errno == ENOTDIR ?
			t_strdup_printf("unknown time zone '%s' (no %s)",
					name, path) :
			t_strdup_printf("time zone '%s': open(%s) failed: %m",
					name, path);
		return -1;
	}
	/* A directory ("Europe") or a table (iso3166.tab) is no zone; a
	   zone file starts with "TZif". */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		ret = -1;
	else
		ret = read(fd, magic, sizeof(magic));
	i_close_fd(&fd);
	if (ret != sizeof(magic) || memcmp(magic, "TZif", 4) != 0) {
		*error_r = t_strdup_printf("'%s' is not a time zone (%s is "
					   "not a zone file)", name, path);
		return -1;
	}
	/* the absolute path makes the C library read the file we checked */
	hours->tz = p_strconcat(pool, ":", path, NULL);
	return 0;
}

int frontdesk_hours_parse(pool_t pool, const char *business_hours,
			  const char *holidays, const char *timezone,
			  struct frontdesk_hours **hours_r,
			  const char **error_r)
{
	struct frontdesk_hours *hours;
	const char *error;
	unsigned int i;

	hours = p_new(pool, struct frontdesk_hours, 1);
	for (i = 0; i < N_ELEMENTS(hours->days); i++)
		p_array_init(&hours->days[i], pool, 0);
	p_array_init(&hours->holidays, pool, 8);

	if (parse_business_hours(pool, hours, business_hours, &error) < 0) {
		*error_r = t_strconcat("business hours: ", error, NULL);
		return -1;
	}
	if (parse_holidays(hours, holidays, &error) < 0) {
		*error_r = t_strconcat("holidays: ", error, NULL);
		return -1;
	}
	if (parse_timezone(pool, hours, timezone, &error) < 0) {
		*error_r = t_strconcat("time zone: ", error, NULL);
		return -1;
	}
	*hours_r = hours;
	return 0;
}

/* --- response time ------------------------------------------------------ */

int frontdesk_hours_parse_duration(const char *str, unsigned int *secs_r,
				   const char **error_r)
{
	const char *p = str;
	uint64_t total = 0, value;
	bool seen_h = FALSE, seen_m = FALSE, digits;
	char unit;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*error_r = t_strdup_printf("response time '%s' is empty "
					   "(use e.g. 8h or 2h30m)", str);
		return -1;
	}
	while (*p != '\0') {
		value = 0;
		digits = FALSE;
		for (; i_isdigit(*p); p++) {
			digits = TRUE;
			/* saturate; the bound below rejects it */
			if (value < FRONTDESK_HOURS_MAX_DURATION_SECS)
				value = value * 10 + (*p - '0');
		}
		unit = i_tolower(*p);
		if (!digits || (unit != 'h' && unit != 'm') ||
		    (unit == 'h' && (seen_h || seen_m)) ||
		    (unit == 'm' && seen_m)) {
			*error_r = t_strdup_printf(
				"response time '%s': %s", str,
				unit == 'd' || unit == 'w' ?
				"days are not accepted, a business day has "
				"no fixed length: give hours, e.g. 16h" :
				"give hours and/or minutes, e.g. 8h, 2h30m, "
				"45m");
			return -1;
		}
		if (unit == 'h') {
			seen_h = TRUE;
			total += value * 3600;
		} else {
			seen_m = TRUE;
			total += value * 60;
		}
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
	}
	if (total == 0 || total > FRONTDESK_HOURS_MAX_DURATION_SECS) {
		*error_r = t_strdup_printf(
			"response time '%s' must be more than zero and at most "
			"%uh", str, FRONTDESK_HOURS_MAX_DURATION_SECS / 3600);
		return -1;
	}
	*secs_r = (unsigned int)total;
	return 0;
}

/* --- conversions in the desk's time zone ------------------------------- */

struct hours_tz_swap {
	char *old_tz;
	bool active;
};

/* The C library converts only with the process's TZ. lmtp and lda handle
   one delivery at a time in one thread, so switching TZ around a
   conversion and back cannot be seen by anyone else. */
static void hours_tz_enter(const struct frontdesk_hours *hours,
			   struct hours_tz_swap *swap)
{
	i_zero(swap);
	if (hours->tz == NULL)
		return;
	swap->old_tz = i_strdup(getenv("TZ"));
	if (setenv("TZ", hours->tz, 1) < 0) {
		/* only ENOMEM: convert in the process's zone */
		i_free(swap->old_tz);
		return;
	}
	swap->active = TRUE;
	/* localtime_r() need not look at TZ again without it */
	tzset();
}

static void hours_tz_leave(struct hours_tz_swap *swap)
{
	if (!swap->active)
		return;
	if (swap->old_tz == NULL)
		(void)unsetenv("TZ");
	else
		(void)setenv("TZ", swap->old_tz, 1);
	tzset();
	i_free(swap->old_tz);
	swap->active = FALSE;
}

/* Local date and minute of day to time_t. mktime() with tm_isdst = -1 picks
   the offset in force; minute 24*60 becomes 00:00 of the next day. */
static time_t hours_local_time(int year, int month, int day,
			       unsigned int minute)
{
	struct tm tm;

	i_zero(&tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int64_t tm_days(const struct tm *tm)
{
	return days_from_civil(tm->tm_year + 1900, tm->tm_mon + 1,
			       tm->tm_mday);
}

/* Walk the local calendar from now's date, spending business time range
   by range. Each range is measured between its opening and closing
   instants, so a range that spans a clock change counts its real length. */
static int hours_walk(const struct frontdesk_hours *hours, time_t now,
		      unsigned int business_secs, time_t *deadline_r)
{
	const struct hours_range *range;
	time_t open, close, remaining = business_secs;
	struct tm tm;
	int64_t first_day, day;
	int year, month, mday;

	if (localtime_r(&now, &tm) == NULL)
		return -1;
	first_day = tm_days(&tm);
	for (day = first_day; day < first_day + FRONTDESK_HOURS_MAX_DAYS;
	     day++) {
		civil_from_days(day, &year, &month, &mday);
		if (hours_is_holiday(hours, year, month, mday))
			continue;
		array_foreach(&hours->days[weekday_of_days(day)], range) {
			open = hours_local_time(year, month, mday,
						range->start);
			close = hours_local_time(year, month, mday,
						 range->end);
			if (open < now)
				open = now;
			if (close <= open)
				continue;
			/* >=: a deadline on the closing time stays there */
			if (close - open >= remaining) {
				*deadline_r = open + remaining;
				return 0;
			}
			remaining -= close - open;
		}
	}
	return -1;
}

time_t frontdesk_hours_deadline(const struct frontdesk_hours *hours,
				time_t now, unsigned int business_secs)
{
	struct hours_tz_swap swap;
	time_t deadline;

	hours_tz_enter(hours, &swap);
	if (hours_walk(hours, now, business_secs, &deadline) < 0)
		deadline = now + business_secs;
	hours_tz_leave(&swap);
	return deadline;
}

void frontdesk_hours_describe(const struct frontdesk_hours *hours, time_t now,
			      time_t deadline, struct frontdesk_when *when_r)
{
	struct hours_tz_swap swap;
	struct tm tm_now, tm_deadline;
	bool ok;
	int64_t days;

	hours_tz_enter(hours, &swap);
	ok = localtime_r(&now, &tm_now) != NULL &&
		localtime_r(&deadline, &tm_deadline) != NULL;
	hours_tz_leave(&swap);

	i_zero(when_r);
	if (!ok) {
		/* out of the C library's range: nothing sensible to say */
		when_r->kind = FRONTDESK_WHEN_LATER;
		return;
	}
	when_r->weekday = tm_deadline.tm_wday;
	when_r->year = tm_deadline.tm_year + 1900;
	when_r->month = tm_deadline.tm_mon + 1;
	when_r->day = tm_deadline.tm_mday;
	when_r->hour = tm_deadline.tm_hour;
	when_r->minute = tm_deadline.tm_min;

	/* calendar days, not 86400-second steps: DST nights are 23/25 h */
	days = tm_days(&tm_deadline) - tm_days(&tm_now);
	if (days <= 0)
		when_r->kind = FRONTDESK_WHEN_TODAY;
	else if (days == 1)
		when_r->kind = FRONTDESK_WHEN_TOMORROW;
	else if (days <= 6)
		when_r->kind = FRONTDESK_WHEN_WEEK;
	else
		when_r->kind = FRONTDESK_WHEN_LATER;
}
