/* Tests for frontdesk-dkim: relaxed canonicalization (RFC 6376 3.4.5),
   body hashes, the DKIM-Signature header's tags and folding, header
   selection, key loading and its errors. The signatures themselves are
   checked by an independent verifier in tests/integration/test_dkim.py. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "str.h"
#include "strfuncs.h"
#include "base64.h"
#include "sha2.h"
#include "test-frontdesk.h"
#include "frontdesk-dkim.h"

#include <stdio.h>

#define DKIM_DIR TEST_DATA_DIR "/dkim"
#define RSA_KEY DKIM_DIR "/rsa-2048.pem"
#define RSA_TRAD_KEY DKIM_DIR "/rsa-2048-traditional.pem"
#define ED_KEY DKIM_DIR "/ed25519.pem"
#define T_SIGN 1700000000

/* SHA-256 of nothing: the body hash of every empty body, whatever the
   signing algorithm (RFC 6376 3.4.4 and its errata 3192) */
#define EMPTY_BODY_HASH "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

#define SIMPLE_MSG \
	"From: Support <support@example.com>\r\n" \
	"To: mario@example.it\r\n" \
	"Subject: Re: fattura\r\n" \
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n" \
	"Message-ID: <frontdesk.1@example.com>\r\n" \
	"\r\n" \
	"Thanks, we got your message.\r\n"

static struct frontdesk_dkim_key *load_key(const char *path)
{
	struct frontdesk_dkim_key *key;
	const char *error;

	if (frontdesk_dkim_key_load(path, "example.com", "fd2024",
				    &key, &error) < 0) {
		i_error("%s", error);
		return NULL;
	}
	return key;
}

/* The signature header, or NULL (with *error_r) */
static const char *
sign(const struct frontdesk_dkim_key *key, const char *msg,
     const char *const *headers, const char **error_r)
{
	string_t *dest = t_str_new(1024);

	*error_r = NULL;
	if (frontdesk_dkim_sign(key, msg, strlen(msg), headers, T_SIGN,
				dest, error_r) < 0) {
		test_assert(str_len(dest) == 0);
		return NULL;
	}
	return str_c(dest);
}

/* A tag's value with the folding removed (tags are split on ';'). */
static const char *sig_tag(const char *sighdr, const char *tag)
{
	const char *value = strchr(sighdr, ':') + 1;
	const char *const *tags;
	string_t *unfolded = t_str_new(strlen(value));

	for (; *value != '\0'; value++) {
		if (*value != '\r' && *value != '\n' && *value != '\t' &&
		    *value != ' ')
			str_append_c(unfolded, *value);
	}
	for (tags = t_strsplit(str_c(unfolded), ";"); *tags != NULL; tags++) {
		if (str_begins_with(*tags, tag) && (*tags)[strlen(tag)] == '=')
			return *tags + strlen(tag) + 1;
	}
	return NULL;
}

static const char *read_line_file(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		i_fatal("fopen(%s) failed: %m", path);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	return t_strcut(line, '\n');
}

static void test_dkim_canon_rfc_example(void)
{
	string_t *str = t_str_new(128);

	test_begin("dkim relaxed canonicalization: RFC 6376 3.4.5");
	/* the example's headers, one field at a time */
	frontdesk_dkim_canon_header_relaxed("A: X\r\n", 6, str);
	test_assert_strcmp(str_c(str), "a:X\r\n");
	str_truncate(str, 0);
	const char *b = "B : Y\t\r\n\tZ  \r\n";
	frontdesk_dkim_canon_header_relaxed(b, strlen(b), str);
	test_assert_strcmp(str_c(str), "b:Y Z\r\n");
	/* the example's body */
	str_truncate(str, 0);
	b = " C \r\nD \t E\r\n\r\n\r\n";
	frontdesk_dkim_canon_body_relaxed(b, strlen(b), str);
	test_assert_strcmp(str_c(str), " C\r\nD E\r\n");
	test_end();
}

static void test_dkim_canon_more(void)
{
	static const struct {
		const char *in, *out;
	} hdr_tests[] = {
		{ "Subject:hi", "subject:hi\r\n" },
		{ "SUBJECT:\t  hi  there \t", "subject:hi there\r\n" },
		{ "Subject:\r\n\t=?UTF-8?B?w6g=?=\r\n =?UTF-8?B?w6k=?=\r\n",
		  "subject:=?UTF-8?B?w6g=?= =?UTF-8?B?w6k=?=\r\n" },
		{ "X-Empty:   \r\n", "x-empty:\r\n" },
		{ "Subject: caff\xc3\xa8  caldo", "subject:caff\xc3\xa8 caldo\r\n" },
	};
	static const struct {
		const char *in, *out;
	} body_tests[] = {
		{ "", "" },
		{ "\r\n", "" },
		{ "\r\n \r\n\t\r\n", "" },
		{ "a", "a\r\n" },
		{ "a \t", "a\r\n" },
		/* empty lines in the middle stay, whitespace-only ones empty */
		{ "a\r\n\r\n \t \r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n" },
		/* bare LF reads as CRLF */
		{ "a  b\n\nc\n\n", "a b\r\n\r\nc\r\n" },
		/* CR alone is no line end and no whitespace */
		{ "a\rb\r\n", "a\rb\r\n" },
	};
	string_t *str = t_str_new(128);
	unsigned int i;

	test_begin("dkim relaxed canonicalization: more cases");
	for (i = 0; i < N_ELEMENTS(hdr_tests); i++) {
		str_truncate(str, 0);
		frontdesk_dkim_canon_header_relaxed(
			hdr_tests[i].in, strlen(hdr_tests[i].in), str);
		test_assert_strcmp_idx(str_c(str), hdr_tests[i].out, i);
	}
	for (i = 0; i < N_ELEMENTS(body_tests); i++) {
		str_truncate(str, 0);
		frontdesk_dkim_canon_body_relaxed(
			body_tests[i].in, strlen(body_tests[i].in), str);
		test_assert_strcmp_idx(str_c(str), body_tests[i].out, i);
	}
	test_end();
}

static void test_dkim_body_hash(void)
{
	static const char *const empty_bodies[] = {
		"From: a@example.com\r\n\r\n",
		"From: a@example.com\r\n",		/* no body at all */
		"From: a@example.com\r\n\r\n\r\n \r\n\t\r\n",
	};
	const char *const keys[] = { RSA_KEY, ED_KEY };
	unsigned char digest[SHA256_RESULTLEN];
	string_t *expected = t_str_new(64);
	const char *sighdr, *error;
	const char *rfc_msg = "From: a@example.com\r\n\r\n"
		" C \r\nD \t E\r\n\r\n\r\n";
	unsigned int i, k;

	test_begin("dkim body hash");
	/* the RFC example body hashes as its canonical form */
	sha256_get_digest(" C\r\nD E\r\n", 9, digest);
	base64_encode(digest, sizeof(digest), expected);

	for (k = 0; k < N_ELEMENTS(keys); k++) {
		struct frontdesk_dkim_key *key = load_key(keys[k]);

		test_assert_idx(key != NULL, k);
		if (key == NULL)
			continue;
		for (i = 0; i < N_ELEMENTS(empty_bodies); i++) {
			sighdr = sign(key, empty_bodies[i], NULL, &error);
			test_assert_idx(sighdr != NULL, k * 10 + i);
			if (sighdr == NULL)
				continue;
			test_assert_strcmp_idx(sig_tag(sighdr, "bh"),
					       EMPTY_BODY_HASH, k * 10 + i);
		}
		sighdr = sign(key, rfc_msg, NULL, &error);
		test_assert_idx(sighdr != NULL &&
				strcmp(sig_tag(sighdr, "bh"),
				       str_c(expected)) == 0, k);
		frontdesk_dkim_key_free(&key);
		test_assert_idx(key == NULL, k);
	}
	test_end();
}

static void test_dkim_tags(void)
{
	struct frontdesk_dkim_key *rsa = load_key(RSA_KEY);
	struct frontdesk_dkim_key *ed = load_key(ED_KEY);
	const char *sighdr, *error;
	buffer_t *sig;

	test_begin("dkim signature tags");
	test_assert(rsa != NULL && ed != NULL);
	if (rsa == NULL || ed == NULL) {
		test_end();
		return;
	}
	test_assert_strcmp(frontdesk_dkim_key_get_algorithm(rsa), "rsa-sha256");
	test_assert_strcmp(frontdesk_dkim_key_get_algorithm(ed),
			   "ed25519-sha256");

	sighdr = sign(rsa, SIMPLE_MSG, NULL, &error);
	test_assert(sighdr != NULL && str_begins_with(sighdr, "DKIM-Signature: "));
	if (sighdr != NULL) {
		test_assert_strcmp(sig_tag(sighdr, "v"), "1");
		test_assert_strcmp(sig_tag(sighdr, "a"), "rsa-sha256");
		test_assert_strcmp(sig_tag(sighdr, "c"), "relaxed/relaxed");
		test_assert_strcmp(sig_tag(sighdr, "d"), "example.com");
		test_assert_strcmp(sig_tag(sighdr, "s"), "fd2024");
		test_assert_strcmp(sig_tag(sighdr, "t"), "1700000000");
		/* only the default headers present, in the default order */
		test_assert_strcmp(sig_tag(sighdr, "h"),
				   "from:to:subject:date:message-id");
		test_assert(sig_tag(sighdr, "l") == NULL);
		test_assert(sig_tag(sighdr, "x") == NULL);
		/* 2048-bit RSA: a 256-byte signature */
		sig = t_base64_decode_str(sig_tag(sighdr, "b"));
		test_assert(sig->used == 256);
	}
	sighdr = sign(ed, SIMPLE_MSG, NULL, &error);
	test_assert(sighdr != NULL);
	if (sighdr != NULL) {
		test_assert_strcmp(sig_tag(sighdr, "a"), "ed25519-sha256");
		sig = t_base64_decode_str(sig_tag(sighdr, "b"));
		test_assert(sig->used == 64);
	}
	frontdesk_dkim_key_free(&rsa);
	frontdesk_dkim_key_free(&ed);
	test_end();
}

/* Every line within 78 characters, continuation lines start with a tab,
   one CRLF at the end, no CRLF without folding whitespace after it. */
static bool is_well_folded(const char *hdr)
{
	const char *const *lines;
	unsigned int i;

	if (!str_begins_with(hdr, "DKIM-Signature:") ||
	    strlen(hdr) < 2 || strcmp(hdr + strlen(hdr) - 2, "\r\n") != 0)
		return FALSE;
	lines = t_strsplit(t_strndup(hdr, strlen(hdr) - 2), "\n");
	for (i = 0; lines[i] != NULL; i++) {
		size_t len = strlen(lines[i]);

		if (lines[i + 1] != NULL) {
			/* every line but the last ends in CR (CRLF) */
			if (len == 0 || lines[i][len - 1] != '\r')
				return FALSE;
			len--;
		} else if (strchr(lines[i], '\r') != NULL) {
			return FALSE;
		}
		if (len > 78 || (i > 0 && lines[i][0] != '\t'))
			return FALSE;
		/* a line that is only whitespace would end the header */
		if (i > 0 && strspn(lines[i], "\t \r") == strlen(lines[i]))
			return FALSE;
	}
	return i > 1;
}

static void test_dkim_folding(void)
{
	static const char *const many_headers[] = {
		"From", "To", "Cc", "Subject", "Date", "Message-ID",
		"In-Reply-To", "References", "MIME-Version", "Content-Type",
		"Content-Transfer-Encoding", "Auto-Submitted",
		"Content-Language", "X-Frontdesk-Ticket-Reference-Number",
		"Reply-To", NULL
	};
	const char *msg =
		"From: Support <support@example.com>\r\n"
		"To: mario@example.it\r\n"
		"Cc: anna@example.it\r\n"
		"Subject: Re: fattura\r\n"
		"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
		"Message-ID: <frontdesk.1@example.com>\r\n"
		"In-Reply-To: <1@example.it>\r\n"
		"References: <0@example.it>\r\n <1@example.it>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"Content-Language: it\r\n"
		"X-Frontdesk-Ticket-Reference-Number: 12345\r\n"
		"Reply-To: support@example.com\r\n"
		"\r\n"
		"ok\r\n";
	const char *const keys[] = { RSA_KEY, ED_KEY };
	struct frontdesk_dkim_key *key;
	const char *sighdr, *error;
	unsigned int k;

	test_begin("dkim header folding");
	for (k = 0; k < N_ELEMENTS(keys); k++) {
		key = load_key(keys[k]);
		test_assert_idx(key != NULL, k);
		if (key == NULL)
			continue;
		sighdr = sign(key, msg, many_headers, &error);
		test_assert_idx(sighdr != NULL && is_well_folded(sighdr), k);
		if (sighdr != NULL) {
			test_assert_strcmp_idx(sig_tag(sighdr, "h"),
				"from:to:cc:subject:date:message-id:"
				"in-reply-to:references:mime-version:"
				"content-type:content-transfer-encoding:"
				"auto-submitted:content-language:"
				"x-frontdesk-ticket-reference-number:"
				"reply-to", k);
		}
		sighdr = sign(key, SIMPLE_MSG, NULL, &error);
		test_assert_idx(sighdr != NULL && is_well_folded(sighdr), k);
		frontdesk_dkim_key_free(&key);
	}
	test_end();
}

static void test_dkim_header_selection(void)
{
	struct frontdesk_dkim_key *key = load_key(ED_KEY);
	static const char *const dup_headers[] = {
		"subject", "SUBJECT", "To", "to", "X-Absent", "Subject", NULL
	};
	const char *msg =
		"To: a@example.it\r\n"
		"Subject: one\r\n"
		"from: Support <support@example.com>\r\n"
		"Subject: two\r\n"
		"\r\n"
		"body\r\n";
	const char *sighdr, *sighdr2, *error;

	test_begin("dkim header selection");
	test_assert(key != NULL);
	if (key == NULL) {
		test_end();
		return;
	}
	/* each name once, absent ones left out, From added and first */
	sighdr = sign(key, msg, dup_headers, &error);
	test_assert(sighdr != NULL &&
		    strcmp(sig_tag(sighdr, "h"), "from:subject:to") == 0);
	/* the signed Subject is the last one: changing the first one
	   changes nothing, changing the last one changes the signature */
	sighdr2 = sign(key,
		       "To: a@example.it\r\n"
		       "Subject: ONE\r\n"
		       "from: Support <support@example.com>\r\n"
		       "Subject: two\r\n"
		       "\r\n"
		       "body\r\n", dup_headers, &error);
	test_assert(sighdr2 != NULL && strcmp(sighdr, sighdr2) == 0);
	sighdr2 = sign(key,
		       "To: a@example.it\r\n"
		       "Subject: one\r\n"
		       "from: Support <support@example.com>\r\n"
		       "Subject: TWO\r\n"
		       "\r\n"
		       "body\r\n", dup_headers, &error);
	test_assert(sighdr2 != NULL && strcmp(sighdr, sighdr2) != 0);
	/* relaxed: refolding or re-spacing a signed header changes nothing */
	sighdr2 = sign(key,
		       "To:   a@example.it  \r\n"
		       "Subject: one\r\n"
		       "FROM :\tSupport\r\n  <support@example.com>\r\n"
		       "Subject:\ttwo\r\n"
		       "\r\n"
		       "body   \r\n\r\n", dup_headers, &error);
	test_assert(sighdr2 != NULL && strcmp(sighdr, sighdr2) == 0);
	/* a header not asked for is not signed */
	sighdr2 = sign(key,
		       "To: a@example.it\r\n"
		       "Subject: one\r\n"
		       "from: Support <support@example.com>\r\n"
		       "Subject: two\r\n"
		       "X-Other: yes\r\n"
		       "\r\n"
		       "body\r\n", dup_headers, &error);
	test_assert(sighdr2 != NULL && strcmp(sighdr, sighdr2) == 0);
	/* the body is */
	sighdr2 = sign(key,
		       "To: a@example.it\r\n"
		       "Subject: one\r\n"
		       "from: Support <support@example.com>\r\n"
		       "Subject: two\r\n"
		       "\r\n"
		       "b o d y\r\n", dup_headers, &error);
	test_assert(sighdr2 != NULL && strcmp(sighdr, sighdr2) != 0);
	frontdesk_dkim_key_free(&key);
	test_end();
}

static void test_dkim_deterministic(void)
{
	struct frontdesk_dkim_key *rsa = load_key(RSA_KEY);
	struct frontdesk_dkim_key *trad = load_key(RSA_TRAD_KEY);
	const char *s1, *s2, *error;
	string_t *dest = t_str_new(1024);

	test_begin("dkim PKCS#8 and traditional RSA keys sign alike");
	test_assert(rsa != NULL && trad != NULL);
	if (rsa != NULL && trad != NULL) {
		/* RSASSA-PKCS1-v1_5 is deterministic: same key, same bytes */
		s1 = sign(rsa, SIMPLE_MSG, NULL, &error);
		s2 = sign(trad, SIMPLE_MSG, NULL, &error);
		test_assert(s1 != NULL && s2 != NULL && strcmp(s1, s2) == 0);
		/* t= is signed */
		test_assert(frontdesk_dkim_sign(rsa, SIMPLE_MSG,
						strlen(SIMPLE_MSG), NULL,
						T_SIGN + 1, dest, &error) == 0);
		test_assert(s1 != NULL &&
			    strcmp(sig_tag(s1, "b"),
				   sig_tag(str_c(dest), "b")) != 0);
		/* dest is appended to, not replaced */
		str_truncate(dest, 0);
		str_append(dest, "X: y\r\n");
		test_assert(frontdesk_dkim_sign(rsa, SIMPLE_MSG,
						strlen(SIMPLE_MSG), NULL,
						T_SIGN, dest, &error) == 0);
		test_assert(s1 != NULL &&
			    strcmp(str_c(dest), t_strconcat("X: y\r\n", s1,
							    NULL)) == 0);
	}
	frontdesk_dkim_key_free(&rsa);
	frontdesk_dkim_key_free(&trad);
	test_end();
}

static void test_dkim_message_errors(void)
{
	static const struct {
		const char *msg, *error;
	} tests[] = {
		{ "To: a@example.it\r\nSubject: x\r\n\r\nFrom: b@example.it\r\n",
		  "no From header" },
		{ "", "no From header" },
		{ "From: a@example.com\r\nFrom: b@example.com\r\n\r\nx\r\n",
		  "more than one From" },
		{ "From: a@example.com\r\nnot a header\r\n\r\nx\r\n",
		  "without colon" },
		{ " From: a@example.com\r\n\r\nx\r\n", "folded line" },
		{ "From: a@example.com\r\n: x\r\n\r\nx\r\n", "empty name" },
	};
	static const char *const bad_names[] = { "From", "X;Y", NULL };
	struct frontdesk_dkim_key *key = load_key(ED_KEY);
	const char *sighdr, *error;
	unsigned int i;

	test_begin("dkim message errors");
	test_assert(key != NULL);
	for (i = 0; key != NULL && i < N_ELEMENTS(tests); i++) {
		sighdr = sign(key, tests[i].msg, NULL, &error);
		test_assert_idx(sighdr == NULL && error != NULL &&
				strstr(error, tests[i].error) != NULL, i);
	}
	if (key != NULL) {
		sighdr = sign(key, SIMPLE_MSG, bad_names, &error);
		test_assert(sighdr == NULL && error != NULL &&
			    strstr(error, "'X;Y'") != NULL);
	}
	frontdesk_dkim_key_free(&key);
	test_end();
}

static void test_dkim_key_errors(void)
{
	static const struct {
		const char *path, *domain, *selector, *error;
	} tests[] = {
		{ DKIM_DIR "/missing.pem", "example.com", "s",
		  DKIM_DIR "/missing.pem) failed: No such file" },
		{ DKIM_DIR, "example.com", "s", "not a regular file" },
		/* a file that is not a key: the public TXT record */
		{ DKIM_DIR "/rsa-2048.txt", "example.com", "s",
		  "DKIM key " DKIM_DIR "/rsa-2048.txt: not a PEM file" },
		{ DKIM_DIR "/empty.pem", "example.com", "s",
		  "DKIM key " DKIM_DIR "/empty.pem: file is empty" },
		{ DKIM_DIR "/ed25519-public.pem", "example.com", "s",
		  "DKIM key " DKIM_DIR "/ed25519-public.pem: no private key" },
		{ DKIM_DIR "/ed25519-encrypted.pem", "example.com", "s",
		  "DKIM key " DKIM_DIR "/ed25519-encrypted.pem: the key is "
		  "encrypted" },
		{ DKIM_DIR "/corrupt.pem", "example.com", "s",
		  "DKIM key " DKIM_DIR "/corrupt.pem: unreadable private key "
		  "(OpenSSL: " },
		{ DKIM_DIR "/ec-p256-unsupported.pem", "example.com", "s",
		  "DKIM key " DKIM_DIR "/ec-p256-unsupported.pem: "
		  "unsupported key type" },
		{ ED_KEY, "", "s", "DKIM domain '' is not" },
		{ ED_KEY, "ex ample.com", "s", "DKIM domain 'ex ample.com'" },
		{ ED_KEY, "caff\xc3\xa8.it", "s", "ASCII form" },
		{ ED_KEY, "example.com", "a;b", "DKIM selector 'a;b'" },
		{ ED_KEY, "example.com", "a.", "DKIM selector 'a.'" },
	};
	struct frontdesk_dkim_key *key;
	const char *error;
	unsigned int i;

	test_begin("dkim key errors");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		key = (void *)1;
		error = NULL;
		test_assert_idx(frontdesk_dkim_key_load(
			tests[i].path, tests[i].domain, tests[i].selector,
			&key, &error) < 0, i);
		test_assert_idx(key == NULL, i);
		test_assert_idx(error != NULL &&
				strstr(error, tests[i].error) != NULL, i);
		if (error != NULL && strstr(error, tests[i].error) == NULL)
			i_info("got: %s", error);
	}
	/* selectors may have dots (RFC 6376 3.1) */
	test_assert(frontdesk_dkim_key_load(ED_KEY, "mail.example.com",
					    "fd.2024", &key, &error) == 0);
	frontdesk_dkim_key_free(&key);
	test_end();
}

static void test_dkim_dns_record(void)
{
	static const char *const keys[][2] = {
		{ RSA_KEY, DKIM_DIR "/rsa-2048.txt" },
		{ RSA_TRAD_KEY, DKIM_DIR "/rsa-2048.txt" },
		{ ED_KEY, DKIM_DIR "/ed25519.txt" },
	};
	struct frontdesk_dkim_key *key;
	string_t *str = t_str_new(512);
	const char *error;
	unsigned int i;

	test_begin("dkim public DNS record");
	for (i = 0; i < N_ELEMENTS(keys); i++) {
		key = load_key(keys[i][0]);
		test_assert_idx(key != NULL, i);
		if (key == NULL)
			continue;
		str_truncate(str, 0);
		test_assert_idx(frontdesk_dkim_key_get_dns_record(
			key, str, &error) == 0, i);
		/* the fixture's record was made by the openssl tool */
		test_assert_strcmp_idx(str_c(str),
				       read_line_file(keys[i][1]), i);
		frontdesk_dkim_key_free(&key);
	}
	test_end();
}

void test_dkim(void)
{
	test_dkim_canon_rfc_example();
	test_dkim_canon_more();
	test_dkim_body_hash();
	test_dkim_tags();
	test_dkim_folding();
	test_dkim_header_selection();
	test_dkim_deterministic();
	test_dkim_message_errors();
	test_dkim_key_errors();
	test_dkim_dns_record();
}
