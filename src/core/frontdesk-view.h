#ifndef FRONTDESK_VIEW_H
#define FRONTDESK_VIEW_H

#include "array.h"

struct istream;

/* Bounds on what one message may cost us (Postfix style: every input has a
   limit, and the reason stands next to it). */
/* Raw bytes read from a message: past 1 MiB a support mail is attachments,
   and what the customer wrote is long behind us. */
#define FRONTDESK_VIEW_DEFAULT_MAX_MESSAGE_BYTES (1024*1024)
/* Decoded text kept for classification: 64 KiB is ~10k words, more than any
   customer writes before the quoted thread starts. */
#define FRONTDESK_VIEW_DEFAULT_MAX_BODY_BYTES (64*1024)
/* Top-level headers kept: real mail has < 60; spam with thousands of
   headers must not make us allocate without bound. */
#define FRONTDESK_VIEW_DEFAULT_MAX_HEADERS 256
/* Bytes kept of one header value (RFC 5322 line limit is 998; folded
   headers may be longer, but nothing we read needs more). */
#define FRONTDESK_VIEW_MAX_HEADER_VALUE 1024
/* Subject kept, in bytes of UTF-8. */
#define FRONTDESK_VIEW_MAX_SUBJECT 512
/* Bytes kept of a report's returned headers: a Message-ID and a Subject
   come in the first few hundred. */
#define FRONTDESK_VIEW_MAX_REPORT (8*1024)
/* MIME parts walked: a support mail has a handful. */
#define FRONTDESK_VIEW_MAX_MIME_PARTS 64

struct frontdesk_view_limits {
	size_t max_message_bytes;
	size_t max_body_bytes;
	unsigned int max_headers;
};

struct frontdesk_header {
	const char *name;
	/* Decoded to UTF-8, unfolded, truncated to
	   FRONTDESK_VIEW_MAX_HEADER_VALUE. */
	const char *value;
};
ARRAY_DEFINE_TYPE(frontdesk_header, struct frontdesk_header);

struct frontdesk_view {
	pool_t pool;

	/* Envelope: NULL when unknown, "" for the null sender <>. */
	const char *envelope_from;
	const char *envelope_to;
	const char *original_rcpt;

	/* From: display name (decoded) and address (lowercase local@domain,
	   "" when absent or unparseable). */
	const char *from_name;
	const char *from_addr;
	/* Decoded subject, control characters removed. Never NULL. */
	const char *subject;
	const char *message_id;
	const char *in_reply_to;
	const char *references;
	/* Top-level "type/subtype" lowercased; "text/plain" when absent. */
	const char *content_type;
	/* Content-Language, lowercased, or NULL. */
	const char *content_language;
	/* 1 = highest .. 5 = lowest, 3 when unset (X-Priority, Importance,
	   Priority). */
	int priority;

	/* multipart/report's report-type parameter, lowercased, or NULL. */
	const char *report_type;
	/* The first "Action:" of a delivery-status part (RFC 3464:
	   failed, delayed, delivered, relayed, expanded), lowercased, or
	   NULL. */
	const char *dsn_action;
	/* What a report returns of the original message: the bodies of
	   delivery-status, rfc822-headers and feedback parts and the headers
	   of attached messages, raw, bounded by FRONTDESK_VIEW_MAX_REPORT
	   (where a bounce names the Message-ID it returns). */
	string_t *report_text;

	/* Top-level headers, in order. */
	ARRAY_TYPE(frontdesk_header) headers;
	/* Addresses in To, Cc, Bcc, Resent-To/Cc/Bcc, lowercased. */
	ARRAY_TYPE(const_string) recipients;

	/* Body text as decoded UTF-8 (text/plain preferred, HTML converted),
	   bounded by max_body_bytes. */
	string_t *text;

	unsigned int header_count;
	unsigned int mime_parts;
	/* A limit cut the message short: the view covers only its start. */
	bool truncated:1;
	/* The top-level header block was not seen to its end (more than
	   max_headers headers, or the byte limit or a read error came
	   first): a header after the cut may say "machine mail", so the
	   guard must not trust what it sees. */
	bool headers_truncated:1;
	/* The text came from HTML (no text/plain part). */
	bool from_html:1;
	/* A MIME part is a machine report (delivery-status, feedback-report,
	   disposition-notification, rfc822-headers). */
	bool report_part:1;
	/* A text/calendar part (an invitation, acceptance or cancellation),
	   not inside an attached message. */
	bool calendar_part:1;
	/* The input stream failed (I/O error, not a malformed message). */
	bool read_error:1;
};

void frontdesk_view_limits_default(struct frontdesk_view_limits *limits_r);

/* Build the view of the message in input (read from its current offset).
   Malformed input is never an error: the view holds what could be read.
   Returns 0, or -1 when the stream itself failed (error_r set); the view is
   usable either way. */
int frontdesk_view_parse(pool_t pool, struct istream *input,
			 const struct frontdesk_view_limits *limits,
			 struct frontdesk_view **view_r, const char **error_r);

/* Case-insensitive lookup of the first top-level header with this name. */
const char *frontdesk_view_header(const struct frontdesk_view *view,
				  const char *name);

void frontdesk_view_set_envelope(struct frontdesk_view *view,
				 const char *from, const char *to,
				 const char *original_rcpt);

#endif
