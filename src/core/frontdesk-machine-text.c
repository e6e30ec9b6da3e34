/* Reading text for machine mail (frontdesk-machine.c): the cues of
   frontdesk-machine-cues.c found in folded text in one pass, the subject
   wording, where the author's own text ends (a quote or a forward), and
   the small patterns machines write (SMTP status codes, dates, ticket
   numbers). */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "strfuncs.h"
#include "frontdesk-text.h"
#include "frontdesk-machine-cues.h"

#include <ctype.h>

/* a-z, 0-9 and the space: the alphabet of folded text */
#define KEY_CHARS 37
#define N_BUCKETS (KEY_CHARS * KEY_CHARS)

#define S(t, k) { t, FRONTDESK_MACHINE_##k, MSUBJ_PREFIX, TRUE }
#define SW(t, k) { t, FRONTDESK_MACHINE_##k, MSUBJ_PREFIX, FALSE }
#define PH(t, k) { t, FRONTDESK_MACHINE_##k, MSUBJ_PHRASE, TRUE }
#define PW(t, k) { t, FRONTDESK_MACHINE_##k, MSUBJ_PHRASE, FALSE }

const struct frontdesk_machine_subject_cue frontdesk_machine_subject_cues[] = {
	/* auto-replies (Outlook, Exchange, Gmail, Notes, Zimbra, Roundcube) */
	S("automatic reply:", AUTO_REPLY), S("auto:", AUTO_REPLY),
	S("autoreply:", AUTO_REPLY), S("auto reply:", AUTO_REPLY),
	S("out of office:", AUTO_REPLY), S("out of office reply", AUTO_REPLY),
	S("out of the office:", AUTO_REPLY),
	S("out of office autoreply", AUTO_REPLY), S("ooo:", AUTO_REPLY),
	S("vacation:", AUTO_REPLY), S("away:", AUTO_REPLY),
	S("absence:", AUTO_REPLY), S("abwesenheitsnotiz", AUTO_REPLY),
	S("automatische antwort", AUTO_REPLY), S("abwesenheit:", AUTO_REPLY),
	S("reponse automatique", AUTO_REPLY),
	S("absence du bureau", AUTO_REPLY),
	S("absent:", AUTO_REPLY), S("absente:", AUTO_REPLY),
	S("respuesta automatica", AUTO_REPLY), S("ausente:", AUTO_REPLY),
	S("resposta automatica", AUTO_REPLY), S("assente:", AUTO_REPLY),
	S("risposta automatica", AUTO_REPLY), S("fuori sede:", AUTO_REPLY),
	S("fuori ufficio:", AUTO_REPLY), S("fuera de la oficina:", AUTO_REPLY),
	S("ausente do escritorio", AUTO_REPLY),
	PH("abwesenheitsnotiz", AUTO_REPLY),
	/* anywhere, "did not get your automatic reply" is a person's */
	PW("out of office", AUTO_REPLY), PW("automatic reply", AUTO_REPLY),
	PW("autoreply", AUTO_REPLY), PW("auto reply", AUTO_REPLY),
	PW("reponse automatique", AUTO_REPLY),
	PW("respuesta automatica", AUTO_REPLY),
	PW("resposta automatica", AUTO_REPLY),
	PW("risposta automatica", AUTO_REPLY),
	SW("absent", AUTO_REPLY), SW("absence", AUTO_REPLY),
	SW("ausente", AUTO_REPLY), SW("assente", AUTO_REPLY),
	SW("fuori sede", AUTO_REPLY), SW("fuori ufficio", AUTO_REPLY),
	SW("fuera de la oficina", AUTO_REPLY), SW("vacation", AUTO_REPLY),
	SW("on vacation", AUTO_REPLY), SW("on holiday", AUTO_REPLY),
	SW("away", AUTO_REPLY), SW("urlaub", AUTO_REPLY),
	SW("im urlaub", AUTO_REPLY), SW("en conges", AUTO_REPLY),
	SW("de vacaciones", AUTO_REPLY), SW("de ferias", AUTO_REPLY),
	SW("in ferie", AUTO_REPLY),
	SW("ticket received", AUTO_REPLY), SW("request received", AUTO_REPLY),
	SW("we received your request", AUTO_REPLY),
	SW("we have received your request", AUTO_REPLY),
	SW("anfrage eingegangen", AUTO_REPLY),
	SW("ihre anfrage ist eingegangen", AUTO_REPLY),
	SW("demande recue", AUTO_REPLY), SW("solicitud recibida", AUTO_REPLY),
	SW("solicitacao recebida", AUTO_REPLY),
	SW("richiesta ricevuta", AUTO_REPLY),
	/* read and delivery receipts */
	S("read:", RECEIPT), S("not read:", RECEIPT),
	S("delivered:", RECEIPT), S("gelesen:", RECEIPT),
	S("ungelesen:", RECEIPT), S("zugestellt:", RECEIPT),
	S("ubermittelt:", RECEIPT), S("lu:", RECEIPT), S("non lu:", RECEIPT),
	S("remis:", RECEIPT), S("leido:", RECEIPT), S("no leido:", RECEIPT),
	S("entregado:", RECEIPT), S("lido:", RECEIPT), S("nao lido:", RECEIPT),
	S("entregue:", RECEIPT), S("letto:", RECEIPT), S("non letto:", RECEIPT),
	S("recapitato:", RECEIPT), S("lida:", RECEIPT), S("nao lida:", RECEIPT),
	/* the receipt's name is no prefix: "Lesebestätigung erhalten,
	   aber ..." is a sentence about one, which the body must confirm */
	SW("conferma di lettura", RECEIPT), SW("lesebestatigung", RECEIPT),
	SW("accuse de lecture", RECEIPT), SW("read receipt", RECEIPT),
	SW("confirmacion de lectura", RECEIPT),
	SW("confirmacao de leitura", RECEIPT),
	/* Thunderbird's MDN: "Return Receipt (displayed) - <subject>" */
	S("return receipt displayed", RECEIPT),
	S("return receipt deleted", RECEIPT),
	S("empfangsbestatigung angezeigt", RECEIPT),
	S("accuse de reception affiche", RECEIPT),
	S("acuse de recibo mostrado", RECEIPT),
	S("confirmacion de lectura mostrado", RECEIPT),
	S("recibo de retorno exibido", RECEIPT),
	S("confirmacao de leitura exibida", RECEIPT),
	S("ricevuta di ritorno visualizzato", RECEIPT),
	/* non-delivery (Exchange's localized prefixes, MTAs' subjects) */
	S("undeliverable:", BOUNCE), S("undeliverable mail", BOUNCE),
	S("undelivered mail returned to sender", BOUNCE),
	S("mail delivery failed", BOUNCE), S("mail delivery failure", BOUNCE),
	S("delivery status notification", BOUNCE),
	S("delivery failure:", BOUNCE), S("delivery notification:", BOUNCE),
	S("returned mail:", BOUNCE), S("failure notice", BOUNCE),
	S("nondeliverable mail", BOUNCE), S("message not delivered", BOUNCE),
	S("address not found", BOUNCE), S("mail system error", BOUNCE),
	S("unzustellbar:", BOUNCE), S("nicht zustellbar:", BOUNCE),
	S("non remis:", BOUNCE), S("non distribuable:", BOUNCE),
	S("adresse introuvable", BOUNCE), S("no se puede entregar:", BOUNCE),
	S("no entregado:", BOUNCE), S("no se pudo entregar", BOUNCE),
	S("direccion no encontrada", BOUNCE),
	S("nao e possivel entregar:", BOUNCE), S("nao entregue:", BOUNCE),
	S("endereco nao encontrado", BOUNCE),
	S("non recapitabile:", BOUNCE), S("messaggio non recapitato", BOUNCE),
	S("mancata consegna:", BOUNCE), S("indirizzo non trovato", BOUNCE),
	PH("undelivered mail returned to sender", BOUNCE),
	PH("delivery status notification failure", BOUNCE),
	PW("mail delivery failed", BOUNCE),
	PW("messaggio non recapitato", BOUNCE),
	SW("undeliverable", BOUNCE), SW("undelivered", BOUNCE),
	SW("returned mail", BOUNCE), SW("delivery failure", BOUNCE),
	SW("delivery failed", BOUNCE), SW("failed delivery", BOUNCE),
	SW("mail returned", BOUNCE), SW("returned", BOUNCE),
	SW("failure", BOUNCE), SW("unzustellbar", BOUNCE),
	SW("nicht zustellbar", BOUNCE), SW("non remis", BOUNCE),
	SW("no entregado", BOUNCE), SW("nao entregue", BOUNCE),
	SW("non recapitabile", BOUNCE), SW("mancata consegna", BOUNCE),
	PW("undeliverable", BOUNCE), PW("undelivered", BOUNCE),
	PW("delivery failure", BOUNCE), PW("returned mail", BOUNCE),
	PW("mail delivery", BOUNCE), PW("delivery problem", BOUNCE),
	PW("non delivery", BOUNCE), PW("nondelivery", BOUNCE),
	PW("nicht zustellbar", BOUNCE), PW("unzustellbar", BOUNCE),
	PW("non distribue", BOUNCE), PW("non delivre", BOUNCE),
	PW("no entregado", BOUNCE), PW("nao entregue", BOUNCE),
	PW("non consegnato", BOUNCE), PW("non recapitato", BOUNCE),
	PW("delivery error", BOUNCE), PW("failed mail", BOUNCE),
	/* delay warnings */
	S("delivery delayed", DELAY), S("delayed mail", DELAY),
	S("delivery status notification delay", DELAY),
	S("warning: could not send message", DELAY),
	S("warning: message", DELAY), S("zustellung verzogert", DELAY),
	S("ubermittlung verzogert", DELAY), S("remise differee", DELAY),
	S("remise retardee", DELAY), S("entrega retrasada", DELAY),
	S("entrega atrasada", DELAY), S("recapito ritardato", DELAY),
	PH("delivery status notification delay", DELAY),
	PW("delivery delayed", DELAY),
	/* calendars (Outlook and Google, localized) */
	SW("invitation:", NOTIFICATION),
	SW("updated invitation:", NOTIFICATION),
	SW("accepted:", NOTIFICATION), SW("declined:", NOTIFICATION),
	SW("tentative:", NOTIFICATION),
	SW("tentatively accepted:", NOTIFICATION),
	SW("canceled:", NOTIFICATION), SW("cancelled:", NOTIFICATION),
	SW("canceled event:", NOTIFICATION), SW("einladung:", NOTIFICATION),
	SW("aktualisierte einladung:", NOTIFICATION),
	SW("angenommen:", NOTIFICATION), SW("abgelehnt:", NOTIFICATION),
	SW("mit vorbehalt angenommen:", NOTIFICATION),
	SW("vorlaufig angenommen:", NOTIFICATION),
	SW("abgesagt:", NOTIFICATION),
	SW("invitation mise a jour:", NOTIFICATION),
	SW("accepte:", NOTIFICATION), SW("refuse:", NOTIFICATION),
	SW("provisoire:", NOTIFICATION), SW("annule:", NOTIFICATION),
	SW("invitacion:", NOTIFICATION),
	SW("invitacion actualizada:", NOTIFICATION),
	SW("aceptado:", NOTIFICATION), SW("rechazado:", NOTIFICATION),
	SW("provisional:", NOTIFICATION), SW("cancelado:", NOTIFICATION),
	SW("convite:", NOTIFICATION), SW("convite atualizado:", NOTIFICATION),
	SW("aceito:", NOTIFICATION), SW("aceite:", NOTIFICATION),
	SW("recusado:", NOTIFICATION), SW("provisorio:", NOTIFICATION),
	SW("invito:", NOTIFICATION), SW("invito aggiornato:", NOTIFICATION),
	SW("accettato:", NOTIFICATION), SW("rifiutato:", NOTIFICATION),
	SW("provvisorio:", NOTIFICATION), SW("annullato:", NOTIFICATION),
	/* Italian certified mail receipts */
	S("posta certificata:", PEC), S("avvenuta consegna:", PEC),
	S("accettazione:", PEC), S("anomalia messaggio:", PEC),
	S("avviso di mancata consegna:", PEC),
	/* Microsoft JMRP abuse reports carry no report part */
	S("complaint about message from", REPORT),
	{ NULL, 0, 0, FALSE }
};

const char *const frontdesk_machine_reply_prefixes[] = {
	"re:", "aw:", "r:", "rif:", "sv:", "antw:", "res:", "ref:", "ris:",
	NULL
};
const char *const frontdesk_machine_forward_prefixes[] = {
	"fwd:", "fw:", "wg:", "tr:", "i:", "enc:", "inoltro:", "rv fw:",
	"weitergeleitet:", NULL
};
const char *const frontdesk_machine_cut_markers[] = {
	"original message", "forwarded message", "begin forwarded message",
	"messaggio originale", "messaggio inoltrato", "ursprungliche nachricht",
	"weitergeleitete nachricht", "original nachricht", "message d origine",
	"message transfere", "mensaje original", "mensaje reenviado",
	"mensagem original", "mensagem encaminhada",
	"inizio messaggio inoltrato",
	NULL
};
/* The first words of a line that starts an Outlook quote block
   ("From: ..." then "Sent: ..."), and of the line after it. */
const char *const frontdesk_machine_outlook_from[] = {
	"from", "von", "de", "da", NULL
};
const char *const frontdesk_machine_outlook_next[] = {
	"sent", "date", "gesendet", "datum", "envoye", "date", "enviado",
	"fecha", "data", "inviato", "to", "an", "a", "para", "subject", NULL
};
const char *const frontdesk_machine_quote_intros[] = {
	"wrote", "schrieb", "a ecrit", "escribio", "escreveu", "ha scritto",
	"scrisse", NULL
};
const char *const frontdesk_machine_greetings[] = {
	"hi", "hello", "hey", "dear", "good morning", "good afternoon",
	"ciao", "salve", "buongiorno", "buonasera", "gentile", "egregio",
	"spett", "hallo", "guten tag", "guten morgen", "sehr geehrte",
	"liebe", "lieber", "bonjour", "bonsoir", "madame", "monsieur",
	"hola", "buenos dias", "buenas tardes", "estimado", "estimada",
	"ola", "bom dia", "boa tarde", "prezado", "prezada", "caro", "cara",
	NULL
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
	return key_char(s[0]) * KEY_CHARS +
		key_char(s[0] == '\0' ? '\0' : s[1]);
}

void frontdesk_machine_cues_init(void)
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
	for (i = 0; i < cue_count; i++) {
		k = key_of(frontdesk_machine_body_cues[i].text);
		cue_bucket_start[k + 1]++;
	}
	for (k = 0; k < N_BUCKETS; k++)
		cue_bucket_start[k + 1] += cue_bucket_start[k];
	for (k = 0; k < N_BUCKETS; k++)
		fill[k] = cue_bucket_start[k];
	for (i = 0; i < cue_count; i++) {
		k = key_of(frontdesk_machine_body_cues[i].text);
		cue_order[fill[k]++] = i;
	}
}

const char *frontdesk_machine_fold_t(const char *text, size_t size)
{
	string_t *str = t_str_new(size + 2);

	frontdesk_text_fold((const unsigned char *)text, size, str);
	return str_c(str);
}

/* Every cue found in folded text, each counted once. */
void frontdesk_machine_scan(const char *folded,
			    struct frontdesk_machine_hits *hits)
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
		for (i = cue_bucket_start[k]; i < cue_bucket_start[k + 1];
		     i++) {
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
			if (cue->weight > 1 &&
			    hits->first_strong[cue->class] > off)
				hits->first_strong[cue->class] = off;
		}
	}
}

/* Subject folded, with ':' kept and no space before it: "lu:", "re:". */
const char *frontdesk_machine_fold_subject_t(const char *subject)
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

bool frontdesk_machine_starts_with(const char *text, const char *prefix)
{
	size_t len = strlen(prefix);

	return strncmp(text, prefix, len) == 0 &&
		(prefix[len - 1] == ':' || text[len] == ' ' ||
		 text[len] == ':' || text[len] == '\0');
}

bool frontdesk_machine_has_words(const char *text, const char *phrase)
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
bool frontdesk_machine_has_ticket_number(const char *text)
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
bool frontdesk_machine_has_long_number(const char *text)
{
	unsigned int run = 0;

	for (; *text != '\0'; text++) {
		run = i_isdigit(*text) ? run + 1 : 0;
		if (run >= 4)
			return TRUE;
	}
	return FALSE;
}

bool frontdesk_machine_starts_with_any(const char *folded,
				   const char *const *words)
{
	for (; *words != NULL; words++) {
		if (frontdesk_machine_starts_with(folded, *words))
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
bool frontdesk_machine_has_smtp_status(const char *text)
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
bool frontdesk_machine_has_numeric_date(const char *text)
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
bool frontdesk_machine_has_question(const char *text)
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

static bool line_starts_with_field(const char *line, const char *end,
				   const char *const *names)
{
	const char *colon = memchr(line, ':', I_MIN(end - line, 24));
	const char *folded;

	if (colon == NULL)
		return FALSE;
	folded = t_str_trim(frontdesk_machine_fold_t(line, colon - line), " ");
	return str_array_find(names, folded);
}

/* A quote or forward starts at this line: the author's text ended. */
static bool line_is_cut(const char *line, const char *eol, const char *end)
{
	const char *folded, *next, *next_end;
	const char *const *e;
	size_t len;

	while (line < eol && (*line == ' ' || *line == '\t'))
		line++;
	while (eol > line && (eol[-1] == '\r' || eol[-1] == ' '))
		eol--;
	if (line == eol)
		return FALSE;
	if (*line == '>' || (eol - line == 2 && memcmp(line, "--", 2) == 0))
		return TRUE;
	if (*line != '-' && *line != '_' && *line != '*' &&
	    memchr(line, ':', eol - line) == NULL)
		return FALSE;
	folded = t_str_trim(frontdesk_machine_fold_t(line, eol - line), " ");
	/* "-----Original Message-----", "Begin forwarded message:" */
	for (e = frontdesk_machine_cut_markers; *e != NULL; e++) {
		if (strlen(folded) < 80 &&
		    ((*line != '-' && *line != '_' && *line != '*') ?
		     str_begins_with(folded, *e) :
		     frontdesk_machine_has_words(folded, *e)))
			return TRUE;
	}
	len = strlen(folded);
	if (eol[-1] == ':' && len < 200) {
		for (e = frontdesk_machine_quote_intros; *e != NULL; e++) {
			size_t elen = strlen(*e);

			if (len >= elen && strcmp(folded + len - elen, *e) == 0)
				return TRUE;
		}
	}
	if (!line_starts_with_field(line, eol,
				   frontdesk_machine_outlook_from))
		return FALSE;
	next = memchr(eol, '\n', end - eol);
	if (next == NULL)
		return FALSE;
	next++;
	next_end = memchr(next, '\n', end - next);
	return line_starts_with_field(next, next_end == NULL ? end : next_end,
				      frontdesk_machine_outlook_next);
}

/* What the author wrote: the text up to the first quote or forward. */
size_t frontdesk_machine_own_size(const char *text, size_t size)
{
	const char *p = text, *end = text + size, *eol;

	while (p < end) {
		eol = memchr(p, '\n', end - p);
		if (eol == NULL)
			eol = end;
		if (line_is_cut(p, eol, end))
			return p - text;
		p = eol + 1;
	}
	return size;
}
