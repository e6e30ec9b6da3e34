#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

/* What the libFuzzer harnesses of tests/fuzz share: Dovecot's lib set up
   once, the shipped model and settings as the plugin would have them, and
   the oracles. An oracle failure aborts with "frontdesk fuzz oracle: ...",
   so libFuzzer reports it like a crash and keeps the input. */

#include "lib.h"
#include "array.h"
#include "str.h"

#include <stdint.h>

struct frontdesk_settings;
struct frontdesk_model;
struct frontdesk_view;
struct frontdesk_classification;
struct frontdesk_template;

/* The support desk of every harness. */
#define FUZZ_SUPPORT_ADDR "support@example.com"
#define FUZZ_MSGID_DOMAIN "example.com"
#define FUZZ_CUSTOMER_ADDR "customer@example.org"
#define FUZZ_TICKET "FD-7K3M-Q9XA-P4R2"
/* a Monday afternoon; harnesses add an offset from the input */
#define FUZZ_NOW 1795354404

/* lib_init() once, the settings (frontdesk_addresses etc.) and, when
   with_model, the shipped model (FRONTDESK_FUZZ_MODEL or the build's). */
void fuzz_init(bool with_model);
const struct frontdesk_settings *fuzz_settings(void);
const struct frontdesk_model *fuzz_model(void);

void fuzz_fail(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;
/* data printed with C escapes, cut to max bytes around nothing */
const char *fuzz_escape(const void *data, size_t size, size_t max);
/* With FRONTDESK_FUZZ_DUMP set, write the composed message to stderr
   (to look at what an oracle complains about). */
void fuzz_dump(const string_t *msg);
uint32_t fuzz_hash(const uint8_t *data, size_t size);

/* View oracles: documented contracts of struct frontdesk_view. */
void fuzz_check_view(const struct frontdesk_view *view,
		     size_t max_body_bytes, unsigned int max_headers);
/* Classifier result, keywords and the X-Frontdesk-* header block. */
void fuzz_check_classification(const struct frontdesk_model *model,
			       const struct frontdesk_settings *set,
			       const struct frontdesk_classification *r);

/* What the composer was given, for the acknowledgment oracle. */
struct fuzz_ack_expect {
	const char *from_addr, *to_addr, *ticket;
	const struct frontdesk_template *tpl;
	/* the name and subject values as the template received them */
	const char *name, *subject;
	/* the template's [subject] shows {{subject}} for these values */
	bool subject_in_subject;
	/* the harness's own template (fuzz_ack_template_text): the decoded
	   parts must hold exactly "name|subject|ticket" */
	bool own_template;
};
/* The oracle: only the composer's headers, each once; CRLF everywhere,
   no bare LF/CR; lines <= 998; 7-bit; From/To parse to the addresses;
   the Subject decodes (RFC 2047) to text that holds the customer's subject
   as given, without control characters or added whitespace; two QP parts
   that decode to valid UTF-8; no markup, entity or quote from the name or
   subject unescaped in the HTML part. */
void fuzz_check_ack(const string_t *msg, const struct fuzz_ack_expect *exp);
/* A template whose parts hold the values side by side. */
extern const char fuzz_ack_template_text[];

#endif
