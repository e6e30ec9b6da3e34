#ifndef FRONTDESK_SENDER_RELAY_H
#define FRONTDESK_SENDER_RELAY_H

struct frontdesk_spool_entry;

/* status: 1 sent, 0 temporary failure (try again later), -1 permanent
   failure (give up) */
typedef void frontdesk_relay_callback_t(int status, const char *error,
					void *context);

/* Send entry to its relay (its submission_host, else its sendmail_path).
   The entry (its message) must stay allocated until callback is called;
   callback is never called from inside this function. Returns -1 with
   error_r when the entry cannot be sent at all (a bad address). */
int frontdesk_relay_send(const struct frontdesk_spool_entry *entry,
			 frontdesk_relay_callback_t *callback, void *context,
			 const char **error_r);
/* Connections to the relays (at most this many per relay; 0 = default). */
void frontdesk_relay_init(unsigned int max_connections);
/* Close every connection; transactions still running are aborted without
   their callbacks being called (their entries stay in the spool). */
void frontdesk_relay_deinit(void);

#endif
