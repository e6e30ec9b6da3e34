/* Ticket references: made and verified with an HMAC of the server secret,
   so that they are stable for a conversation and cannot be forged. */

#include "lib.h"
#include "str.h"
#include "hmac.h"
#include "sha2.h"
#include "frontdesk-ticket.h"

#include <ctype.h>

bool frontdesk_ticket_prefix_valid(const char *prefix)
{
	size_t len = strlen(prefix);

	if (len == 0 || len > FRONTDESK_TICKET_MAX_PREFIX)
		return FALSE;
	for (; *prefix != '\0'; prefix++) {
		if (!i_isalnum(*prefix) || (unsigned char)*prefix >= 0x80)
			return FALSE;
	}
	return TRUE;
}

static void
ticket_hmac(const struct frontdesk_ticket_key *key, const char *purpose,
	    const void *data, size_t size,
	    unsigned char digest[SHA256_RESULTLEN])
{
	struct hmac_context ctx;

	hmac_init(&ctx, key->secret, key->secret_len, &hash_method_sha256);
	/* domain separation: an id can never double as a check */
	hmac_update(&ctx, purpose, strlen(purpose) + 1);
	hmac_update(&ctx, data, size);
	hmac_final(&ctx, digest);
}

static void base32_append(string_t *dest, const unsigned char *digest,
			  unsigned int chars)
{
	unsigned int i, bit;

	for (i = 0; i < chars; i++) {
		unsigned int v = 0;

		for (bit = i * 5; bit < i * 5 + 5; bit++) {
			v = (v << 1) |
				((digest[bit / 8] >> (7 - bit % 8)) & 1);
		}
		str_append_c(dest, FRONTDESK_TICKET_ALPHABET[v]);
	}
}

static void check_append(const struct frontdesk_ticket_key *key,
			 const char *id, string_t *dest)
{
	unsigned char digest[SHA256_RESULTLEN];

	ticket_hmac(key, "check", id, strlen(id), digest);
	base32_append(dest, digest, FRONTDESK_TICKET_CHECK_CHARS);
}

const char *frontdesk_ticket_make(const struct frontdesk_ticket_key *key,
				  const char *conversation_key)
{
	unsigned char digest[SHA256_RESULTLEN];
	string_t *id = t_str_new(16), *ref = t_str_new(32);

	ticket_hmac(key, "id", conversation_key, strlen(conversation_key),
		    digest);
	base32_append(id, digest, FRONTDESK_TICKET_ID_CHARS);

	str_printfa(ref, "%s-", t_str_ucase(key->prefix));
	str_append_data(ref, str_data(id), 4);
	str_append_c(ref, '-');
	str_append_data(ref, str_data(id) + 4, 4);
	str_append_c(ref, '-');
	check_append(key, str_c(id), ref);
	return str_c(ref);
}

/* Value of a typed character in the alphabet, or -1. */
static int base32_char(unsigned char c)
{
	const char *p;

	c = i_toupper(c);
	if (c == 'O')
		c = '0';
	else if (c == 'I' || c == 'L')
		c = '1';
	p = strchr(FRONTDESK_TICKET_ALPHABET, c);
	return p == NULL || c == '\0' ? -1 : p - FRONTDESK_TICKET_ALPHABET;
}

/* Parse "XXXX-XXXX-XXXX" at p into its canonical id and check. */
static bool parse_groups(const char *p, char id_r[9], char check_r[5])
{
	unsigned int i, n = 0;
	int v;

	for (i = 0; i < 14; i++) {
		if (i == 4 || i == 9) {
			if (p[i] != '-')
				return FALSE;
			continue;
		}
		if ((v = base32_char(p[i])) < 0)
			return FALSE;
		if (n < 8)
			id_r[n] = FRONTDESK_TICKET_ALPHABET[v];
		else
			check_r[n - 8] = FRONTDESK_TICKET_ALPHABET[v];
		n++;
	}
	/* a longer run of reference characters is something else */
	if (i_isalnum(p[14]))
		return FALSE;
	id_r[8] = '\0';
	check_r[4] = '\0';
	return TRUE;
}

const char *frontdesk_ticket_find(const struct frontdesk_ticket_key *key,
				  const char *text)
{
	size_t plen = strlen(key->prefix);
	const char *p;
	char id[9], check[5];

	for (p = text; *p != '\0'; p++) {
		if (strncasecmp(p, key->prefix, plen) != 0 || p[plen] != '-')
			continue;
		if (p != text && i_isalnum(p[-1]))
			continue;
		if (!parse_groups(p + plen + 1, id, check))
			continue;
		string_t *expected = t_str_new(8);
		check_append(key, id, expected);
		if (strcmp(str_c(expected), check) == 0) {
			return t_strdup_printf("%s-%.4s-%.4s-%s",
				t_str_ucase(key->prefix), id, id + 4, check);
		}
	}
	return NULL;
}
