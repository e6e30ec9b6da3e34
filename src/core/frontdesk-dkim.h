#ifndef FRONTDESK_DKIM_H
#define FRONTDESK_DKIM_H

/* DKIM signatures (RFC 6376, RFC 8463) for our automatic acknowledgments:
   receivers that check DMARC otherwise junk or reject them. */

struct frontdesk_dkim_key;

/* Headers signed when the caller gives none (each only when present). */
#define FRONTDESK_DKIM_DEFAULT_HEADERS \
	"From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", \
	"References", "MIME-Version", "Content-Type", "Auto-Submitted", \
	"Content-Language"

/* Load a PEM private key (RSA or Ed25519, PKCS#8 or traditional). The
   algorithm follows the key type: rsa-sha256 or ed25519-sha256. */
int frontdesk_dkim_key_load(const char *path, const char *domain,
			    const char *selector,
			    struct frontdesk_dkim_key **key_r,
			    const char **error_r);
void frontdesk_dkim_key_free(struct frontdesk_dkim_key **key);

/* "rsa-sha256" or "ed25519-sha256". */
const char *frontdesk_dkim_key_get_algorithm(const struct frontdesk_dkim_key *key);
/* Append the public key's DNS TXT record ("v=DKIM1; k=...; p=...") to
   dest: what to publish at <selector>._domainkey.<domain>. */
int frontdesk_dkim_key_get_dns_record(const struct frontdesk_dkim_key *key,
				      string_t *dest, const char **error_r);

/* Sign a complete RFC 5322 message (CRLF line endings, headers, empty
   line, body). Appends one folded "DKIM-Signature: ...\r\n" header
   (ready to be prepended to the message) to dest. Headers signed: those of
   sign_headers (NULL = a sensible default: From To Subject Date
   Message-ID In-Reply-To References MIME-Version Content-Type
   Auto-Submitted Content-Language) that are present, each once; From must be
   present (and is signed even when sign_headers omits it, RFC 6376 5.4).
   c=relaxed/relaxed, t=now, no l=. Bare LF line ends are read as CRLF. */
int frontdesk_dkim_sign(const struct frontdesk_dkim_key *key,
			const void *message, size_t size,
			const char *const *sign_headers, time_t now,
			string_t *dest, const char **error_r);

/* Relaxed canonicalization (RFC 6376 3.4.2 and 3.4.4), exposed for tests.
   header is one whole field, folding included, with or without its final
   line end; the result ends with CRLF. */
void frontdesk_dkim_canon_header_relaxed(const void *header, size_t size,
					 string_t *dest);
void frontdesk_dkim_canon_body_relaxed(const void *body, size_t size,
				       string_t *dest);

#endif
