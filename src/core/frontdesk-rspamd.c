/* The pure half of the optional rspamd check: the frontdesk_spam_check
   setting ("rspamd:http://127.0.0.1:11333"), whether a scanner on the way
   already gave a verdict (then rspamd is not asked), and rspamd's JSON
   answer to POST /checkv2 read with libdovecot's JSON parser
   (frontdesk_json_read_object_data(), 2.3 and 2.4). Asking
   rspamd is src/plugin/frontdesk-spamcheck.c. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "istream.h"
#include "strnum.h"
#include "http-url.h"
#include "frontdesk-view.h"
#include "frontdesk-guard.h"
#include "frontdesk-settings.h"
#include "frontdesk-rspamd.h"

#define RSPAMD_PREFIX "rspamd:"

static int rspamd_url_parse(pool_t pool, const char *value,
			    const char **url_r, const char **error_r)
{
	struct http_url *url;
	const char *rest, *error;
	size_t len;

	if (!str_begins_with(value, RSPAMD_PREFIX)) {
		*error_r = t_strdup_printf("'%s' is not rspamd:http://HOST:PORT "
			"(e.g. rspamd:http://127.0.0.1:11333), nor empty for "
			"no check", value);
		return -1;
	}
	rest = value + strlen(RSPAMD_PREFIX);
	if (!str_begins_with(rest, "http://")) {
		*error_r = t_strdup_printf("'%s': only http:// to a local "
			"rspamd is supported", value);
		return -1;
	}
	if (http_url_parse(rest, NULL, 0, pool_datastack_create(), &url,
			   &error) < 0) {
		*error_r = t_strdup_printf("'%s' is not an HTTP URL: %s",
					   value, error);
		return -1;
	}
	if ((url->path != NULL && strcmp(url->path, "/") != 0) ||
	    url->enc_query != NULL || url->enc_fragment != NULL) {
		*error_r = t_strdup_printf("'%s': give only the scheme, host "
			"and port; frontdesk asks /checkv2 itself", value);
		return -1;
	}
	len = strlen(rest);
	if (len > 0 && rest[len - 1] == '/')
		len--;
	*url_r = p_strndup(pool, rest, len);
	return 0;
}

int frontdesk_rspamd_settings_parse(pool_t pool, const char *value,
				    const char *timeout,
				    struct frontdesk_rspamd_settings *set_r,
				    const char **error_r)
{
	const char *error;

	i_zero(set_r);
	set_r->url = "";
	if (timeout == NULL || *timeout == '\0')
		timeout = FRONTDESK_RSPAMD_DEFAULT_TIMEOUT;
	if (frontdesk_parse_interval_msecs(timeout, &set_r->timeout_msecs,
				    &error) < 0) {
		*error_r = t_strdup_printf("frontdesk_spam_check_timeout: %s",
					   error);
		return -1;
	}
	if (set_r->timeout_msecs < FRONTDESK_RSPAMD_MIN_TIMEOUT_MSECS ||
	    set_r->timeout_msecs > FRONTDESK_RSPAMD_MAX_TIMEOUT_MSECS) {
		*error_r = t_strdup_printf("frontdesk_spam_check_timeout: '%s' "
			"is not from %ums to %us: a delivery must not wait "
			"longer", timeout, FRONTDESK_RSPAMD_MIN_TIMEOUT_MSECS,
			FRONTDESK_RSPAMD_MAX_TIMEOUT_MSECS / 1000);
		return -1;
	}
	value = value == NULL ? "" : t_str_trim(value, " \t");
	if (*value == '\0')
		return 0;
	if (rspamd_url_parse(pool, value, &set_r->url, &error) < 0) {
		*error_r = t_strdup_printf("frontdesk_spam_check: %s", error);
		return -1;
	}
	return 0;
}

bool frontdesk_rspamd_has_verdict(const struct frontdesk_guard_settings *set,
				  const struct frontdesk_view *view)
{
	bool spam;

	return frontdesk_guard_scanner_verdict(set, view, &spam);
}

/* The end of the header field starting at pos (past its folded lines),
   or 0 when the data ends before it does. */
static size_t field_end(const unsigned char *data, size_t size, size_t pos)
{
	const unsigned char *nl;

	for (;;) {
		nl = memchr(data + pos, '\n', size - pos);
		if (nl == NULL)
			return 0;
		pos = nl - data + 1;
		if (pos >= size)
			return 0;
		if (data[pos] != ' ' && data[pos] != '\t')
			return pos;
	}
}

static bool field_is(const unsigned char *data, size_t size, size_t pos,
		     const char *name)
{
	size_t len = strlen(name);

	return size - pos > len && strncasecmp((const char *)data + pos, name,
					       len) == 0 &&
		data[pos + len] == ':';
}

size_t frontdesk_rspamd_skip_local_headers(const unsigned char *data,
					   size_t size)
{
	size_t pos = 0, end;

	if (field_is(data, size, pos, "Return-Path")) {
		if ((end = field_end(data, size, pos)) == 0)
			return 0;
		pos = end;
	}
	if (field_is(data, size, pos, "Delivered-To")) {
		if ((end = field_end(data, size, pos)) == 0)
			return 0;
		pos = end;
	}
	if (field_is(data, size, pos, "Received")) {
		if ((end = field_end(data, size, pos)) == 0)
			return 0;
		/* only Dovecot's: "by <host> with LMTP id ..." */
		if (strstr(t_strndup(data + pos, end - pos),
			   " with LMTP") != NULL)
			pos = end;
	}
	return pos;
}

static const struct {
	const char *name;
	enum frontdesk_rspamd_action action;
} rspamd_actions[] = {
	{ "no action", FRONTDESK_RSPAMD_NO_ACTION },
	{ "greylist", FRONTDESK_RSPAMD_GREYLIST },
	{ "soft reject", FRONTDESK_RSPAMD_SOFT_REJECT },
	{ "add header", FRONTDESK_RSPAMD_ADD_HEADER },
	{ "rewrite subject", FRONTDESK_RSPAMD_REWRITE_SUBJECT },
	{ "reject", FRONTDESK_RSPAMD_REJECT },
};

static enum frontdesk_rspamd_action rspamd_action(const char *name)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(rspamd_actions); i++) {
		if (strcasecmp(rspamd_actions[i].name, name) == 0)
			return rspamd_actions[i].action;
	}
	return FRONTDESK_RSPAMD_OTHER;
}

struct rspamd_parse_context {
	struct frontdesk_rspamd_answer *answer;
	bool have_action;
};

/* a member of the answer's top-level object (nested ones are skipped by
   the reader: symbols, urls, messages) */
static void rspamd_member(const char *key, enum json_type type,
			  const char *value, void *context)
{
	struct rspamd_parse_context *ctx = context;
	struct frontdesk_rspamd_answer *answer = ctx->answer;

	if (strcmp(key, "action") == 0) {
		if (type != JSON_TYPE_STRING)
			return;
		answer->action_name = t_strdup(value);
		answer->action = rspamd_action(value);
		ctx->have_action = TRUE;
	} else if (strcmp(key, "score") == 0) {
		/* not a number we can read: as if absent */
		if (type == JSON_TYPE_NUMBER)
			(void)frontdesk_str_to_double(value, &answer->score);
	} else if (strcmp(key, "required_score") == 0) {
		if (type == JSON_TYPE_NUMBER) {
			(void)frontdesk_str_to_double(value,
						      &answer->required_score);
		}
	} else if (strcmp(key, "is_skipped") == 0) {
		answer->is_skipped = type == JSON_TYPE_TRUE;
	}
}

int frontdesk_rspamd_parse_answer(const unsigned char *data, size_t size,
				  struct frontdesk_rspamd_answer *answer_r,
				  const char **error_r)
{
	struct rspamd_parse_context ctx;
	const char *error;

	i_zero(answer_r);
	i_zero(&ctx);
	ctx.answer = answer_r;
	if (frontdesk_json_read_object_data(data, size, rspamd_member, &ctx,
					    &error) < 0) {
		*error_r = t_strdup_printf("rspamd's answer is not JSON: %s",
					   error);
		return -1;
	}
	if (!ctx.have_action) {
		*error_r = "rspamd's answer has no action";
		return -1;
	}
	return 0;
}

bool frontdesk_rspamd_is_spam(const struct frontdesk_rspamd_answer *answer)
{
	switch (answer->action) {
	case FRONTDESK_RSPAMD_REJECT:
	case FRONTDESK_RSPAMD_ADD_HEADER:
	case FRONTDESK_RSPAMD_REWRITE_SUBJECT:
		return TRUE;
	case FRONTDESK_RSPAMD_NO_ACTION:
	case FRONTDESK_RSPAMD_GREYLIST:
	case FRONTDESK_RSPAMD_SOFT_REJECT:
	case FRONTDESK_RSPAMD_OTHER:
		break;
	}
	return FALSE;
}
