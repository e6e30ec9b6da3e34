/* DKIM signer for our automatic acknowledgments (RFC 6376, RFC 8463
   ed25519-sha256, RFC 8301 key sizes). Only what an originating signer
   needs: relaxed/relaxed, no l=, one signature per message. libdovecot has
   no RSA or Ed25519 signing, so the signature itself comes from OpenSSL's
   libcrypto; canonicalization, SHA-256 and base64 are libdovecot's. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strfuncs.h"
#include "str-sanitize.h"
#include "base64.h"
#include "sha2.h"
#include "safe-memset.h"
#include "eacces-error.h"
#include "frontdesk-dkim.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A PEM key is a few KiB; anything much larger is not a key file. */
#define DKIM_KEY_MAX_SIZE (64 * 1024)
/* RFC 8301 3.2: verifiers refuse RSA keys below 1024 bits. */
#define DKIM_RSA_MIN_BITS 1024
/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters. */
#define DKIM_LINE_MAX 78

#define IS_WSP(c) ((c) == ' ' || (c) == '\t')

struct frontdesk_dkim_key {
	EVP_PKEY *pkey;
	bool ed25519;
	char *domain, *selector;
};

static const char *const dkim_default_headers[] = {
	FRONTDESK_DKIM_DEFAULT_HEADERS, NULL
};

struct dkim_header {
	const unsigned char *data;	/* whole field, folding included */
	size_t size;			/* without the final line end */
	size_t name_len;		/* name without WSP before the colon */
};
ARRAY_DEFINE_TYPE(dkim_header, struct dkim_header);

/* OpenSSL's reasons for the last failure, oldest first, and an empty
   error queue afterwards. */
static const char *dkim_openssl_error(void)
{
	string_t *str = t_str_new(128);
	const char *lib, *reason, *text, *data = NULL;
	unsigned long err;
	int flags = 0;

	for (;;) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
		err = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
#else
		err = ERR_get_error_line_data(NULL, NULL, &data, &flags);
#endif
		if (err == 0)
			break;
		lib = ERR_lib_error_string(err);
		reason = ERR_reason_error_string(err);
		text = t_strdup_printf("%s%s%s", lib == NULL ? "" : lib,
			lib == NULL ? "" : ": ", reason != NULL ? reason :
			t_strdup_printf("error %lx", err));
		if ((flags & ERR_TXT_STRING) != 0 && data != NULL &&
		    *data != '\0')
			text = t_strdup_printf("%s (%s)", text, t_str_trim(data, " "));
		if (strstr(str_c(str), text) != NULL)
			continue;
		if (str_len(str) > 0)
			str_append(str, ", ");
		str_append(str, text);
	}
	return str_len(str) > 0 ? str_c(str) : "unknown OpenSSL error";
}

/* DNS labels as in d= and s= (RFC 6376 3.1, 3.5): A-labels only. */
static bool dkim_name_is_valid(const char *name)
{
	const char *p;

	if (*name == '\0' || *name == '.' || strlen(name) > 253 ||
	    name[strlen(name) - 1] == '.' || strstr(name, "..") != NULL)
		return FALSE;
	for (p = name; *p != '\0'; p++) {
		if (!i_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static int dkim_read_file(const char *path, buffer_t *dest,
			  const char **error_r)
{
	struct stat st;
	unsigned char buf[4096];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		*error_r = errno == EACCES ? eacces_error_get("open", path) :
			t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DKIM_KEY_MAX_SIZE) {
		*error_r = t_strdup_printf(
			"DKIM key %s: not a key file (%s)", path,
			S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		i_close_fd(&fd);
		return -1;
	}
	while ((ret = read(fd, buf, sizeof(buf))) > 0) {
		if (dest->used + ret > DKIM_KEY_MAX_SIZE)
			break;
		buffer_append(dest, buf, ret);
	}
	safe_memset(buf, 0, sizeof(buf));
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	return 0;
}

/* Never let OpenSSL prompt on the terminal for a passphrase. */
static int dkim_no_password(char *buf ATTR_UNUSED, int size ATTR_UNUSED,
			    int rwflag ATTR_UNUSED, void *u ATTR_UNUSED)
{
	return -1;
}

static EVP_PKEY *dkim_parse_pem(const char *path, buffer_t *pem,
				const char **error_r)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (pem->used == 0) {
		*error_r = t_strdup_printf("DKIM key %s: file is empty", path);
		return NULL;
	}
	if (strstr(str_c(pem), "ENCRYPTED") != NULL) {
		*error_r = t_strdup_printf(
			"DKIM key %s: the key is encrypted; store it "
			"unencrypted, readable only by the mail user", path);
		return NULL;
	}
	if (strstr(str_c(pem), "-----BEGIN ") == NULL) {
		*error_r = t_strdup_printf(
			"DKIM key %s: not a PEM file (no -----BEGIN line)", path);
		return NULL;
	}
	if (strstr(str_c(pem), "PRIVATE KEY-----") == NULL) {
		*error_r = t_strdup_printf(
			"DKIM key %s: no private key in the file (a public key "
			"or certificate?)", path);
		return NULL;
	}
	ERR_clear_error();
	bio = BIO_new_mem_buf(pem->data, pem->used);
	if (bio == NULL) {
		*error_r = t_strdup_printf("DKIM key %s: %s", path,
					   dkim_openssl_error());
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, dkim_no_password, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		*error_r = t_strdup_printf(
			"DKIM key %s: unreadable private key (OpenSSL: %s)",
			path, dkim_openssl_error());
	}
	return pkey;
}

int frontdesk_dkim_key_load(const char *path, const char *domain,
			    const char *selector,
			    struct frontdesk_dkim_key **key_r,
			    const char **error_r)
{
	struct frontdesk_dkim_key *key;
	buffer_t *pem;
	EVP_PKEY *pkey;
	int type, bits;

	*key_r = NULL;
	if (domain == NULL || !dkim_name_is_valid(domain)) {
		*error_r = t_strdup_printf(
			"DKIM domain '%s' is not a valid domain name (use the "
			"ASCII form of internationalized names)",
			domain == NULL ? "" : domain);
		return -1;
	}
	if (selector == NULL || !dkim_name_is_valid(selector)) {
		*error_r = t_strdup_printf(
			"DKIM selector '%s' is not a valid DNS label",
			selector == NULL ? "" : selector);
		return -1;
	}

	pem = buffer_create_dynamic(default_pool, 4096);
	if (dkim_read_file(path, pem, error_r) < 0)
		pkey = NULL;
	else
		pkey = dkim_parse_pem(path, pem, error_r);
	/* the buffer held the private key */
	safe_memset(buffer_get_modifiable_data(pem, NULL), 0, pem->used);
	buffer_free(&pem);
	if (pkey == NULL)
		return -1;

	type = EVP_PKEY_base_id(pkey);
	bits = EVP_PKEY_bits(pkey);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
		*error_r = t_strdup_printf(
			"DKIM key %s: unsupported key type %s (DKIM signs "
			"with RSA or Ed25519 keys)", path,
			type == EVP_PKEY_EC ? "EC (ECDSA)" :
			OBJ_nid2sn(type) != NULL ? OBJ_nid2sn(type) : "?");
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (type == EVP_PKEY_RSA && bits < DKIM_RSA_MIN_BITS) {
		*error_r = t_strdup_printf(
			"DKIM key %s: RSA key of %d bits is too short: "
			"verifiers refuse keys below %d bits (RFC 8301), "
			"use 2048", path, bits, DKIM_RSA_MIN_BITS);
		EVP_PKEY_free(pkey);
		return -1;
	}

	key = i_new(struct frontdesk_dkim_key, 1);
	key->pkey = pkey;
	key->ed25519 = type == EVP_PKEY_ED25519;
	key->domain = i_strdup(domain);
	key->selector = i_strdup(selector);
	*key_r = key;
	return 0;
}

void frontdesk_dkim_key_free(struct frontdesk_dkim_key **_key)
{
	struct frontdesk_dkim_key *key = *_key;

	if (key == NULL)
		return;
	*_key = NULL;
	EVP_PKEY_free(key->pkey);
	i_free(key->domain);
	i_free(key->selector);
	i_free(key);
}

const char *frontdesk_dkim_key_get_algorithm(const struct frontdesk_dkim_key *key)
{
	return key->ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

int frontdesk_dkim_key_get_dns_record(const struct frontdesk_dkim_key *key,
				      string_t *dest, const char **error_r)
{
	unsigned char *der = NULL, raw[32];
	size_t raw_len = sizeof(raw);
	int len;

	ERR_clear_error();
	if (key->ed25519) {
		/* RFC 8463 4.2: the bare 32-byte key, not SubjectPublicKeyInfo */
		if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) != 1) {
			*error_r = t_strdup_printf("DKIM public key: %s",
						   dkim_openssl_error());
			return -1;
		}
		str_append(dest, "v=DKIM1; k=ed25519; p=");
		base64_encode(raw, raw_len, dest);
		return 0;
	}
	/* SubjectPublicKeyInfo, what every verifier reads (RFC 6376 3.6.1
	   names RSAPublicKey, but "openssl rsa -pubout" is the practice) */
	len = i2d_PUBKEY(key->pkey, &der);
	if (len <= 0) {
		*error_r = t_strdup_printf("DKIM public key: %s",
					   dkim_openssl_error());
		return -1;
	}
	str_append(dest, "v=DKIM1; k=rsa; p=");
	base64_encode(der, len, dest);
	OPENSSL_free(der);
	return 0;
}

/* --- canonicalization --------------------------------------------------- */

void frontdesk_dkim_canon_header_relaxed(const void *header, size_t size,
					 string_t *dest)
{
	const unsigned char *p = header, *end = p + size, *colon;
	size_t name_len;
	bool space = FALSE, started = FALSE;

	colon = memchr(p, ':', size);
	name_len = colon == NULL ? size : (size_t)(colon - p);
	while (name_len > 0 && IS_WSP(p[name_len - 1]))
		name_len--;
	for (size_t i = 0; i < name_len; i++)
		str_append_c(dest, i_tolower(p[i]));
	str_append_c(dest, ':');

	for (p = colon == NULL ? end : colon + 1; p < end; p++) {
		/* unfold: drop the line ends, keep the WSP after them */
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			continue;
		if (IS_WSP(*p)) {
			space = TRUE;
			continue;
		}
		if (space && started)
			str_append_c(dest, ' ');
		str_append_c(dest, *p);
		space = FALSE;
		started = TRUE;
	}
	str_append(dest, "\r\n");
}

/* Next line of data from *pos: its content without CRLF or bare LF. */
static bool dkim_next_line(const unsigned char *data, size_t size,
			   size_t *pos, const unsigned char **line_r,
			   size_t *len_r)
{
	const unsigned char *start = data + *pos, *nl;
	size_t len;

	if (*pos >= size)
		return FALSE;
	nl = memchr(start, '\n', size - *pos);
	if (nl == NULL) {
		len = size - *pos;
		*pos = size;
	} else {
		len = nl - start;
		*pos += len + 1;
		if (len > 0 && start[len - 1] == '\r')
			len--;
	}
	*line_r = start;
	*len_r = len;
	return TRUE;
}

typedef void dkim_output_t(void *context, const void *data, size_t size);

/* RFC 6376 3.4.4: WSP runs become one SP, WSP at line ends goes, empty
   lines at the end go, a non-empty body ends with CRLF. Streams into
   output, holding back only the count of empty lines seen. */
static void dkim_canon_body(const unsigned char *body, size_t size,
			    dkim_output_t *output, void *context)
{
	const unsigned char *line;
	size_t pos = 0, len, empty_lines = 0;
	string_t *buf = t_str_new(256);

	while (dkim_next_line(body, size, &pos, &line, &len)) {
		str_truncate(buf, 0);
		for (size_t i = 0; i < len; i++) {
			if (!IS_WSP(line[i]))
				str_append_c(buf, line[i]);
			else if (i + 1 < len && !IS_WSP(line[i + 1]))
				str_append_c(buf, ' ');
		}
		if (str_len(buf) == 0) {
			empty_lines++;
			continue;
		}
		for (; empty_lines > 0; empty_lines--)
			output(context, "\r\n", 2);
		str_append(buf, "\r\n");
		output(context, str_data(buf), str_len(buf));
	}
}

static void dkim_output_str(void *context, const void *data, size_t size)
{
	str_append_data(context, data, size);
}

static void dkim_output_sha256(void *context, const void *data, size_t size)
{
	sha256_loop(context, data, size);
}

void frontdesk_dkim_canon_body_relaxed(const void *body, size_t size,
				       string_t *dest)
{
	dkim_canon_body(body, size, dkim_output_str, dest);
}

/* --- signing -------------------------------------------------------------- */

/* Splits the header into fields; *body_pos_r is where the body starts. */
static int dkim_parse_headers(const unsigned char *msg, size_t size,
			      ARRAY_TYPE(dkim_header) *headers,
			      size_t *body_pos_r, const char **error_r)
{
	struct dkim_header *hdr = NULL;
	const unsigned char *line, *colon;
	size_t pos = 0, len;

	while (dkim_next_line(msg, size, &pos, &line, &len)) {
		if (len == 0)
			break;
		if (IS_WSP(line[0])) {
			if (hdr == NULL) {
				*error_r = "message begins with a folded line";
				return -1;
			}
			hdr->size = line + len - hdr->data;
			continue;
		}
		colon = memchr(line, ':', len);
		if (colon == NULL) {
			*error_r = t_strdup_printf(
				"header line without colon: %s",
				str_sanitize_utf8(t_strndup(line, len), 60));
			return -1;
		}
		hdr = array_append_space(headers);
		hdr->data = line;
		hdr->size = len;
		hdr->name_len = colon - line;
		while (hdr->name_len > 0 && IS_WSP(line[hdr->name_len - 1]))
			hdr->name_len--;
		if (hdr->name_len == 0) {
			*error_r = "header line with an empty name";
			return -1;
		}
	}
	*body_pos_r = pos;
	return 0;
}

static bool dkim_header_is(const struct dkim_header *hdr, const char *name)
{
	return hdr->name_len == strlen(name) &&
		i_memcasecmp(hdr->data, name, hdr->name_len) == 0;
}

/* ftext of RFC 5322 minus ';', which would end the h= tag. */
static bool dkim_header_name_is_valid(const char *name)
{
	if (*name == '\0')
		return FALSE;
	for (; *name != '\0'; name++) {
		if (*name <= 32 || *name >= 127 || *name == ':' || *name == ';')
			return FALSE;
	}
	return TRUE;
}

/* The header's instances to sign, in h= order: each listed name once, its
   last instance (verifiers pick instances bottom-up, RFC 6376 5.4.2). */
static int dkim_select_headers(const ARRAY_TYPE(dkim_header) *headers,
			       const char *const *sign_headers,
			       ARRAY_TYPE(const_string) *names,
			       ARRAY_TYPE(dkim_header) *selected,
			       const char **error_r)
{
	const struct dkim_header *hdr, *last;
	const char *const *namep, *name, *const *seen;
	unsigned int from_count = 0;
	bool dup;

	array_foreach(headers, hdr) {
		if (dkim_header_is(hdr, "From"))
			from_count++;
	}
	if (from_count == 0) {
		*error_r = "message has no From header (DKIM must sign it)";
		return -1;
	}
	if (from_count > 1) {
		*error_r = "message has more than one From header";
		return -1;
	}

	/* From first: RFC 6376 5.4 requires it signed */
	name = "from";
	array_push_back(names, &name);
	for (namep = sign_headers; *namep != NULL; namep++) {
		if (!dkim_header_name_is_valid(*namep)) {
			*error_r = t_strdup_printf(
				"invalid header name to sign: '%s'",
				str_sanitize(*namep, 60));
			return -1;
		}
		name = t_str_lcase(*namep);
		dup = FALSE;
		array_foreach(names, seen) {
			if (strcmp(*seen, name) == 0)
				dup = TRUE;
		}
		if (!dup)
			array_push_back(names, &name);
	}

	array_foreach(names, seen) {
		last = NULL;
		array_foreach(headers, hdr) {
			if (dkim_header_is(hdr, *seen))
				last = hdr;
		}
		if (last != NULL)
			array_push_back(selected, last);
	}
	return 0;
}

/* Adds a piece to the header being built, on a new line if the current one
   would pass DKIM_LINE_MAX. space: separate it from the previous piece by
   a space (else only by folding, where FWS is allowed). */
static void dkim_fold_append(string_t *str, size_t *line_start,
			     const char *piece, bool space)
{
	size_t line_len = str_len(str) - *line_start;

	if (line_len + (space ? 1 : 0) + strlen(piece) > DKIM_LINE_MAX) {
		str_append(str, "\r\n\t");
		*line_start = str_len(str) - 1;
	} else if (space) {
		str_append_c(str, ' ');
	}
	str_append(str, piece);
}

static void dkim_body_hash(const unsigned char *body, size_t size,
			   string_t *dest)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN];

	sha256_init(&ctx);
	dkim_canon_body(body, size, dkim_output_sha256, &ctx);
	sha256_result(&ctx, digest);
	base64_encode(digest, sizeof(digest), dest);
}

static int dkim_sign_data(const struct frontdesk_dkim_key *key,
			  const string_t *data, buffer_t *sig,
			  const char **error_r)
{
	unsigned char digest[SHA256_RESULTLEN];
	const unsigned char *input = str_data(data);
	size_t input_len = str_len(data), sig_len = 0;
	EVP_MD_CTX *ctx;
	const EVP_MD *md = EVP_sha256();
	int ret = -1;

	if (key->ed25519) {
		/* RFC 8463 3: PureEd25519 over the SHA-256 of the data */
		sha256_get_digest(input, input_len, digest);
		input = digest;
		input_len = sizeof(digest);
		md = NULL;
	}
	ERR_clear_error();
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, md, NULL, key->pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &sig_len, input, input_len) == 1) {
		unsigned char *out = buffer_append_space_unsafe(sig, sig_len);

		if (EVP_DigestSign(ctx, out, &sig_len, input, input_len) == 1) {
			buffer_set_used_size(sig, sig_len);
			ret = 0;
		}
	}
	if (ret < 0) {
		*error_r = t_strdup_printf("DKIM signing failed: %s",
					   dkim_openssl_error());
	}
	EVP_MD_CTX_free(ctx);
	return ret;
}

int frontdesk_dkim_sign(const struct frontdesk_dkim_key *key,
			const void *message, size_t size,
			const char *const *sign_headers, time_t now,
			string_t *dest, const char **error_r)
{
	const unsigned char *msg = message;
	ARRAY_TYPE(dkim_header) headers, selected;
	ARRAY_TYPE(const_string) names;
	const struct dkim_header *hdr;
	string_t *sighdr, *hashed, *piece;
	buffer_t *sig;
	const char *b64;
	size_t body_pos, line_start = 0, b64_len, room;
	unsigned int i, count;

	i_assert(key != NULL);
	if (sign_headers == NULL)
		sign_headers = dkim_default_headers;

	t_array_init(&headers, 32);
	t_array_init(&selected, 16);
	t_array_init(&names, 16);
	if (dkim_parse_headers(msg, size, &headers, &body_pos, error_r) < 0 ||
	    dkim_select_headers(&headers, sign_headers, &names,
				&selected, error_r) < 0)
		return -1;

	/* the header as it will be sent, with b= still empty */
	sighdr = t_str_new(768);
	str_append(sighdr, "DKIM-Signature:");
	dkim_fold_append(sighdr, &line_start, "v=1;", TRUE);
	dkim_fold_append(sighdr, &line_start, t_strdup_printf(
		"a=%s;", frontdesk_dkim_key_get_algorithm(key)), TRUE);
	dkim_fold_append(sighdr, &line_start, "c=relaxed/relaxed;", TRUE);
	dkim_fold_append(sighdr, &line_start,
			 t_strdup_printf("d=%s;", key->domain), TRUE);
	dkim_fold_append(sighdr, &line_start,
			 t_strdup_printf("s=%s;", key->selector), TRUE);
	dkim_fold_append(sighdr, &line_start, t_strdup_printf(
		"t=%lld;", (long long)now), TRUE);
	/* h= folds after its colons (FWS is allowed around them) */
	count = array_count(&selected);
	for (i = 0; i < count; i++) {
		hdr = array_idx(&selected, i);
		dkim_fold_append(sighdr, &line_start, t_strdup_printf(
			"%s%s%c", i == 0 ? "h=" : "",
			t_str_lcase(t_strndup(hdr->data, hdr->name_len)),
			i + 1 < count ? ':' : ';'), i == 0);
	}
	piece = t_str_new(64);
	str_append(piece, "bh=");
	dkim_body_hash(msg + body_pos, size - body_pos, piece);
	str_append_c(piece, ';');
	dkim_fold_append(sighdr, &line_start, str_c(piece), TRUE);
	dkim_fold_append(sighdr, &line_start, "b=", TRUE);

	/* RFC 6376 3.7: the signed headers, then this one without its
	   final CRLF */
	hashed = t_str_new(1024);
	array_foreach(&selected, hdr)
		frontdesk_dkim_canon_header_relaxed(hdr->data, hdr->size, hashed);
	frontdesk_dkim_canon_header_relaxed(str_data(sighdr), str_len(sighdr),
					    hashed);
	str_truncate(hashed, str_len(hashed) - 2);

	sig = t_buffer_create(512);
	if (dkim_sign_data(key, hashed, sig, error_r) < 0)
		return -1;
	piece = t_str_new(MAX_BASE64_ENCODED_SIZE(sig->used) + 1);
	base64_encode(sig->data, sig->used, piece);
	b64 = str_c(piece);

	/* fold inside b= freely: verifiers drop its value with all its FWS */
	b64_len = strlen(b64);
	while (b64_len > 0) {
		room = DKIM_LINE_MAX - (str_len(sighdr) - line_start);
		if (room < 8) {
			str_append(sighdr, "\r\n\t");
			line_start = str_len(sighdr) - 1;
			continue;
		}
		room = I_MIN(room, b64_len);
		str_append_data(sighdr, b64, room);
		b64 += room;
		b64_len -= room;
	}
	str_append(sighdr, "\r\n");
	str_append_str(dest, sighdr);
	return 0;
}
