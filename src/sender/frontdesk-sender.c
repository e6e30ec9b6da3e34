/* frontdesk-sender: sends the acknowledgments that deliveries left in the
   spool, retrying with backoff while the relay is down, so that a delivery
   never waits for the relay and an ack is never lost because of it.

   One runner per spool (an flock on runner.lock); the delivering process
   starts one when none is running. The runner waits a little for new
   entries (inotify) before it leaves, so a busy server starts it rarely.

   usage: frontdesk-sender [-d] [-w SECS] SPOOL_DIR
     -d       log through Dovecot's log service (when started by lmtp/lda)
     -w SECS  stay this long for new entries after the queue is empty
              (default 5; 0 = one pass, for cron) */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "ioloop.h"
#include "hostpid.h"
#include "ostream.h"
#include "smtp-address.h"
#include "smtp-submit.h"
#include "smtp-submit-settings.h"
#include "master-service.h"
#include "frontdesk-spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/inotify.h>

#define SENDER_DEFAULT_IDLE_SECS 5
/* RFC 5321 4.5.3.2.7: 10 minutes for DATA is the SMTP ceiling; a relay
   that accepts the connection and then stalls is given at most this. */
#define SENDER_DEFAULT_TIMEOUT_SECS 30

static const char *spool_dir;
static unsigned int idle_secs = SENDER_DEFAULT_IDLE_SECS;
/* files in spare/, counted at each pass */
static unsigned int spare_count;
/* parent of the frontdesk_ack_sent/_failed events (docs/events.md) */
static struct event *sender_event;
static struct event_category event_category_frontdesk_sender = {
	.name = "frontdesk",
};

static struct event_passthrough *
sender_ack_event(const char *name, const struct frontdesk_spool_entry *e)
{
	return event_create_passthrough(sender_event)->set_name(name)->
		add_str("ticket", e->ticket == NULL ? "" : e->ticket)->
		add_int("attempts", e->attempts)->
		add_int("delay_secs", time(NULL) - e->created);
}

/* 1 sent, 0 to retry, -1 given up */
static int send_entry(struct frontdesk_spool_entry *e, const char **error_r)
{
	struct smtp_submit_settings set;
	struct smtp_submit_input input;
	struct smtp_submit *subm;
	struct smtp_address *mail_from = NULL, *rcpt;
	struct ostream *output;
	const char *error;
	int ret;

	i_zero(&set);
	set.hostname = e->hostname != NULL && *e->hostname != '\0' ?
		e->hostname : my_hostname;
	set.submission_host = e->submission_host == NULL ? "" :
		e->submission_host;
	set.sendmail_path = e->sendmail_path == NULL ||
		*e->sendmail_path == '\0' ? "/usr/sbin/sendmail" :
		e->sendmail_path;
	set.submission_timeout = e->submission_timeout > 0 ?
		e->submission_timeout : SENDER_DEFAULT_TIMEOUT_SECS;
	set.submission_ssl = "no";

	if (smtp_address_parse_path(pool_datastack_create(), e->rcpt_to,
				    SMTP_ADDRESS_PARSE_FLAG_BRACKETS_OPTIONAL,
				    &rcpt, &error) < 0) {
		*error_r = t_strdup_printf("bad recipient %s: %s",
					   str_sanitize(e->rcpt_to, 80), error);
		return -1;
	}
	if (e->mail_from != NULL && *e->mail_from != '\0' &&
	    smtp_address_parse_path(pool_datastack_create(), e->mail_from,
				    SMTP_ADDRESS_PARSE_FLAG_BRACKETS_OPTIONAL,
				    &mail_from, &error) < 0) {
		*error_r = t_strdup_printf("bad sender %s: %s",
			str_sanitize(e->mail_from, 80), error);
		return -1;
	}
	i_zero(&input);
	subm = smtp_submit_init_simple(&input, &set, mail_from);
	smtp_submit_add_rcpt(subm, rcpt);
	output = smtp_submit_send(subm);
	o_stream_nsend(output, e->message, e->message_size);
	ret = smtp_submit_run(subm, &error);
	smtp_submit_deinit(&subm);
	/* smtp_submit: 1 ok, 0 permanent failure, -1 temporary failure */
	if (ret > 0)
		return 1;
	*error_r = error == NULL ? "unknown error" : error;
	return ret == 0 ? -1 : 0;
}

static void entry_fail(struct frontdesk_spool_entry *e, const char *why)
{
	const char *from = t_strdup_printf("%s/queue/%s", spool_dir, e->name);
	const char *to = t_strdup_printf("%s/failed/%s", spool_dir, e->name);
	const char *error;

	/* failed/ keeps why and after how many attempts, for the admin
	   (doveadm frontdesk queue) */
	e->last_error = why;
	if (frontdesk_spool_write(spool_dir, e, FALSE, &error) < 0)
		i_error("%s", error);

	e_error(sender_ack_event("frontdesk_ack_failed", e)->
		add_str("error", why)->add_int("given_up", 1)->event(),
		"ack for ticket %s to %s given up after %u attempt(s): %s "
		"(kept in %s)", e->ticket, str_sanitize(e->rcpt_to, 80),
		e->attempts, str_sanitize(why, 200), to);
	if (rename(from, to) < 0)
		i_error("rename(%s, %s) failed: %m", from, to);
}

/* Handle one entry. Returns the time of its next attempt, or 0 if it is
   done (sent or given up). */
static time_t process_entry(const char *name)
{
	struct frontdesk_spool_entry *e;
	const char *error;
	time_t now = time(NULL);
	int ret;

	ret = frontdesk_spool_read(pool_datastack_create(), spool_dir, name,
				   &e, &error);
	if (ret == 0)
		return 0; /* sent by another runner meanwhile */
	if (ret < 0) {
		const char *from = t_strdup_printf("%s/queue/%s",
						   spool_dir, name);
		const char *to = t_strdup_printf("%s/failed/%s",
						 spool_dir, name);
		i_error("%s; moved to %s", error, to);
		if (rename(from, to) < 0)
			i_error("rename(%s, %s) failed: %m", from, to);
		return 0;
	}
	if (e->next_try > now)
		return e->next_try;
	if (e->expires <= now) {
		entry_fail(e, e->last_error != NULL && *e->last_error != '\0' ?
			   e->last_error : "lifetime over");
		return 0;
	}
	e->attempts++;
	ret = send_entry(e, &error);
	if (ret > 0) {
		e_info(sender_ack_event("frontdesk_ack_sent", e)->event(),
		       "ack sent: ticket=%s to=%s attempt=%u delay=%lds",
		       e->ticket, str_sanitize(e->rcpt_to, 80), e->attempts,
		       (long)(time(NULL) - e->created));
		frontdesk_spool_done(spool_dir, name, &spare_count);
		return 0;
	}
	if (ret < 0) {
		entry_fail(e, error);
		return 0;
	}
	e->last_error = error;
	e->next_try = time(NULL) + frontdesk_spool_backoff(e->attempts);
	if (e->next_try >= e->expires) {
		entry_fail(e, error);
		return 0;
	}
	e_warning(sender_ack_event("frontdesk_ack_failed", e)->
		  add_str("error", error)->add_int("given_up", 0)->event(),
		  "ack for ticket %s to %s not sent (attempt %u), retrying "
		  "in %lds: %s", e->ticket, str_sanitize(e->rcpt_to, 80),
		  e->attempts, (long)(e->next_try - time(NULL)),
		  str_sanitize(error, 200));
	if (frontdesk_spool_write(spool_dir, e, TRUE, &error) < 0)
		i_error("%s", error);
	return e->next_try;
}

static int name_cmp(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

/* One pass over the queue. Returns the number of entries left and the
   earliest time one of them is due. */
static unsigned int queue_pass(time_t *next_r)
{
	ARRAY_TYPE(const_string) names;
	const char *dir = t_strdup_printf("%s/queue", spool_dir), *name;
	struct dirent *d;
	unsigned int left = 0;
	time_t next;
	DIR *dirp;

	*next_r = 0;
	spare_count = frontdesk_spool_spare_count(spool_dir);
	dirp = opendir(dir);
	if (dirp == NULL) {
		i_error("opendir(%s) failed: %m", dir);
		return 0;
	}
	t_array_init(&names, 32);
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		name = t_strdup(d->d_name);
		array_push_back(&names, &name);
	}
	(void)closedir(dirp);
	/* names start with the creation time: oldest first */
	array_sort(&names, name_cmp);
	array_foreach_elem(&names, name) {
		T_BEGIN {
			next = process_entry(name);
		} T_END;
		if (next != 0) {
			left++;
			if (*next_r == 0 || next < *next_r)
				*next_r = next;
		}
	}
	return left;
}

static bool queue_empty(const char *dir)
{
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

static int runner_lock(int *fd_r)
{
	const char *path = t_strdup_printf("%s/runner.lock", spool_dir);
	int fd;

	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %m", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		i_close_fd(&fd);
		return 0;
	}
	*fd_r = fd;
	return 1;
}

/* Wait for a new entry or until deadline. */
static void wait_for(int inotify_fd, time_t deadline)
{
	struct pollfd pfd = { .fd = inotify_fd, .events = POLLIN };
	char buf[4096];
	time_t now = time(NULL);
	int timeout = deadline <= now ? 0 : (deadline - now) * 1000;

	if (inotify_fd == -1) {
		if (timeout > 0)
			usleep(I_MIN(timeout, 1000) * 1000);
		return;
	}
	if (poll(&pfd, 1, timeout) > 0) {
		/* drain: we rescan the whole queue anyway */
		while (read(inotify_fd, buf, sizeof(buf)) > 0) ;
	}
}

static void run(void)
{
	const char *queue = t_strdup_printf("%s/queue", spool_dir);
	int lock_fd = -1, inotify_fd;
	time_t next, idle_until;
	unsigned int left;
	const char *error;

	if (runner_lock(&lock_fd) <= 0)
		return; /* another runner has it */
	/* a spool made by an older version has no spare/ */
	if (frontdesk_spool_mkdirs(spool_dir, &error) < 0)
		i_error("%s", error);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd != -1 &&
	    inotify_add_watch(inotify_fd, queue, IN_MOVED_TO) < 0) {
		i_error("inotify_add_watch(%s) failed: %m", queue);
		i_close_fd(&inotify_fd);
	}
	idle_until = time(NULL) + idle_secs;
	for (;;) {
		left = queue_pass(&next);
		if (left > 0) {
			/* entries waiting for a retry: sleep until the first
			   is due, or a new one arrives */
			wait_for(inotify_fd, next);
			idle_until = time(NULL) + idle_secs;
			continue;
		}
		if (time(NULL) < idle_until) {
			wait_for(inotify_fd, idle_until);
			continue;
		}
		/* Leave. A delivery that queued an entry after our last
		   pass saw the lock held and started nobody: look once more
		   after letting go, and stay if we can take it back. */
		i_close_fd(&lock_fd);
		if (queue_empty(queue) || runner_lock(&lock_fd) <= 0)
			break;
	}
	if (lock_fd != -1)
		i_close_fd(&lock_fd);
	if (inotify_fd != -1)
		i_close_fd(&inotify_fd);
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: frontdesk-sender [-d] [-w SECS] SPOOL_DIR\n"
		"Sends the acknowledgments queued in SPOOL_DIR (a support\n"
		"mailbox's ~/.frontdesk/spool), retrying while the relay is down.\n"
		"  -d       log through Dovecot's log service (when started by\n"
		"           lmtp or dovecot-lda)\n"
		"  -w SECS  wait this long for new entries once the queue is\n"
		"           empty (default %u; 0: one pass, for cron)\n"
		"  -h, --help  this text\n", SENDER_DEFAULT_IDLE_SECS);
}

int main(int argc, char *argv[])
{
	const enum master_service_flags service_flags =
		MASTER_SERVICE_FLAG_STANDALONE |
		MASTER_SERVICE_FLAG_NO_CONFIG_SETTINGS |
		MASTER_SERVICE_FLAG_DONT_SEND_STATS |
		MASTER_SERVICE_FLAG_NO_SSL_INIT;
	bool internal_log = FALSE;
	const char *error;
	int c;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "--help") == 0)) {
		print_usage(stdout);
		return 0;
	}
	master_service = master_service_init("frontdesk-sender", service_flags,
					     &argc, &argv, "dw:");
	while ((c = master_getopt(master_service)) > 0) {
		switch (c) {
		case 'd':
			internal_log = TRUE;
			break;
		case 'w':
			if (str_to_uint(optarg, &idle_secs) < 0)
				i_fatal("-w: '%s' is not a number", optarg);
			break;
		default:
			print_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		print_usage(stderr);
		return EX_USAGE;
	}
	spool_dir = argv[optind];
	if (internal_log) {
		i_set_failure_internal();
		i_set_failure_prefix("frontdesk-sender: ");
	} else {
		i_set_failure_prefix("frontdesk-sender: ");
	}
	master_service_init_finish(master_service);
	sender_event = event_create(NULL);
	event_add_category(sender_event, &event_category_frontdesk_sender);
	if (frontdesk_spool_mkdirs(spool_dir, &error) < 0)
		i_fatal("%s", error);
	T_BEGIN {
		run();
	} T_END;
	event_unref(&sender_event);
	master_service_deinit(&master_service);
	return 0;
}
