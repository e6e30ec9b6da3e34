/* Tests of the acknowledgment spool: an entry written is read back intact,
   a sent entry's file is emptied and reused, and retries back off. */

#include "lib.h"
#include "unlink-directory.h"
#include "test-frontdesk.h"
#include "frontdesk-spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char *spool_tmpdir(void)
{
	char tmpl[] = "/tmp/fdspool.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		i_fatal("mkdtemp() failed: %m");
	return t_strconcat(tmpl, "/spool", NULL);
}

static void spool_remove(const char *spool_dir)
{
	const char *error;
	const char *top = t_strdup_until(spool_dir, strrchr(spool_dir, '/'));

	if (unlink_directory(top, UNLINK_DIRECTORY_FLAG_RMDIR, &error) < 0)
		i_error("%s", error);
}

static void spool_entry(struct frontdesk_spool_entry *e, const char *name,
			const char *body)
{
	i_zero(e);
	e->name = name;
	e->created = 1000;
	e->expires = 2000;
	e->next_try = 1000;
	e->mail_from = "";
	e->rcpt_to = "customer@example.org";
	e->ticket = "FD-0000-0000-0000";
	e->submission_host = "127.0.0.1:25";
	e->message = (const unsigned char *)body;
	e->message_size = strlen(body);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? 0 : st.st_ino;
}

static void test_spool_roundtrip(void)
{
	struct frontdesk_spool_entry e, *r;
	const char *dir, *error;

	test_begin("spool write and read");
	dir = spool_tmpdir();
	spool_entry(&e, "1000.a.1", "Subject: hi\r\n\r\nhello\r\n");
	/* no spool yet: ENOENT tells the plugin to create it */
	test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) < 0);
	test_assert(errno == ENOENT);
	test_assert(frontdesk_spool_mkdirs(dir, &error) == 0);
	test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) == 0);
	test_assert(frontdesk_spool_read(pool_datastack_create(), dir,
					 "1000.a.1", &r, &error) == 1);
	test_assert_strcmp(r->rcpt_to, "customer@example.org");
	test_assert_strcmp(r->ticket, "FD-0000-0000-0000");
	test_assert_strcmp(r->submission_host, "127.0.0.1:25");
	test_assert(r->expires == 2000);
	test_assert(r->message_size == e.message_size &&
		    memcmp(r->message, e.message, e.message_size) == 0);
	/* a name that could leave the spool is refused */
	spool_entry(&e, "../x", "x");
	test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) < 0);
	spool_remove(dir);
	test_end();
}

static void test_spool_spare(void)
{
	struct frontdesk_spool_entry e, *r;
	const char *dir, *error;
	unsigned int spare = 0, i;
	ino_t sent_inode;
	struct stat st;

	test_begin("spool reuses the files of sent entries, emptied");
	dir = spool_tmpdir();
	test_assert(frontdesk_spool_mkdirs(dir, &error) == 0);
	spool_entry(&e, "1000.a.1", "Subject: private\r\n\r\nsecret\r\n");
	test_assert(frontdesk_spool_write(dir, &e, TRUE, &error) == 0);
	sent_inode = inode_of(t_strconcat(dir, "/queue/1000.a.1", NULL));
	test_assert(sent_inode != 0);

	frontdesk_spool_done(dir, "1000.a.1", &spare);
	test_assert(spare == 1);
	test_assert(frontdesk_spool_spare_count(dir) == 1);
	test_assert(inode_of(t_strconcat(dir, "/queue/1000.a.1", NULL)) == 0);
	/* what waits for reuse holds nothing of the customer's ack */
	test_assert(stat(t_strconcat(dir, "/spare/1000.a.1", NULL), &st) == 0 &&
		    st.st_size == 0);

	spool_entry(&e, "1001.b.1", "Subject: next\r\n\r\nhello\r\n");
	test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) == 0);
	test_assert(inode_of(t_strconcat(dir, "/queue/1001.b.1", NULL)) ==
		    sent_inode);
	test_assert(frontdesk_spool_spare_count(dir) == 0);
	test_assert(frontdesk_spool_read(pool_datastack_create(), dir,
					 "1001.b.1", &r, &error) == 1);
	test_assert(r->message_size == e.message_size &&
		    memcmp(r->message, e.message, e.message_size) == 0);

	/* spare/ stays bounded: past the maximum, sent files are deleted */
	spare = FRONTDESK_SPOOL_SPARE_MAX;
	frontdesk_spool_done(dir, "1001.b.1", &spare);
	test_assert(spare == FRONTDESK_SPOOL_SPARE_MAX);
	test_assert(frontdesk_spool_spare_count(dir) == 0);
	test_assert(inode_of(t_strconcat(dir, "/queue/1001.b.1", NULL)) == 0);

	/* many writers after many sends: every entry intact */
	spare = 0;
	for (i = 0; i < 5; i++) {
		spool_entry(&e, t_strdup_printf("20%02u.c.1", i), "x\r\n");
		test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) == 0);
		frontdesk_spool_done(dir, e.name, &spare);
	}
	test_assert(frontdesk_spool_spare_count(dir) == 1);
	spool_remove(dir);
	test_end();
}

static void test_spool_spare_not_empty(void)
{
	struct frontdesk_spool_entry e, *r;
	const char *dir, *error, *path;
	struct stat st;
	int fd;

	/* a spare left with content (a crash between emptying it and
	   putting it aside, or a hand-made file): reusing it must not leave
	   the old bytes behind the new entry */
	test_begin("spool reuses a spare file that was not emptied");
	dir = spool_tmpdir();
	test_assert(frontdesk_spool_mkdirs(dir, &error) == 0);
	path = t_strconcat(dir, "/spare/1000.a.1", NULL);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	test_assert(fd >= 0);
	for (unsigned int i = 0; i < 200; i++)
		test_assert(write(fd, "old ack text\r\n", 14) == 14);
	i_close_fd(&fd);

	spool_entry(&e, "1001.b.1", "Subject: new\r\n\r\nhello\r\n");
	test_assert(frontdesk_spool_write(dir, &e, FALSE, &error) == 0);
	test_assert(frontdesk_spool_spare_count(dir) == 0);
	test_assert(frontdesk_spool_read(pool_datastack_create(), dir,
					 "1001.b.1", &r, &error) == 1);
	test_assert(r->message_size == e.message_size &&
		    memcmp(r->message, e.message, e.message_size) == 0);
	test_assert(stat(t_strconcat(dir, "/queue/1001.b.1", NULL),
			 &st) == 0 && st.st_size < 2800);
	spool_remove(dir);
	test_end();
}

static void test_spool_backoff(void)
{
	test_begin("spool retry backoff");
	test_assert(frontdesk_spool_backoff(1) ==
		    FRONTDESK_SPOOL_FIRST_RETRY_SECS);
	test_assert(frontdesk_spool_backoff(2) ==
		    2 * FRONTDESK_SPOOL_FIRST_RETRY_SECS);
	test_assert(frontdesk_spool_backoff(30) ==
		    FRONTDESK_SPOOL_MAX_RETRY_SECS);
	test_end();
}

void test_spool(void)
{
	test_spool_roundtrip();
	test_spool_spare();
	test_spool_spare_not_empty();
	test_spool_backoff();
}
