/* ${frontdesk.<name>} with the variables extension: need, secondary,
   office, language, confidence, ticket, machine, urgent, unsure, followup,
   ack, ack_reason (frontdesk_verdict_value()). Read only; an unknown name
   is a compile error; without a verdict every value is "". */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "sieve-common.h"
#include "sieve-ast.h"
#include "sieve-binary.h"
#include "sieve-code.h"
#include "sieve-commands.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-dump.h"
#include "sieve-ext-variables.h"
#include "frontdesk-verdict.h"
#include "ext-frontdesk-common.h"

static bool vnspc_frontdesk_validate(struct sieve_validator *valdtr,
	const struct sieve_variables_namespace *nspc,
	struct sieve_ast_argument *arg, struct sieve_command *cmd,
	ARRAY_TYPE(sieve_variable_name) *var_name, void **var_data,
	bool assignment);
static bool vnspc_frontdesk_generate(const struct sieve_codegen_env *cgenv,
	const struct sieve_variables_namespace *nspc,
	struct sieve_ast_argument *arg, struct sieve_command *cmd,
	void *var_data);
static bool vnspc_frontdesk_dump_variable(const struct sieve_dumptime_env *denv,
	const struct sieve_variables_namespace *nspc,
	const struct sieve_operand *oprnd, sieve_size_t *address);
static int vnspc_frontdesk_read_variable(const struct sieve_runtime_env *renv,
	const struct sieve_variables_namespace *nspc,
	const struct sieve_operand *oprnd, sieve_size_t *address,
	string_t **str_r);

static const struct sieve_variables_namespace_def frontdesk_namespace = {
	SIEVE_OBJECT("frontdesk", &frontdesk_namespace_operand, 0),
	.validate = vnspc_frontdesk_validate,
	.generate = vnspc_frontdesk_generate,
	.dump_variable = vnspc_frontdesk_dump_variable,
	.read_variable = vnspc_frontdesk_read_variable,
};

static bool vnspc_frontdesk_validate(struct sieve_validator *valdtr,
	const struct sieve_variables_namespace *nspc ATTR_UNUSED,
	struct sieve_ast_argument *arg, struct sieve_command *cmd ATTR_UNUSED,
	ARRAY_TYPE(sieve_variable_name) *var_name, void **var_data,
	bool assignment)
{
	const struct sieve_variable_name *elems;
	unsigned int count;
	const char *name;

	elems = array_get(var_name, &count);
	if (count != 2 || elems[1].num_variable >= 0) {
		sieve_argument_validate_error(valdtr, arg,
			"vnd.frontdesk: invalid variable name in the frontdesk "
			"namespace: use ${frontdesk.<name>}, e.g. "
			"${frontdesk.need}");
		return FALSE;
	}
	name = str_c(elems[1].identifier);
	if (!frontdesk_verdict_value_known(name)) {
		sieve_argument_validate_error(valdtr, arg,
			"vnd.frontdesk: unknown variable `frontdesk.%s' "
			"(known: need, secondary, office, language, "
			"confidence, ticket, machine, urgent, unsure, "
			"followup, ack, ack_reason)", str_sanitize(name, 64));
		return FALSE;
	}
	if (assignment) {
		sieve_argument_validate_error(valdtr, arg,
			"vnd.frontdesk: cannot assign to `frontdesk.%s': "
			"frontdesk's verdict is read only", name);
		return FALSE;
	}
	*var_data = p_strdup(sieve_ast_pool(arg->ast), name);
	return TRUE;
}

static bool vnspc_frontdesk_generate(const struct sieve_codegen_env *cgenv,
	const struct sieve_variables_namespace *nspc ATTR_UNUSED,
	struct sieve_ast_argument *arg ATTR_UNUSED,
	struct sieve_command *cmd ATTR_UNUSED, void *var_data)
{
	const struct sieve_extension *this_ext = SIEVE_OBJECT_EXTENSION(nspc);
	const struct ext_frontdesk_context *ectx;

	if (this_ext == NULL)
		return FALSE;
	ectx = this_ext->context;
	sieve_variables_opr_namespace_variable_emit(cgenv->sblock,
		ectx->var_ext, this_ext, &frontdesk_namespace);
	sieve_binary_emit_cstring(cgenv->sblock, (const char *)var_data);
	return TRUE;
}

static bool vnspc_frontdesk_dump_variable(const struct sieve_dumptime_env *denv,
	const struct sieve_variables_namespace *nspc ATTR_UNUSED,
	const struct sieve_operand *oprnd, sieve_size_t *address)
{
	string_t *name;

	if (!sieve_binary_read_string(denv->sblock, address, &name))
		return FALSE;
	if (oprnd->field_name != NULL) {
		sieve_code_dumpf(denv, "%s: VAR ${frontdesk.%s}",
				 oprnd->field_name, str_c(name));
	} else {
		sieve_code_dumpf(denv, "VAR ${frontdesk.%s}", str_c(name));
	}
	return TRUE;
}

static int vnspc_frontdesk_read_variable(const struct sieve_runtime_env *renv,
	const struct sieve_variables_namespace *nspc,
	const struct sieve_operand *oprnd, sieve_size_t *address,
	string_t **str_r)
{
	const struct sieve_extension *this_ext = SIEVE_OBJECT_EXTENSION(nspc);
	const struct frontdesk_verdict *v;
	const char *none_reason, *value = NULL;
	string_t *name;
	bool from_delivery;

	if (!sieve_binary_read_string(renv->sblock, address, &name)) {
		sieve_runtime_trace_operand_error(renv, oprnd,
			"frontdesk variable operand corrupt: invalid name");
		return SIEVE_EXEC_BIN_CORRUPT;
	}
	if (str_r == NULL)
		return SIEVE_EXEC_OK;
	v = ext_frontdesk_get_verdict(renv, this_ext, &none_reason,
				      &from_delivery);
	if (v != NULL)
		value = frontdesk_verdict_value(v, str_c(name));
	if (value == NULL)
		value = "";
	*str_r = t_str_new_const(value, strlen(value));
	return SIEVE_EXEC_OK;
}

static const struct sieve_extension_objects frontdesk_namespaces =
	SIEVE_VARIABLES_DEFINE_NAMESPACE(frontdesk_namespace);

const struct sieve_operand_def frontdesk_namespace_operand = {
	.name = "frontdesk-namespace",
	.ext_def = &frontdesk_extension,
	.class = &sieve_variables_namespace_operand_class,
	.interface = &frontdesk_namespaces,
};

void ext_frontdesk_variables_init(const struct sieve_extension *ext,
				  struct sieve_validator *valdtr)
{
	const struct ext_frontdesk_context *ectx = ext->context;

	sieve_variables_namespace_register(ectx->var_ext, valdtr, ext,
					   &frontdesk_namespace);
}
