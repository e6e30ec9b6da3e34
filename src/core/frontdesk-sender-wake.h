#ifndef FRONTDESK_SENDER_WAKE_H
#define FRONTDESK_SENDER_WAKE_H

/* The frontdesk-sender service's socket, in Dovecot's base_dir. */
#define FRONTDESK_SENDER_SOCKET "frontdesk-sender"

/* A spool has a new (or retried) entry: tell the frontdesk-sender service
   (one line on its socket in base_dir, no reply awaited); where there is no
   service to tell, start a runner for the spool (sender_path, detached,
   unless one holds runner.lock). dovecot_log: the runner logs through the
   caller's stderr, Dovecot's log (lmtp, lda); else its output is dropped.
   Never waits for the relay; errors are logged on event. */
void frontdesk_sender_wake(struct event *event, const char *base_dir,
			   const char *sender_path, const char *spool_dir,
			   bool dovecot_log);

#endif
