#ifndef FRONTDESK_TEXT_H
#define FRONTDESK_TEXT_H

#include "array.h"

/* Longest token kept: longer "words" are URLs, hashes or base64 debris. */
#define FRONTDESK_TEXT_MAX_TOKEN 32

struct frontdesk_token {
	const char *str;	/* points into the folded text, not NUL-ended */
	unsigned int len;
};
ARRAY_DEFINE_TYPE(frontdesk_token, struct frontdesk_token);

/* Append UTF-8 text folded for matching: lowercase ASCII letters and digits,
   Latin accents removed (è->e, ß->ss), every other character a single
   space. Invalid UTF-8 bytes become spaces. */
void frontdesk_text_fold(const unsigned char *data, size_t size,
			 string_t *dest);

/* Split folded text into tokens (pointing into folded). */
void frontdesk_text_tokenize(const string_t *folded,
			     ARRAY_TYPE(frontdesk_token) *tokens);

/* Separate what the customer wrote now (new_r) from quoted earlier messages
   and forwarded blocks (quoted_r). Signatures, "sent from my phone" lines
   and legal disclaimers are dropped from both. */
void frontdesk_text_split(const char *text, size_t size,
			  string_t *new_r, string_t *quoted_r);

#endif
