#ifndef FRONTDESK_COMPAT_SIEVE_H
#define FRONTDESK_COMPAT_SIEVE_H

/* Pigeonhole 0.5 (Dovecot 2.3) / 2.4 differences that the Sieve extension
   (src/sieve) meets, in one place. Include after the Sieve headers.
   - a Sieve plugin's *_load() returns int in 2.4 (void in 2.3):
     FRONTDESK_SIEVE_PLUGIN_LOAD_RET / _RETURN
   - an extension's .load returns int 0/-1 in 2.4 (bool in 2.3):
     FRONTDESK_SIEVE_EXT_LOAD_RET / _OK
   - sieve_extension_register() and sieve_ext_variables_get_extension()
     return int with ext_r in 2.4 (the extension in 2.3): the functions
     below return the extension, or NULL. */

#include "frontdesk-compat.h"

#if FRONTDESK_DOVECOT24
#  define FRONTDESK_SIEVE_PLUGIN_LOAD_RET int
#  define FRONTDESK_SIEVE_PLUGIN_LOAD_RETURN(ok) return (ok) ? 0 : -1
#  define FRONTDESK_SIEVE_EXT_LOAD_RET int
#  define FRONTDESK_SIEVE_EXT_LOAD_OK 0
#else
#  define FRONTDESK_SIEVE_PLUGIN_LOAD_RET void
#  define FRONTDESK_SIEVE_PLUGIN_LOAD_RETURN(ok) (void)(ok); return
#  define FRONTDESK_SIEVE_EXT_LOAD_RET bool
#  define FRONTDESK_SIEVE_EXT_LOAD_OK TRUE
#endif

static inline const struct sieve_extension *
frontdesk_sieve_extension_register(struct sieve_instance *svinst,
				   const struct sieve_extension_def *extdef,
				   bool load)
{
#if FRONTDESK_DOVECOT24
	const struct sieve_extension *ext;

	if (sieve_extension_register(svinst, extdef, load, &ext) < 0)
		return NULL;
	return ext;
#else
	return sieve_extension_register(svinst, extdef, load);
#endif
}

static inline const struct sieve_extension *
frontdesk_sieve_variables_extension(struct sieve_instance *svinst)
{
#if FRONTDESK_DOVECOT24
	const struct sieve_extension *ext;

	if (sieve_ext_variables_get_extension(svinst, &ext) < 0)
		return NULL;
	return ext;
#else
	return sieve_ext_variables_get_extension(svinst);
#endif
}

#endif
