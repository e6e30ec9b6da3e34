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
	/* month and weekday names: a date */
	MCUE_DATE,
	/* a person asking us something: "please help", "I was away",
	   "my order" */
	MCUE_CUSTOMER,

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
/* First words of a person's greeting ("hello", "buongiorno"). */
extern const char *const frontdesk_machine_greetings[];

#endif
