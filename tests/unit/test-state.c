/* Tests of the state store's file backend: a ticket is claimed once,
   released claims reopen it, counters count per window, and a bucket that
   is rewritten shorter (expired lines dropped, a claim released, a torn
   line written over) keeps nothing of what was cut. */

#include "lib.h"
#include "str.h"
#include "ioloop.h"
#include "unlink-directory.h"
#include "test-frontdesk.h"
#include "frontdesk-state.h"
#include "frontdesk-state-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

/* as frontdesk-state-file.c: 64 buckets by the hash's first byte */
static const char *bucket_path(const char *dir, const char *kind,
			       const char *key)
{
	const char *hash = frontdesk_state_hash(key);
	unsigned int n = strtoul(t_strndup(hash, 2), NULL, 16);

	return t_strdup_printf("%s/%s/%02x", dir, kind, n % 64);
}

static const char *state_tmpdir(void)
{
	char tmpl[] = "/tmp/fdstate.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		i_fatal("mkdtemp() failed: %m");
	return t_strdup(tmpl);
}

static void state_remove(const char *dir)
{
	const char *error;

	if (unlink_directory(dir, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
}

static struct frontdesk_state *state_open(const char *dir)
{
	struct frontdesk_state *state;
	const char *error;

	if (frontdesk_state_init(dir, "", 500, "support@example.com", NULL,
				 &state, &error) < 0)
		i_fatal("frontdesk_state_init(): %s", error);
	return state;
}

static void file_put(const char *path, const char *content)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, strlen(content)) !=
	    (ssize_t)strlen(content))
		i_fatal("write(%s) failed: %m", path);
	i_close_fd(&fd);
}

static const char *file_get(const char *path)
{
	char buf[65536];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ret = read(fd, buf, sizeof(buf) - 1);
	i_close_fd(&fd);
	if (ret < 0)
		return NULL;
	return t_strndup(buf, ret);
}

static void test_state_claim(void)
{
	struct frontdesk_state *state;
	const char *dir, *value, *error;

	test_begin("state file: a ticket is claimed once, a release reopens it");
	dir = state_tmpdir();
	state = state_open(dir);
	ioloop_time = 1000000000;
	test_assert(frontdesk_state_lookup(state, "FD-1", &value,
					   &error) == 0);
	test_assert(frontdesk_state_claim(state, "FD-1", "front sales",
					  &error) == 1);
	test_assert(frontdesk_state_claim(state, "FD-1", "front sales",
					  &error) == 0);
	test_assert(frontdesk_state_lookup(state, "FD-1", &value,
					   &error) == 1);
	test_assert_strcmp(value, "front sales");
	test_assert(frontdesk_state_claim_release(state, "FD-1",
						  &error) == 0);
	test_assert(frontdesk_state_lookup(state, "FD-1", &value,
					   &error) == 0);
	test_assert(frontdesk_state_claim(state, "FD-1", "back billing",
					  &error) == 1);
	test_assert(frontdesk_state_lookup(state, "FD-1", &value,
					   &error) == 1);
	test_assert_strcmp(value, "back billing");
	frontdesk_state_deinit(&state);
	state_remove(dir);
	test_end();
}

static void test_state_count(void)
{
	struct frontdesk_state *state;
	const char *dir, *error;
	unsigned int count, i;

	test_begin("state file: counters count per window");
	dir = state_tmpdir();
	state = state_open(dir);
	ioloop_time = 1000000000;
	for (i = 1; i <= 3; i++) {
		test_assert(frontdesk_state_count(state, "sender a@b", 7,
						  &count, &error) == 0);
		test_assert(count == i);
	}
	/* the next window starts again */
	test_assert(frontdesk_state_count(state, "sender a@b", 8, &count,
					  &error) == 0);
	test_assert(count == 1);
	frontdesk_state_deinit(&state);
	state_remove(dir);
	test_end();
}

static void test_state_rewrite_shorter(void)
{
	struct frontdesk_state *state;
	const char *dir, *path, *content, *value, *error;
	const char *hash = frontdesk_state_hash("sender a@b");
	string_t *stale = t_str_new(4096);
	unsigned int count, i;

	test_begin("state file: a bucket rewritten shorter keeps nothing cut");
	dir = state_tmpdir();
	state = state_open(dir);
	ioloop_time = 1000000000;

	/* counters of other keys updated long ago: dropped by the next
	   count in their bucket, which must then be only the live line */
	test_assert(frontdesk_state_count(state, "sender a@b", 7, &count,
					  &error) == 0);
	path = bucket_path(dir, "counter-db", "sender a@b");
	for (i = 0; i < 50; i++) {
		str_printfa(stale, "%032u 1 9 1000\n", i);
	}
	file_put(path, str_c(stale));
	test_assert(frontdesk_state_count(state, "sender a@b", 7, &count,
					  &error) == 0);
	test_assert(count == 1);
	content = file_get(path);
	test_assert(content != NULL &&
		    strcmp(content, t_strdup_printf("%s 7 1 %ld\n", hash,
				(long)ioloop_time)) == 0);

	/* a release cuts a line out of the middle of a ticket bucket */
	test_assert(frontdesk_state_claim(state, "FD-2", "front sales",
					  &error) == 1);
	path = bucket_path(dir, "ticket-db", "FD-2");
	content = file_get(path);
	file_put(path, t_strconcat(content,
		t_strdup_printf("%032u %ld front x\n", 1U, (long)ioloop_time),
		NULL));
	test_assert(frontdesk_state_claim_release(state, "FD-2",
						  &error) == 0);
	content = file_get(path);
	test_assert(content != NULL &&
		    strcmp(content, t_strdup_printf("%032u %ld front x\n", 1U,
						    (long)ioloop_time)) == 0);

	/* a torn last line (a crash while appending) longer than the next
	   claim's line is written over and cut off */
	file_put(path, t_strconcat(content, "deadbeef torn line that never "
				   "ended because the machine crashed while "
				   "writing it, longer than any claim", NULL));
	test_assert(frontdesk_state_claim(state, "FD-2", "back billing",
					  &error) == 1);
	content = file_get(path);
	test_assert(content != NULL && strstr(content, "torn") == NULL &&
		    strstr(content, "crashed") == NULL);
	test_assert(frontdesk_state_lookup(state, "FD-2", &value,
					   &error) == 1);
	test_assert_strcmp(value, "back billing");
	frontdesk_state_deinit(&state);
	state_remove(dir);
	test_end();
}

void test_state(void)
{
	test_state_claim();
	test_state_count();
	test_state_rewrite_shorter();
}
