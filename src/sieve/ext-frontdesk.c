/* Extension vnd.frontdesk: Sieve scripts read the verdict frontdesk made
   for a message (need, office, urgency, machine kind, language, ticket)
   and ask for, change or withhold its acknowledgment. Grammar and recipes
   in docs/sieve.md. */

#include "lib.h"
#include "smtp-address.h"
#include "sieve-common.h"
#include "sieve-extensions.h"
#include "sieve-commands.h"
#include "sieve-validator.h"
#include "sieve-interpreter.h"
#include "sieve-message.h"
#include "sieve-ext-variables.h"
#include "frontdesk-verdict.h"
#include "sieve-frontdesk-verdict.h"
#include "ext-frontdesk-common.h"
#include "frontdesk-compat-sieve.h"

static const struct sieve_operation_def *ext_frontdesk_operations[] = {
	&tst_frontdesk_operation,
	&cmd_frontdesk_ack_operation,
};

static FRONTDESK_SIEVE_EXT_LOAD_RET
ext_frontdesk_load(const struct sieve_extension *ext, void **context);
static void ext_frontdesk_unload(const struct sieve_extension *ext);
static bool ext_frontdesk_validator_load(const struct sieve_extension *ext,
					 struct sieve_validator *valdtr);

const struct sieve_extension_def frontdesk_extension = {
	.name = "vnd.frontdesk",
	.load = ext_frontdesk_load,
	.unload = ext_frontdesk_unload,
	.validator_load = ext_frontdesk_validator_load,
	SIEVE_EXT_DEFINE_OPERATIONS(ext_frontdesk_operations),
	SIEVE_EXT_DEFINE_OPERAND(frontdesk_namespace_operand),
};

static FRONTDESK_SIEVE_EXT_LOAD_RET
ext_frontdesk_load(const struct sieve_extension *ext, void **context)
{
	struct ext_frontdesk_context *ectx;

	if (*context != NULL)
		ext_frontdesk_unload(ext);
	ectx = i_new(struct ext_frontdesk_context, 1);
	ectx->var_ext = frontdesk_sieve_variables_extension(ext->svinst);
	*context = ectx;
	return FRONTDESK_SIEVE_EXT_LOAD_OK;
}

static void ext_frontdesk_unload(const struct sieve_extension *ext)
{
	struct ext_frontdesk_context *ectx = ext->context;

	i_free(ectx);
}

static bool ext_frontdesk_validator_load(const struct sieve_extension *ext,
					 struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &tst_frontdesk_need);
	sieve_validator_register_command(valdtr, ext, &tst_frontdesk_office);
	sieve_validator_register_command(valdtr, ext, &tst_frontdesk_urgent);
	sieve_validator_register_command(valdtr, ext, &tst_frontdesk_unsure);
	sieve_validator_register_command(valdtr, ext, &tst_frontdesk_machine);
	sieve_validator_register_command(valdtr, ext,
					 &tst_frontdesk_language);
	sieve_validator_register_command(valdtr, ext,
					 &tst_frontdesk_followup);
	sieve_validator_register_command(valdtr, ext, &cmd_frontdesk_ack);
	ext_frontdesk_variables_init(ext, valdtr);
	return TRUE;
}

static const char *smtp_address_or_null(const struct smtp_address *addr)
{
	return addr == NULL ? NULL : smtp_address_encode(addr);
}

struct frontdesk_verdict *
ext_frontdesk_get_verdict(const struct sieve_runtime_env *renv,
			  const struct sieve_extension *ext,
			  const char **none_reason_r, bool *from_delivery_r)
{
	const struct sieve_execute_env *eenv = renv->exec_env;
	const struct sieve_message_data *msgdata = eenv->msgdata;
	struct frontdesk_sieve_verdict *sv;
	pool_t pool;

	sv = (struct frontdesk_sieve_verdict *)
		sieve_message_context_extension_get(renv->msgctx, ext);
	if (sv == NULL) {
		pool = sieve_message_context_pool(renv->msgctx);
		sv = p_new(pool, struct frontdesk_sieve_verdict, 1);
		frontdesk_sieve_verdict_get(eenv->scriptenv->user,
			msgdata->mail,
			smtp_address_or_null(msgdata->envelope.mail_from),
			smtp_address_or_null(msgdata->envelope.rcpt_to),
			renv->event, pool, sv);
		sieve_message_context_extension_set(renv->msgctx, ext, sv);
	}
	*none_reason_r = sv->none_reason;
	*from_delivery_r = sv->from_delivery;
	return sv->verdict;
}
