#ifndef FRONTDESK_ACK_QUEUE_H
#define FRONTDESK_ACK_QUEUE_H

struct mail_deliver_context;
struct frontdesk_settings;
struct frontdesk_view;
struct frontdesk_classification;

/* The complete acknowledgment of ticket (the customer's language, else
   frontdesk_default_language, else English; a broken template is logged
   and passed over), signed when DKIM is set up, and its From address.
   Nothing is recorded or written. */
int frontdesk_ack_queue_build(const struct frontdesk_settings *set,
			      struct event *event,
			      struct mail_deliver_context *ctx,
			      const struct frontdesk_view *view,
			      const struct frontdesk_classification *result,
			      const char *ticket, const char **from_r,
			      string_t **msg_r, const char **error_r);
/* Leave msg in <state_dir>/spool and tell the frontdesk-sender service;
   without the service, start a frontdesk-sender for the spool unless one
   runs. */
int frontdesk_ack_queue_write(const struct frontdesk_settings *set,
			      struct event *event,
			      struct mail_deliver_context *ctx,
			      const char *state_dir, const char *ticket,
			      const char *from, const string_t *msg,
			      const char **error_r);
/* Free the template cache. */
void frontdesk_ack_queue_deinit(void);

#endif
