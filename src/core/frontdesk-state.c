/* frontdesk's persistent state: tickets and rate counters, in files
   (frontdesk-state-file.c) or in a Dovecot dict (here), with the dict's
   time per delivery bounded by frontdesk_state_timeout. */

#include "lib.h"
#include "frontdesk-compat-dict.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "strnum.h"
#include "dict.h"
#include "frontdesk-state.h"
#include "frontdesk-state-private.h"

#include <time.h>

const char *frontdesk_state_hash(const char *key)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(key, strlen(key), digest);
	return binary_to_hex(digest, 16);
}

void frontdesk_state_set_fsync(struct frontdesk_state *state, bool fsync)
{
	state->fsync = fsync;
}

int frontdesk_state_init(const char *dir, const char *dict_uri,
			 unsigned int timeout_msecs, const char *namespace,
			 struct event *event, struct frontdesk_state **state_r,
			 const char **error_r)
{
	struct frontdesk_state *state;
	const char *error;

	state = i_new(struct frontdesk_state, 1);
	state->dir = i_strdup(dir);
	state->namespace = i_strdup(frontdesk_state_hash(namespace));
	state->event = event;
	/* a third each: a request that times out leaves the time to
	   release the claim it may have made */
	state->budget_msecs = timeout_msecs;
	state->request_msecs = I_MAX(timeout_msecs / 3, 1);
	if (*dict_uri != '\0') {
		if (frontdesk_dict_init(dict_uri, dir, state->request_msecs,
					event, &state->dict, &error) < 0) {
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

/* --- dict ----------------------------------------------------------- */

static const char *dict_key(struct frontdesk_state *state, const char *kind,
			    const char *key)
{
	return t_strdup_printf(DICT_PATH_SHARED"frontdesk/%s/%s/%s",
			       state->namespace, kind, frontdesk_state_hash(key));
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
		if (spent * 10 >= (unsigned long long)state->request_msecs * 9 &&
		    strstr(*error_r, "timed out") == NULL) {
			/* the driver's own words do not always say so (redis:
			   "Communication failure"); its timer may fire a
			   millisecond before ours counts request_msecs (a
			   2.4 run logged the failure without this note) */
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
		frontdesk_state_file_claim(state, ticket, value, error_r);
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
		frontdesk_state_file_release(state, ticket, error_r);
}

int frontdesk_state_lookup(struct frontdesk_state *state, const char *ticket,
			   const char **value_r, const char **error_r)
{
	return state->dict != NULL ?
		state_dict_get(state, FALSE, dict_key(state, "ticket", ticket),
			       value_r, error_r) :
		frontdesk_state_file_lookup(state, ticket, value_r, error_r);
}

int frontdesk_state_count(struct frontdesk_state *state, const char *key,
			  unsigned long window, unsigned int *count_r,
			  const char **error_r)
{
	if (state->dict == NULL)
		return frontdesk_state_file_count(state, key, window, count_r, error_r);
	return dict_inc_get(state, FALSE, dict_key(state, "count",
		t_strdup_printf("%s/%lu", key, window)), count_r, error_r);
}
