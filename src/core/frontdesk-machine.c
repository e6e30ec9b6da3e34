/* Machine mail: the names of its kinds, and the recognition of machine mail
   that carries no automatic header (RFC 3834 Auto-Submitted, List-*,
   Precedence, reports): out-of-office subjects and plain-text bounces.
   Header signals are the guard's; this file reads subject, body and
   sender only. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "strfuncs.h"
#include "frontdesk-text.h"
#include "frontdesk-view.h"
#include "frontdesk-machine.h"

/* Only the start of the body is read for bounce wording: DSN texts say it
   in their first lines. */
#define MACHINE_DSN_SCAN_BYTES 4096

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

struct machine_cue {
	const char *text;
	enum frontdesk_machine_kind kind;
};

/* Subject starts (lowercase, decoded) of automatic replies, read
   receipts and bounces, in it, en, de, fr, es, pt. */
static const struct machine_cue subject_prefixes[] = {
	{ "auto:", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "autoreply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "auto-reply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "auto reply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "automatic reply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "out of office", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "out of the office", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "ooo:", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "vacation:", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "absence:", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "read:", FRONTDESK_MACHINE_RECEIPT },
	{ "delivered:", FRONTDESK_MACHINE_RECEIPT },
	{ "undeliverable", FRONTDESK_MACHINE_BOUNCE },
	{ "undelivered", FRONTDESK_MACHINE_BOUNCE },
	{ "delivery status notification", FRONTDESK_MACHINE_BOUNCE },
	{ "delivery failure", FRONTDESK_MACHINE_BOUNCE },
	{ "delivery notification", FRONTDESK_MACHINE_BOUNCE },
	{ "mail delivery failed", FRONTDESK_MACHINE_BOUNCE },
	{ "returned mail", FRONTDESK_MACHINE_BOUNCE },
	{ "failure notice", FRONTDESK_MACHINE_BOUNCE },
	{ "abwesenheitsnotiz", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "automatische antwort", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "gelesen:", FRONTDESK_MACHINE_RECEIPT },
	{ "unzustellbar", FRONTDESK_MACHINE_BOUNCE },
	{ "nicht zustellbar", FRONTDESK_MACHINE_BOUNCE },
	{ "réponse automatique", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "reponse automatique", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "absent", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "lu :", FRONTDESK_MACHINE_RECEIPT },
	{ "lu:", FRONTDESK_MACHINE_RECEIPT },
	{ "non remis", FRONTDESK_MACHINE_BOUNCE },
	{ "respuesta automática", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "respuesta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "fuera de la oficina", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "leído:", FRONTDESK_MACHINE_RECEIPT },
	{ "leido:", FRONTDESK_MACHINE_RECEIPT },
	{ "no entregado", FRONTDESK_MACHINE_BOUNCE },
	{ "resposta automática", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "resposta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "ausente", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "lido:", FRONTDESK_MACHINE_RECEIPT },
	{ "não entregue", FRONTDESK_MACHINE_BOUNCE },
	{ "nao entregue", FRONTDESK_MACHINE_BOUNCE },
	{ "risposta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "fuori sede", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "fuori ufficio", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "assente", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "letto:", FRONTDESK_MACHINE_RECEIPT },
	{ "messaggio non recapitato", FRONTDESK_MACHINE_BOUNCE },
	{ "non recapitabile", FRONTDESK_MACHINE_BOUNCE },
	{ "mancata consegna", FRONTDESK_MACHINE_BOUNCE },
	{ "posta certificata:", FRONTDESK_MACHINE_PEC },
	{ "avvenuta consegna:", FRONTDESK_MACHINE_PEC },
	{ "accettazione:", FRONTDESK_MACHINE_PEC },
	{ "anomalia messaggio:", FRONTDESK_MACHINE_PEC },
	/* Microsoft JMRP abuse reports carry no report part */
	{ "complaint about message from", FRONTDESK_MACHINE_REPORT },
	{ NULL, FRONTDESK_MACHINE_NONE }
};
/* Phrases that mark machine mail anywhere in the subject (folded). */
static const struct machine_cue subject_phrases[] = {
	{ "out of office", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "automatic reply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "auto reply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "autoreply", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "abwesenheitsnotiz", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "reponse automatique", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "respuesta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "resposta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "risposta automatica", FRONTDESK_MACHINE_AUTO_REPLY },
	{ "delivery status notification", FRONTDESK_MACHINE_BOUNCE },
	{ "undelivered mail returned", FRONTDESK_MACHINE_BOUNCE },
	{ "mail delivery failed", FRONTDESK_MACHINE_BOUNCE },
	{ "messaggio non recapitato", FRONTDESK_MACHINE_BOUNCE },
	{ NULL, FRONTDESK_MACHINE_NONE }
};
/* Wording of delivery status notifications (folded). Two distinct ones
   make a bounce. */
static const char *const dsn_cues[] = {
	"delivery status notification", "could not be delivered",
	"couldn t be delivered", "was not delivered", "delivery has failed",
	"delivery to the following recipient", "undeliverable",
	"undelivered mail", "returned mail", "mail delivery failed",
	"permanent fatal error", "user unknown", "mailbox unavailable",
	"mailbox not found", "no such user", "address rejected",
	"final recipient", "diagnostic code", "remote mta", "reporting mta",
	"this is the mail system at host", "mail delivery subsystem",
	"mail delivery software", "delivery failure", "550 5 1 1",
	"smtp error", "original message follows", "message was not delivered",
	"non recapitato", "impossibile recapitare", "mancata consegna",
	"non e stato possibile recapitare", "unzustellbar",
	"konnte nicht zugestellt", "non remis", "n a pas pu etre remis",
	"no se pudo entregar", "nao foi possivel entregar", NULL
};

static const char *fold_t(const char *text, size_t size)
{
	string_t *str = t_str_new(size + 2);

	str_append_c(str, ' ');
	frontdesk_text_fold((const unsigned char *)text, size, str);
	str_append_c(str, ' ');
	return str_c(str);
}

static bool has_phrase(const char *folded, const char *phrase)
{
	const char *p = folded;
	size_t len = strlen(phrase);

	/* whole words only: folded text is padded with spaces */
	while ((p = strstr(p, phrase)) != NULL) {
		if (p[-1] == ' ' && (p[len] == ' ' || p[len] == '\0'))
			return TRUE;
		p++;
	}
	return FALSE;
}

static enum frontdesk_machine_kind machine_subject(const char *subject)
{
	const char *lc = t_str_lcase(t_str_trim(subject, " \t"));
	const char *folded = fold_t(subject, strlen(subject));
	const struct machine_cue *c;

	for (c = subject_prefixes; c->text != NULL; c++) {
		if (str_begins_with(lc, c->text))
			return c->kind;
	}
	for (c = subject_phrases; c->text != NULL; c++) {
		if (has_phrase(folded, c->text))
			return c->kind;
	}
	return FRONTDESK_MACHINE_NONE;
}

static bool machine_dsn_body(const struct frontdesk_view *view)
{
	const char *folded, *const *c;
	unsigned int found = 0;

	folded = fold_t(str_c(view->text),
			I_MIN(str_len(view->text), MACHINE_DSN_SCAN_BYTES));
	for (c = dsn_cues; *c != NULL && found < 2; c++) {
		if (has_phrase(folded, *c))
			found++;
	}
	return found >= 2;
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

	T_BEGIN {
		kind = machine_subject(view->subject);
		*reason_r = "auto-reply-subject";
		if (kind == FRONTDESK_MACHINE_NONE && machine_dsn_body(view)) {
			kind = FRONTDESK_MACHINE_BOUNCE;
			*reason_r = "bounce-body";
		}
	} T_END;
	if (kind == FRONTDESK_MACHINE_NONE)
		*reason_r = "ok";
	return kind;
}
