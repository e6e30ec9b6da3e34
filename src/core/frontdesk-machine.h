#ifndef FRONTDESK_MACHINE_H
#define FRONTDESK_MACHINE_H

struct frontdesk_view;

/* Machine mail: what kind of robot wrote a message. The guard decides
   (frontdesk_guard_verdict()); filing, tagging, the log line, the CLI and
   the Sieve extension all read the guard's kind, never a second detector. */
enum frontdesk_machine_kind {
	FRONTDESK_MACHINE_NONE = 0,
	/* non-delivery report (DSN failure, plain-text bounce) */
	FRONTDESK_MACHINE_BOUNCE,
	/* delivery delayed warning */
	FRONTDESK_MACHINE_DELAY,
	/* delivery or read receipt (DSN success, MDN) */
	FRONTDESK_MACHINE_RECEIPT,
	/* abuse, feedback or DMARC report */
	FRONTDESK_MACHINE_REPORT,
	/* out-of-office, vacation, other help desks' auto-confirmations */
	FRONTDESK_MACHINE_AUTO_REPLY,
	/* challenge-response: "confirm you are human to reach me" */
	FRONTDESK_MACHINE_CHALLENGE,
	/* list posts, newsletters, bulk mail */
	FRONTDESK_MACHINE_LIST,
	/* Italian certified mail (PEC) receipts */
	FRONTDESK_MACHINE_PEC,
	/* no-reply notifications, calendar notices, other system mail */
	FRONTDESK_MACHINE_NOTIFICATION,

	FRONTDESK_MACHINE_KIND_COUNT
};

/* "bounce", "delay", "receipt", "report", "auto-reply", "challenge",
   "list", "pec", "notification"; "" for NONE. Valid IMAP atoms: used as
   keywords (with the keyword prefix) and in log lines. */
const char *frontdesk_machine_kind_name(enum frontdesk_machine_kind kind);
/* The kind of a name above; FALSE if unknown. */
bool frontdesk_machine_kind_parse(const char *name,
				  enum frontdesk_machine_kind *kind_r);

/* Header-less recognition: machine mail that carries no automatic header
   at all, from its subject, the shape of its body and its sender, in
   it, en, de, fr, es, pt at least. reason_r is a short static token for
   logs ("auto-reply-subject", "bounce-body", ...). A customer quoting a
   bounce or mentioning an absence is not a machine: when unsure, NONE. */
enum frontdesk_machine_kind
frontdesk_machine_recognize(const struct frontdesk_view *view,
			    const char **reason_r);

#endif
