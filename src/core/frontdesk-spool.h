#ifndef FRONTDESK_SPOOL_H
#define FRONTDESK_SPOOL_H

#include "array.h"

/* The acknowledgment spool: a Maildir-like directory (tmp/, queue/,
   failed/) of files that each hold one composed acknowledgment and how to
   send it. The delivery writes an entry (renamed into queue/ before the
   delivery reports success; flushed to disk when the admin's mail_fsync
   asks for it), tells the frontdesk-sender service and leaves; the
   service (or a one-spool frontdesk-sender where there is none) sends,
   retries with backoff and gives up after the entry's lifetime. So the relay's
   health never delays a delivery and an ack that cannot go out now is not
   lost. Shared by the plugin and the sender; no clock inside (times are
   passed in). */

#define FRONTDESK_SPOOL_MAGIC "frontdesk-spool 1"
/* Retries after 5 s, 10 s, 20 s, ... at most every 15 minutes: fast
   enough for a relay restart, slow enough not to hammer a broken one. */
#define FRONTDESK_SPOOL_FIRST_RETRY_SECS 5
#define FRONTDESK_SPOOL_MAX_RETRY_SECS (15*60)
/* An entry is one acknowledgment: a few KB, DKIM included. */
#define FRONTDESK_SPOOL_MAX_SIZE (1024*1024)
/* Emptied files of sent entries kept in spare/ for reuse. */
#define FRONTDESK_SPOOL_SPARE_MAX 64

struct frontdesk_spool_entry {
	/* file name in queue/ */
	const char *name;
	time_t created, expires, next_try;
	unsigned int attempts;
	/* envelope: mail_from "" = null sender <> */
	const char *mail_from, *rcpt_to;
	const char *ticket;
	/* smtp-submit settings of the delivering process */
	const char *hostname, *submission_host, *sendmail_path;
	unsigned int submission_timeout;
	const char *last_error;
	const unsigned char *message;
	size_t message_size;
};

/* Creates tmp/, queue/, failed/ and spare/ if needed. */
int frontdesk_spool_mkdirs(const char *spool_dir, const char **error_r);
/* The entry names in dir (a spool's queue/ or failed/), oldest first (the
   names start with the creation time), allocated from the data stack. A
   missing dir is no entries. -1 with error_r when it cannot be read. */
int frontdesk_spool_list(const char *dir, ARRAY_TYPE(const_string) *names,
			 const char **error_r);
/* Writes entry->name into queue/ atomically (tmp/ + optional fdatasync +
   rename). An existing entry of that name is replaced. When the spool's
   directories are missing it fails with errno ENOENT. */
int frontdesk_spool_write(const char *spool_dir,
			  const struct frontdesk_spool_entry *entry,
			  bool fsync_data, const char **error_r);
int frontdesk_spool_read(pool_t pool, const char *spool_dir, const char *name,
			 struct frontdesk_spool_entry **entry_r,
			 const char **error_r);
/* The same from another of the spool's directories ("failed"). */
int frontdesk_spool_read_in(pool_t pool, const char *spool_dir,
			    const char *subdir, const char *name,
			    struct frontdesk_spool_entry **entry_r,
			    const char **error_r);
/* Seconds to wait before the next attempt after attempts failures. */
unsigned int frontdesk_spool_backoff(unsigned int attempts);
/* The entry was sent: empty its file and keep it in spare/ for the next
   entry while *spare_count is below FRONTDESK_SPOOL_SPARE_MAX (counting
   it), else delete it. */
void frontdesk_spool_done(const char *spool_dir, const char *name,
			  unsigned int *spare_count);
/* How many files spare/ holds now (the maximum if it cannot be read). */
unsigned int frontdesk_spool_spare_count(const char *spool_dir);

#endif
