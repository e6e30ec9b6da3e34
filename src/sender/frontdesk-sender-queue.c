/* Working one acknowledgment spool: scanning queue/, sending due entries
   through frontdesk-sender-relay.c (several at once, each entry once: the
   names in flight are remembered), retries with backoff, failed/ after
   the lifetime. Used by the service for every spool it knows and by the
   one-spool runner (cron, or started by a delivery without the service).
   The spool's runner.lock is held from the first scan on, so two workers
   never send the same entry. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "str-sanitize.h"
#include "ioloop.h"
#include "frontdesk-spool.h"
#include "frontdesk-sender-relay.h"
#include "frontdesk-sender-queue.h"

#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>

struct queue_send {
	struct frontdesk_sender_spool *spool;
	pool_t pool;
	struct frontdesk_spool_entry *e;
};

struct frontdesk_sender_spool {
	char *dir;
	int lock_fd;
	unsigned int spare_count;
	/* name -> send */
	HASH_TABLE(const char *, struct queue_send *) in_flight;
	/* name -> time of the next attempt, of the entries waiting for a
	   retry: a scan does not read them again before then (while the
	   relay is down, every delivery's notification scans the spool) */
	pool_t waiting_pool;
	HASH_TABLE(const char *, void *) waiting_until;
	unsigned int waiting;
	/* a send to this relay just went through while entries waited for
	   their retry: the next scan sends those of this relay at once
	   (the relay is back; their backoff was for it being away) */
	char *relay_back;
	time_t due;
	struct timeout *to_due;
	frontdesk_sender_spool_idle_t *idle_callback;
	void *idle_context;
};

static void spool_set_due(struct frontdesk_sender_spool *spool, time_t due);

static void spool_waiting_set(struct frontdesk_sender_spool *spool,
			      const char *name, time_t next_try)
{
	const char *key = p_strdup(spool->waiting_pool, name);
	void *value = POINTER_CAST(next_try);

	hash_table_update(spool->waiting_until, key, value);
}

struct frontdesk_sender_spool *frontdesk_sender_spool_create(const char *dir)
{
	struct frontdesk_sender_spool *spool;

	spool = i_new(struct frontdesk_sender_spool, 1);
	spool->dir = i_strdup(dir);
	spool->lock_fd = -1;
	hash_table_create(&spool->in_flight, default_pool, 0, str_hash,
			  strcmp);
	spool->waiting_pool = pool_alloconly_create("frontdesk waiting", 1024);
	/* the keys only are in waiting_pool */
	hash_table_create(&spool->waiting_until, default_pool, 0,
			  str_hash, strcmp);
	return spool;
}

void frontdesk_sender_spool_free(struct frontdesk_sender_spool **_spool)
{
	struct frontdesk_sender_spool *spool = *_spool;
	struct hash_iterate_context *iter;
	struct queue_send *qs;
	const char *name;

	*_spool = NULL;
	/* only after frontdesk_relay_deinit(): no callback comes anymore */
	iter = hash_table_iterate_init(spool->in_flight);
	while (hash_table_iterate(iter, spool->in_flight, &name, &qs))
		pool_unref(&qs->pool);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&spool->in_flight);
	hash_table_destroy(&spool->waiting_until);
	pool_unref(&spool->waiting_pool);
	timeout_remove(&spool->to_due);
	if (spool->lock_fd != -1)
		i_close_fd(&spool->lock_fd);
	i_free(spool->relay_back);
	i_free(spool->dir);
	i_free(spool);
}

const char *frontdesk_sender_spool_dir(struct frontdesk_sender_spool *spool)
{
	return spool->dir;
}

unsigned int frontdesk_sender_spool_in_flight(struct frontdesk_sender_spool *spool)
{
	return hash_table_count(spool->in_flight);
}

unsigned int frontdesk_sender_spool_waiting(struct frontdesk_sender_spool *spool)
{
	return spool->waiting;
}

void frontdesk_sender_spool_set_idle_callback(
	struct frontdesk_sender_spool *spool,
	frontdesk_sender_spool_idle_t *callback, void *context)
{
	spool->idle_callback = callback;
	spool->idle_context = context;
}

int frontdesk_sender_spool_lock(struct frontdesk_sender_spool *spool)
{
	const char *path;
	int fd;

	if (spool->lock_fd != -1)
		return 1;
	path = t_strdup_printf("%s/runner.lock", spool->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %m", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			i_error("flock(%s) failed: %m", path);
		i_close_fd(&fd);
		return errno == EWOULDBLOCK ? 0 : -1;
	}
	spool->lock_fd = fd;
	return 1;
}

void frontdesk_sender_spool_unlock(struct frontdesk_sender_spool *spool)
{
	i_assert(hash_table_count(spool->in_flight) == 0);
	if (spool->lock_fd != -1)
		i_close_fd(&spool->lock_fd);
}

static void spool_move_failed(struct frontdesk_sender_spool *spool,
			      const char *name)
{
	const char *from = t_strdup_printf("%s/queue/%s", spool->dir, name);
	const char *to = t_strdup_printf("%s/failed/%s", spool->dir, name);

	if (rename(from, to) < 0)
		i_error("rename(%s, %s) failed: %m", from, to);
}

/* parent of the frontdesk_ack_sent/_failed events (docs/events.md) */
static struct event *sender_event;
static struct event_category event_category_frontdesk_sender = {
	.name = "frontdesk",
};

void frontdesk_sender_events_init(void)
{
	sender_event = event_create(NULL);
	event_add_category(sender_event, &event_category_frontdesk_sender);
}

void frontdesk_sender_events_deinit(void)
{
	event_unref(&sender_event);
}

static struct event_passthrough *
sender_ack_event(const char *name, const struct frontdesk_spool_entry *e)
{
	return event_create_passthrough(sender_event)->set_name(name)->
		add_str("ticket", e->ticket == NULL ? "" : e->ticket)->
		add_int("attempts", e->attempts)->
		add_int("delay_secs", time(NULL) - e->created);
}

static void entry_fail(struct frontdesk_sender_spool *spool,
		       struct frontdesk_spool_entry *e, const char *why)
{
	const char *error;

	/* failed/ keeps why and after how many attempts, for the admin
	   (doveadm frontdesk queue) */
	e->last_error = why;
	if (frontdesk_spool_write(spool->dir, e, FALSE, &error) < 0)
		i_error("%s", error);
	e_error(sender_ack_event("frontdesk_ack_failed", e)->
		add_str("error", why)->add_int("given_up", 1)->event(),
		"ack for ticket %s to %s given up after %u attempt(s): %s "
		"(kept in %s/failed/%s)", e->ticket,
		str_sanitize(e->rcpt_to, 80), e->attempts,
		str_sanitize(why, 200), spool->dir, e->name);
	spool_move_failed(spool, e->name);
}

/* The relay an entry goes through, as far as the queue tells relays
   apart (the sendmail binary counts as one). */
static const char *entry_relay(const struct frontdesk_spool_entry *e)
{
	return e->submission_host != NULL && *e->submission_host != '\0' ?
		e->submission_host : "sendmail";
}

static void queue_send_callback(int status, const char *error, void *context)
{
	struct queue_send *qs = context;
	struct frontdesk_sender_spool *spool = qs->spool;
	struct frontdesk_spool_entry *e = qs->e;
	const char *werror, *name;
	struct queue_send *value;

	if (!hash_table_lookup_full(spool->in_flight, e->name, &name, &value))
		i_unreached();
	hash_table_remove(spool->in_flight, name);
	if (status > 0) {
		e_info(sender_ack_event("frontdesk_ack_sent", e)->event(),
		       "ack sent: ticket=%s to=%s attempt=%u delay=%lds",
		       e->ticket, str_sanitize(e->rcpt_to, 80), e->attempts,
		       (long)(time(NULL) - e->created));
		frontdesk_spool_done(spool->dir, e->name, &spool->spare_count);
		if (spool->waiting > 0) {
			/* the relay is back: the entries waiting for it go
			   now, not when their backoff ends */
			i_free(spool->relay_back);
			spool->relay_back = i_strdup(entry_relay(e));
			spool_set_due(spool, time(NULL));
		}
	} else if (status < 0) {
		entry_fail(spool, e, error);
	} else {
		e->last_error = error;
		e->next_try = time(NULL) + frontdesk_spool_backoff(e->attempts);
		if (e->next_try >= e->expires)
			entry_fail(spool, e, error);
		else {
			e_warning(sender_ack_event("frontdesk_ack_failed", e)->
				  add_str("error", error)->
				  add_int("given_up", 0)->event(),
				  "ack for ticket %s to %s not sent (attempt "
				  "%u), retrying in %lds: %s", e->ticket,
				  str_sanitize(e->rcpt_to, 80), e->attempts,
				  (long)(e->next_try - time(NULL)),
				  str_sanitize(error, 200));
			if (frontdesk_spool_write(spool->dir, e, TRUE,
						  &werror) < 0)
				i_error("%s", werror);
			spool_waiting_set(spool, e->name, e->next_try);
			spool->waiting++;
			spool_set_due(spool, e->next_try);
		}
	}
	pool_unref(&qs->pool);
	if (hash_table_count(spool->in_flight) == 0 &&
	    spool->idle_callback != NULL)
		spool->idle_callback(spool, spool->idle_context);
}

/* Handle one entry: start sending it when due. Returns the time of its
   next attempt when it waits, else 0. */
static time_t spool_entry(struct frontdesk_sender_spool *spool,
			  const char *name)
{
	struct frontdesk_spool_entry *e;
	struct queue_send *qs;
	const char *error;
	time_t now = time(NULL), cached;
	pool_t pool;
	int ret;

	if (hash_table_lookup(spool->in_flight, name) != NULL)
		return 0;
	cached = POINTER_CAST_TO(hash_table_lookup(spool->waiting_until,
						   name), time_t);
	if (cached > now && spool->relay_back == NULL)
		return cached;
	pool = pool_alloconly_create("frontdesk spool entry", 4096);
	ret = frontdesk_spool_read(pool, spool->dir, name, &e, &error);
	if (ret <= 0) {
		/* 0: sent by another worker meanwhile */
		if (ret < 0) {
			i_error("%s; moved to %s/failed/", error, spool->dir);
			spool_move_failed(spool, name);
		}
		pool_unref(&pool);
		return 0;
	}
	if (e->next_try > now && (spool->relay_back == NULL ||
				  strcmp(entry_relay(e), spool->relay_back) != 0)) {
		spool_waiting_set(spool, name, e->next_try);
		pool_unref(&pool);
		return e->next_try;
	}
	if (e->expires <= now) {
		entry_fail(spool, e, e->last_error != NULL &&
			   *e->last_error != '\0' ? e->last_error :
			   "lifetime over");
		pool_unref(&pool);
		return 0;
	}
	e->attempts++;
	qs = p_new(pool, struct queue_send, 1);
	qs->spool = spool;
	qs->pool = pool;
	qs->e = e;
	hash_table_insert(spool->in_flight, e->name, qs);
	if (frontdesk_relay_send(e, queue_send_callback, qs, &error) < 0) {
		hash_table_remove(spool->in_flight, e->name);
		entry_fail(spool, e, error);
		pool_unref(&pool);
	}
	return 0;
}

static void spool_waiting_clear(struct frontdesk_sender_spool *spool)
{
	hash_table_clear(spool->waiting_until, FALSE);
	p_clear(spool->waiting_pool);
}

static void spool_due(struct frontdesk_sender_spool *spool)
{
	timeout_remove(&spool->to_due);
	spool->due = 0;
	frontdesk_sender_spool_scan(spool);
}

static void spool_set_due(struct frontdesk_sender_spool *spool, time_t due)
{
	time_t now = time(NULL);

	if (spool->to_due != NULL && spool->due <= due)
		return;
	timeout_remove(&spool->to_due);
	spool->due = due;
	spool->to_due = timeout_add(due <= now ? 0 : (due - now) * 1000,
				    spool_due, spool);
}

void frontdesk_sender_spool_scan(struct frontdesk_sender_spool *spool)
{
	ARRAY_TYPE(const_string) names;
	const char *dir, *name, *error;
	time_t next, first = 0;

	if (frontdesk_sender_spool_lock(spool) <= 0)
		return;
	dir = t_strdup_printf("%s/queue", spool->dir);
	spool->spare_count = frontdesk_spool_spare_count(spool->dir);
	t_array_init(&names, 32);
	if (frontdesk_spool_list(dir, &names, &error) < 0) {
		i_error("%s", error);
		return;
	}
	/* forget names gone from queue/ (sent, failed) now and then */
	if (hash_table_count(spool->waiting_until) > array_count(&names) * 2 + 64)
		spool_waiting_clear(spool);
	spool->waiting = 0;
	array_foreach_elem(&names, name) {
		T_BEGIN {
			next = spool_entry(spool, name);
		} T_END;
		if (next != 0) {
			spool->waiting++;
			if (first == 0 || next < first)
				first = next;
		}
	}
	i_free(spool->relay_back);
	timeout_remove(&spool->to_due);
	if (first != 0)
		spool_set_due(spool, first);
	if (hash_table_count(spool->in_flight) == 0 &&
	    spool->idle_callback != NULL)
		spool->idle_callback(spool, spool->idle_context);
}

bool frontdesk_sender_spool_queue_empty(struct frontdesk_sender_spool *spool)
{
	const char *dir = t_strdup_printf("%s/queue", spool->dir);
	struct dirent *d;
	bool empty = TRUE;
	DIR *dirp;

	if ((dirp = opendir(dir)) == NULL)
		return TRUE;
	while (empty && (d = readdir(dirp)) != NULL) {
		if (d->d_name[0] != '.')
			empty = FALSE;
	}
	(void)closedir(dirp);
	return empty;
}
