#ifndef FRONTDESK_ACK_H
#define FRONTDESK_ACK_H

struct frontdesk_view;
struct frontdesk_classification;
struct frontdesk_template;
struct frontdesk_when;

/* The customer's subject is cut to this many characters in the
   acknowledgment's Subject: enough to recognise it, short enough that the
   reference and our wording stay visible in a mail client's list. */
#define FRONTDESK_ACK_DEFAULT_SUBJECT_MAX 60
/* A display name longer than this is not a name (spammers put whole
   sentences there to have them echoed). */
#define FRONTDESK_ACK_NAME_MAX_CHARS 64
#define FRONTDESK_ACK_NAME_MAX_WORDS 6
/* References kept from the customer's mail (RFC 5322 3.6.4: the thread's
   root and the latest ones are what clients use). */
#define FRONTDESK_ACK_MAX_REFERENCES 10

struct frontdesk_ack_params {
	/* the support address (From:) and its display name ("" = none) */
	const char *from_addr;
	const char *from_name;
	/* {{company}}: who signs */
	const char *company;
	/* domain of our Message-IDs */
	const char *msgid_domain;
	unsigned int subject_max;
};

struct frontdesk_ack_input {
	const struct frontdesk_view *view;
	const struct frontdesk_classification *result;
	const struct frontdesk_template *tpl;
	/* the recipient: the envelope sender of the customer's mail */
	const char *to_addr;
	const char *ticket;
	/* when the customer can expect an answer; NULL = the template's
	   wording without a time is not possible, so callers always pass
	   one */
	const struct frontdesk_when *when;
	time_t now;
};

/* The customer's name if the display name looks like one, else "". */
const char *frontdesk_ack_safe_name(const char *display_name);

/* "by Monday 10:00" in the template's language. */
const char *frontdesk_ack_deadline(const struct frontdesk_template *tpl,
				   const struct frontdesk_when *when);

/* Is msgid a plain <left@right> message identifier, safe to copy into a
   header? */
bool frontdesk_ack_msgid_valid(const char *msgid);

/* Our Message-ID for the acknowledgment of ticket. */
const char *frontdesk_ack_message_id(const struct frontdesk_ack_params *params,
				     const char *ticket, time_t now);

/* The complete acknowledgment (CRLF line endings, headers and a
   multipart/alternative UTF-8 body) appended to dest. */
int frontdesk_ack_compose(const struct frontdesk_ack_params *params,
			  const struct frontdesk_ack_input *input,
			  string_t *dest, const char **error_r);

#endif
