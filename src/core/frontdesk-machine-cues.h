#ifndef FRONTDESK_MACHINE_CUES_H
#define FRONTDESK_MACHINE_CUES_H

#include "frontdesk-machine.h"

/* What a phrase in a message's own text says about its author
   (frontdesk-machine.c weighs them). */
enum frontdesk_machine_cue_class {
	/* non-delivery wording */
	MCUE_BOUNCE = 0,
	/* delivery delayed, still trying */
	MCUE_DELAY,
	/* out-of-office: "I am out of the office" */
	MCUE_ABSENT,
	/* ... "until", "back on" (counts with a date) */
	MCUE_RETURN,
	/* ... "for urgent matters contact", "on my return" */
	MCUE_CONTACT,
	/* "thank you for your message" */
	MCUE_THANKS,
	/* challenge-response: "confirm you are human to reach me" */
	MCUE_CHALLENGE,
	/* help desk auto-confirmation: "we have received your request" */
	MCUE_TICKET_ACK,
	/* "ticket", "case", "chamado" (counts with a number) */
	MCUE_TICKET_NO,
	/* read receipt: "was read on" */
	MCUE_READ,
	/* calendar notice: "organizer", "join with google meet" */
	MCUE_CALENDAR,
	/* a device's or portal's notice: "this message was generated
	   automatically", "you have a new voicemail", "dear user" */
	MCUE_NOTICE,
	/* month and weekday names: a date */
	MCUE_DATE,
	/* a person asking us something: "please help", "I was away",
	   "my order" */
	MCUE_CUSTOMER,
	/* what a customer writes about: invoice, order, delivery */
	MCUE_ERRAND,

	MCUE_CLASS_COUNT
};

struct frontdesk_machine_cue {
	/* folded (frontdesk_text_fold()), matched on whole words */
	const char *text;
	enum frontdesk_machine_cue_class class;
	/* 2: wording only one kind of system writes; 1: supporting */
	unsigned int weight;
};

enum frontdesk_machine_subject_match {
	/* the subject starts with it (after "[tags]") */
	MSUBJ_PREFIX,
	/* anywhere, whole words */
	MSUBJ_PHRASE,
};

struct frontdesk_machine_subject_cue {
	/* folded, with ':' kept and no space before it: "non remis:" */
	const char *text;
	enum frontdesk_machine_kind kind;
	enum frontdesk_machine_subject_match match;
	/* TRUE: standard wording that is enough alone; FALSE: counts as a
	   strong cue that the body must confirm */
	bool alone;
};

/* NULL-terminated */
extern const struct frontdesk_machine_cue frontdesk_machine_body_cues[];
extern const struct frontdesk_machine_subject_cue
	frontdesk_machine_subject_cues[];
/* Reply and forward prefixes, folded with ':' ("re:", "wg:"). */
extern const char *const frontdesk_machine_reply_prefixes[];
extern const char *const frontdesk_machine_forward_prefixes[];
/* Folded lines that start a quoted or forwarded message ("-----Original
   Message-----"), and endings of "On <date>, <name> wrote:". */
extern const char *const frontdesk_machine_cut_markers[];
extern const char *const frontdesk_machine_quote_intros[];
/* First words of a line that starts an Outlook quote block ("From: ..."),
   and of the line after it ("Sent: ...") */
extern const char *const frontdesk_machine_outlook_from[];
extern const char *const frontdesk_machine_outlook_next[];
/* First words of a person's greeting ("hello", "buongiorno"). */
extern const char *const frontdesk_machine_greetings[];

struct frontdesk_machine_hits {
	unsigned int points[MCUE_CLASS_COUNT];
	unsigned int count[MCUE_CLASS_COUNT];
	/* folded offset of the first hit of a class, and of its first
	   weight-2 hit; UINT_MAX when none */
	unsigned int first[MCUE_CLASS_COUNT];
	unsigned int first_strong[MCUE_CLASS_COUNT];
};

/* frontdesk-machine-text.c */
/* Index the body cues (once). */
void frontdesk_machine_cues_init(void);
/* Every body cue in folded text, each counted once. */
void frontdesk_machine_scan(const char *folded,
			    struct frontdesk_machine_hits *hits_r);
const char *frontdesk_machine_fold_t(const char *text, size_t size);
/* Folded with ':' kept and no space before it: "lu:", "re:". */
const char *frontdesk_machine_fold_subject_t(const char *subject);
/* Folded text starts with prefix (whole words, or up to its ':'). */
bool frontdesk_machine_starts_with(const char *text, const char *prefix);
bool frontdesk_machine_starts_with_any(const char *folded,
				       const char *const *words);
/* Folded text has phrase as whole words. */
bool frontdesk_machine_has_words(const char *text, const char *phrase);
/* "#123" */
bool frontdesk_machine_has_ticket_number(const char *text);
/* four digits or more: "Case 00123456" */
bool frontdesk_machine_has_long_number(const char *text);
/* "550 5.1.1", "#5.0.0", a line starting "550 unknown user" */
bool frontdesk_machine_has_smtp_status(const char *text);
/* "15.08.", "3/9" */
bool frontdesk_machine_has_numeric_date(const char *text);
/* a '?' that ends a sentence, not one in a URL */
bool frontdesk_machine_has_question(const char *text);
/* Bytes of text the author wrote: up to the first quote or forward. */
size_t frontdesk_machine_own_size(const char *text, size_t size);

#endif
