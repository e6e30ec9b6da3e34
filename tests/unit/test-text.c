/* Tests for frontdesk-text: folding, tokens, new text vs quoted history. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "test-frontdesk.h"
#include "frontdesk-text.h"

static const char *fold(const char *s)
{
	string_t *str = t_str_new(64);

	frontdesk_text_fold((const unsigned char *)s, strlen(s), str);
	return str_c(str);
}

static void test_text_fold(void)
{
	static const struct {
		const char *in, *out;
	} tests[] = {
		{ "Perché NON funziona?", "perche non funziona " },
		{ "l'addebito è doppio", "l addebito e doppio" },
		{ "Rückerstattung Straße", "ruckerstattung strasse" },
		{ "Ça coûte combien, señor?", "ca coute combien senor " },
		{ "Łódź Œuvre", "lodz oeuvre" },
		{ "doesn’t  work!!", "doesn t work " },
		{ "\xff\xfe bad \xc3", " bad " },
	};
	unsigned int i;

	test_begin("text fold");
	for (i = 0; i < N_ELEMENTS(tests); i++) T_BEGIN {
		test_assert_strcmp_idx(fold(tests[i].in), tests[i].out, i);
	} T_END;
	test_end();
}

static void test_text_tokenize(void)
{
	ARRAY_TYPE(frontdesk_token) tokens;
	const struct frontdesk_token *tok;
	string_t *folded = t_str_new(128);

	test_begin("text tokenize");
	{
	const char *text = "Il modem: lampeggia 2 volte "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x";

	frontdesk_text_fold((const unsigned char *)text, strlen(text), folded);
	t_array_init(&tokens, 8);
	frontdesk_text_tokenize(folded, &tokens);
	test_assert(array_count(&tokens) == 6);
	tok = array_idx(&tokens, 1);
	test_assert(tok->len == 5 && memcmp(tok->str, "modem", 5) == 0);
	/* the 46-letter run is no word */
	tok = array_idx(&tokens, 5);
	test_assert(tok->len == 1 && tok->str[0] == 'x');
	}
	test_end();
}

static void split(const char *text, const char **new_r, const char **quoted_r)
{
	string_t *n = t_str_new(128), *q = t_str_new(128);

	frontdesk_text_split(text, strlen(text), n, q);
	*new_r = str_c(n);
	*quoted_r = str_c(q);
}

static void test_text_split(void)
{
	const char *n, *q;

	test_begin("text split quotes");
	split("Il modem non va.\n\nIl giorno 3 mar 2025, Assistenza ha scritto:\n"
	      "> la sua fattura e' pronta\n> saluti\n", &n, &q);
	test_assert(strstr(n, "modem") != NULL);
	test_assert(strstr(n, "fattura") == NULL);
	test_assert(strstr(q, "fattura") != NULL);

	split("Hi,\nsee below.\n\n-----Original Message-----\nFrom: a@b\n"
	      "Subject: invoice\n\nPlease pay the invoice\n", &n, &q);
	test_assert(strstr(n, "invoice") == NULL);
	test_assert(strstr(q, "Please pay the invoice") != NULL);

	split("Vorrei un preventivo.\n\nDa: Mario <m@x.it>\nInviato: lunedi\n"
	      "A: support\nOggetto: reclamo\n\nvergogna\n", &n, &q);
	test_assert(strstr(n, "preventivo") != NULL);
	test_assert(strstr(n, "vergogna") == NULL);
	test_assert(strstr(q, "vergogna") != NULL);

	split("On Mon, 3 Mar 2025 at 10:00, Bob <b@x> wrote:\n> old\n", &n, &q);
	test_assert(*n == '\0');
	test_assert(strstr(q, "old") != NULL);
	test_end();

	test_begin("text split signature and disclaimer");
	split("My password reset link expired.\n\n-- \nJohn\nACME Ltd\n"
	      "invoice dept: ext 42\n", &n, &q);
	test_assert(strstr(n, "password") != NULL);
	test_assert(strstr(n, "invoice") == NULL);

	split("Buongiorno, vorrei prenotare una visita.\n\nCordiali saluti\n\n"
	      "Questo messaggio e' riservato. Se lo avete ricevuto per errore "
	      "cancellatelo. Ai sensi del D.Lgs 196/2003 e GDPR.\n", &n, &q);
	test_assert(strstr(n, "prenotare") != NULL);
	test_assert(strstr(n, "GDPR") == NULL);

	/* the first paragraph is the customer's, whatever it says */
	split("I received in error an email with someone else's personal "
	      "data: please delete it.\n", &n, &q);
	test_assert(strstr(n, "personal data") != NULL);

	split("Help!\nSent from my iPhone\n", &n, &q);
	test_assert(strstr(n, "Help") != NULL);
	test_assert(strstr(n, "iPhone") == NULL);
	test_end();
}

void test_text(void)
{
	test_text_fold();
	test_text_tokenize();
	test_text_split();
}
