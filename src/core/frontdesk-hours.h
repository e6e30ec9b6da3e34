#ifndef FRONTDESK_HOURS_H
#define FRONTDESK_HOURS_H

/* placeholder until the hours branch lands: the API it implements */
struct frontdesk_hours;
int frontdesk_hours_parse(pool_t pool, const char *business_hours,
			  const char *holidays, const char *timezone,
			  struct frontdesk_hours **hours_r, const char **error_r);
int frontdesk_hours_parse_duration(const char *str, unsigned int *secs_r,
				   const char **error_r);
time_t frontdesk_hours_deadline(const struct frontdesk_hours *hours,
				time_t now, unsigned int business_secs);
enum frontdesk_when_kind {
	FRONTDESK_WHEN_TODAY,
	FRONTDESK_WHEN_TOMORROW,
	FRONTDESK_WHEN_WEEK,
	FRONTDESK_WHEN_LATER,
};
struct frontdesk_when {
	enum frontdesk_when_kind kind;
	int weekday;
	int year, month, day, hour, minute;
};
void frontdesk_hours_describe(const struct frontdesk_hours *hours, time_t now,
			      time_t deadline, struct frontdesk_when *when_r);

#endif
