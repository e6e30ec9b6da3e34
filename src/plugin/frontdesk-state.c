/* frontdesk's persistent state: tickets and rate counters, in files or in
   a Dovecot dict. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "mkdir-parents.h"
#include "strnum.h"
#include "write-full.h"
#include "dict.h"
#include "frontdesk-state.h"

#include <fcntl.h>
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
};

static const char *state_hash(const char *key)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(key, strlen(key), digest);
	return binary_to_hex(digest, 16);
}

int frontdesk_state_init(const char *dir, const char *dict_uri,
			 const char *namespace, struct event *event,
			 struct frontdesk_state **state_r,
			 const char **error_r)
{
	struct frontdesk_state *state;
	struct dict_settings dset;
	const char *error;

	state = i_new(struct frontdesk_state, 1);
	state->dir = i_strdup(dir);
	state->namespace = i_strdup(state_hash(namespace));
	state->event = event;
	if (*dict_uri != '\0') {
		i_zero(&dset);
		dset.base_dir = dir;
		dset.event_parent = event;
		if (dict_init(dict_uri, &dset, &state->dict, &error) < 0) {
			*error_r = t_strdup_printf("frontdesk_ack_dict %s: %s",
						   dict_uri, error);
			frontdesk_state_deinit(&state);
			return -1;
		}
	}
	*state_r = state;
	return 0;
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

static const char *ticket_path(struct frontdesk_state *state,
			       const char *ticket)
{
	const char *hash = state_hash(ticket);

	return t_strdup_printf("%s/tickets/%.2s/%s", state->dir, hash, hash);
}

static int open_creating_dirs(const char *path, int flags,
			      const char **error_r)
{
	const char *dir;
	int fd;

	fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT) {
		dir = t_strdup_until(path, strrchr(path, '/'));
		if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
			*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
			return -1;
		}
		fd = open(path, flags, 0600);
	}
	if (fd < 0 && errno != EEXIST)
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
	return fd;
}

static int file_claim(struct frontdesk_state *state, const char *ticket,
		      const char *value, const char **error_r)
{
	const char *path = ticket_path(state, ticket);
	const char *line = t_strconcat(value, "\n", NULL);
	int fd;

	fd = open_creating_dirs(path, O_WRONLY | O_CREAT | O_EXCL, error_r);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (write_full(fd, line, strlen(line)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	return 1;
}

static int file_lookup(struct frontdesk_state *state, const char *ticket,
		       const char **value_r, const char **error_r)
{
	const char *path = ticket_path(state, ticket);
	char buf[STATE_VALUE_MAX];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	ret = read(fd, buf, sizeof(buf) - 1);
	i_close_fd(&fd);
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	/* a claim being written right now reads empty: it exists */
	*value_r = t_strcut(t_strndup(buf, ret), '\n');
	return 1;
}

static int file_count(struct frontdesk_state *state, const char *key,
		      unsigned long window, unsigned int *count_r,
		      const char **error_r)
{
	const char *path, *const *args;
	char buf[64];
	unsigned long old_window;
	unsigned int count = 0;
	ssize_t ret;
	int fd;

	path = t_strdup_printf("%s/counters/%s", state->dir, state_hash(key));
	fd = open_creating_dirs(path, O_RDWR | O_CREAT, error_r);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		*error_r = t_strdup_printf("flock(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	ret = pread(fd, buf, sizeof(buf) - 1, 0);
	if (ret > 0) {
		args = t_strsplit_spaces(t_strndup(buf, ret), " \n");
		if (str_array_length(args) != 2 ||
		    str_to_ulong(args[0], &old_window) < 0 ||
		    old_window != window ||
		    str_to_uint(args[1], &count) < 0)
			count = 0;
	}
	count++;
	i_snprintf(buf, sizeof(buf), "%lu %u\n", window, count);
	if (pwrite(fd, buf, strlen(buf), 0) < 0 ||
	    ftruncate(fd, strlen(buf)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	/* closing releases the lock */
	i_close_fd(&fd);
	*count_r = count;
	return 0;
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

static int dict_inc_get(struct frontdesk_state *state, const char *key,
			unsigned int *value_r, const char **error_r)
{
	struct dict_op_settings set;
	struct dict_transaction_context *t;
	const char *value, *error;
	int ret;

	/* Dovecot's dict has no "set if absent", and atomic_inc does not
	   return the new value: increment, then read. Increments are
	   atomic, so only the first incrementer can read 1 (a concurrent
	   second one makes both read 2: then nobody is first, which errs on
	   the side of silence, never of a second ack). */
	i_zero(&set);
	t = dict_transaction_begin(state->dict, &set);
	dict_atomic_inc(t, key, 1);
	if (state_dict_commit(state, &t, error_r) < 0)
		return -1;
	ret = dict_lookup(state->dict, &set, pool_datastack_create(), key,
			  &value, &error);
	if (ret < 0) {
		*error_r = t_strdup_printf("dict lookup failed: %s", error);
		return -1;
	}
	if (ret == 0 || str_to_uint(value, value_r) < 0) {
		/* a backend where atomic_inc of a missing key does nothing
		   (file, sql): create it */
		t = dict_transaction_begin(state->dict, &set);
		dict_set(t, key, "1");
		if (state_dict_commit(state, &t, error_r) < 0)
			return -1;
		*value_r = 1;
	}
	return 0;
}

static int dict_claim(struct frontdesk_state *state, const char *ticket,
		      const char *value, const char **error_r)
{
	struct dict_op_settings set;
	struct dict_transaction_context *t;
	unsigned int n;

	if (dict_inc_get(state, dict_key(state, "claim", ticket), &n,
			 error_r) < 0)
		return -1;
	if (n != 1)
		return 0;
	i_zero(&set);
	t = dict_transaction_begin(state->dict, &set);
	dict_set(t, dict_key(state, "ticket", ticket), value);
	if (state_dict_commit(state, &t, error_r) < 0)
		return -1;
	return 1;
}

static int dict_get(struct frontdesk_state *state, const char *ticket,
		    const char **value_r, const char **error_r)
{
	struct dict_op_settings set;
	const char *error;
	int ret;

	i_zero(&set);
	ret = dict_lookup(state->dict, &set, pool_datastack_create(),
			  dict_key(state, "ticket", ticket), value_r, &error);
	if (ret < 0)
		*error_r = t_strdup_printf("dict lookup failed: %s", error);
	return ret;
}

/* --- API ------------------------------------------------------------ */

int frontdesk_state_claim(struct frontdesk_state *state, const char *ticket,
			  const char *value, const char **error_r)
{
	return state->dict != NULL ?
		dict_claim(state, ticket, value, error_r) :
		file_claim(state, ticket, value, error_r);
}

int frontdesk_state_lookup(struct frontdesk_state *state, const char *ticket,
			   const char **value_r, const char **error_r)
{
	return state->dict != NULL ?
		dict_get(state, ticket, value_r, error_r) :
		file_lookup(state, ticket, value_r, error_r);
}

int frontdesk_state_count(struct frontdesk_state *state, const char *key,
			  unsigned long window, unsigned int *count_r,
			  const char **error_r)
{
	if (state->dict == NULL)
		return file_count(state, key, window, count_r, error_r);
	return dict_inc_get(state, dict_key(state, "count", t_strdup_printf(
				"%s/%lu", key, window)), count_r, error_r);
}
