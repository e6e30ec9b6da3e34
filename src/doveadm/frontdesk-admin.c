/* doveadm frontdesk's work on one support mailbox: finds its state and
   spool where the delivery plugin puts them, lists, retries and drops
   spooled acknowledgments, and tells a genuine ticket reference from a
   forged one. No doveadm API here (see doveadm-frontdesk.c). */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "frontdesk-settings.h"
#include "frontdesk-spool.h"
#include "frontdesk-ticket.h"
#include "frontdesk-state.h"
#include "frontdesk-sender-wake.h"
#include "frontdesk-admin.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/wait.h>

/* as the plugin reads it (frontdesk-acknowledge.c) */
#define DESK_SECRET_MAX 1024

static int desk_read_secret(struct frontdesk_desk *desk, const char *path)
{
	unsigned char buf[DESK_SECRET_MAX];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		desk->secret_error = errno == ENOENT ?
			p_strdup_printf(desk->pool, "%s does not exist yet "
					"(no acknowledgment was made)", path) :
			p_strdup_printf(desk->pool, "open(%s) failed: %m",
					path);
		return -1;
	}
	ret = read(fd, buf, sizeof(buf));
	i_close_fd(&fd);
	if (ret < FRONTDESK_TICKET_MIN_SECRET) {
		desk->secret_error = ret < 0 ?
			p_strdup_printf(desk->pool, "read(%s) failed: %m",
					path) :
			p_strdup_printf(desk->pool, "%s: a secret needs at "
					"least %d bytes", path,
					FRONTDESK_TICKET_MIN_SECRET);
		return -1;
	}
	desk->key.secret = p_memdup(desk->pool, buf, ret);
	desk->key.secret_len = ret;
	return 0;
}

int frontdesk_desk_open(pool_t pool, const char *username, const char *home,
			struct event *event,
			frontdesk_getenv_func_t *getenv_func, void *context,
			struct frontdesk_desk **desk_r, const char **error_r)
{
	struct frontdesk_desk *desk;
	struct frontdesk_settings *set;
	const char *error;

	if (frontdesk_settings_parse(pool, getenv_func, context, &set,
				     &error) < 0) {
		*error_r = t_strdup_printf("invalid setting: %s", error);
		return -1;
	}
	desk = p_new(pool, struct frontdesk_desk, 1);
	desk->pool = pool;
	desk->username = p_strdup(pool, username);
	desk->event = event;
	desk->set = set;
	if (*set->ack.state_dir != '\0')
		desk->state_dir = set->ack.state_dir;
	else if (home != NULL && *home != '\0')
		desk->state_dir = p_strconcat(pool, home, "/.frontdesk", NULL);
	else {
		*error_r = "the user has no home directory and "
			"frontdesk_state_dir is not set";
		return -1;
	}
	desk->spool_dir = p_strconcat(pool, desk->state_dir, "/spool", NULL);
	desk->key.prefix = set->ack.ticket_prefix;
	(void)desk_read_secret(desk, *set->ack.secret_file != '\0' ?
			       set->ack.secret_file :
			       t_strconcat(desk->state_dir, "/secret", NULL));
	*desk_r = desk;
	return 0;
}

static int desk_list_dir(struct frontdesk_desk *desk, const char *subdir,
			 ARRAY_TYPE(frontdesk_queue_item) *items,
			 const char **error_r)
{
	const char *dir = t_strdup_printf("%s/%s", desk->spool_dir, subdir);
	ARRAY_TYPE(const_string) names;
	struct frontdesk_queue_item *item;
	const char *name, *error;
	int ret;

	/* a missing dir: no ack was ever queued */
	t_array_init(&names, 16);
	if (frontdesk_spool_list(dir, &names, error_r) < 0)
		return -1;
	array_foreach_elem(&names, name) {
		item = array_append_space(items);
		item->id = p_strdup(desk->pool, name);
		item->subdir = subdir;
		ret = frontdesk_spool_read_in(desk->pool, desk->spool_dir,
					      subdir, name, &item->entry,
					      &error);
		if (ret == 0) {
			/* sent or dropped meanwhile */
			array_delete(items, array_count(items) - 1, 1);
		} else if (ret < 0) {
			item->state = "unreadable";
			item->error = p_strdup(desk->pool, error);
			item->entry = NULL;
		} else if (strcmp(subdir, "failed") == 0) {
			item->state = "failed";
		} else {
			item->state = item->entry->attempts == 0 ?
				"queued" : "retrying";
		}
	}
	return 0;
}

int frontdesk_desk_queue(struct frontdesk_desk *desk,
			 ARRAY_TYPE(frontdesk_queue_item) *items,
			 const char **error_r)
{
	if (desk_list_dir(desk, "queue", items, error_r) < 0 ||
	    desk_list_dir(desk, "failed", items, error_r) < 0)
		return -1;
	return 0;
}

int frontdesk_desk_find(struct frontdesk_desk *desk, const char *id,
			ARRAY_TYPE(frontdesk_queue_item) *items,
			const char **error_r)
{
	ARRAY_TYPE(frontdesk_queue_item) all;
	const struct frontdesk_queue_item *item;

	t_array_init(&all, 16);
	if (frontdesk_desk_queue(desk, &all, error_r) < 0)
		return -1;
	array_foreach(&all, item) {
		if (strcmp(item->id, id) == 0 ||
		    (item->entry != NULL && item->entry->ticket != NULL &&
		     strcasecmp(item->entry->ticket, id) == 0))
			array_push_back(items, item);
	}
	return 0;
}

int frontdesk_desk_drop(struct frontdesk_desk *desk,
			const struct frontdesk_queue_item *item,
			const char **error_r)
{
	const char *path = t_strdup_printf("%s/%s/%s", desk->spool_dir,
					   item->subdir, item->id);

	if (unlink(path) < 0 && errno != ENOENT) {
		*error_r = t_strdup_printf("unlink(%s) failed: %m", path);
		return -1;
	}
	return 0;
}

int frontdesk_desk_retry(struct frontdesk_desk *desk,
			 const struct frontdesk_queue_item *item, time_t now,
			 const char **error_r)
{
	struct frontdesk_spool_entry e;
	time_t expires = now + desk->set->ack.retry_lifetime_secs;

	if (item->entry == NULL) {
		*error_r = t_strdup_printf("%s is unreadable: %s", item->id,
					   item->error);
		return -1;
	}
	e = *item->entry;
	e.next_try = now;
	if (e.expires < expires)
		e.expires = expires;
	if (frontdesk_spool_write(desk->spool_dir, &e, TRUE, error_r) < 0)
		return -1;
	if (strcmp(item->subdir, "queue") != 0 &&
	    frontdesk_desk_drop(desk, item, error_r) < 0)
		return -1;
	frontdesk_sender_wake(desk->event, desk->base_dir,
			      desk->set->ack.sender_path, desk->spool_dir, FALSE);
	return 0;
}

int frontdesk_desk_ticket(struct frontdesk_desk *desk, const char *ref,
			  struct frontdesk_ticket_info *info_r,
			  const char **error_r)
{
	const struct frontdesk_settings *set = desk->set;
	struct frontdesk_state *state;
	const char *canonical = NULL, *record, *error;
	int ret;

	i_zero(info_r);
	p_array_init(&info_r->acks, desk->pool, 4);
	info_r->reference = p_strdup(desk->pool, ref);
	if (desk->key.secret_len > 0) {
		/* the whole argument must be one reference */
		canonical = frontdesk_ticket_find(&desk->key, ref);
		if (canonical != NULL &&
		    strlen(t_str_trim(ref, " \t")) != strlen(canonical))
			canonical = NULL;
	}
	if (canonical == NULL)
		return 0;
	info_r->genuine = TRUE;
	info_r->reference = p_strdup(desk->pool, canonical);

	if (frontdesk_state_init(desk->state_dir, set->ack.dict_uri,
				 set->ack.state_timeout_msecs, desk->username,
				 desk->event, &state, error_r) < 0)
		return -1;
	ret = frontdesk_state_lookup(state, canonical, &record, &error);
	frontdesk_state_deinit(&state);
	if (ret < 0) {
		*error_r = t_strdup_printf("ticket lookup failed: %s", error);
		return -1;
	}
	if (ret > 0) {
		const char *sp = strchr(record, ' ');

		info_r->known = TRUE;
		info_r->office = p_strdup(desk->pool, sp == NULL ? record :
					  t_strdup_until(record, sp));
		info_r->need = p_strdup(desk->pool, sp == NULL ? "" : sp + 1);
	}
	return frontdesk_desk_find(desk, canonical, &info_r->acks, error_r);
}
