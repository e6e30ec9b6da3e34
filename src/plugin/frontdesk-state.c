/* frontdesk's persistent state: tickets and rate counters, in files or in
   a Dovecot dict. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "mkdir-parents.h"
#include "strnum.h"
#include "write-full.h"
#include "ioloop.h"
#include "dict.h"
#include "frontdesk-state.h"

#include <ctype.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

/* A ticket record is a short line ("office need"). */
#define STATE_VALUE_MAX 256

struct frontdesk_state {
	char *dir;
	char *namespace;
	struct dict *dict;
	struct event *event;

	/* The dict's time in this delivery: budget, what one request may
	   take, and what the requests took so far. After a request failed
	   the dict is only asked to release a claim. */
	unsigned int budget_msecs, request_msecs, spent_msecs;
	bool failed;
};

static const char *state_hash(const char *key)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(key, strlen(key), digest);
	return binary_to_hex(digest, 16);
}

/* The redis driver waits timeout_msecs for each reply (30 s by default):
   give it the time of one request unless the admin chose one. Other
   drivers bring their own timeouts. */
static const char *state_dict_uri(const char *uri, unsigned int msecs)
{
	if (!str_begins(uri, "redis:") || strstr(uri, "timeout_msecs=") != NULL)
		return uri;
	return t_strdup_printf("%s%stimeout_msecs=%u", uri,
			       uri[6] == '\0' ? "" : ":", msecs);
}

int frontdesk_state_init(const char *dir, const char *dict_uri,
			 unsigned int timeout_msecs, const char *namespace,
			 struct event *event, struct frontdesk_state **state_r,
			 const char **error_r)
{
	struct frontdesk_state *state;
	struct dict_settings dset;
	const char *error;

	state = i_new(struct frontdesk_state, 1);
	state->dir = i_strdup(dir);
	state->namespace = i_strdup(state_hash(namespace));
	state->event = event;
	/* a third each: a request that times out leaves the time to
	   release the claim it may have made */
	state->budget_msecs = timeout_msecs;
	state->request_msecs = I_MAX(timeout_msecs / 3, 1);
	if (*dict_uri != '\0') {
		i_zero(&dset);
		dset.base_dir = dir;
		dset.event_parent = event;
		if (dict_init(state_dict_uri(dict_uri, state->request_msecs),
			      &dset, &state->dict, &error) < 0) {
			*error_r = t_strdup_printf("frontdesk_ack_dict %s: %s",
						   dict_uri, error);
			frontdesk_state_deinit(&state);
			return -1;
		}
	}
	*state_r = state;
	return 0;
}

bool frontdesk_state_failed(const struct frontdesk_state *state)
{
	return state->failed;
}

void frontdesk_state_deinit(struct frontdesk_state **_state)
{
	struct frontdesk_state *state = *_state;

	if (state == NULL)
		return;
	*_state = NULL;
	if (state->dict != NULL)
		dict_deinit(&state->dict);
	i_free(state->dir);
	i_free(state->namespace);
	i_free(state);
}

/* --- files ---------------------------------------------------------- */

/* Records live in 64 bucket files per kind (by the key's hash), one line
   each, changed under flock. A file per record cost an inode per delivery,
   and creating inodes was the largest single cost of a delivery on ext4;
   buckets also let old records expire. A desk with 1000 new tickets a day
   keeps about 90 KB per ticket bucket. */
#define BUCKET_COUNT 64
#define BUCKET_MAX_SIZE (8*1024*1024)
/* tickets: "<hash> <created> <value>", appended in time order and kept 90
   days (a follow-up after that opens a new ticket): the bucket is pruned
   when its first line has expired */
#define TICKET_KEEP_SECS (90*24*3600)
/* counters: "<hash> <window> <count> <updated>", kept 2 days (the longest
   window is a day) */
#define COUNTER_KEEP_SECS (2*24*3600)
#define HASH_HEX_LEN 32

static int open_creating_dirs(const char *path, int flags,
			      const char **error_r)
{
	const char *dir;
	int fd;

	fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT && (flags & O_CREAT) != 0) {
		dir = t_strdup_until(path, strrchr(path, '/'));
		if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
			*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
			return -1;
		}
		fd = open(path, flags, 0600);
	}
	if (fd < 0 && errno != ENOENT)
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
	return fd;
}

static unsigned int bucket_of(const char *hash)
{
	unsigned int i, n = 0;

	for (i = 0; i < 2; i++) {
		n = n * 16 + (i_isdigit(hash[i]) ? hash[i] - '0' :
			      i_tolower(hash[i]) - 'a' + 10);
	}
	return n % BUCKET_COUNT;
}

/* Open and lock the bucket of hash. Returns 1, 0 if it does not exist (only
   without create), -1 on error. */
static int bucket_open(struct frontdesk_state *state, const char *kind,
		       const char *hash, bool create, int *fd_r,
		       const char **path_r, const char **error_r)
{
	const char *path;
	int fd;

	path = t_strdup_printf("%s/%s/%02x", state->dir, kind,
			       bucket_of(hash));
	fd = open_creating_dirs(path, create ? O_RDWR | O_CREAT : O_RDONLY,
				error_r);
	if (fd < 0)
		return errno == ENOENT && !create ? 0 : -1;
	if (flock(fd, create ? LOCK_EX : LOCK_SH) < 0) {
		*error_r = t_strdup_printf("flock(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	*fd_r = fd;
	*path_r = path;
	return 1;
}

static int bucket_read(struct frontdesk_state *state, int fd,
		       const char *path, string_t *buf, const char **error_r)
{
	struct stat st;
	ssize_t ret;

	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		return -1;
	}
	if (st.st_size > BUCKET_MAX_SIZE) {
		/* not ours, or damaged: starting over costs at worst a
		   second acknowledgment, reading it all could cost memory */
		e_warning(state->event, "%s is larger than %d bytes: "
			  "starting it over", path, BUCKET_MAX_SIZE);
		return 0;
	}
	if (st.st_size == 0)
		return 0;
	ret = pread(fd, buffer_append_space_unsafe(buf, st.st_size),
		    st.st_size, 0);
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	buffer_set_used_size(buf, ret);
	return 0;
}

static int bucket_write(int fd, const char *path, const string_t *content,
			uoff_t offset, const char **error_r)
{
	if (pwrite_full(fd, str_data(content), str_len(content),
			offset) < 0 ||
	    ftruncate(fd, offset + str_len(content)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		return -1;
	}
	return 0;
}

/* Iterate the lines of a bucket: next line into line_r (without "\n"). */
static bool bucket_next_line(const string_t *buf, size_t *pos,
			     const char **line_r, size_t *len_r)
{
	const char *data = (const char *)str_data(buf), *nl;
	size_t size = str_len(buf);

	if (*pos >= size)
		return FALSE;
	nl = memchr(data + *pos, '\n', size - *pos);
	if (nl == NULL) {
		/* a torn last line (a crash while writing): ignored, and
		   *pos stays before it so that it is written over */
		return FALSE;
	}
	*line_r = data + *pos;
	*len_r = nl - (data + *pos);
	*pos = nl - data + 1;
	return TRUE;
}

static bool line_has_hash(const char *line, size_t len, const char *hash)
{
	return len > HASH_HEX_LEN && line[HASH_HEX_LEN] == ' ' &&
		memcmp(line, hash, HASH_HEX_LEN) == 0;
}

/* The n-th space-separated field (0-based) of a line, as a number. */
static bool line_number(const char *line, size_t len, unsigned int n,
			unsigned long *num_r)
{
	const char *p = line, *end = line + len, *start;

	for (; n > 0 && p < end; p++) {
		if (*p == ' ')
			n--;
	}
	start = p;
	while (p < end && *p != ' ')
		p++;
	return p > start &&
		str_to_ulong(t_strndup(start, p - start), num_r) == 0;
}

static bool ticket_line_expired(const char *line, size_t len)
{
	unsigned long created;

	return !line_number(line, len, 1, &created) ||
		(time_t)created + TICKET_KEEP_SECS < ioloop_time;
}

static int file_claim(struct frontdesk_state *state, const char *ticket,
		      const char *value, const char **error_r)
{
	const char *hash = state_hash(ticket), *path, *line;
	string_t *buf = t_str_new(4096), *out;
	size_t pos = 0, len;
	bool prune = FALSE;
	int fd, ret = 1;

	if (bucket_open(state, "ticket-db", hash, TRUE, &fd, &path,
			error_r) < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (pos == len + 1 && ticket_line_expired(line, len))
			prune = TRUE;
		if (line_has_hash(line, len, hash)) {
			ret = 0;
			break;
		}
	}
	if (ret > 0) {
		out = t_str_new(128);
		if (prune) {
			/* the oldest ticket expired: keep the others */
			size_t end = pos;

			pos = 0;
			while (pos < end &&
			       bucket_next_line(buf, &pos, &line, &len)) {
				if (!ticket_line_expired(line, len)) {
					str_append_data(out, line, len);
					str_append_c(out, '\n');
				}
			}
			pos = 0;
		}
		str_printfa(out, "%s %ld %s\n", hash, (long)ioloop_time,
			    value);
		/* appended after the last whole line */
		if (bucket_write(fd, path, out, pos, error_r) < 0)
			ret = -1;
	}
	/* closing releases the lock */
	i_close_fd(&fd);
	return ret;
}

static int file_lookup(struct frontdesk_state *state, const char *ticket,
		       const char **value_r, const char **error_r)
{
	const char *hash = state_hash(ticket), *path, *line, *p, *end;
	string_t *buf = t_str_new(4096);
	size_t pos = 0, len;
	int fd, ret;

	ret = bucket_open(state, "ticket-db", hash, FALSE, &fd, &path,
			  error_r);
	if (ret <= 0)
		return ret;
	ret = bucket_read(state, fd, path, buf, error_r);
	i_close_fd(&fd);
	if (ret < 0)
		return -1;
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (!line_has_hash(line, len, hash))
			continue;
		/* "<hash> <created> <value>" */
		end = line + len;
		p = memchr(line + HASH_HEX_LEN + 1, ' ',
			   end - (line + HASH_HEX_LEN + 1));
		*value_r = p == NULL ? "" : t_strdup_until(p + 1, end);
		return 1;
	}
	return 0;
}

/* Remove the ticket's line: the claim is undone. */
static int file_release(struct frontdesk_state *state, const char *ticket,
			const char **error_r)
{
	const char *hash = state_hash(ticket), *path, *line;
	string_t *buf = t_str_new(4096), *out;
	size_t pos = 0, len;
	bool found = FALSE;
	int fd, ret;

	ret = bucket_open(state, "ticket-db", hash, TRUE, &fd, &path, error_r);
	if (ret < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	out = t_str_new(str_len(buf));
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (line_has_hash(line, len, hash))
			found = TRUE;
		else {
			str_append_data(out, line, len);
			str_append_c(out, '\n');
		}
	}
	ret = found ? bucket_write(fd, path, out, 0, error_r) : 0;
	/* closing releases the lock */
	i_close_fd(&fd);
	return ret;
}

static int file_count(struct frontdesk_state *state, const char *key,
		      unsigned long window, unsigned int *count_r,
		      const char **error_r)
{
	const char *hash = state_hash(key), *path, *line;
	string_t *buf = t_str_new(1024), *out;
	unsigned long num, updated;
	unsigned int count = 0;
	size_t pos = 0, len;
	int fd, ret = 0;

	if (bucket_open(state, "counter-db", hash, TRUE, &fd, &path,
			error_r) < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	/* rewrite the bucket: this key's line last, stale lines gone */
	out = t_str_new(str_len(buf) + 64);
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (line_has_hash(line, len, hash)) {
			if (line_number(line, len, 1, &num) && num == window &&
			    line_number(line, len, 2, &num) && num < UINT_MAX)
				count = num;
			continue;
		}
		if (!line_number(line, len, 3, &updated) ||
		    (time_t)updated + COUNTER_KEEP_SECS < ioloop_time)
			continue;
		str_append_data(out, line, len);
		str_append_c(out, '\n');
	}
	count++;
	str_printfa(out, "%s %lu %u %ld\n", hash, window, count,
		    (long)ioloop_time);
	if (bucket_write(fd, path, out, 0, error_r) < 0)
		ret = -1;
	/* closing releases the lock */
	i_close_fd(&fd);
	*count_r = count;
	return ret;
}

/* --- dict ----------------------------------------------------------- */

static const char *dict_key(struct frontdesk_state *state, const char *kind,
			    const char *key)
{
	return t_strdup_printf(DICT_PATH_SHARED"frontdesk/%s/%s/%s",
			       state->namespace, kind, state_hash(key));
}

struct commit_ctx {
	bool done;
	int ret;
	char *error;
};

static void commit_callback(const struct dict_commit_result *result,
			    struct commit_ctx *c)
{
	c->done = TRUE;
	c->ret = result->ret;
	c->error = i_strdup(result->error);
}

static unsigned long long state_now_msecs(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		i_fatal("clock_gettime(CLOCK_MONOTONIC) failed: %m");
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* May a request start? Ordinary ones leave room for a release after
   them, a release only needs its own. */
static bool state_dict_may(struct frontdesk_state *state, bool release,
			   unsigned long long *start_r, const char **error_r)
{
	unsigned int need = state->request_msecs * (release ? 1 : 2);

	if (state->failed && !release) {
		*error_r = "skipped: the dict failed earlier in this delivery";
		return FALSE;
	}
	if (state->spent_msecs + need > state->budget_msecs) {
		*error_r = t_strdup_printf("skipped: the dict took %u ms "
			"of this delivery (frontdesk_state_timeout=%u ms)",
			state->spent_msecs, state->budget_msecs);
		state->failed = TRUE;
		return FALSE;
	}
	*start_r = state_now_msecs();
	return TRUE;
}

static int state_dict_done(struct frontdesk_state *state,
			   unsigned long long start, int ret,
			   const char **error_r)
{
	unsigned long long spent = state_now_msecs() - start;

	state->spent_msecs = I_MIN(state->spent_msecs + spent, UINT_MAX);
	if (ret < 0) {
		state->failed = TRUE;
		if (spent >= state->request_msecs &&
		    strstr(*error_r, "timed out") == NULL) {
			/* the driver's own words do not always say so */
			*error_r = t_strdup_printf("%s (no answer within %u "
				"ms, frontdesk_state_timeout=%u ms)", *error_r,
				state->request_msecs, state->budget_msecs);
		}
	}
	return ret;
}

/* Dovecot 2.3.19's redis driver calls the callback of a synchronous commit
   twice (a use after free that crashes "doveadm dict set" too): commit
   asynchronously and wait, which takes the driver's single-callback
   path. */
static int state_dict_commit(struct frontdesk_state *state,
			     struct dict_transaction_context **t,
			     const char **error_r)
{
	struct commit_ctx c;

	i_zero(&c);
	dict_transaction_commit_async(t, commit_callback, &c);
	if (!c.done)
		dict_wait(state->dict);
	if (!c.done) {
		*error_r = "dict commit did not finish";
		return -1;
	}
	if (c.ret < 0) {
		*error_r = t_strdup_printf("dict commit failed: %s",
			c.error == NULL ? "unknown error" : c.error);
		i_free(c.error);
		return -1;
	}
	i_free(c.error);
	return 0;
}

/* One request: set key to value, or increment it (value NULL). */
static int state_dict_change(struct frontdesk_state *state, bool release,
			     const char *key, const char *value,
			     const char **error_r)
{
	struct dict_op_settings set;
	struct dict_transaction_context *t;
	unsigned long long start;

	if (!state_dict_may(state, release, &start, error_r))
		return -1;
	i_zero(&set);
	t = dict_transaction_begin(state->dict, &set);
	if (value == NULL)
		dict_atomic_inc(t, key, 1);
	else
		dict_set(t, key, value);
	return state_dict_done(state, start,
			       state_dict_commit(state, &t, error_r), error_r);
}

static int state_dict_get(struct frontdesk_state *state, bool release,
			  const char *key, const char **value_r,
			  const char **error_r)
{
	struct dict_op_settings set;
	unsigned long long start;
	const char *error;
	int ret;

	if (!state_dict_may(state, release, &start, error_r))
		return -1;
	i_zero(&set);
	ret = dict_lookup(state->dict, &set, pool_datastack_create(), key,
			  value_r, &error);
	if (ret < 0)
		*error_r = t_strdup_printf("dict lookup failed: %s", error);
	return state_dict_done(state, start, ret, error_r);
}

static int dict_inc_get(struct frontdesk_state *state, bool release,
			const char *key, unsigned int *value_r,
			const char **error_r)
{
	const char *value;
	int ret;

	/* Dovecot's dict has no "set if absent", and atomic_inc does not
	   return the new value: increment, then read. Increments are
	   atomic, so only the first incrementer can read 1 (a concurrent
	   second one makes both read 2: then nobody is first, which errs on
	   the side of silence, never of a second ack). */
	if (state_dict_change(state, release, key, NULL, error_r) < 0)
		return -1;
	ret = state_dict_get(state, release, key, &value, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0 || str_to_uint(value, value_r) < 0) {
		/* a backend where atomic_inc of a missing key does nothing
		   (file, sql): create it */
		if (state_dict_change(state, release, key, "1", error_r) < 0)
			return -1;
		*value_r = 1;
	}
	return 0;
}

/* A claim is a counter that only its first incrementer reads as 1. The
   counter lives in a generation of the ticket: releasing a claim moves the
   ticket to the next generation, a fresh counter. So a release never has
   to undo an increment whose fate is unknown (one that timed out may still
   reach the store later): it only ever moves forward. */
static int dict_claim_key(struct frontdesk_state *state, const char *ticket,
			  const char **key_r, const char **error_r)
{
	const char *value;
	unsigned int gen = 0;
	int ret;

	ret = state_dict_get(state, FALSE,
			     dict_key(state, "claim-gen", ticket), &value,
			     error_r);
	if (ret < 0)
		return -1;
	if (ret > 0 && str_to_uint(value, &gen) < 0)
		gen = 0;
	/* generation 0 keeps the key of frontdesk before generations */
	*key_r = dict_key(state, gen == 0 ? "claim" :
			  t_strdup_printf("claim.%u", gen), ticket);
	return 0;
}

static int dict_release(struct frontdesk_state *state, const char *ticket,
			const char **error_r)
{
	unsigned int gen;

	return dict_inc_get(state, TRUE, dict_key(state, "claim-gen", ticket),
			    &gen, error_r);
}

static int dict_claim(struct frontdesk_state *state, const char *ticket,
		      const char **error_r)
{
	const char *key, *error;
	unsigned int n;

	if (dict_claim_key(state, ticket, &key, error_r) < 0)
		return -1;
	if (dict_inc_get(state, FALSE, key, &n, error_r) < 0) {
		/* the increment may still reach the store (a request that
		   timed out runs when the store wakes up): make sure it
		   cannot leave the ticket claimed with no ack sent */
		if (dict_release(state, ticket, &error) < 0) {
			*error_r = t_strdup_printf("%s (and releasing the "
				"claim failed: %s)", *error_r, error);
		}
		return -1;
	}
	return n == 1 ? 1 : 0;
}

/* --- API ------------------------------------------------------------ */

int frontdesk_state_claim(struct frontdesk_state *state, const char *ticket,
			  const char *value, const char **error_r)
{
	return state->dict != NULL ?
		dict_claim(state, ticket, error_r) :
		file_claim(state, ticket, value, error_r);
}

int frontdesk_state_claim_keep(struct frontdesk_state *state,
			       const char *ticket, const char *value,
			       const char **error_r)
{
	/* the file backend recorded the value with the claim */
	return state->dict != NULL ?
		state_dict_change(state, FALSE, dict_key(state, "ticket",
			ticket), value, error_r) : 0;
}

int frontdesk_state_claim_release(struct frontdesk_state *state,
				  const char *ticket, const char **error_r)
{
	return state->dict != NULL ?
		dict_release(state, ticket, error_r) :
		file_release(state, ticket, error_r);
}

int frontdesk_state_lookup(struct frontdesk_state *state, const char *ticket,
			   const char **value_r, const char **error_r)
{
	return state->dict != NULL ?
		state_dict_get(state, FALSE, dict_key(state, "ticket", ticket),
			       value_r, error_r) :
		file_lookup(state, ticket, value_r, error_r);
}

int frontdesk_state_count(struct frontdesk_state *state, const char *key,
			  unsigned long window, unsigned int *count_r,
			  const char **error_r)
{
	if (state->dict == NULL)
		return file_count(state, key, window, count_r, error_r);
	return dict_inc_get(state, FALSE, dict_key(state, "count",
		t_strdup_printf("%s/%lu", key, window)), count_r, error_r);
}
