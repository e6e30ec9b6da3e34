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
#include "frontdesk-compat.h"
#include "str.h"
#include "strfuncs.h"
#include "frontdesk-view.h"
#include "frontdesk-machine-cues.h"
#include "frontdesk-machine.h"

#include <ctype.h>

/* Body bytes looked at for where the author's own text ends: machine text
   says what it is in its first lines. */
#define MACHINE_SCAN_BYTES 3072
/* Own text read for cues (and the quick first look at any text). */
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
/* Folded bytes a forwarder may write above a forwarded report and still
   have said nothing: "Forward the message." */
#define MACHINE_FORWARD_NOTE 40
/* Points a person's phrase or question takes away. */
#define MACHINE_PERSON_PENALTY 2

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
	/* the whole subject is a weak cue: "Fuori sede", "Out of office" */
	bool exact;
	/* challenge-response wording in the subject: "not a robot" */
	unsigned int challenge_points;
	/* a device's wording in the subject: "New voicemail from" */
	unsigned int notice_points;
};

/* An out-of-office, receipt or delay name that runs on into words
   without a ':' ("Absence du bureau pendant 3 semaines : ...", "Delivery
   delayed for two weeks") starts a person's sentence, not the original
   subject: the body must confirm it. */
static bool
subject_prefix_in_sentence(const char *s,
			   const struct frontdesk_machine_subject_cue *c)
{
	size_t len = strlen(c->text);

	if (c->kind != FRONTDESK_MACHINE_AUTO_REPLY &&
	    c->kind != FRONTDESK_MACHINE_RECEIPT &&
	    c->kind != FRONTDESK_MACHINE_DELAY)
		return FALSE;
	return c->text[len - 1] != ':' && s[len] == ' ' &&
		strchr(s + len, ':') != s + len + 1 &&
		s[len + 1] != '\0';
}

static enum frontdesk_machine_kind
subject_match(const char *s, enum frontdesk_machine_subject_match match,
	      bool *alone_r)
{
	const struct frontdesk_machine_subject_cue *c;

	for (c = frontdesk_machine_subject_cues; c->text != NULL; c++) {
		if (c->match == match &&
		    (match == MSUBJ_PREFIX ?
		     frontdesk_machine_starts_with(s, c->text) :
		     frontdesk_machine_has_words(s, c->text))) {
			*alone_r = c->alone &&
				(match != MSUBJ_PREFIX ||
				 !subject_prefix_in_sentence(s, c));
			return c->kind;
		}
	}
	return FRONTDESK_MACHINE_NONE;
}

/* The subject is nothing but a cue: "Fuori sede", "Out of office:" */
static bool subject_is_cue(const char *s)
{
	const struct frontdesk_machine_subject_cue *c;
	size_t len;

	for (c = frontdesk_machine_subject_cues; c->text != NULL; c++) {
		len = strlen(c->text);
		if (strncmp(s, c->text, len) == 0 &&
		    (s[len] == '\0' || (s[len] == ':' && s[len + 1] == '\0')))
			return TRUE;
	}
	return FALSE;
}

static void machine_subject(const char *subject, struct machine_subject *subj_r)
{
	const char *s, *const *pfx;
	bool stripped = TRUE;
	unsigned int i;

	i_zero(subj_r);
	subj_r->ticket_no = frontdesk_machine_has_ticket_number(subject);
	/* "[EXT]", "[Ticket #123]" tags */
	for (s = subject; *s == ' ' || *s == '\t' || *s == '['; ) {
		if (*s == '[' && strchr(s, ']') != NULL)
			s = strchr(s, ']') + 1;
		else if (*s == '[')
			break;
		else
			s++;
	}
	s = frontdesk_machine_fold_subject_t(s);
	subj_r->text = s;
	/* "Automatic reply: Re: ..." */
	subj_r->kind = subject_match(s, MSUBJ_PREFIX, &subj_r->alone);
	if (subj_r->kind != FRONTDESK_MACHINE_NONE) {
		subj_r->exact = subject_is_cue(s);
		return;
	}
	/* "Re:"/"Fwd:" first: a person answering or passing on mail; an
	   auto-reply may keep the "Re:" of what it answers */
	for (i = 0; i < 5 && stripped; i++) {
		stripped = FALSE;
		for (pfx = frontdesk_machine_forward_prefixes; *pfx != NULL;
		     pfx++) {
			if (str_begins_with(s, *pfx)) {
				subj_r->forward = TRUE;
				s = t_str_trim(s + strlen(*pfx), " ");
				stripped = TRUE;
			}
		}
		for (pfx = frontdesk_machine_reply_prefixes; *pfx != NULL;
		     pfx++) {
			if (str_begins_with(s, *pfx)) {
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
	else if (subj_r->kind != FRONTDESK_MACHINE_NONE)
		subj_r->exact = subject_is_cue(s);
}

struct machine_body {
	const char *raw, *folded;
	struct frontdesk_machine_hits hits;
	/* the author asks or talks like a person */
	unsigned int penalty;
	bool greeting, has_date;
	/* a web link: where a challenge wants to be answered */
	bool link;
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
	const struct frontdesk_machine_hits *h = &b->hits;
	unsigned int bounce = h->points[MCUE_BOUNCE];
	unsigned int delay = h->points[MCUE_DELAY];

	if ((bounce == 0 && delay == 0) ||
	    (!body_at_top(b, MCUE_BOUNCE) && !body_at_top(b, MCUE_DELAY)) ||
	    (!body_greeting_ok(b, MCUE_BOUNCE) &&
	     !body_greeting_ok(b, MCUE_DELAY)))
		return FRONTDESK_MACHINE_NONE;
	if (s->kind == FRONTDESK_MACHINE_BOUNCE)
		bounce += MACHINE_SUBJECT_POINTS;
	else if (s->kind == FRONTDESK_MACHINE_DELAY)
		delay += MACHINE_SUBJECT_POINTS;
	if (frontdesk_machine_has_smtp_status(b->raw))
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
	const struct frontdesk_machine_hits *h = &b->hits;
	bool subj = s->kind == FRONTDESK_MACHINE_AUTO_REPLY || s->absence;
	bool exact;
	unsigned int groups, said;

	said = h->count[MCUE_ABSENT] + h->count[MCUE_CONTACT] +
		h->count[MCUE_THANKS];
	if (h->count[MCUE_CUSTOMER] > 0 ||
	    (h->count[MCUE_ABSENT] == 0 && !subj) ||
	    (h->count[MCUE_ABSENT] > 0 && !body_at_top(b, MCUE_ABSENT)))
		return FALSE;
	/* "Ich bin bis 20.8. nicht im Büro" and nothing, or more of it */
	if (s->absence && (*b->folded == '\0' || said > 0) &&
	    b->penalty == 0 && h->count[MCUE_ERRAND] == 0)
		return TRUE;
	/* a subject that says only "Out of office" says it twice, when the
	   body gives the date of the return and nothing to deal with */
	exact = s->exact && b->has_date && h->count[MCUE_ERRAND] == 0 &&
		(said > 0 || h->count[MCUE_RETURN] > 0);
	groups = (h->count[MCUE_ABSENT] > 0 ? 1 : 0) + (subj ? 1 : 0) +
		(exact ? 1 : 0) +
		(b->has_date ? 1 : 0) +
		(h->count[MCUE_CONTACT] > 0 ? 1 : 0) +
		(h->count[MCUE_THANKS] > 0 ? 1 : 0);
	/* "I am away until 3 May" + who to write to or thanks; a question
	   to us, or an invoice or order to deal with, needs all of it */
	return groups >= (b->penalty > 0 || h->count[MCUE_ERRAND] > 0 ?
			  4U : 3U);
}

/* another help desk: "[Ticket #123] We received your request" */
static bool
machine_ticket_ack(const struct machine_body *b,
		   const struct machine_subject *s)
{
	const struct frontdesk_machine_hits *h = &b->hits;
	unsigned int points = h->points[MCUE_TICKET_ACK] +
		(s->kind == FRONTDESK_MACHINE_AUTO_REPLY ? 1 : 0);

	if (points < 2 || b->penalty > 0 || !body_at_top(b, MCUE_TICKET_ACK) ||
	    (s->reply && h->count[MCUE_ERRAND] > 0))
		return FALSE;
	return s->ticket_no || frontdesk_machine_has_ticket_number(b->raw) ||
		(h->count[MCUE_TICKET_NO] > 0 &&
		 (frontdesk_machine_has_long_number(b->raw) ||
		  frontdesk_machine_has_long_number(s->text)));
}

static enum frontdesk_machine_kind
machine_body_kind(const struct machine_body *b,
		  const struct machine_subject *s)
{
	const struct frontdesk_machine_hits *h = &b->hits;
	enum frontdesk_machine_kind kind;

	kind = machine_bounce(b, s);
	if (kind != FRONTDESK_MACHINE_NONE)
		return kind;
	/* challenge-response: "confirm you are a person" and where to do
	   it; the link is what the whole mail is for, so a greeting before
	   it does not make a person's letter of it */
	if (h->points[MCUE_CHALLENGE] + s->challenge_points >=
	    MACHINE_THRESHOLD + b->penalty &&
	    h->first_strong[MCUE_CHALLENGE] != UINT_MAX &&
	    body_at_top(b, MCUE_CHALLENGE) &&
	    (body_greeting_ok(b, MCUE_CHALLENGE) ||
	     (b->link && b->penalty == 0 &&
	      h->count[MCUE_CHALLENGE] >= MACHINE_THRESHOLD)))
		return FRONTDESK_MACHINE_CHALLENGE;
	if (machine_out_of_office(b, s))
		return FRONTDESK_MACHINE_AUTO_REPLY;
	if (machine_ticket_ack(b, s))
		return FRONTDESK_MACHINE_AUTO_REPLY;
	/* a subject that is only the receipt's name ("Lesebestätigung")
	   stands for the strong cue */
	if (h->points[MCUE_READ] >= MACHINE_THRESHOLD && b->penalty == 0 &&
	    (h->first_strong[MCUE_READ] < MACHINE_TOP ||
	     (s->kind == FRONTDESK_MACHINE_RECEIPT && s->exact)) &&
	    body_at_top(b, MCUE_READ))
		return FRONTDESK_MACHINE_RECEIPT;
	/* a device's or portal's notice: it says it is automatic or writes
	   to "dear user", and what it reports (a voicemail, a fax, a scan,
	   a full disk); no one asks anything */
	if (h->points[MCUE_NOTICE] + s->notice_points >= MACHINE_THRESHOLD +
	    (h->count[MCUE_ERRAND] > 0 ? MACHINE_PERSON_PENALTY : 0) &&
	    h->first_strong[MCUE_NOTICE] != UINT_MAX && b->penalty == 0 &&
	    h->count[MCUE_CUSTOMER] == 0)
		return FRONTDESK_MACHINE_NOTIFICATION;
	if (s->kind == FRONTDESK_MACHINE_NOTIFICATION && b->penalty == 0 &&
	    (*b->folded == '\0' || h->count[MCUE_CALENDAR] > 0 || b->has_date))
		return FRONTDESK_MACHINE_NOTIFICATION;
	return FRONTDESK_MACHINE_NONE;
}

/* Any cue that can make a machine of the body, quotes included. */
static bool machine_maybe(const char *text, size_t size)
{
	struct frontdesk_machine_hits all;

	frontdesk_machine_scan(frontdesk_machine_fold_t(text, size), &all);
	return all.count[MCUE_BOUNCE] + all.count[MCUE_DELAY] +
		all.count[MCUE_ABSENT] + all.count[MCUE_CHALLENGE] +
		all.count[MCUE_TICKET_ACK] > 0 ||
		all.first_strong[MCUE_NOTICE] != UINT_MAX ||
		all.first_strong[MCUE_READ] != UINT_MAX;
}

/* A forward with no words of the forwarder's own ("Fwd: Returned mail",
   nothing or one line above the forwarded text) that carries a
   non-delivery report: the report is the message. A forwarder who says
   anything more (a question, "I got this") is a person asking. */
static enum frontdesk_machine_kind
machine_forwarded(const struct frontdesk_view *view, const char **reason_r)
{
	struct frontdesk_machine_hits own, all;
	size_t size, own_size;
	const char *raw, *folded;

	size = I_MIN(str_len(view->text), MACHINE_SCAN_BYTES);
	own_size = frontdesk_machine_own_size(str_c(view->text), size);
	raw = t_strndup(str_c(view->text), own_size);
	folded = t_str_trim(frontdesk_machine_fold_t(raw, strlen(raw)), " ");
	if (strlen(folded) > MACHINE_FORWARD_NOTE ||
	    frontdesk_machine_has_question(raw))
		return FRONTDESK_MACHINE_NONE;
	frontdesk_machine_scan(folded, &own);
	if (own.count[MCUE_CUSTOMER] > 0 || own.count[MCUE_ERRAND] > 0)
		return FRONTDESK_MACHINE_NONE;
	raw = t_strndup(str_c(view->text), size);
	frontdesk_machine_scan(frontdesk_machine_fold_t(raw, strlen(raw)),
			       &all);
	if (all.count[MCUE_CUSTOMER] > 0 ||
	    all.first_strong[MCUE_BOUNCE] == UINT_MAX ||
	    all.points[MCUE_BOUNCE] < MACHINE_THRESHOLD + 1 ||
	    !frontdesk_machine_has_smtp_status(raw))
		return FRONTDESK_MACHINE_NONE;
	*reason_r = "bounce-forwarded";
	return FRONTDESK_MACHINE_BOUNCE;
}

/* Amazon SES's event notifications (SNS, from no-reply@) are JSON whose
   "notificationType" or "eventType" says what happened: "Bounce",
   "Complaint". Other types ("Delivery") are left to the sender's kind. */
static enum frontdesk_machine_kind machine_ses_event(const char *text)
{
	static const char *const names[] = {
		"\"notificationType", "\"eventType", NULL
	};
	const char *const *name, *p;

	for (name = names; *name != NULL; name++) {
		if ((p = strstr(text, *name)) == NULL)
			continue;
		p += strlen(*name);
		/* the value, maybe with escaped quotes: \":\"Bounce */
		while (*p == ' ' || *p == ':' || *p == '\\' || *p == '"')
			p++;
		if (str_begins_with(p, "Bounce"))
			return FRONTDESK_MACHINE_BOUNCE;
		if (str_begins_with(p, "Complaint"))
			return FRONTDESK_MACHINE_REPORT;
	}
	return FRONTDESK_MACHINE_NONE;
}

static enum frontdesk_machine_kind
machine_recognize(const struct frontdesk_view *view, const char **reason_r)
{
	struct machine_subject subj;
	struct machine_body body;
	enum frontdesk_machine_kind kind;
	size_t size;

	machine_subject(view->subject, &subj);
	if (subj.kind == FRONTDESK_MACHINE_NONE && !subj.forward) {
		struct frontdesk_machine_hits sh;

		frontdesk_machine_scan(subj.text, &sh);
		subj.absence = sh.count[MCUE_ABSENT] > 0 &&
			sh.count[MCUE_CUSTOMER] == 0 &&
			(sh.count[MCUE_DATE] > 0 ||
			 frontdesk_machine_has_numeric_date(view->subject));
	}
	/* a person passes machine mail on: they ask about it, unless they
	   wrote nothing of their own */
	if (subj.forward)
		return machine_forwarded(view, reason_r);
	T_BEGIN {
		kind = machine_ses_event(t_strndup(str_c(view->text),
			I_MIN(str_len(view->text), MACHINE_SCAN_BYTES)));
	} T_END;
	if (kind != FRONTDESK_MACHINE_NONE) {
		*reason_r = kind == FRONTDESK_MACHINE_BOUNCE ?
			"bounce-body" : "report-body";
		return kind;
	}
	/* an invitation, acceptance or cancellation (iCalendar METHOD
	   REQUEST, REPLY, CANCEL), whoever sends it */
	if (view->calendar_part) {
		*reason_r = "calendar-part";
		return FRONTDESK_MACHINE_NOTIFICATION;
	}
	if (subj.kind == FRONTDESK_MACHINE_NONE) {
		struct frontdesk_machine_hits ch;

		frontdesk_machine_scan(subj.text, &ch);
		subj.challenge_points = ch.count[MCUE_CUSTOMER] > 0 ? 0 :
			ch.points[MCUE_CHALLENGE];
		subj.notice_points = ch.count[MCUE_CUSTOMER] > 0 ? 0 :
			ch.points[MCUE_NOTICE];
	}
	if (subj.kind != FRONTDESK_MACHINE_NONE && subj.alone) {
		*reason_r = subject_reasons[subj.kind];
		return subj.kind;
	}

	size = I_MIN(str_len(view->text), MACHINE_SCAN_BYTES);
	/* most mail is a person's: when nothing in its start can make a
	   machine, where the author's text ends is not needed */
	if (subj.kind == FRONTDESK_MACHINE_NONE && !subj.absence &&
	    !machine_maybe(str_c(view->text), I_MIN(size, MACHINE_OWN_BYTES)))
		return FRONTDESK_MACHINE_NONE;
	size = frontdesk_machine_own_size(str_c(view->text), size);
	size = I_MIN(size, MACHINE_OWN_BYTES);

	i_zero(&body);
	/* a NUL byte in the text ends what the string functions read */
	body.raw = t_strndup(str_c(view->text), size);
	body.folded = t_str_trim(frontdesk_machine_fold_t(body.raw,
							  strlen(body.raw)), " ");
	frontdesk_machine_scan(body.folded, &body.hits);
	body.penalty = MACHINE_PERSON_PENALTY *
		(body.hits.count[MCUE_CUSTOMER] +
		 (frontdesk_machine_has_question(body.raw) ? 1 : 0));
	body.greeting = frontdesk_machine_starts_with_any(body.folded,
		frontdesk_machine_greetings);
	body.has_date = body.hits.count[MCUE_DATE] > 0 ||
		frontdesk_machine_has_numeric_date(body.raw);
	body.link = strstr(body.raw, "http://") != NULL ||
		strstr(body.raw, "https://") != NULL;

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

	frontdesk_machine_cues_init();
	*reason_r = "ok";
	T_BEGIN {
		kind = machine_recognize(view, reason_r);
	} T_END;
	return kind;
}
