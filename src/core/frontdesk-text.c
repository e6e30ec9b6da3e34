/* Text for matching: accent folding, tokens, and the split between what the
   customer wrote now and what they quote. Real mail carries its history
   (quoted replies, forwards, signatures, legal disclaimers): the classifier
   must listen to the new words, not to the thread. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "unichar.h"
#include "frontdesk-text.h"

/* U+00C0..U+00FF, then U+0100..U+017F, folded to one ASCII letter (' ' for
   the two symbols). ß, æ and œ get two letters below. */
static const char fold_latin1[64 + 1] =
	"aaaaaaaceeeeiiiidnooooo ouuuuyts"
	"aaaaaaaceeeeiiiidnooooo ouuuuyty";
static const char fold_latin_ext_a[128 + 1] =
	"aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
	"lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* ASCII folded: letters lowercase, digits kept, the rest a space. */
static const char fold_ascii[128 + 1] =
	"                                "
	"                0123456789      "
	" abcdefghijklmnopqrstuvwxyz     "
	" abcdefghijklmnopqrstuvwxyz     ";

/* Write the folding of one character at out[o], return the new o. Runs of
   separators collapse into one space (*space: the last written byte is a
   space). */
static inline size_t
fold_char(unichar_t chr, unsigned char *out, size_t o, bool *space)
{
	char c;

	if (chr < 0x80) {
		c = fold_ascii[chr];
	} else if (chr == 0xdf || chr == 0xc6 || chr == 0xe6 ||
		   chr == 0x152 || chr == 0x153) {
		/* two letters: ß, æ, œ */
		out[o++] = chr == 0xdf ? 's' : (chr == 0xc6 || chr == 0xe6) ?
			'a' : 'o';
		out[o++] = chr == 0xdf ? 's' : 'e';
		*space = FALSE;
		return o;
	} else if (chr >= 0xc0 && chr <= 0xff) {
		c = fold_latin1[chr - 0xc0];
	} else if (chr >= 0x100 && chr <= 0x17f) {
		c = fold_latin_ext_a[chr - 0x100];
	} else {
		/* typographic apostrophes and everything else separate
		   words */
		c = ' ';
	}
	if (c == ' ') {
		if (*space)
			return o;
		*space = TRUE;
	} else {
		*space = FALSE;
	}
	out[o++] = (unsigned char)c;
	return o;
}

void frontdesk_text_fold(const unsigned char *data, size_t size,
			 string_t *dest)
{
	size_t start = str_len(dest), i = 0, o = 0;
	bool space = start > 0 && str_data(dest)[start-1] == ' ';
	unsigned char *out;
	unichar_t chr;
	int n;

	/* Folding never makes text longer (a byte gives at most a byte, "ß"
	   its two bytes "ss"): write in place instead of a call a byte. */
	out = buffer_append_space_unsafe(dest, size);
	while (i < size) {
		if (data[i] < 0x80) {
			/* the common case, inline: ASCII words and spaces */
			char c = fold_ascii[data[i++]];

			if (c != ' ')
				out[o++] = c;
			else if (!space)
				out[o++] = ' ';
			space = c == ' ';
			continue;
		}
		n = uni_utf8_get_char_n(data + i, size - i, &chr);
		if (n <= 0) {
			/* invalid UTF-8: a separator */
			o = fold_char(' ', out, o, &space);
			i++;
		} else {
			o = fold_char(chr, out, o, &space);
			i += n;
		}
	}
	i_assert(o <= size);
	buffer_set_used_size(dest, start + o);
}

void frontdesk_text_tokenize(const string_t *folded,
			     ARRAY_TYPE(frontdesk_token) *tokens)
{
	const char *p = (const char *)str_data(folded);
	const char *end = p + str_len(folded);
	struct frontdesk_token *tok;
	const char *start;

	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		start = p;
		while (p < end && *p != ' ')
			p++;
		if (p > start && (size_t)(p - start) <= FRONTDESK_TEXT_MAX_TOKEN) {
			tok = array_append_space(tokens);
			tok->str = start;
			tok->len = p - start;
		}
	}
}

/* --- new text vs quoted --------------------------------------------------*/

enum line_kind {
	LINE_TEXT,
	LINE_BLANK,
	LINE_QUOTED,	/* "> ..." */
	LINE_CUT,	/* a quote or forward header: the rest is history */
	LINE_SIGNATURE,	/* "-- ": the rest is signature */
	LINE_NOISE,	/* "Sent from my iPhone" */
};

/* Endings of "On <date>, <name> wrote:" in the languages we read. */
static const char *const quote_intro_endings[] = {
	"wrote", "ha scritto", "schrieb", "a ecrit", "escribio", "escreveu",
	"scrisse", NULL
};
/* Separator lines of quoted or forwarded messages (folded). */
static const char *const cut_markers[] = {
	"original message", "messaggio originale", "forwarded message",
	"messaggio inoltrato", "begin forwarded message",
	"inizio messaggio inoltrato", "ursprungliche nachricht",
	"weitergeleitete nachricht", "message d origine", "message transfere",
	"mensaje original", "mensaje reenviado", "mensagem original",
	"mensagem encaminhada", "original nachricht", NULL
};
/* First words of an Outlook-style quoted header block. */
static const char *const outlook_from[] = {
	"from", "da", "de", "von", "van", NULL
};
static const char *const outlook_next[] = {
	"sent", "inviato", "date", "data", "gesendet", "envoye", "enviado",
	"subject", "oggetto", "to", "a", "an", "para", "betreff", "objet",
	"asunto", "assunto", "cc", NULL
};
static const char *const noise_lines[] = {
	"sent from my", "inviato da", "inviato dal mio", "von meinem",
	"envoye de mon", "enviado desde mi", "enviado do meu", "get outlook",
	"scarica outlook", NULL
};
/* A paragraph with one of these (folded) is a legal disclaimer or a
   company footer: it says "error", "confidential", "IVA", "GDPR" without the
   customer meaning any of it. */
static const char *const disclaimer_cues[] = {
	"received in error", "received this e mail in error",
	"received this email in error", "intended recipient",
	"intended solely", "ricevuto per errore", "ricevuto questo messaggio",
	"per errore", "destinatario indicato", "destinatari indicati",
	"solo ai destinatari", "informazioni riservate", "strettamente riservat",
	"messaggio e riservat", "messaggio e confidenzial",
	"contenuto riservat", "d lgs", "196 2003", "2016 679",
	"privileged", "confidentiality notice", "this message is confidential",
	"this email is confidential", "this e mail is confidential",
	"irrtumlich", "vertrauliche informationen", "par erreur",
	"destinataire", "por error", "destinatario", "por engano",
	"partita iva", "p iva", "capitale sociale", "registro imprese",
	"rea ", "vat number", "registered office", "ust idnr", "handelsregister",
	"please consider the environment", "pensa all ambiente", NULL
};

static const char *fold_line_t(const char *line, size_t len)
{
	string_t *str = t_str_new(len + 1);

	frontdesk_text_fold((const unsigned char *)line, len, str);
	return t_str_trim(str_c(str), " ");
}

static bool has_any(const char *folded, const char *const *cues)
{
	for (; *cues != NULL; cues++) {
		if (strstr(folded, *cues) != NULL)
			return TRUE;
	}
	return FALSE;
}

static bool starts_with_word(const char *folded, const char *const *words)
{
	size_t len;

	for (; *words != NULL; words++) {
		len = strlen(*words);
		if (strncmp(folded, *words, len) == 0 &&
		    (folded[len] == ' ' || folded[len] == '\0'))
			return TRUE;
	}
	return FALSE;
}

static bool ends_with(const char *folded, const char *suffix)
{
	size_t len = strlen(folded), slen = strlen(suffix);

	return len >= slen && strcmp(folded + len - slen, suffix) == 0 &&
		(len == slen || folded[len - slen - 1] == ' ');
}

static bool raw_starts_with_field(const char *line, size_t len,
				  const char *const *names)
{
	const char *colon = memchr(line, ':', I_MIN(len, 24));
	const char *folded;

	if (colon == NULL)
		return FALSE;
	folded = fold_line_t(line, colon - line);
	if (strchr(folded, ' ') != NULL)
		return FALSE;
	return starts_with_word(folded, names);
}

static enum line_kind
classify_line(const char *line, size_t len, const char *next, size_t next_len,
	      const char *next2, size_t next2_len)
{
	const char *folded, *const *e;
	size_t i;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++) ;
	if (i == len)
		return LINE_BLANK;
	if (line[i] == '>' || line[i] == '|')
		return LINE_QUOTED;
	if ((len == 3 && memcmp(line, "-- ", 3) == 0) ||
	    (len == 2 && memcmp(line, "--", 2) == 0))
		return LINE_SIGNATURE;
	if (len > 300)
		return LINE_TEXT;

	folded = fold_line_t(line, len);
	if (has_any(folded, cut_markers) &&
	    (line[i] == '-' || line[i] == '_' || strlen(folded) < 60))
		return LINE_CUT;
	if (strlen(folded) < 200) {
		for (e = quote_intro_endings; *e != NULL; e++) {
			if (ends_with(folded, *e))
				return LINE_CUT;
		}
	}
	if (raw_starts_with_field(line + i, len - i, outlook_from) &&
	    ((next != NULL &&
	      raw_starts_with_field(next, next_len, outlook_next)) ||
	     (next2 != NULL &&
	      raw_starts_with_field(next2, next2_len, outlook_next))))
		return LINE_CUT;
	if (strlen(folded) < 60 && starts_with_word(folded, noise_lines))
		return LINE_NOISE;
	return LINE_TEXT;
}

struct split_ctx {
	string_t *para;
	unsigned int paras_kept;
	string_t *new_text;
};

static void split_flush_para(struct split_ctx *ctx)
{
	const char *folded;

	if (str_len(ctx->para) == 0)
		return;
	folded = fold_line_t(str_c(ctx->para), str_len(ctx->para));
	/* the first paragraph is the customer talking, whatever it says */
	if (ctx->paras_kept == 0 || !has_any(folded, disclaimer_cues)) {
		str_append_str(ctx->new_text, ctx->para);
		str_append_c(ctx->new_text, '\n');
		ctx->paras_kept++;
	}
	str_truncate(ctx->para, 0);
}

void frontdesk_text_split(const char *text, size_t size,
			  string_t *new_r, string_t *quoted_r)
{
	struct split_ctx ctx;
	const char *p = text, *end = text + size, *eol, *next;
	const char *lines[3];
	size_t lens[3];
	unsigned int i;
	enum line_kind kind;
	enum { STATE_NEW, STATE_SIGNATURE, STATE_HISTORY } state = STATE_NEW;

	/* No T_BEGIN per line: the buffers below grow on the caller's data
	   stack frame. The caller bounds the text, so the stack stays small. */

	i_zero(&ctx);
	ctx.para = t_str_new(256);
	ctx.new_text = new_r;

	while (p < end) {
		eol = memchr(p, '\n', end - p);
		if (eol == NULL)
			eol = end;
		if (state == STATE_HISTORY) {
			str_append_data(quoted_r, p, eol - p);
			str_append_c(quoted_r, '\n');
			p = eol < end ? eol + 1 : end;
			continue;
		}
		/* look ahead two lines for Outlook header blocks */
		lines[0] = p; lens[0] = eol - p;
		next = eol;
		for (i = 1; i < 3; i++) {
			const char *e;

			if (next >= end) {
				lines[i] = NULL; lens[i] = 0;
				continue;
			}
			e = memchr(next + 1, '\n', end - (next + 1));
			if (e == NULL)
				e = end;
			lines[i] = next + 1;
			lens[i] = e - (next + 1);
			next = e;
		}
		for (i = 0; i < 3; i++) {
			if (lens[i] > 0 && lines[i][lens[i]-1] == '\r')
				lens[i]--;
		}

		kind = classify_line(p, lens[0],
			lines[1], lens[1], lines[2], lens[2]);

		if (kind == LINE_CUT) {
			split_flush_para(&ctx);
			state = STATE_HISTORY;
		} else if (kind == LINE_QUOTED) {
			const char *q = p;
			size_t qlen = lens[0];

			while (qlen > 0 && (*q == '>' || *q == ' ' ||
					    *q == '|')) {
				q++; qlen--;
			}
			str_append_data(quoted_r, q, qlen);
			str_append_c(quoted_r, '\n');
		} else if (state == STATE_SIGNATURE) {
			/* dropped */
		} else if (kind == LINE_SIGNATURE) {
			split_flush_para(&ctx);
			state = STATE_SIGNATURE;
		} else if (kind == LINE_BLANK) {
			split_flush_para(&ctx);
		} else if (kind == LINE_TEXT) {
			str_append_data(ctx.para, p, lens[0]);
			str_append_c(ctx.para, '\n');
		}
		p = eol < end ? eol + 1 : end;
	}
	split_flush_para(&ctx);
}
