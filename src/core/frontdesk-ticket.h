#ifndef FRONTDESK_TICKET_H
#define FRONTDESK_TICKET_H

/* Ticket references: "FD-7K3M-Q9XA-P4R2". The first eight characters
   (40 bits) identify the conversation, the last four (20 bits) are a check
   that only the holder of the server secret can compute, so a reference in
   a Subject cannot be made up to attach mail to someone else's ticket.
   Both are HMAC-SHA256 of the server secret, so the same conversation always
   gets the same reference (a redelivered message is recognised). */

/* Crockford base32: no I, L, O, U, so a reference read over the phone or
   typed by hand is unambiguous. */
#define FRONTDESK_TICKET_ALPHABET "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define FRONTDESK_TICKET_ID_CHARS 8
#define FRONTDESK_TICKET_CHECK_CHARS 4
/* A prefix is 1..8 ASCII letters or digits. */
#define FRONTDESK_TICKET_MAX_PREFIX 8
/* A secret shorter than this is no secret. */
#define FRONTDESK_TICKET_MIN_SECRET 16

struct frontdesk_ticket_key {
	const char *prefix;
	const unsigned char *secret;
	size_t secret_len;
};

bool frontdesk_ticket_prefix_valid(const char *prefix);

/* The reference for a conversation (its root Message-ID, or any other
   stable key). Returns a string from the data stack. */
const char *frontdesk_ticket_make(const struct frontdesk_ticket_key *key,
				  const char *conversation_key);

/* Find a valid reference of ours in text (e.g. a Subject): lowercase and
   the look-alikes O/I/L typed by a customer are accepted. Returns the
   reference in canonical form (data stack), or NULL. */
const char *frontdesk_ticket_find(const struct frontdesk_ticket_key *key,
				  const char *text);

#endif
