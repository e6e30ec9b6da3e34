/* Machine mail: the names of its kinds, and the recognition of machine mail
   that carries no automatic header (RFC 3834 Auto-Submitted, List-*,
   Precedence, reports): out-of-office notices, non-delivery and delay
   reports, challenge-response requests, other help desks' ticket
   confirmations, read receipts and calendar notices, in it, en, de, fr, es,
   pt. Header signals are the guard's; this file reads the subject and the
   start of the body only.

   Machine text is recognised by its structure, not by a word: the wording
   (frontdesk-machine-cues.c) must be the author's own text (above any
   quote or forward), near its top, several independent cues of one kind,
   and the text must not read like a person asking us something (a
   question, "I got this error", "my order", "I was away"), because a
   customer who quotes a bounce or mentions a holiday is still a customer.
   Only standard subject prefixes ("Undeliverable:", "Automatic reply:")
   are enough alone. When unsure: NONE. */

#include "lib.h"
#include "str.h"
#include "strfuncs.h"
#include "frontdesk-text.h"
#include "frontdesk-view.h"
#include "frontdesk-machine-cues.h"
#include "frontdesk-machine.h"

#include <ctype.h>

/* Body bytes split into own text and quotes: machine text says what it is
   in its first lines. */
#define MACHINE_SCAN_BYTES 3072
/* Own text read for cues, folded. */
#define MACHINE_OWN_BYTES 2500
/* A machine's first cue stands within this many folded bytes of its top. */
#define MACHINE_TOP 500
/* A signature (weight 2) this close to the top outweighs a greeting:
   "Hi. This is the qmail-send program". */
#define MACHINE_SIGNATURE_TOP 100
/* Points a kind needs (weights of distinct cues, subject included). */
#define MACHINE_THRESHOLD 3
/* Points a weak subject cue ("Undelivered ...") brings. */
#define MACHINE_SUBJECT_POINTS 2
/* Points a person's phrase or question takes away. */
#define MACHINE_PERSON_PENALTY 2

/* a-z, 0-9 and the space: the alphabet of folded text */
#define KEY_CHARS 37
#define N_BUCKETS (KEY_CHARS * KEY_CHARS)

static const char *const kind_names[FRONTDESK_MACHINE_KIND_COUNT] = {
	[FRONTDESK_MACHINE_NONE] = "",
	[FRONTDESK_MACHINE_BOUNCE] = "bounce",
	[FRONTDESK_MACHINE_DELAY] = "delay",
	[FRONTDESK_MACHINE_RECEIPT] = "receipt",
	[FRONTDESK_MACHINE_REPORT] = "report",
	[FRONTDESK_MACHINE_AUTO_REPLY] = "auto-reply",
	[FRONTDESK_MACHINE_CHALLENGE] = "challenge",
	[FRONTDESK_MACHINE_LIST] = "list",
	[FRONTDESK_MACHINE_PEC] = "pec",
	[FRONTDESK_MACHINE_NOTIFICATION] = "notification",
};
/* reason_r: "<kind>-subject", "<kind>-body" */
static const char *const subject_reasons[FRONTDESK_MACHINE_KIND_COUNT] = {
	"ok", "bounce-subject", "delay-subject", "receipt-subject",
	"report-subject", "auto-reply-subject", "challenge-subject",
	"list-subject", "pec-subject", "notification-subject",
};
static const char *const body_reasons[FRONTDESK_MACHINE_KIND_COUNT] = {
	"ok", "bounce-body", "delay-body", "receipt-body", "report-body",
	"auto-reply-body", "challenge-body", "list-body", "pec-body",
	"notification-body",
};

/* The body cues by their first two characters, built on first use: each
   word of the text is compared with the few cues that can start there. */
#define MAX_CUES 2048
static unsigned short cue_bucket_start[N_BUCKETS + 1];
static unsigned short cue_order[MAX_CUES];
static unsigned char cue_len[MAX_CUES];
/* the first four bytes (fewer: zero-padded), for a quick reject */
static uint32_t cue_head[MAX_CUES], cue_head_mask[MAX_CUES];
static unsigned int cue_count;

struct machine_subject {
	enum frontdesk_machine_kind kind;
	/* standard wording, enough alone */
	bool alone;
	bool reply, forward;
	/* "[Ticket #123]", "Case 00123" */
	bool ticket_no;
	/* folded, without tags and reply prefixes */
	const char *text;
	/* "Ich bin bis 20.8. nicht im Büro" */
	bool absence;
};

struct machine_hits {
	unsigned int points[MCUE_CLASS_COUNT];
	unsigned int count[MCUE_CLASS_COUNT];
	/* folded offset of the first hit of a class, and of its first
	   weight-2 hit; UINT_MAX when none */
	unsigned int first[MCUE_CLASS_COUNT];
	unsigned int first_strong[MCUE_CLASS_COUNT];
};

static inline unsigned int key_char(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return 26 + (c - '0');
	return 36;
}

static inline unsigned int key_of(const char *s)
{
	return key_char(s[0]) * KEY_CHARS + key_char(s[0] == '\0' ? '\0' : s[1]);
}

static void cue_index_init(void)
{
	const struct frontdesk_machine_cue *c;
	unsigned int i, k, fill[N_BUCKETS];

	if (cue_count > 0)
		return;
	for (c = frontdesk_machine_body_cues; c->text != NULL; c++) {
		i_assert(cue_count < MAX_CUES && strlen(c->text) < 256);
		cue_len[cue_count] = strlen(c->text);
		cue_head_mask[cue_count] = 0;
		memset(&cue_head_mask[cue_count], 0xff,
		       I_MIN(cue_len[cue_count], 4));
		memcpy(&cue_head[cue_count], c->text,
		       I_MIN(cue_len[cue_count], 4));
		cue_head[cue_count] &= cue_head_mask[cue_count];
		cue_count++;
	}
	i_zero(&cue_bucket_start);
	for (i = 0; i < cue_count; i++)
		cue_bucket_start[key_of(frontdesk_machine_body_cues[i].text) + 1]++;
	for (k = 0; k < N_BUCKETS; k++)
		cue_bucket_start[k + 1] += cue_bucket_start[k];
	for (k = 0; k < N_BUCKETS; k++)
		fill[k] = cue_bucket_start[k];
	for (i = 0; i < cue_count; i++) {
		k = key_of(frontdesk_machine_body_cues[i].text);
		cue_order[fill[k]++] = i;
	}
}

static const char *fold_t(const char *text, size_t size)
{
	string_t *str = t_str_new(size + 2);

	frontdesk_text_fold((const unsigned char *)text, size, str);
	return str_c(str);
}

/* Every cue found in folded text, each counted once. */
static void
machine_scan(const char *folded, struct machine_hits *hits)
{
	const struct frontdesk_machine_cue *cue;
	unsigned char *seen = t_malloc0(cue_count);
	const char *p, *end = folded + strlen(folded);
	unsigned int i, k, n, off;
	uint32_t head;
	size_t len;

	i_zero(hits);
	memset(hits->first, 0xff, sizeof(hits->first));
	memset(hits->first_strong, 0xff, sizeof(hits->first_strong));
	for (p = folded; *p != '\0'; p++) {
		if (*p == ' ' || (p > folded && p[-1] != ' '))
			continue;
		k = key_of(p);
		head = 0;
		memcpy(&head, p, I_MIN(end - p, 4));
		for (i = cue_bucket_start[k]; i < cue_bucket_start[k + 1]; i++) {
			n = cue_order[i];
			len = cue_len[n];
			if ((head & cue_head_mask[n]) != cue_head[n] ||
			    seen[n] || (size_t)(end - p) < len ||
			    (p[len] != ' ' && p[len] != '\0') ||
			    memcmp(p, frontdesk_machine_body_cues[n].text,
				   len) != 0)
				continue;
			seen[n] = 1;
			cue = &frontdesk_machine_body_cues[n];
			off = p - folded;
			hits->points[cue->class] += cue->weight;
			hits->count[cue->class]++;
			if (hits->first[cue->class] > off)
				hits->first[cue->class] = off;
			if (cue->weight > 1 && hits->first_strong[cue->class] > off)
				hits->first_strong[cue->class] = off;
		}
	}
}

/* Subject folded, with ':' kept and no space before it: "lu:", "re:". */
static const char *fold_subject_t(const char *subject)
{
	string_t *str = t_str_new(strlen(subject) + 8);
	const char *p = subject, *colon;
	size_t len;

	for (;;) {
		colon = strchr(p, ':');
		len = colon == NULL ? strlen(p) : (size_t)(colon - p);
		frontdesk_text_fold((const unsigned char *)p, len, str);
		while (str_len(str) > 0 && str_c(str)[str_len(str) - 1] == ' ')
			str_truncate(str, str_len(str) - 1);
		if (colon == NULL)
			break;
		str_append(str, ": ");
		p = colon + 1;
	}
	return t_str_trim(str_c(str), " ");
}

static bool starts_with_words(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(text, prefix, len) == 0 &&
		(prefix[len - 1] == ':' || text[len] == ' ' ||
		 text[len] == ':' || text[len] == '\0');
}

static bool has_words(const char *text, const char *phrase)
{
	const char *p = text;
	size_t len = strlen(phrase);

	while ((p = strstr(p, phrase)) != NULL) {
		if ((p == text || p[-1] == ' ') &&
		    (p[len] == ' ' || p[len] == ':' || p[len] == '\0'))
			return TRUE;
		p++;
	}
	return FALSE;
}

/* "#123", "# 1234": a ticket number in raw text */
static bool has_ticket_number(const char *text)
{
	const char *p = text;

	while ((p = strchr(p, '#')) != NULL) {
		p++;
		if (*p == ' ')
			p++;
		if (i_isdigit(p[0]) && i_isdigit(p[1]) && i_isdigit(p[2]))
			return TRUE;
	}
	return FALSE;
}

/* a run of at least four digits: "Case 00123456" */
static bool has_long_number(const char *text)
{
	unsigned int run = 0;

	for (; *text != '\0'; text++) {
		run = i_isdigit(*text) ? run + 1 : 0;
		if (run >= 4)
			return TRUE;
	}
	return FALSE;
}

static enum frontdesk_machine_kind
subject_match(const char *s, enum frontdesk_machine_subject_match match,
	      bool *alone_r)
{
	const struct frontdesk_machine_subject_cue *c;

	for (c = frontdesk_machine_subject_cues; c->text != NULL; c++) {
		if (c->match == match &&
		    (match == MSUBJ_PREFIX ? starts_with_words(s, c->text) :
		     has_words(s, c->text))) {
			*alone_r = c->alone;
			return c->kind;
		}
	}
	return FRONTDESK_MACHINE_NONE;
}

static void machine_subject(const char *subject, struct machine_subject *subj_r)
{
	const char *s, *const *pfx;
	bool stripped = TRUE;
	unsigned int i;

	i_zero(subj_r);
	subj_r->ticket_no = has_ticket_number(subject);
	/* "[EXT]", "[Ticket #123]" tags */
	for (s = subject; *s == ' ' || *s == '\t' || *s == '['; ) {
		if (*s == '[' && strchr(s, ']') != NULL)
			s = strchr(s, ']') + 1;
		else if (*s == '[')
			break;
		else
			s++;
	}
	s = fold_subject_t(s);
	subj_r->text = s;
	/* "Automatic reply: Re: ..." */
	subj_r->kind = subject_match(s, MSUBJ_PREFIX, &subj_r->alone);
	if (subj_r->kind != FRONTDESK_MACHINE_NONE)
		return;
	/* "Re:"/"Fwd:" first: a person answering or passing on mail; an
	   auto-reply may keep the "Re:" of what it answers */
	for (i = 0; i < 5 && stripped; i++) {
		stripped = FALSE;
		for (pfx = frontdesk_machine_forward_prefixes; *pfx != NULL; pfx++) {
			if (str_begins(s, *pfx)) {
				subj_r->forward = TRUE;
				s = t_str_trim(s + strlen(*pfx), " ");
				stripped = TRUE;
			}
		}
		for (pfx = frontdesk_machine_reply_prefixes; *pfx != NULL; pfx++) {
			if (str_begins(s, *pfx)) {
				subj_r->reply = TRUE;
				s = t_str_trim(s + strlen(*pfx), " ");
				stripped = TRUE;
			}
		}
	}
	subj_r->text = s;
	if (subj_r->forward)
		return;
	if (subj_r->reply)
		subj_r->kind = subject_match(s, MSUBJ_PREFIX, &subj_r->alone);
	if (subj_r->kind == FRONTDESK_MACHINE_NONE)
		subj_r->kind = subject_match(s, MSUBJ_PHRASE, &subj_r->alone);
	/* what a person answers is theirs to quote */
	if (subj_r->reply)
		subj_r->alone = FALSE;
}

static bool folded_starts_with_any(const char *folded,
				   const char *const *words)
{
	for (; *words != NULL; words++) {
		if (starts_with_words(folded, *words))
			return TRUE;
	}
	return FALSE;
}

static bool is_smtp_code(const char *p)
{
	return (p[0] == '4' || p[0] == '5') && i_isdigit(p[1]) &&
		i_isdigit(p[2]);
}

/* "550 5.1.1", "550-5.7.1", "#5.0.0", "(5.1.0)", or a line that starts
   with a reply code: "550 unknown user", "550-Please turn on" */
static bool has_smtp_status(const char *text)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if ((p == text || p[-1] == '\n') && is_smtp_code(p) &&
		    (p[3] == ' ' || p[3] == '-') && i_isalpha(p[4]))
			return TRUE;
		if ((*p != '4' && *p != '5') || p[1] != '.' ||
		    !i_isdigit(p[2]) || p[3] != '.' || !i_isdigit(p[4]) ||
		    p == text)
			continue;
		if (strchr("#(<'[\n", p[-1]) != NULL)
			return TRUE;
		if (p - text >= 4 && (p[-1] == ' ' || p[-1] == '-') &&
		    is_smtp_code(p - 4))
			return TRUE;
	}
	return FALSE;
}

/* "15.08.", "3/9", "2026-12-03" */
static bool has_numeric_date(const char *text)
{
	const char *p;

	for (p = text; *p != '\0'; p++) {
		if (i_isdigit(p[0]) && (p[1] == '.' || p[1] == '/' ||
					p[1] == '-') && i_isdigit(p[2]))
			return TRUE;
	}
	return FALSE;
}

/* A '?' that ends a sentence, not one inside a URL. */
static bool has_question(const char *text)
{
	const char *p = text;

	while ((p = strchr(p, '?')) != NULL) {
		p++;
		if (*p == '\0' || *p == ' ' || *p == '\n' || *p == '\r' ||
		    *p == '"' || *p == ')' || *p == '?' || *p == '!')
			return TRUE;
	}
	return FALSE;
}

struct machine_body {
	const char *raw, *folded;
	struct machine_hits hits;
	/* the author asks or talks like a person */
	unsigned int penalty;
	bool greeting, has_date;
};

/* The class's cues start near the top, and no person spoke first. */
static bool body_at_top(const struct machine_body *b,
			enum frontdesk_machine_cue_class class)
{
	unsigned int first = b->hits.first[class];

	return first < MACHINE_TOP && first < b->hits.first[MCUE_CUSTOMER];
}

static bool body_greeting_ok(const struct machine_body *b,
			     enum frontdesk_machine_cue_class class)
{
	return !b->greeting ||
		b->hits.first_strong[class] < MACHINE_SIGNATURE_TOP;
}

static enum frontdesk_machine_kind
machine_bounce(const struct machine_body *b, const struct machine_subject *s)
{
	const struct machine_hits *h = &b->hits;
	unsigned int bounce = h->points[MCUE_BOUNCE], delay = h->points[MCUE_DELAY];

	if ((bounce == 0 && delay == 0) ||
	    (!body_at_top(b, MCUE_BOUNCE) && !body_at_top(b, MCUE_DELAY)) ||
	    (!body_greeting_ok(b, MCUE_BOUNCE) &&
	     !body_greeting_ok(b, MCUE_DELAY)))
		return FRONTDESK_MACHINE_NONE;
	if (s->kind == FRONTDESK_MACHINE_BOUNCE)
		bounce += MACHINE_SUBJECT_POINTS;
	else if (s->kind == FRONTDESK_MACHINE_DELAY)
		delay += MACHINE_SUBJECT_POINTS;
	if (has_smtp_status(b->raw))
		bounce++;
	if (bounce + delay < MACHINE_THRESHOLD + b->penalty)
		return FRONTDESK_MACHINE_NONE;
	/* a delay warning words itself as a failure that is not final */
	return delay >= 2 ? FRONTDESK_MACHINE_DELAY : FRONTDESK_MACHINE_BOUNCE;
}

static bool
machine_out_of_office(const struct machine_body *b,
		      const struct machine_subject *s)
{
	const struct machine_hits *h = &b->hits;
	bool subj = s->kind == FRONTDESK_MACHINE_AUTO_REPLY || s->absence;
	unsigned int groups, said;

	said = h->count[MCUE_ABSENT] + h->count[MCUE_CONTACT] +
		h->count[MCUE_THANKS];
	if (h->count[MCUE_CUSTOMER] > 0 ||
	    (h->count[MCUE_ABSENT] == 0 && !subj) ||
	    (h->count[MCUE_ABSENT] > 0 && !body_at_top(b, MCUE_ABSENT)))
		return FALSE;
	/* "Ich bin bis 20.8. nicht im Büro" and nothing, or more of it */
	if (s->absence && (*b->folded == '\0' || said > 0) && b->penalty == 0)
		return TRUE;
	groups = (h->count[MCUE_ABSENT] > 0 ? 1 : 0) + (subj ? 1 : 0) +
		(b->has_date ? 1 : 0) +
		(h->count[MCUE_CONTACT] > 0 ? 1 : 0) +
		(h->count[MCUE_THANKS] > 0 ? 1 : 0);
	/* "I am away until 3 May" + who to write to or thanks; a question
	   to us needs all of it. The date is what a person mentioning a
	   holiday rarely gives with the rest. */
	return groups >= (b->penalty > 0 ? 4U : 3U);
}

static enum frontdesk_machine_kind
machine_body_kind(const struct machine_body *b, const struct machine_subject *s)
{
	const struct machine_hits *h = &b->hits;
	enum frontdesk_machine_kind kind;

	kind = machine_bounce(b, s);
	if (kind != FRONTDESK_MACHINE_NONE)
		return kind;
	if (h->points[MCUE_CHALLENGE] >= MACHINE_THRESHOLD + b->penalty &&
	    h->first_strong[MCUE_CHALLENGE] != UINT_MAX &&
	    body_at_top(b, MCUE_CHALLENGE) &&
	    body_greeting_ok(b, MCUE_CHALLENGE))
		return FRONTDESK_MACHINE_CHALLENGE;
	if (machine_out_of_office(b, s))
		return FRONTDESK_MACHINE_AUTO_REPLY;
	/* another help desk: "[Ticket #123] We received your request" */
	if (h->points[MCUE_TICKET_ACK] +
	    (s->kind == FRONTDESK_MACHINE_AUTO_REPLY ? 1 : 0) >= 2 &&
	    b->penalty == 0 && body_at_top(b, MCUE_TICKET_ACK) &&
	    (s->ticket_no || has_ticket_number(b->raw) ||
	     (h->count[MCUE_TICKET_NO] > 0 && has_long_number(b->raw))))
		return FRONTDESK_MACHINE_AUTO_REPLY;
	if (h->points[MCUE_READ] >= MACHINE_THRESHOLD && b->penalty == 0 &&
	    h->first_strong[MCUE_READ] < MACHINE_TOP &&
	    body_at_top(b, MCUE_READ))
		return FRONTDESK_MACHINE_RECEIPT;
	if (s->kind == FRONTDESK_MACHINE_NOTIFICATION && b->penalty == 0 &&
	    (*b->folded == '\0' || h->count[MCUE_CALENDAR] > 0 || b->has_date))
		return FRONTDESK_MACHINE_NOTIFICATION;
	return FRONTDESK_MACHINE_NONE;
}

static enum frontdesk_machine_kind
machine_recognize(const struct frontdesk_view *view, const char **reason_r)
{
	struct machine_subject subj;
	struct machine_body body;
	string_t *own, *quoted;
	enum frontdesk_machine_kind kind;
	size_t size;

	machine_subject(view->subject, &subj);
	if (subj.kind == FRONTDESK_MACHINE_NONE && !subj.forward) {
		struct machine_hits sh;

		machine_scan(subj.text, &sh);
		subj.absence = sh.count[MCUE_ABSENT] > 0 &&
			sh.count[MCUE_CUSTOMER] == 0 &&
			(sh.count[MCUE_DATE] > 0 ||
			 has_numeric_date(view->subject));
	}
	/* a person passes machine mail on: they ask about it */
	if (subj.forward)
		return FRONTDESK_MACHINE_NONE;
	if (subj.kind != FRONTDESK_MACHINE_NONE && subj.alone) {
		*reason_r = subject_reasons[subj.kind];
		return subj.kind;
	}

	size = I_MIN(str_len(view->text), MACHINE_SCAN_BYTES);
	/* most mail is a person's: when nothing in its start can make a
	   machine, the split into own text and quotes is not needed */
	if (subj.kind == FRONTDESK_MACHINE_NONE && !subj.absence) {
		struct machine_hits all;

		machine_scan(t_str_trim(fold_t(str_c(view->text),
					       I_MIN(size, MACHINE_OWN_BYTES)),
					" "), &all);
		if (all.count[MCUE_BOUNCE] + all.count[MCUE_DELAY] +
		    all.count[MCUE_ABSENT] + all.count[MCUE_CHALLENGE] +
		    all.count[MCUE_TICKET_ACK] == 0 &&
		    all.first_strong[MCUE_READ] == UINT_MAX)
			return FRONTDESK_MACHINE_NONE;
	}
	own = t_str_new(size + 1);
	quoted = t_str_new(size + 1);
	frontdesk_text_split(str_c(view->text), size, own, quoted);
	if (str_len(own) > MACHINE_OWN_BYTES)
		str_truncate(own, MACHINE_OWN_BYTES);

	i_zero(&body);
	body.raw = str_c(own);
	body.folded = t_str_trim(fold_t(body.raw, str_len(own)), " ");
	machine_scan(body.folded, &body.hits);
	body.penalty = MACHINE_PERSON_PENALTY *
		(body.hits.count[MCUE_CUSTOMER] +
		 (has_question(body.raw) ? 1 : 0));
	body.greeting = folded_starts_with_any(body.folded,
					       frontdesk_machine_greetings);
	body.has_date = body.hits.count[MCUE_DATE] > 0 ||
		has_numeric_date(body.raw);

	kind = machine_body_kind(&body, &subj);
	if (kind != FRONTDESK_MACHINE_NONE)
		*reason_r = body_reasons[kind];
	return kind;
}

const char *frontdesk_machine_kind_name(enum frontdesk_machine_kind kind)
{
	i_assert(kind < FRONTDESK_MACHINE_KIND_COUNT);
	return kind_names[kind];
}

bool frontdesk_machine_kind_parse(const char *name,
				  enum frontdesk_machine_kind *kind_r)
{
	unsigned int i;

	for (i = 1; i < FRONTDESK_MACHINE_KIND_COUNT; i++) {
		if (strcasecmp(name, kind_names[i]) == 0) {
			*kind_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

enum frontdesk_machine_kind
frontdesk_machine_recognize(const struct frontdesk_view *view,
			    const char **reason_r)
{
	enum frontdesk_machine_kind kind;

	cue_index_init();
	*reason_r = "ok";
	T_BEGIN {
		kind = machine_recognize(view, reason_r);
	} T_END;
	return kind;
}
