#ifndef FRONTDESK_HOURS_H
#define FRONTDESK_HOURS_H

/* When can a customer expect an answer? The support desk's business hours,
   holidays and time zone turn "N hours of business time" into a deadline
   the acknowledgment can name: "by 16:30 today", "by tomorrow 9:00",
   "by Monday 10:00".

   Business hours: groups separated by ';', each group is days followed by
   one or more time ranges:
     "mon-fri 09:00-18:00"
     "mon-thu 08:30-12:30 14:00-18:00; fri 08:30-13:00"
     "mon,wed,fri 09:00-13:00; sat 09:00-12:00"
     "mon-sun 00:00-24:00"                       (24/7)
   - Days: mon tue wed thu fri sat sun (case-insensitive), single days,
     ranges "mon-fri" (in week order, a range may wrap: "fri-mon" is
     fri sat sun mon) and lists joined by commas or spaces.
   - Time ranges: H:MM-HH:MM or HH:MM-HH:MM local time, 00:00 to 24:00, the
     end after the start. Overnight hours are two ranges on two days
     ("mon 22:00-24:00; tue 00:00-06:00"). Ranges of one day must not
     overlap; they may touch.
   - A day may appear in one group only. Days not named are closed.
   - "" (no business hours) is accepted: the desk is never open and every
     deadline falls back to wall-clock time (see frontdesk_hours_deadline()).

   Holidays: dates separated by spaces or commas, "MM-DD" every year or
   "YYYY-MM-DD" once: "01-01 12-25 12-26 2026-04-06". A holiday is a whole
   local day without business hours. "" = none.

   Time zone: an IANA name ("Europe/Rome", "America/New_York"), which must
   be a time zone file under /usr/share/zoneinfo (names with ".." or a
   leading '/' are refused); "UTC"; or "" for the process's local time (the
   TZ environment variable, else /etc/localtime).

   Errors say which of the three strings is wrong and quote the offending
   token: "business hours: unknown day 'tues' in 'tues-fri'". */

struct frontdesk_hours;

/* Longest response time accepted: longer is no promise of a response, and
   it keeps the day-by-day walk of frontdesk_hours_deadline() short. */
#define FRONTDESK_HOURS_MAX_DURATION_SECS (1000U * 3600U)
/* frontdesk_hours_deadline() gives up after walking this many calendar days
   (more than a year, so recurring holidays alone cannot cause it). */
#define FRONTDESK_HOURS_MAX_DAYS 400

/* Parse the three settings into hours_r, allocated from pool. Returns 0, or
   -1 with error_r set. */
int frontdesk_hours_parse(pool_t pool, const char *business_hours,
			  const char *holidays, const char *timezone,
			  struct frontdesk_hours **hours_r,
			  const char **error_r);

/* Response time: hours and/or minutes, "8h", "2h30m", "45m" (case-insensitive,
   spaces allowed between the parts). Days are refused on purpose: a business
   day has no fixed length. Must be more than zero and at most
   FRONTDESK_HOURS_MAX_DURATION_SECS. Returns 0, or -1 with error_r set. */
int frontdesk_hours_parse_duration(const char *str, unsigned int *secs_r,
				   const char **error_r);

/* now + business_secs of business time; a mail arriving outside business
   hours starts counting at the next opening. A deadline that falls exactly
   on a closing time stays there (18:00 today, not 09:00 tomorrow). Time is
   real elapsed time, so on the nights clocks change a 24/7 desk's day has
   23 or 25 hours.

   If the deadline is not reached within FRONTDESK_HOURS_MAX_DAYS calendar
   days (no business hours, every day a holiday, a long promise on a sparse
   schedule) it returns now + business_secs of wall-clock time instead of
   walking on for ever.

   Time zones: the C library converts only with the process's TZ, so for a
   named zone this sets TZ, calls tzset(), converts with localtime_r() and
   mktime(), and restores the previous TZ (and tzset()) before returning.
   That is safe because lmtp and lda processes are single-threaded; do not
   call it where other threads read the local time. */
time_t frontdesk_hours_deadline(const struct frontdesk_hours *hours,
				time_t now, unsigned int business_secs);

enum frontdesk_when_kind {
	FRONTDESK_WHEN_TODAY,     /* same local date as now */
	FRONTDESK_WHEN_TOMORROW,  /* next local date */
	FRONTDESK_WHEN_WEEK,      /* within the next 6 days: name the weekday */
	FRONTDESK_WHEN_LATER,     /* further: give the date */
};

struct frontdesk_when {
	enum frontdesk_when_kind kind;
	int weekday;	/* 0 = Sunday .. 6 */
	/* local time of the deadline: month 1..12, day 1..31, hour 0..23 */
	int year, month, day, hour, minute;
};

/* Describe deadline as seen from now in the desk's time zone. Days are
   counted on the local calendar, not in 24-hour steps, so the nights
   clocks change do not move a deadline into another kind. A deadline
   before now is described as TODAY. Changes TZ as
   frontdesk_hours_deadline() does. */
void frontdesk_hours_describe(const struct frontdesk_hours *hours, time_t now,
			      time_t deadline, struct frontdesk_when *when_r);

#endif
