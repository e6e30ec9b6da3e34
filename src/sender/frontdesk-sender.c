/* frontdesk-sender: sends the acknowledgments that deliveries left in the
   spools, retrying with backoff while the relay is down, so that a
   delivery never waits for the relay and an ack is never lost because of
   it. Two ways to run it:

   As a Dovecot service (conf.d/91-frontdesk-sender.conf): started and
   supervised by the master, one process for every support mailbox of the
   server. A delivery that queued an ack writes "SPOOL\t<dir>" to the
   service's socket and goes on; the service checks the directory (see
   spool_path_check()), remembers it in its registry (-r DIR) and scans
   it. At start and every FRONTDESK_SENDER_RESCAN_SECS it scans every spool
   of the registry, so an entry whose notification was lost, or that was
   waiting for a retry when the service stopped, is sent anyway.

   As a one-spool runner: frontdesk-sender [-d] [-w SECS] SPOOL_DIR, from
   cron (-w 0) on a site without the service, or started by a delivery
   when the service's socket is not there. It leaves once the queue is
   empty and nothing came for SECS seconds (default 5).

   Either way one worker per spool: the spool's runner.lock (flock) is held
   while it is worked, by the service for as long as it runs. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "ioloop.h"
#include "istream.h"
#include "hex-binary.h"
#include "md5.h"
#include "master-interface.h"
#include "master-service.h"
#include "restrict-access.h"
#include "frontdesk-spool.h"
#include "frontdesk-sender-relay.h"
#include "frontdesk-sender-queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/inotify.h>

#define SENDER_DEFAULT_IDLE_SECS 5
/* a lost notification waits at most this long */
#define FRONTDESK_SENDER_RESCAN_SECS 30
/* "SPOOL\t" + a path */
#define SENDER_MAX_LINE (PATH_MAX + 64)
#ifndef FRONTDESK_SENDER_REGISTRY
#  define FRONTDESK_SENDER_REGISTRY "/var/lib/frontdesk/spools"
#endif

struct notify_client {
	int fd;
	struct istream *input;
	struct io *io;
};

static ARRAY(struct frontdesk_sender_spool *) spools;
static const char *registry_dir = FRONTDESK_SENDER_REGISTRY;
static unsigned int idle_secs = SENDER_DEFAULT_IDLE_SECS;
static struct timeout *to_rescan, *to_idle;
static struct io *io_inotify;
static int inotify_fd = -1;

/* --- the spools the service knows --------------------------------------- */

/* A spool the service works must be one a delivery of this server made:
   an absolute, plain path ending in /spool, a directory (not a symlink)
   owned by the uid the service runs as and writable by nobody else, with
   a queue/ of the same owner. The service runs as the mail user that owns
   the support mailboxes (conf.d/91-frontdesk-sender.conf), so anyone who
   can write to its socket can only point it at directories that user owns
   already; a directory of another user is refused, not followed. */
static int spool_path_check(const char *path, const char **error_r)
{
	struct stat st;
	const char *queue;
	size_t len = strlen(path);

	if (path[0] != '/' || len >= PATH_MAX || len < 7 ||
	    strcmp(path + len - 6, "/spool") != 0 ||
	    strstr(path, "//") != NULL || strstr(path, "/./") != NULL ||
	    strstr(path, "/../") != NULL) {
		*error_r = "not an absolute path of a spool";
		return -1;
	}
	if (lstat(path, &st) < 0) {
		*error_r = t_strdup_printf("lstat() failed: %m");
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0022) != 0) {
		*error_r = t_strdup_printf("not a directory of uid %ld "
			"writable only by it", (long)geteuid());
		return -1;
	}
	queue = t_strconcat(path, "/queue", NULL);
	if (lstat(queue, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid()) {
		*error_r = "no queue/ directory of ours in it";
		return -1;
	}
	return 0;
}

static const char *registry_name(const char *path)
{
	unsigned char digest[MD5_RESULTLEN];

	md5_get_digest(path, strlen(path), digest);
	return binary_to_hex(digest, sizeof(digest));
}

static void registry_add(const char *path)
{
	const char *link;

	if (registry_dir == NULL)
		return;
	link = t_strdup_printf("%s/%s", registry_dir, registry_name(path));
	if (symlink(path, link) < 0 && errno != EEXIST)
		i_error("symlink(%s, %s) failed: %m", path, link);
}

static struct frontdesk_sender_spool *spool_find(const char *path)
{
	struct frontdesk_sender_spool *spool;

	array_foreach_elem(&spools, spool) {
		if (strcmp(frontdesk_sender_spool_dir(spool), path) == 0)
			return spool;
	}
	return NULL;
}

static struct frontdesk_sender_spool *spool_get(const char *path)
{
	struct frontdesk_sender_spool *spool;
	const char *error;

	if ((spool = spool_find(path)) != NULL)
		return spool;
	if (spool_path_check(path, &error) < 0) {
		i_error("spool %s refused: %s", str_sanitize(path, 200), error);
		return NULL;
	}
	/* a spool made by an older version has no spare/ */
	if (frontdesk_spool_mkdirs(path, &error) < 0)
		i_error("%s", error);
	spool = frontdesk_sender_spool_create(path);
	array_push_back(&spools, &spool);
	registry_add(path);
	return spool;
}

static void registry_load(void)
{
	const char *link, *path, *error;
	char target[PATH_MAX];
	struct dirent *d;
	ssize_t len;
	DIR *dirp;

	if (mkdir(registry_dir, 0700) < 0 && errno != EEXIST) {
		i_error("mkdir(%s) failed: %m; spools are known only from "
			"notifications until it can be made", registry_dir);
		return;
	}
	if ((dirp = opendir(registry_dir)) == NULL) {
		i_error("opendir(%s) failed: %m", registry_dir);
		return;
	}
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		link = t_strdup_printf("%s/%s", registry_dir, d->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		path = t_strdup(target);
		if (spool_path_check(path, &error) < 0) {
			/* the mailbox is gone, or not ours anymore */
			i_info("forgetting spool %s: %s",
			       str_sanitize(path, 200), error);
			i_unlink_if_exists(link);
			continue;
		}
		(void)spool_get(path);
	}
	(void)closedir(dirp);
}

static void rescan_all(void *context ATTR_UNUSED)
{
	struct frontdesk_sender_spool *spool;

	array_foreach_elem(&spools, spool) T_BEGIN {
		frontdesk_sender_spool_scan(spool);
	} T_END;
}

/* --- the service's socket ------------------------------------------------ */

static void notify_client_destroy(struct notify_client **_client)
{
	struct notify_client *client = *_client;

	*_client = NULL;
	io_remove(&client->io);
	i_stream_destroy(&client->input);
	i_close_fd(&client->fd);
	i_free(client);
	master_service_client_connection_destroyed(master_service);
}

static void notify_line(const char *line)
{
	struct frontdesk_sender_spool *spool;
	const char *path;

	if (!str_begins_with(line, "SPOOL\t")) {
		i_error("unknown request '%s'", str_sanitize(line, 80));
		return;
	}
	path = line + 6;
	if ((spool = spool_get(path)) != NULL)
		frontdesk_sender_spool_scan(spool);
}

static void notify_input(struct notify_client *client)
{
	const char *line;

	while ((line = i_stream_read_next_line(client->input)) != NULL) T_BEGIN {
		notify_line(line);
	} T_END;
	if (client->input->stream_errno == ENOBUFS)
		i_error("request longer than %d bytes", SENDER_MAX_LINE);
	if (client->input->eof || client->input->stream_errno != 0)
		notify_client_destroy(&client);
}

static void client_connected(struct master_service_connection *conn)
{
	struct notify_client *client;

	master_service_client_connection_accept(conn);
	client = i_new(struct notify_client, 1);
	client->fd = conn->fd;
	client->input = i_stream_create_fd(conn->fd, SENDER_MAX_LINE);
	client->io = io_add(conn->fd, IO_READ, notify_input, client);
}

/* The master asks an idle process to leave (idle_kill) only beyond
   process_min_avail; even then, not while an ack is on its way or waits
   for a retry: its timer is here. */
static bool service_idle_die(void)
{
	struct frontdesk_sender_spool *spool;

	array_foreach_elem(&spools, spool) {
		if (frontdesk_sender_spool_in_flight(spool) > 0 ||
		    frontdesk_sender_spool_waiting(spool) > 0)
			return FALSE;
	}
	return TRUE;
}

static void service_run(void)
{
	if (geteuid() == 0) {
		i_warning("running as root: it accepts only spools owned "
			  "by root; set user = the mail user in service "
			  "frontdesk-sender");
	}
	master_service_set_idle_die_callback(master_service, service_idle_die);
	registry_load();
	rescan_all(NULL);
	to_rescan = timeout_add(FRONTDESK_SENDER_RESCAN_SECS * 1000,
				rescan_all, NULL);
	master_service_run(master_service, client_connected);
	timeout_remove(&to_rescan);
}

/* --- one spool, without the service ------------------------------------- */

static void runner_leave(struct frontdesk_sender_spool *spool)
{
	timeout_remove(&to_idle);
	/* A delivery that queued an entry after our last scan saw the lock
	   held and started nobody: look once more after letting go, and
	   stay if we can take it back. */
	frontdesk_sender_spool_unlock(spool);
	if (frontdesk_sender_spool_queue_empty(spool) ||
	    frontdesk_sender_spool_lock(spool) <= 0) {
		io_loop_stop(current_ioloop);
		return;
	}
	frontdesk_sender_spool_scan(spool);
}

static void runner_idle(struct frontdesk_sender_spool *spool,
			void *context ATTR_UNUSED)
{
	/* entries waiting for a retry keep the runner (their timer) */
	if (frontdesk_sender_spool_waiting(spool) > 0)
		return;
	timeout_remove(&to_idle);
	to_idle = timeout_add(idle_secs * 1000, runner_leave, spool);
}

static void runner_inotify(struct frontdesk_sender_spool *spool)
{
	char buf[4096];

	/* drain: the whole queue is scanned anyway */
	while (read(inotify_fd, buf, sizeof(buf)) > 0) ;
	timeout_remove(&to_idle);
	frontdesk_sender_spool_scan(spool);
}

static void runner_run(const char *spool_dir)
{
	struct frontdesk_sender_spool *spool;
	const char *queue = t_strdup_printf("%s/queue", spool_dir);
	const char *error;

	if (frontdesk_spool_mkdirs(spool_dir, &error) < 0)
		i_fatal("%s", error);
	spool = frontdesk_sender_spool_create(spool_dir);
	array_push_back(&spools, &spool);
	if (frontdesk_sender_spool_lock(spool) <= 0)
		return; /* another worker has it */
	frontdesk_sender_spool_set_idle_callback(spool, runner_idle, NULL);
	inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inotify_fd != -1 &&
	    inotify_add_watch(inotify_fd, queue, IN_MOVED_TO) < 0) {
		i_error("inotify_add_watch(%s) failed: %m", queue);
		i_close_fd(&inotify_fd);
	}
	if (inotify_fd != -1)
		io_inotify = io_add(inotify_fd, IO_READ, runner_inotify, spool);
	frontdesk_sender_spool_scan(spool);
	io_loop_run(current_ioloop);
	io_remove(&io_inotify);
	timeout_remove(&to_idle);
	if (inotify_fd != -1)
		i_close_fd(&inotify_fd);
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: frontdesk-sender [-r REGISTRY] [-n CONNECTIONS]\n"
		"       frontdesk-sender [-d] [-w SECS] SPOOL_DIR\n"
		"Sends the acknowledgments that deliveries queued in support\n"
		"mailboxes' spools (~/.frontdesk/spool), retrying while the\n"
		"relay is down. Started by Dovecot's master (service\n"
		"frontdesk-sender): one process for every spool it is told\n"
		"about. Else it works the one SPOOL_DIR and leaves.\n"
		"  -r DIR   where the service remembers its spools\n"
		"  -n N     SMTP connections kept per relay (default 4)\n"
		"  -d       log through Dovecot's log service (when started by\n"
		"           lmtp or dovecot-lda)\n"
		"  -w SECS  wait this long for new entries once the queue is\n"
		"           empty (default %u; 0: one pass, for cron)\n"
		"  -h, --help  this text\n", SENDER_DEFAULT_IDLE_SECS);
}

int main(int argc, char *argv[])
{
	/* stats: the master gives its services the stats-writer socket
	   (DOVECOT_STATS_WRITER_SOCKET_PATH), so frontdesk_ack_sent/_failed
	   reach the admin's metrics; a runner (started by a delivery with
	   a bare environment, or from cron) has none and only logs them */
	enum master_service_flags service_flags =
		MASTER_SERVICE_FLAG_NO_CONFIG_SETTINGS |
		MASTER_SERVICE_FLAG_NO_SSL_INIT;
	bool internal_log = FALSE, as_service;
	struct frontdesk_sender_spool *spool;
	unsigned int max_conns = 0;
	int c;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "--help") == 0)) {
		print_usage(stdout);
		return 0;
	}
	/* started by Dovecot's master: the service; else a runner */
	as_service = getenv(MASTER_IS_PARENT_ENV) != NULL;
	if (!as_service)
		service_flags |= MASTER_SERVICE_FLAG_STANDALONE;
	master_service = master_service_init("frontdesk-sender", service_flags,
					     &argc, &argv, "dw:r:n:");
	while ((c = master_getopt(master_service)) > 0) {
		switch (c) {
		case 'd':
			internal_log = TRUE;
			break;
		case 'w':
			if (str_to_uint(optarg, &idle_secs) < 0)
				i_fatal("-w: '%s' is not a number", optarg);
			break;
		case 'r':
			registry_dir = optarg;
			break;
		case 'n':
			if (str_to_uint(optarg, &max_conns) < 0)
				i_fatal("-n: '%s' is not a number", optarg);
			break;
		default:
			print_usage(stderr);
			return EX_USAGE;
		}
	}
	if (as_service ? optind != argc : optind != argc - 1) {
		print_usage(stderr);
		return EX_USAGE;
	}
	if (internal_log)
		i_set_failure_internal();
	if (!as_service)
		i_set_failure_prefix("frontdesk-sender: ");
	if (as_service) {
		/* the user = of service frontdesk-sender */
		restrict_access_by_env(RESTRICT_ACCESS_FLAG_ALLOW_ROOT, NULL);
		restrict_access_allow_coredumps(TRUE);
	}
	master_service_init_finish(master_service);
	frontdesk_sender_events_init();
	i_array_init(&spools, 16);
	frontdesk_relay_init(max_conns);
	T_BEGIN {
		if (as_service)
			service_run();
		else
			runner_run(argv[optind]);
	} T_END;
	/* transactions still running are cut: their entries stay queued */
	frontdesk_relay_deinit();
	array_foreach_elem(&spools, spool)
		frontdesk_sender_spool_free(&spool);
	array_free(&spools);
	frontdesk_sender_events_deinit();
	master_service_deinit(&master_service);
	return 0;
}
