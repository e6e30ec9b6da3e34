/* lib90_sieve_frontdesk_plugin.so: the Sieve plugin that registers the
   vnd.frontdesk extension (sieve_plugins = sieve_frontdesk). Not enabled
   implicitly: the admin adds it to sieve_extensions or
   sieve_global_extensions. */

#include "lib.h"
#include "sieve-common.h"
#include "sieve-error.h"
#include "sieve-extensions.h"
#include "pigeonhole-config.h"
#include "sieve-ext-variables.h"
#include "frontdesk-compat-sieve.h"
#include "frontdesk-verdict.h"
#include "sieve-frontdesk-verdict.h"
#include "ext-frontdesk-common.h"

const char *sieve_frontdesk_plugin_version = PIGEONHOLE_ABI_VERSION;

FRONTDESK_SIEVE_PLUGIN_LOAD_RET
sieve_frontdesk_plugin_load(struct sieve_instance *svinst, void **context);
void sieve_frontdesk_plugin_unload(struct sieve_instance *svinst,
				   void *context);
void sieve_frontdesk_plugin_init(void);
void sieve_frontdesk_plugin_deinit(void);

FRONTDESK_SIEVE_PLUGIN_LOAD_RET
sieve_frontdesk_plugin_load(struct sieve_instance *svinst, void **context)
{
	const struct sieve_extension *ext;

	/* FALSE: only where sieve_extensions names it */
	ext = frontdesk_sieve_extension_register(svinst, &frontdesk_extension,
						 FALSE);
	*context = (void *)ext;
	FRONTDESK_SIEVE_PLUGIN_LOAD_RETURN(ext != NULL);
}

void sieve_frontdesk_plugin_unload(struct sieve_instance *svinst ATTR_UNUSED,
				   void *context)
{
	const struct sieve_extension *ext = context;

	if (ext != NULL)
		sieve_extension_unregister(ext);
	/* the model cache of sieve-test and imapsieve (module deinit is not
	   reached by every tool) */
	frontdesk_sieve_verdict_deinit();
}

void sieve_frontdesk_plugin_init(void)
{
}

void sieve_frontdesk_plugin_deinit(void)
{
	frontdesk_sieve_verdict_deinit();
}
