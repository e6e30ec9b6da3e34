/* Header-less machine mail, the structural rules (src/core/frontdesk-machine.c):
   a calendar part, read-receipt prefixes only as prefixes, challenge
   requests built around a link, devices' notices, localized qmail and
   Postfix templates, forwarded reports with no word of the forwarder's,
   and for each the customer near-miss that must stay a customer. The
   examples are written here, in other words than tests/data/machine. */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-view.h"
#include "frontdesk-machine.h"
#include "test-frontdesk.h"

#define N FRONTDESK_MACHINE_NONE
#define BOUNCE FRONTDESK_MACHINE_BOUNCE
#define DELAY FRONTDESK_MACHINE_DELAY
#define RECEIPT FRONTDESK_MACHINE_RECEIPT
#define AUTO FRONTDESK_MACHINE_AUTO_REPLY
#define CHALLENGE FRONTDESK_MACHINE_CHALLENGE
#define NOTIFY FRONTDESK_MACHINE_NOTIFICATION

struct rule_test {
	const char *subject;
	/* headers after Subject (Content-Type included), or NULL for
	   text/plain */
	const char *headers;
	const char *body;
	enum frontdesk_machine_kind kind;
};

#define CAL_MULTIPART \
	"MIME-Version: 1.0\nContent-Type: multipart/alternative; " \
	"boundary=\"b1\"\n"

static const struct rule_test rule_tests[] = {
	/* ---- a text/calendar part: whoever sends it, with any subject ---- */
	{ "Rendez-vous chantier rue des Lilas", CAL_MULTIPART,
	  "--b1\nContent-Type: text/plain; charset=utf-8\n\n"
	  "Jeudi 14h, sur place.\n\n"
	  "--b1\nContent-Type: text/calendar; charset=utf-8; method=CANCEL\n\n"
	  "BEGIN:VCALENDAR\nMETHOD:CANCEL\nBEGIN:VEVENT\nUID:x1\n"
	  "END:VEVENT\nEND:VCALENDAR\n--b1--\n", NOTIFY },
	/* near miss: a person asking for a meeting, no calendar part */
	{ "Termin für die Einweisung?", NULL,
	  "Guten Tag, können wir einen Termin am Dienstag um 10 Uhr für "
	  "die Einweisung vereinbaren? Gruß, Jan\n", N },
	/* an invitation forwarded inside an attached message is the
	   customer's question about it */
	{ "Fwd: Invitation", CAL_MULTIPART,
	  "--b1\nContent-Type: text/plain; charset=utf-8\n\n"
	  "Is this invitation from you? I don't know this company.\n\n"
	  "--b1\nContent-Type: message/rfc822\n\n"
	  "Subject: Invitation\nMIME-Version: 1.0\n"
	  "Content-Type: text/calendar; method=REQUEST\n\n"
	  "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n--b1--\n", N },

	/* ---- read receipts: the standard prefix before the subject ---- */
	{ "Lida: Orçamento da obra", NULL,
	  "A sua mensagem foi lida em 3 de março.\n", RECEIPT },
	{ "Return Receipt (displayed) - Quote 4471", NULL,
	  "This is a Return Receipt for the mail that you sent to "
	  "a@b.example.\n\nNote: This Return Receipt only acknowledges that "
	  "the message was displayed on the recipient's computer.\n", RECEIPT },
	{ "Empfangsbestätigung (angezeigt) - Angebot 12", NULL,
	  "Dies ist eine Empfangsbestätigung für die Nachricht, die Sie an "
	  "x@y.example gesendet haben.\n", RECEIPT },
	/* near misses: a sentence about receipts is a person's */
	{ "Read receipts keep popping up", NULL,
	  "Hi, when I open your newsletters Outlook asks me for a read "
	  "receipt. Can you turn that off? Thanks, Ann\n", N },
	{ "Conferma di lettura: perché la chiedete?", NULL,
	  "Buongiorno, ogni vostra mail chiede la conferma di lettura. "
	  "Perché? Grazie\n", N },
	{ "Accusé de lecture reçu, et ensuite ?", NULL,
	  "Bonjour, j'ai reçu l'accusé de lecture de ma demande mais "
	  "toujours pas de réponse. Pouvez-vous me dire où en est mon "
	  "dossier ?\n", N },

	/* ---- challenge-response: a person/robot test behind a link ---- */
	{ "Confirmação necessária", NULL,
	  "Bom dia,\n\na sua mensagem está retida. Confirme que você é uma "
	  "pessoa e não um robô clicando no link abaixo:\n\n"
	  "https://confirm.provedor.example/c?k=77\n\n"
	  "Isso é necessário apenas uma vez.\n", CHALLENGE },
	{ "Ihre Nachricht wartet", NULL,
	  "Hallo,\n\nIhre Nachricht wurde vom Spamschutz zurückgehalten. "
	  "Bitte bestätigen Sie, dass Sie ein Mensch sind, über den folgenden "
	  "Link:\nhttps://filter.example/ok?id=5\n", CHALLENGE },
	/* near miss: a customer who hit a captcha on our site */
	{ "Captcha on your website", NULL,
	  "Hello, your contact form keeps asking me to confirm I am not a "
	  "robot and then fails. https://shop.example/contact - why? I tried "
	  "three times. Regards, Bob\n", N },

	/* ---- devices' and portals' notices ---- */
	{ "Voicemail box 12: 1 new message", NULL,
	  "Dear user,\n\nYou have a new voicemail (0:21) from 0049 30 555 "
	  "1234.\n\nThis is an automated message.\n", NOTIFY },
	{ "Fax ricevuto", NULL,
	  "Nuovo fax da +39 02 555 1234, 3 pagine.\n\nMessaggio generato "
	  "automaticamente. Si prega di non rispondere.\n", NOTIFY },
	{ "Scan from MFP-2", NULL,
	  "Documento escaneado en MFP-2 el 12/03/2026.\n\nEste mensaje "
	  "fue enviado por el equipo. Por favor no responda.\n"
	  "Estimado usuario: el archivo va adjunto.\n", NOTIFY },
	/* near misses: a person about a voicemail or a fax */
	{ "Voicemail", NULL,
	  "Hello, I left you a voicemail yesterday about my order 5512, "
	  "please call me back.\n", N },
	{ "Fax", NULL,
	  "Bonjour, je vous ai envoyé un nouveau fax ce matin avec la "
	  "facture signée. Merci de ne pas répondre à l'ancienne adresse.\n",
	  N },

	/* ---- localized qmail / Postfix templates ---- */
	{ "falla en la entrega", NULL,
	  "Hola. Este es el programa qmail-send de mx.example.\n"
	  "No he podido entregar su mensaje. Este es un error permanente; "
	  "me he rendido.\n\n<x@y.example>:\nBuzón inexistente. (#5.1.1)\n",
	  BOUNCE },
	{ "Consegna ritardata", NULL,
	  "Questo è solo un avviso. Non è necessario inviare di nuovo il "
	  "messaggio.\nIl messaggio non è stato consegnato da 4 ore; "
	  "ulteriori tentativi fino a 5 giorni.\n", DELAY },
	/* near miss: a customer quoting the words of one */
	{ "errore permanente?", NULL,
	  "Buongiorno, ho inviato una mail al vostro ufficio e mi è tornato "
	  "\"questo è un errore permanente\". Cosa significa?\n", N },

	/* a delay name running on into a person's sentence */
	{ "Entrega atrasada há três semanas", NULL,
	  "Bom dia, a nossa encomenda de cadeiras devia ter chegado há três "
	  "semanas. Podem verificar onde está o envio? Obrigada\n", N },
	{ "Delivery delayed:Quote 55", NULL,
	  "Delivery is delayed to these recipients or groups:\n\n"
	  "x@y.example\n\nThis message hasn't been delivered yet. Delivery "
	  "will continue to be attempted.\n", DELAY },

	/* a person pasting the wording while asking for a hand */
	{ "cannot send to our partner", NULL,
	  "Unable to send: delivery is delayed to these recipients or groups "
	  "since this morning. We are experiencing problems sending to "
	  "them although we can receive. Could you please check the relay "
	  "quickly, it is critical\n", N },

	/* ---- out-of-office wording ---- */
	{ "Re: Angebot Küche", NULL,
	  "Unser Betrieb ist vom 2. bis 16. August wegen Betriebsferien "
	  "geschlossen. Wir melden uns ab dem 17. August bei Ihnen.\n", AUTO },
	{ "Re: your quote", NULL,
	  "Hiking in the Alps with no internet access until 9 June. I'll "
	  "get back to you when I return.\n", AUTO },
	/* near miss: a person back from holiday */
	{ "Betriebsferien vorbei", NULL,
	  "Guten Tag, ich war im August in den Betriebsferien. Warum ist "
	  "meine Bestellung 4471 noch nicht da?\n", N },

	/* ---- Amazon SES event notifications (JSON over SNS) ---- */
	{ "AWS Notification Message", NULL,
	  "{\"Type\" : \"Notification\", \"Message\" : \"{\\\"eventType"
	  "\\\":\\\"Bounce\\\",\\\"bounce\\\":{\\\"bounceType\\\":"
	  "\\\"Permanent\\\"}}\"}\n", BOUNCE },
	{ "AWS Notification Message", NULL,
	  "{\"notificationType\": \"Complaint\", \"complaint\": {}}\n",
	  FRONTDESK_MACHINE_REPORT },
	/* near miss: a delivery event is no bounce */
	{ "AWS Notification Message", NULL,
	  "{\"notificationType\":\"Delivery\",\"delivery\":{}}\n", N },

	/* ---- forwarded bounces ---- */
	{ "Fwd: Returned mail: see transcript for details", NULL,
	  "\n\nBegin forwarded message:\n\n"
	  "> From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>\n"
	  "> Subject: Returned mail: see transcript for details\n>\n"
	  "> The original message was received at Mon, 1 Jun 2026\n>\n"
	  ">    ----- The following addresses had permanent fatal errors "
	  "-----\n> <nobody@example.org>\n"
	  ">     (reason: 550 5.1.1 User unknown)\n>\n"
	  ">    ----- Transcript of session follows -----\n", BOUNCE },
	/* near miss: the forwarder asks */
	{ "Fwd: Returned mail: see transcript for details", NULL,
	  "Why do my mails to your sales team come back?\n\n"
	  "Begin forwarded message:\n\n"
	  "> From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>\n"
	  "> The original message was received at Mon, 1 Jun 2026\n>\n"
	  ">    ----- The following addresses had permanent fatal errors "
	  "-----\n> <nobody@example.org>\n"
	  ">     (reason: 550 5.1.1 User unknown)\n", N },
};

static enum frontdesk_machine_kind
rule_recognize(pool_t pool, const struct rule_test *t, const char **reason_r)
{
	struct frontdesk_view_limits limits;
	struct frontdesk_view *view;
	struct istream *input;
	const char *msg, *error;

	msg = t_strdup_printf("From: Someone <someone@sender.example>\n"
			      "To: support@example.com\nSubject: %s\n%s\n%s",
			      t->subject, t->headers != NULL ? t->headers :
			      "MIME-Version: 1.0\nContent-Type: text/plain; "
			      "charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
			      t->body);
	frontdesk_view_limits_default(&limits);
	input = i_stream_create_from_data(msg, strlen(msg));
	(void)frontdesk_view_parse(pool, input, &limits, &view, &error);
	i_stream_unref(&input);
	return frontdesk_machine_recognize(view, reason_r);
}

void test_machine_rules(void)
{
	enum frontdesk_machine_kind kind;
	const char *reason;
	unsigned int i;
	pool_t pool;

	test_begin("machine rules");
	pool = pool_alloconly_create("machine rules", 16384);
	for (i = 0; i < N_ELEMENTS(rule_tests); i++) T_BEGIN {
		kind = rule_recognize(pool, &rule_tests[i], &reason);
		test_assert_strcmp_idx(frontdesk_machine_kind_name(kind),
			frontdesk_machine_kind_name(rule_tests[i].kind), i);
		test_assert_idx((kind == N) == (strcmp(reason, "ok") == 0), i);
	} T_END;
	pool_unref(&pool);
	test_end();
}
