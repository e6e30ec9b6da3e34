/* Settings: every frontdesk_* key of plugin {} parsed once into a struct and
   validated, so a typo is one clear error naming the key instead of odd
   behaviour at delivery time. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "settings-parser.h"
#include "frontdesk-guard.h"
#include "frontdesk-ticket.h"
#include "frontdesk-hours.h"
#include "frontdesk-ack.h"
#include "frontdesk-setting-keys.h"
#include "frontdesk-regex.h"
#include "frontdesk-settings.h"

#include <ctype.h>
#include <regex.h>

#ifndef FRONTDESK_TEMPLATE_DIR
#  define FRONTDESK_TEMPLATE_DIR "/usr/share/frontdesk/templates"
#endif
#ifndef FRONTDESK_SENDER_PATH
#  define FRONTDESK_SENDER_PATH "/usr/lib/frontdesk/frontdesk-sender"
#endif

#ifndef FRONTDESK_MODEL_PATH
#  define FRONTDESK_MODEL_PATH "/usr/share/frontdesk/frontdesk.model"
#endif

struct setting_ctx {
	pool_t pool;
	frontdesk_getenv_func_t *getenv_func;
	void *context;
	const char *error;
};

static const char *get(struct setting_ctx *ctx, const char *key,
		       const char *def)
{
	const char *value = ctx->getenv_func(key, ctx->context);

	return value == NULL ? def : value;
}

int frontdesk_str_to_double(const char *str, double *num_r)
{
	char *end;

	if (*str == '\0' || i_isspace(*str))
		return -1;
	errno = 0;
	*num_r = strtod(str, &end);
	if (errno != 0 || *end != '\0' || *num_r != *num_r /* NaN */)
		return -1;
	return 0;
}

static int get_bool(struct setting_ctx *ctx, const char *key, bool def,
		    bool *value_r)
{
	const char *value = get(ctx, key, NULL);

	if (value == NULL || *value == '\0') {
		*value_r = def;
		return 0;
	}
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0)
		*value_r = TRUE;
	else if (strcasecmp(value, "no") == 0 ||
		 strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*value_r = FALSE;
	else {
		ctx->error = t_strdup_printf("%s: '%s' is not yes or no",
					     key, value);
		return -1;
	}
	return 0;
}

static int get_fraction(struct setting_ctx *ctx, const char *key, double def,
			double *value_r)
{
	const char *value = get(ctx, key, NULL);

	if (value == NULL || *value == '\0') {
		*value_r = def;
		return 0;
	}
	if (frontdesk_str_to_double(value, value_r) < 0 || *value_r < 0 ||
	    *value_r > 1) {
		ctx->error = t_strdup_printf(
			"%s: '%s' is not a number from 0 to 1", key, value);
		return -1;
	}
	return 0;
}

static int get_number(struct setting_ctx *ctx, const char *key, double def,
		      double max, double *value_r)
{
	const char *value = get(ctx, key, NULL);

	if (value == NULL || *value == '\0') {
		*value_r = def;
		return 0;
	}
	if (frontdesk_str_to_double(value, value_r) < 0 || *value_r < 0 ||
	    *value_r > max) {
		ctx->error = t_strdup_printf(
			"%s: '%s' is not a number from 0 to %g", key, value,
			max);
		return -1;
	}
	return 0;
}

static int get_size(struct setting_ctx *ctx, const char *key, uoff_t def,
		    uoff_t min, uoff_t max, size_t *value_r)
{
	const char *value = get(ctx, key, NULL), *error;
	uoff_t size;

	if (value == NULL || *value == '\0') {
		*value_r = def;
		return 0;
	}
	if (frontdesk_parse_size(value, &size, &error) < 0) {
		ctx->error = t_strdup_printf("%s: %s", key, error);
		return -1;
	}
	if (size < min || size > max) {
		ctx->error = t_strdup_printf(
			"%s: '%s' is out of range (%"PRIuUOFF_T
			"..%"PRIuUOFF_T" bytes)", key, value, min, max);
		return -1;
	}
	*value_r = size;
	return 0;
}

static bool folder_name_valid(const char *name)
{
	for (; *name != '\0'; name++) {
		if ((unsigned char)*name < 0x20)
			return FALSE;
	}
	return TRUE;
}

static int get_folder(struct setting_ctx *ctx, const char *key,
		      const char *def, const char **value_r)
{
	const char *value = get(ctx, key, def);

	if (*value == '\0' || strlen(value) > 200 ||
	    !folder_name_valid(value)) {
		ctx->error = t_strdup_printf(
			"%s: '%s' is not a usable folder name", key, value);
		return -1;
	}
	*value_r = p_strdup(ctx->pool, value);
	return 0;
}

static int parse_needs(struct setting_ctx *ctx, struct frontdesk_settings *set)
{
	const char *value = get(ctx, "frontdesk_needs", FRONTDESK_DEFAULT_NEEDS);
	const char *const *items = t_strsplit_spaces(value, " ,");
	struct frontdesk_need_def def;

	p_array_init(&set->needs, ctx->pool, 16);
	for (; *items != NULL; items++) {
		const char *colon = strchr(*items, ':');
		const char *name, *office;

		if (colon == NULL) {
			ctx->error = t_strdup_printf("frontdesk_needs: '%s' "
				"must be <need>:front or <need>:back", *items);
			return -1;
		}
		name = t_strdup_until(*items, colon);
		office = colon + 1;
		i_zero(&def);
		if (strcmp(office, "front") == 0)
			def.office = FRONTDESK_OFFICE_FRONT;
		else if (strcmp(office, "back") == 0)
			def.office = FRONTDESK_OFFICE_BACK;
		else {
			ctx->error = t_strdup_printf("frontdesk_needs: office "
				"of '%s' must be front or back, not '%s'",
				name, office);
			return -1;
		}
		if (*name == '\0' || strcmp(name, "urgent") == 0 ||
		    strcmp(name, "unsure") == 0 || strcmp(name, "lang") == 0) {
			ctx->error = t_strdup_printf("frontdesk_needs: '%s' "
				"cannot be a need name", name);
			return -1;
		}
		if (frontdesk_settings_find_need(set, name) != NULL) {
			ctx->error = t_strdup_printf(
				"frontdesk_needs: '%s' listed twice", name);
			return -1;
		}
		def.name = p_strdup(ctx->pool, name);
		array_push_back(&set->needs, &def);
	}
	if (array_count(&set->needs) == 0) {
		ctx->error = "frontdesk_needs: no needs listed";
		return -1;
	}
	return 0;
}

/* local@domain, both parts there: the domain of our first address names
   our acknowledgments' Message-IDs. */
static bool address_valid(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at != addr && at[1] != '\0';
}

static int parse_guard(struct setting_ctx *ctx, struct frontdesk_settings *set)
{
	struct frontdesk_guard_settings *g = &set->guard;
	const char *const *items, *value, *error;
	regex_t re;
	int err;

	p_array_init(&g->addresses, ctx->pool, 4);
	items = t_strsplit_spaces(get(ctx, "frontdesk_addresses", ""), " ,");
	for (; *items != NULL; items++) {
		if (!address_valid(*items)) {
			ctx->error = t_strdup_printf("frontdesk_addresses: '%s' "
				"is not an address", *items);
			return -1;
		}
		value = p_strdup(ctx->pool, t_str_lcase(*items));
		array_push_back(&g->addresses, &value);
	}
	value = get(ctx, "frontdesk_ack_message_id_domain", "");
	if (*value == '\0' && array_count(&g->addresses) > 0)
		value = strrchr(array_idx_elem(&g->addresses, 0), '@') + 1;
	g->message_id_domain = *value == '\0' ? NULL :
		p_strdup(ctx->pool, t_str_lcase(value));

	value = get(ctx, "frontdesk_ack_ignore_senders", "");
	if (*value != '\0' && frontdesk_regex_check(value, &error) < 0) {
		ctx->error = t_strdup_printf(
			"frontdesk_ack_ignore_senders: '%s': %s", value, error);
		return -1;
	}
	if (*value != '\0') {
		err = regcomp(&re, value, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (err != 0) {
			char buf[256];

			regerror(err, &re, buf, sizeof(buf));
			ctx->error = t_strdup_printf(
				"frontdesk_ack_ignore_senders: '%s': %s",
				value, buf);
			return -1;
		}
		regfree(&re);
		g->ignore_senders = p_strdup(ctx->pool, value);
	}
	p_array_init(&g->spam_headers, ctx->pool, 8);
	items = t_strsplit_spaces(get(ctx, "frontdesk_ack_spam_headers",
		FRONTDESK_GUARD_DEFAULT_SPAM_HEADERS), " ");
	for (; *items != NULL; items++) {
		if (strchr(*items, ':') == NULL || **items == ':') {
			ctx->error = t_strdup_printf(
				"frontdesk_ack_spam_headers: '%s' must be "
				"Header:value", *items);
			return -1;
		}
		value = p_strdup(ctx->pool, *items);
		array_push_back(&g->spam_headers, &value);
	}
	value = get(ctx, "frontdesk_trusted_authserv_id", "");
	g->trusted_authserv_id = *value == '\0' ? NULL :
		p_strdup(ctx->pool, value);
	return get_bool(ctx, "frontdesk_ack_check_recipient", TRUE,
			&g->check_recipient);
}

static int get_uint(struct setting_ctx *ctx, const char *key, unsigned int def,
		    unsigned int max, unsigned int *value_r)
{
	const char *value = get(ctx, key, NULL);

	if (value == NULL || *value == '\0') {
		*value_r = def;
		return 0;
	}
	if (str_to_uint(value, value_r) < 0 || *value_r > max) {
		ctx->error = t_strdup_printf(
			"%s: '%s' is not a whole number from 0 to %u", key,
			value, max);
		return -1;
	}
	return 0;
}

/* A duration setting; parse is frontdesk_hours_parse_duration (business
   time: hours and minutes) or frontdesk_parse_interval (wall clock: "2d"). */
static int get_secs(struct setting_ctx *ctx, const char *key, const char *def,
		    int (*parse)(const char *str, unsigned int *secs_r,
				 const char **error_r),
		    unsigned int *secs_r)
{
	const char *value = get(ctx, key, def), *error;

	if (*value == '\0')
		value = def;
	if (parse(value, secs_r, &error) < 0) {
		ctx->error = t_strdup_printf("%s: %s", key, error);
		return -1;
	}
	return 0;
}

static int parse_ack(struct setting_ctx *ctx, struct frontdesk_settings *set)
{
	struct frontdesk_ack_settings *a = &set->ack;
	struct frontdesk_hours *hours;
	const char *value, *error;

	value = get(ctx, "frontdesk_ack", "yes");
	if (strcasecmp(value, "yes") == 0 || *value == '\0')
		a->mode = FRONTDESK_ACK_YES;
	else if (strcasecmp(value, "no") == 0)
		a->mode = FRONTDESK_ACK_NO;
	else if (strcasecmp(value, "shadow") == 0)
		a->mode = FRONTDESK_ACK_SHADOW;
	else {
		ctx->error = t_strdup_printf("frontdesk_ack: '%s' is not "
					     "yes, no or shadow", value);
		return -1;
	}
	value = get(ctx, "frontdesk_ack_from", "");
	if (*value != '\0' && (!address_valid(value) ||
				strpbrk(value, " <>\"\r\n") != NULL)) {
		ctx->error = t_strdup_printf("frontdesk_ack_from: '%s' is not "
			"a plain address (the name goes in "
			"frontdesk_ack_from_name)", value);
		return -1;
	}
	a->from = p_strdup(ctx->pool, t_str_lcase(value));
	a->company = p_strdup(ctx->pool,
		get(ctx, "frontdesk_company", "Customer Support"));
	a->from_name = p_strdup(ctx->pool,
		get(ctx, "frontdesk_ack_from_name", a->company));
	a->templates_dir = p_strdup(ctx->pool,
		get(ctx, "frontdesk_templates", FRONTDESK_TEMPLATE_DIR));
	value = get(ctx, "frontdesk_ack_return_path", "null");
	if (strcmp(value, "null") == 0 || strcmp(value, "<>") == 0)
		a->null_return_path = TRUE;
	else if (strcmp(value, "from") == 0)
		a->null_return_path = FALSE;
	else {
		ctx->error = t_strdup_printf("frontdesk_ack_return_path: '%s' "
			"is not null or from", value);
		return -1;
	}
	a->state_dir = p_strdup(ctx->pool, get(ctx, "frontdesk_state_dir", ""));
	a->dict_uri = p_strdup(ctx->pool, get(ctx, "frontdesk_ack_dict", ""));
	a->ticket_prefix = p_strdup(ctx->pool,
		get(ctx, "frontdesk_ticket_prefix", "FD"));
	if (!frontdesk_ticket_prefix_valid(a->ticket_prefix)) {
		ctx->error = t_strdup_printf("frontdesk_ticket_prefix: '%s' "
			"must be 1 to %d letters or digits", a->ticket_prefix,
			FRONTDESK_TICKET_MAX_PREFIX);
		return -1;
	}
	a->secret_file = p_strdup(ctx->pool,
		get(ctx, "frontdesk_ticket_secret_file", ""));
	a->sender_path = p_strdup(ctx->pool,
		get(ctx, "frontdesk_sender_path", FRONTDESK_SENDER_PATH));
	a->dkim_key = p_strdup(ctx->pool, get(ctx, "frontdesk_dkim_key", ""));
	a->dkim_domain = p_strdup(ctx->pool,
		get(ctx, "frontdesk_dkim_domain", ""));
	a->dkim_selector = p_strdup(ctx->pool,
		get(ctx, "frontdesk_dkim_selector", ""));
	if (*a->dkim_key != '\0' &&
	    (*a->dkim_domain == '\0' || *a->dkim_selector == '\0')) {
		ctx->error = "frontdesk_dkim_key needs frontdesk_dkim_domain "
			"and frontdesk_dkim_selector";
		return -1;
	}
	if (frontdesk_hours_parse(ctx->pool,
			get(ctx, "frontdesk_business_hours",
			    FRONTDESK_DEFAULT_BUSINESS_HOURS),
			get(ctx, "frontdesk_holidays", ""),
			get(ctx, "frontdesk_timezone", ""),
			&hours, &error) < 0) {
		ctx->error = t_strdup_printf("frontdesk_business_hours, "
			"frontdesk_holidays or frontdesk_timezone: %s", error);
		return -1;
	}
	a->hours = hours;
	if (get_uint(ctx, "frontdesk_ack_sender_limit", 3, 1000000,
		     &a->sender_limit) < 0 ||
	    get_uint(ctx, "frontdesk_ack_global_limit", 300, 100000000,
		     &a->global_limit) < 0 ||
	    get_uint(ctx, "frontdesk_ack_subject_max",
		     FRONTDESK_ACK_DEFAULT_SUBJECT_MAX, 200,
		     &a->subject_max) < 0 ||
	    get_secs(ctx, "frontdesk_ack_retry_lifetime", "2d",
		     frontdesk_parse_interval, &a->retry_lifetime_secs) < 0 ||
	    get_secs(ctx, "frontdesk_response_time", "8h",
		     frontdesk_hours_parse_duration, &a->response_secs) < 0 ||
	    get_secs(ctx, "frontdesk_response_time_urgent", "2h",
		     frontdesk_hours_parse_duration,
		     &a->urgent_response_secs) < 0 ||
	    get_secs(ctx, "frontdesk_state_timeout", "500ms",
		     frontdesk_parse_interval_msecs, &a->state_timeout_msecs) < 0)
		return -1;
	/* a dict needs a few milliseconds per request, a delivery must not
	   wait on a hung one */
	if (a->state_timeout_msecs < 10 || a->state_timeout_msecs > 60000) {
		ctx->error = t_strdup_printf("frontdesk_state_timeout: '%s' is "
			"not from 10ms to 60s",
			get(ctx, "frontdesk_state_timeout", ""));
		return -1;
	}
	return 0;
}

static bool keyword_prefix_valid(const char *prefix)
{
	/* IMAP atom characters only: no specials, no '\' (system flags) */
	for (; *prefix != '\0'; prefix++) {
		unsigned char c = *prefix;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return FALSE;
	}
	return TRUE;
}

int frontdesk_settings_parse(pool_t pool, frontdesk_getenv_func_t *getenv_func,
			     void *context, struct frontdesk_settings **set_r,
			     const char **error_r)
{
	struct setting_ctx ctx = {
		.pool = pool, .getenv_func = getenv_func, .context = context,
	};
	struct frontdesk_settings *set;
	size_t headers;

	set = p_new(pool, struct frontdesk_settings, 1);
	set->folder_machine = "";
	frontdesk_view_limits_default(&set->limits);
	if (get_bool(&ctx, "frontdesk_enabled", FALSE, &set->enabled) < 0 ||
	    get_folder(&ctx, "frontdesk_folder_front", "FrontOffice",
		       &set->folder_front) < 0 ||
	    get_folder(&ctx, "frontdesk_folder_back", "BackOffice",
		       &set->folder_back) < 0 ||
	    (*get(&ctx, "frontdesk_folder_machine",
		  FRONTDESK_DEFAULT_FOLDER_MACHINE) != '\0' &&
	     get_folder(&ctx, "frontdesk_folder_machine",
			FRONTDESK_DEFAULT_FOLDER_MACHINE,
			&set->folder_machine) < 0) ||
	    parse_needs(&ctx, set) < 0 ||
	    get_fraction(&ctx, "frontdesk_unsure_threshold", 0.4,
			 &set->unsure_threshold) < 0 ||
	    get_fraction(&ctx, "frontdesk_unsure_threshold", 0.0,
			 &set->unsure_threshold_learned) < 0 ||
	    get_number(&ctx, "frontdesk_min_score", 1.0, 100,
		       &set->min_score) < 0 ||
	    get_bool(&ctx, "frontdesk_add_headers", TRUE,
		     &set->add_headers) < 0 ||
	    get_size(&ctx, "frontdesk_max_message_size",
		     FRONTDESK_VIEW_DEFAULT_MAX_MESSAGE_BYTES, 4096,
		     64*1024*1024, &set->limits.max_message_bytes) < 0 ||
	    get_size(&ctx, "frontdesk_max_body_size",
		     FRONTDESK_VIEW_DEFAULT_MAX_BODY_BYTES, 1024,
		     4*1024*1024, &set->limits.max_body_bytes) < 0 ||
	    get_size(&ctx, "frontdesk_max_headers",
		     FRONTDESK_VIEW_DEFAULT_MAX_HEADERS, 16, 10000,
		     &headers) < 0 ||
	    parse_guard(&ctx, set) < 0 ||
	    parse_ack(&ctx, set) < 0) {
		*error_r = ctx.error;
		return -1;
	}
	if (frontdesk_rspamd_settings_parse(pool,
			get(&ctx, "frontdesk_spam_check", ""),
			get(&ctx, "frontdesk_spam_check_timeout", NULL),
			&set->spam_check, error_r) < 0)
		return -1;
	set->limits.max_headers = headers;
	set->model_path = p_strdup(pool, get(&ctx, "frontdesk_model",
					     FRONTDESK_MODEL_PATH));
	set->rules_path = p_strdup(pool, get(&ctx, "frontdesk_rules", ""));
	set->weights_path = p_strdup(pool, get(&ctx, "frontdesk_weights",
					       FRONTDESK_WEIGHTS_PATH));
	set->keyword_prefix = p_strdup(pool,
		get(&ctx, "frontdesk_keyword_prefix", ""));
	if (!keyword_prefix_valid(set->keyword_prefix)) {
		*error_r = t_strdup_printf("frontdesk_keyword_prefix: '%s' "
			"has characters not allowed in IMAP keywords",
			set->keyword_prefix);
		return -1;
	}
	set->default_language = p_strdup(pool,
		get(&ctx, "frontdesk_default_language", "en"));
	*set_r = set;
	return 0;
}

const struct frontdesk_need_def *
frontdesk_settings_find_need(const struct frontdesk_settings *set,
			     const char *name)
{
	const struct frontdesk_need_def *def;

	array_foreach(&set->needs, def) {
		if (strcmp(def->name, name) == 0)
			return def;
	}
	return NULL;
}

const char *frontdesk_office_name(enum frontdesk_office office)
{
	return office == FRONTDESK_OFFICE_BACK ? "back" : "front";
}

const char *frontdesk_ack_mode_name(enum frontdesk_ack_mode mode)
{
	switch (mode) {
	case FRONTDESK_ACK_NO: return "no";
	case FRONTDESK_ACK_YES: return "yes";
	case FRONTDESK_ACK_SHADOW: return "shadow";
	}
	i_unreached();
}
