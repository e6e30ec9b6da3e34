/* The action of vnd.frontdesk:

     frontdesk_ack [:template <name: string>] [:noack]

   asks frontdesk to acknowledge the message (with the template set
   <frontdesk_templates>/<name>/ack.<lang>.txt), or with :noack withholds
   the acknowledgment frontdesk would send. A :noack anywhere in the run
   (sieve_before, the user's script, sieve_after) withholds; otherwise the
   last request's template counts. A request never beats the rules:
   machine mail, follow-ups, loops and limits stay unanswered, and a
   refused request says why in the trace, the log and the result. The
   delivery reads the request after the script ran (frontdesk-verdict.h). */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "sieve-common.h"
#include "sieve-commands.h"
#include "sieve-code.h"
#include "sieve-actions.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-binary.h"
#include "sieve-dump.h"
#include "sieve-result.h"
#include "frontdesk-verdict.h"
#include "ext-frontdesk-common.h"

enum cmd_frontdesk_ack_optional {
	OPT_END,
	OPT_TEMPLATE,
	OPT_NOACK,
};

static bool cmd_frontdesk_ack_validate_template(struct sieve_validator *valdtr,
					struct sieve_ast_argument **arg,
					struct sieve_command *cmd);

static const struct sieve_argument_def frontdesk_ack_template_tag = {
	.identifier = "template",
	.validate = cmd_frontdesk_ack_validate_template,
};

static const struct sieve_argument_def frontdesk_ack_noack_tag = {
	.identifier = "noack",
};

static bool
cmd_frontdesk_ack_registered(struct sieve_validator *valdtr,
			     const struct sieve_extension *ext,
			     struct sieve_command_registration *reg);
static bool cmd_frontdesk_ack_validate(struct sieve_validator *valdtr,
				       struct sieve_command *cmd);
static bool cmd_frontdesk_ack_generate(const struct sieve_codegen_env *cgenv,
				       struct sieve_command *cmd);

const struct sieve_command_def cmd_frontdesk_ack = {
	.identifier = "frontdesk_ack",
	.type = SCT_COMMAND,
	.positional_args = 0,
	.subtests = 0,
	.block_allowed = FALSE,
	.block_required = FALSE,
	.registered = cmd_frontdesk_ack_registered,
	.validate = cmd_frontdesk_ack_validate,
	.generate = cmd_frontdesk_ack_generate,
};

static bool
cmd_frontdesk_ack_operation_dump(const struct sieve_dumptime_env *denv,
				 sieve_size_t *address);
static int
cmd_frontdesk_ack_operation_execute(const struct sieve_runtime_env *renv,
				    sieve_size_t *address);

const struct sieve_operation_def cmd_frontdesk_ack_operation = {
	.mnemonic = "FRONTDESK_ACK",
	.ext_def = &frontdesk_extension,
	.code = EXT_FRONTDESK_OPERATION_ACK,
	.dump = cmd_frontdesk_ack_operation_dump,
	.execute = cmd_frontdesk_ack_operation_execute,
};

/* The action in the result. */
struct act_frontdesk_ack_context {
	enum frontdesk_script_ack request;
	const char *template_name;
	/* why the request cannot be honoured, or NULL */
	const char *refusal;
	/* the delivery's verdict the request goes to; NULL when computed
	   here (sieve-test) or when there is none */
	struct frontdesk_verdict *verdict;
	const char *none_reason;
};

static int
act_frontdesk_ack_check_duplicate(const struct sieve_runtime_env *renv,
				  const struct sieve_action *act,
				  const struct sieve_action *act_other);
static void act_frontdesk_ack_print(const struct sieve_action *action,
				    const struct sieve_result_print_env *penv,
				    bool *keep);
static int act_frontdesk_ack_commit(const struct sieve_action_exec_env *aenv,
				    void *tr_context);

static const struct sieve_action_def act_frontdesk_ack = {
	.name = "frontdesk_ack",
	.check_duplicate = act_frontdesk_ack_check_duplicate,
	.print = act_frontdesk_ack_print,
	.commit = act_frontdesk_ack_commit,
};

/* --- validation ------------------------------------------------------- */

static bool cmd_frontdesk_ack_validate_template(struct sieve_validator *valdtr,
					struct sieve_ast_argument **arg,
					struct sieve_command *cmd)
{
	struct sieve_ast_argument *tag = *arg;
	const char *name;

	*arg = sieve_ast_arguments_detach(*arg, 1);
	if (!sieve_validate_tag_parameter(valdtr, cmd, tag, *arg, NULL, 0,
					  SAAT_STRING, FALSE))
		return FALSE;
	if ((*arg)->argument != NULL &&
	    sieve_argument_is_string_literal(*arg)) {
		name = sieve_ast_argument_strc(*arg);
		if (!frontdesk_template_name_valid(name)) {
			sieve_argument_validate_error(valdtr, *arg,
				"frontdesk_ack: invalid :template name '%s' "
				"(1 to %d letters, digits, '-' or '_')",
				str_sanitize(name, 64),
				FRONTDESK_TEMPLATE_NAME_MAX);
			return FALSE;
		}
	}
	*arg = sieve_ast_argument_next(*arg);
	return TRUE;
}

static bool
cmd_frontdesk_ack_registered(struct sieve_validator *valdtr,
			     const struct sieve_extension *ext,
			     struct sieve_command_registration *reg)
{
	sieve_validator_register_tag(valdtr, reg, ext,
				     &frontdesk_ack_template_tag, OPT_TEMPLATE);
	sieve_validator_register_tag(valdtr, reg, ext,
				     &frontdesk_ack_noack_tag, OPT_NOACK);
	return TRUE;
}

static bool cmd_frontdesk_ack_validate(struct sieve_validator *valdtr,
				       struct sieve_command *cmd)
{
	struct sieve_ast_argument *arg;
	bool template = FALSE, noack = FALSE;

	for (arg = sieve_ast_argument_first(cmd->ast_node); arg != NULL;
	     arg = sieve_ast_argument_next(arg)) {
		if (arg->argument == NULL)
			continue;
		if (arg->argument->id_code == OPT_TEMPLATE)
			template = TRUE;
		else if (arg->argument->id_code == OPT_NOACK)
			noack = TRUE;
	}
	if (template && noack) {
		sieve_command_validate_error(valdtr, cmd,
			"frontdesk_ack: :template and :noack exclude each "
			"other (a withheld acknowledgment has no template)");
		return FALSE;
	}
	return TRUE;
}

static bool cmd_frontdesk_ack_generate(const struct sieve_codegen_env *cgenv,
				       struct sieve_command *cmd)
{
	sieve_operation_emit(cgenv->sblock, cmd->ext,
			     &cmd_frontdesk_ack_operation);
	return sieve_generate_arguments(cgenv, cmd, NULL);
}

static bool
cmd_frontdesk_ack_operation_dump(const struct sieve_dumptime_env *denv,
				 sieve_size_t *address)
{
	int opt_code = 0, opt;

	sieve_code_dumpf(denv, "FRONTDESK_ACK");
	sieve_code_descend(denv);
	for (;;) {
		if ((opt = sieve_opr_optional_dump(denv, address,
						   &opt_code)) < 0)
			return FALSE;
		if (opt == 0)
			break;
		switch (opt_code) {
		case OPT_TEMPLATE:
			if (!sieve_opr_string_dump(denv, address, "template"))
				return FALSE;
			break;
		case OPT_NOACK:
			sieve_code_dumpf(denv, "noack");
			break;
		default:
			return FALSE;
		}
	}
	return TRUE;
}

/* --- execution -------------------------------------------------------- */

static int
cmd_frontdesk_ack_operation_execute(const struct sieve_runtime_env *renv,
				    sieve_size_t *address)
{
	const struct sieve_extension *this_ext = renv->oprtn->ext;
	struct act_frontdesk_ack_context *act;
	struct frontdesk_verdict *v;
	string_t *template = NULL;
	const char *none_reason;
	bool noack = FALSE, from_delivery;
	int opt_code = 0, opt, ret = SIEVE_EXEC_OK;
	pool_t pool;

	for (;;) {
		if ((opt = sieve_opr_optional_read(renv, address,
						   &opt_code)) < 0)
			return SIEVE_EXEC_BIN_CORRUPT;
		if (opt == 0)
			break;
		switch (opt_code) {
		case OPT_TEMPLATE:
			ret = sieve_opr_string_read(renv, address, "template",
						    &template);
			break;
		case OPT_NOACK:
			noack = TRUE;
			break;
		default:
			sieve_runtime_trace_error(renv,
				"unknown optional operand");
			return SIEVE_EXEC_BIN_CORRUPT;
		}
		if (ret <= 0)
			return ret;
	}

	pool = sieve_result_pool(renv->result);
	act = p_new(pool, struct act_frontdesk_ack_context, 1);
	act->request = noack ? FRONTDESK_SCRIPT_ACK_WITHHOLD :
		FRONTDESK_SCRIPT_ACK_REQUEST;
	if (template != NULL) {
		if (!frontdesk_template_name_valid(str_c(template))) {
			sieve_runtime_error(renv, NULL,
				"frontdesk_ack: invalid :template name '%s' "
				"(1 to %d letters, digits, '-' or '_')",
				str_sanitize(str_c(template), 64),
				FRONTDESK_TEMPLATE_NAME_MAX);
			return SIEVE_EXEC_FAILURE;
		}
		act->template_name = p_strdup(pool, str_c(template));
	}

	v = ext_frontdesk_get_verdict(renv, this_ext, &none_reason,
				      &from_delivery);
	act->verdict = from_delivery ? v : NULL;
	act->none_reason = p_strdup(pool, none_reason);
	if (v != NULL && !noack) {
		act->refusal = p_strdup(pool,
					frontdesk_verdict_ack_refusal(v));
	}

	if (sieve_runtime_trace_active(renv, SIEVE_TRLVL_ACTIONS)) {
		sieve_runtime_trace(renv, 0, "frontdesk_ack action");
		sieve_runtime_trace_descend(renv);
		if (noack) {
			sieve_runtime_trace(renv, 0, "withhold the "
					    "acknowledgment");
		} else {
			sieve_runtime_trace(renv, 0, "request an "
				"acknowledgment%s%s",
				act->template_name == NULL ? "" :
				" with template ",
				act->template_name == NULL ? "" :
				act->template_name);
		}
	}
	if (act->refusal != NULL) {
		/* the guard's word is final: say so where the admin looks */
		sieve_runtime_log(renv, NULL, "frontdesk_ack refused: "
				  "frontdesk never acknowledges this message "
				  "(%s)", act->refusal);
	} else if (v == NULL) {
		sieve_runtime_trace(renv, SIEVE_TRLVL_ACTIONS,
				    "no frontdesk verdict (%s): nothing to "
				    "acknowledge", none_reason);
	}

	if (sieve_result_add_action(renv, this_ext, "frontdesk_ack",
				    &act_frontdesk_ack, NULL, act, 0,
				    FALSE) < 0)
		return SIEVE_EXEC_FAILURE;
	return SIEVE_EXEC_OK;
}

/* One frontdesk_ack per result: a :noack anywhere withholds (when unsure,
   say less), otherwise the last request's template counts. An action of a
   script that already ran (sieve_before) is done: the new one is added and
   its commit applies the same rule to the verdict. */
static int
act_frontdesk_ack_check_duplicate(const struct sieve_runtime_env *renv,
				  const struct sieve_action *act,
				  const struct sieve_action *act_other)
{
	struct act_frontdesk_ack_context *ctx = act->context;
	struct act_frontdesk_ack_context *other = act_other->context;

	if (sieve_action_is_executed(act_other, renv->result))
		return 0;
	if (other->request != FRONTDESK_SCRIPT_ACK_WITHHOLD ||
	    ctx->request == FRONTDESK_SCRIPT_ACK_WITHHOLD)
		*other = *ctx;
	return 1;
}

static void act_frontdesk_ack_print(const struct sieve_action *action,
				    const struct sieve_result_print_env *penv,
				    bool *keep ATTR_UNUSED)
{
	const struct act_frontdesk_ack_context *ctx = action->context;

	if (ctx->request == FRONTDESK_SCRIPT_ACK_WITHHOLD) {
		sieve_result_action_printf(penv, "withhold frontdesk's "
					   "acknowledgment");
	} else if (ctx->refusal != NULL) {
		sieve_result_action_printf(penv, "frontdesk acknowledgment "
			"requested: refused (%s)", ctx->refusal);
	} else {
		sieve_result_action_printf(penv, "frontdesk acknowledgment "
			"requested%s%s",
			ctx->template_name == NULL ? "" : " with template ",
			ctx->template_name == NULL ? "" : ctx->template_name);
	}
}

static int act_frontdesk_ack_commit(const struct sieve_action_exec_env *aenv,
				    void *tr_context ATTR_UNUSED)
{
	const struct act_frontdesk_ack_context *ctx = aenv->action->context;
	struct frontdesk_verdict *v = ctx->verdict;

	if (v == NULL) {
		/* sieve-test -e, imapsieve: no delivery to acknowledge */
		e_debug(aenv->event, "frontdesk_ack: no delivery in progress, "
			"nothing to acknowledge");
		return SIEVE_EXEC_OK;
	}
	if (v->script_ack == FRONTDESK_SCRIPT_ACK_WITHHOLD) {
		/* an earlier script of this delivery withheld it */
		return SIEVE_EXEC_OK;
	}
	v->script_ack = ctx->request;
	v->script_template[0] = '\0';
	if (ctx->template_name != NULL) {
		i_assert(strlen(ctx->template_name) <
			 sizeof(v->script_template));
		memcpy(v->script_template, ctx->template_name,
		       strlen(ctx->template_name) + 1);
	}
	return SIEVE_EXEC_OK;
}
