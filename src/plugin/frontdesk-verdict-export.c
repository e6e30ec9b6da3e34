/* The one symbol the Sieve extension (lib90_sieve_frontdesk_plugin.so)
   looks up in this module: the verdict of the delivery in progress, so a
   Sieve script reads the classification the delivery made instead of a
   second one, and its frontdesk_ack request reaches the acknowledgment.
   Resolved with dlsym() at run time (Dovecot loads modules RTLD_GLOBAL):
   the Sieve module works without this one too (sieve-test, imapsieve). */

#include "lib.h"
#include "mail-user.h"
#include "frontdesk-verdict.h"
#include "frontdesk-plugin.h"

struct frontdesk_verdict *
frontdesk_delivery_verdict(struct mail_user *user, unsigned int abi)
{
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(user);
	static bool abi_reported = FALSE;

	if (fuser == NULL || fuser->cur_verdict == NULL)
		return NULL;
	if (abi != FRONTDESK_VERDICT_ABI) {
		/* the two modules come from different builds */
		if (!abi_reported) {
			e_error(fuser->event, "the Sieve extension was built "
				"for verdict ABI %u, this module has %u: "
				"install both from one build", abi,
				FRONTDESK_VERDICT_ABI);
			abi_reported = TRUE;
		}
		return NULL;
	}
	return fuser->cur_verdict;
}
