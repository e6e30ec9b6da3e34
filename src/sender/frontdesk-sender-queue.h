#ifndef FRONTDESK_SENDER_QUEUE_H
#define FRONTDESK_SENDER_QUEUE_H

/* One acknowledgment spool worked by this process: it holds the spool's
   runner.lock (one worker per spool, whoever it is: the service, a
   runner started by a delivery, a cron run), sends what is due, retries
   with backoff, gives up into failed/ after the entry's lifetime. */
struct frontdesk_sender_spool;

typedef void frontdesk_sender_spool_idle_t(struct frontdesk_sender_spool *spool,
					   void *context);

struct frontdesk_sender_spool *frontdesk_sender_spool_create(const char *dir);
void frontdesk_sender_spool_free(struct frontdesk_sender_spool **spool);
const char *frontdesk_sender_spool_dir(struct frontdesk_sender_spool *spool);

/* Take runner.lock unless held already: 1 held, 0 someone else has it,
   -1 error (logged). */
int frontdesk_sender_spool_lock(struct frontdesk_sender_spool *spool);
/* Let go of runner.lock (nothing may be in flight). */
void frontdesk_sender_spool_unlock(struct frontdesk_sender_spool *spool);
/* Look at queue/ now: start sending every due entry not already being
   sent, and set a timer for the first one waiting for a retry. Does
   nothing without the lock (tries to take it first). */
void frontdesk_sender_spool_scan(struct frontdesk_sender_spool *spool);
/* Entries being sent now, and entries waiting for a retry. */
unsigned int frontdesk_sender_spool_in_flight(struct frontdesk_sender_spool *spool);
unsigned int frontdesk_sender_spool_waiting(struct frontdesk_sender_spool *spool);
/* Called whenever the last entry in flight is done. */
void frontdesk_sender_spool_set_idle_callback(
	struct frontdesk_sender_spool *spool,
	frontdesk_sender_spool_idle_t *callback, void *context);
/* TRUE when queue/ has no entry at all. */
bool frontdesk_sender_spool_queue_empty(struct frontdesk_sender_spool *spool);

/* The sender's events (frontdesk_ack_sent, frontdesk_ack_failed). */
void frontdesk_sender_events_init(void);
void frontdesk_sender_events_deinit(void);

#endif
