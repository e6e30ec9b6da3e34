/* The tests of vnd.frontdesk:

     frontdesk_need [COMPARATOR] [MATCH-TYPE] <needs: string-list>
     frontdesk_language [COMPARATOR] [MATCH-TYPE] <languages: string-list>
     frontdesk_office <"front" | "back">
     frontdesk_machine [<kinds: string-list>]
     frontdesk_urgent
     frontdesk_unsure
     frontdesk_followup

   One operation for all seven: an item code, then the test's operands.
   Wrong arguments that can be seen at compile time (an office other than
   front/back, an unknown machine kind) are compile errors. */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "sieve-common.h"
#include "sieve-commands.h"
#include "sieve-stringlist.h"
#include "sieve-code.h"
#include "sieve-comparators.h"
#include "sieve-match-types.h"
#include "sieve-validator.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-binary.h"
#include "sieve-dump.h"
#include "sieve-match.h"
#include "frontdesk-verdict.h"
#include "ext-frontdesk-common.h"

enum tst_frontdesk_item {
	TST_FRONTDESK_NEED = 0,
	TST_FRONTDESK_OFFICE,
	TST_FRONTDESK_URGENT,
	TST_FRONTDESK_UNSURE,
	TST_FRONTDESK_MACHINE,
	TST_FRONTDESK_LANGUAGE,
	TST_FRONTDESK_FOLLOWUP,

	TST_FRONTDESK_ITEM_COUNT
};

static bool tst_frontdesk_registered(struct sieve_validator *valdtr,
				     const struct sieve_extension *ext,
				     struct sieve_command_registration *reg);
static bool tst_frontdesk_validate(struct sieve_validator *valdtr,
				   struct sieve_command *tst);
static bool tst_frontdesk_generate(const struct sieve_codegen_env *cgenv,
				   struct sieve_command *cmd);

#define TST_FRONTDESK(ident, args, reg) { \
	.identifier = ident, \
	.type = SCT_TEST, \
	.positional_args = args, \
	.subtests = 0, \
	.block_allowed = FALSE, \
	.block_required = FALSE, \
	.registered = reg, \
	.validate = tst_frontdesk_validate, \
	.generate = tst_frontdesk_generate, \
}

const struct sieve_command_def tst_frontdesk_need =
	TST_FRONTDESK("frontdesk_need", 1, tst_frontdesk_registered);
const struct sieve_command_def tst_frontdesk_office =
	TST_FRONTDESK("frontdesk_office", 1, NULL);
const struct sieve_command_def tst_frontdesk_urgent =
	TST_FRONTDESK("frontdesk_urgent", 0, NULL);
const struct sieve_command_def tst_frontdesk_unsure =
	TST_FRONTDESK("frontdesk_unsure", 0, NULL);
/* -1: zero or one argument, checked in validate */
const struct sieve_command_def tst_frontdesk_machine =
	TST_FRONTDESK("frontdesk_machine", -1, NULL);
const struct sieve_command_def tst_frontdesk_language =
	TST_FRONTDESK("frontdesk_language", 1, tst_frontdesk_registered);
const struct sieve_command_def tst_frontdesk_followup =
	TST_FRONTDESK("frontdesk_followup", 0, NULL);

/* in item code order */
static const struct sieve_command_def *const tst_frontdesk_defs[] = {
	&tst_frontdesk_need, &tst_frontdesk_office, &tst_frontdesk_urgent,
	&tst_frontdesk_unsure, &tst_frontdesk_machine,
	&tst_frontdesk_language, &tst_frontdesk_followup,
};

static bool tst_frontdesk_operation_dump(const struct sieve_dumptime_env *denv,
					 sieve_size_t *address);
static int tst_frontdesk_operation_execute(const struct sieve_runtime_env *renv,
					   sieve_size_t *address);

const struct sieve_operation_def tst_frontdesk_operation = {
	.mnemonic = "FRONTDESK_TEST",
	.ext_def = &frontdesk_extension,
	.code = EXT_FRONTDESK_OPERATION_TEST,
	.dump = tst_frontdesk_operation_dump,
	.execute = tst_frontdesk_operation_execute,
};

static enum tst_frontdesk_item
tst_frontdesk_item(const struct sieve_command *cmd)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(tst_frontdesk_defs); i++) {
		if (cmd->def == tst_frontdesk_defs[i])
			return i;
	}
	i_unreached();
}

static bool
tst_frontdesk_registered(struct sieve_validator *valdtr,
			 const struct sieve_extension *ext ATTR_UNUSED,
			 struct sieve_command_registration *reg)
{
	sieve_comparators_link_tag(valdtr, reg, SIEVE_MATCH_OPT_COMPARATOR);
	sieve_match_types_link_tags(valdtr, reg, SIEVE_MATCH_OPT_MATCH_TYPE);
	return TRUE;
}

/* Every literal kind of frontdesk_machine must be a kind frontdesk knows:
   a typo would silently never match. */
static bool tst_frontdesk_validate_kind(struct sieve_validator *valdtr,
					struct sieve_ast_argument *arg)
{
	enum frontdesk_machine_kind kind;
	const char *name = sieve_ast_argument_strc(arg);

	if (frontdesk_machine_kind_parse(name, &kind) &&
	    kind != FRONTDESK_MACHINE_NONE)
		return TRUE;
	sieve_argument_validate_error(valdtr, arg,
		"frontdesk_machine: unknown machine kind '%s' (known: bounce, "
		"delay, receipt, report, auto-reply, challenge, list, pec, "
		"notification)", str_sanitize(name, 64));
	return FALSE;
}

static bool tst_frontdesk_validate_kinds(struct sieve_validator *valdtr,
					 struct sieve_ast_argument *arg)
{
	struct sieve_ast_argument *item;

	if (sieve_ast_argument_type(arg) == SAAT_STRING) {
		return arg->argument == NULL ||
			!sieve_argument_is_string_literal(arg) ||
			tst_frontdesk_validate_kind(valdtr, arg);
	}
	for (item = sieve_ast_strlist_first(arg); item != NULL;
	     item = sieve_ast_strlist_next(item)) {
		if (item->argument != NULL &&
		    sieve_argument_is_string_literal(item) &&
		    !tst_frontdesk_validate_kind(valdtr, item))
			return FALSE;
	}
	return TRUE;
}

static bool tst_frontdesk_validate(struct sieve_validator *valdtr,
				   struct sieve_command *tst)
{
	struct sieve_ast_argument *arg = tst->first_positional;
	const struct sieve_match_type mcht_default =
		SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	const struct sieve_comparator cmp_default =
		SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);
	const char *office;

	switch (tst_frontdesk_item(tst)) {
	case TST_FRONTDESK_NEED:
	case TST_FRONTDESK_LANGUAGE:
		if (!sieve_validate_positional_argument(valdtr, tst, arg,
				tst->def == &tst_frontdesk_need ?
				"needs" : "languages", 1, SAAT_STRING_LIST))
			return FALSE;
		if (!sieve_validator_argument_activate(valdtr, tst, arg,
						       FALSE))
			return FALSE;
		return sieve_match_type_validate(valdtr, tst, arg,
						 &mcht_default, &cmp_default);
	case TST_FRONTDESK_OFFICE:
		if (!sieve_validate_positional_argument(valdtr, tst, arg,
				"office", 1, SAAT_STRING))
			return FALSE;
		if (!sieve_validator_argument_activate(valdtr, tst, arg,
						       FALSE))
			return FALSE;
		/* a literal is checked now, a variable when it runs */
		if (sieve_argument_is_string_literal(arg)) {
			office = sieve_ast_argument_strc(arg);
			if (strcasecmp(office, "front") != 0 &&
			    strcasecmp(office, "back") != 0) {
				sieve_argument_validate_error(valdtr, arg,
					"frontdesk_office: the office is "
					"\"front\" or \"back\", not '%s'",
					str_sanitize(office, 64));
				return FALSE;
			}
		}
		return TRUE;
	case TST_FRONTDESK_MACHINE:
		if (arg == NULL)
			return TRUE;
		if (sieve_ast_argument_next(arg) != NULL) {
			sieve_command_validate_error(valdtr, tst,
				"frontdesk_machine takes at most one argument "
				"(a list of kinds), but %u are given",
				sieve_ast_argument_count(tst->ast_node));
			return FALSE;
		}
		if (!sieve_validate_positional_argument(valdtr, tst, arg,
				"kinds", 1, SAAT_STRING_LIST))
			return FALSE;
		if (!sieve_validator_argument_activate(valdtr, tst, arg,
						       FALSE))
			return FALSE;
		return tst_frontdesk_validate_kinds(valdtr, arg);
	case TST_FRONTDESK_URGENT:
	case TST_FRONTDESK_UNSURE:
	case TST_FRONTDESK_FOLLOWUP:
		return TRUE;
	case TST_FRONTDESK_ITEM_COUNT:
		break;
	}
	i_unreached();
}

static bool tst_frontdesk_generate(const struct sieve_codegen_env *cgenv,
				   struct sieve_command *cmd)
{
	enum tst_frontdesk_item item = tst_frontdesk_item(cmd);

	sieve_operation_emit(cgenv->sblock, cmd->ext, &tst_frontdesk_operation);
	sieve_binary_emit_byte(cgenv->sblock, (unsigned char)item);
	if (item == TST_FRONTDESK_MACHINE) {
		sieve_binary_emit_byte(cgenv->sblock,
			cmd->first_positional != NULL ? 1 : 0);
	}
	return sieve_generate_arguments(cgenv, cmd, NULL);
}

static bool tst_frontdesk_operation_dump(const struct sieve_dumptime_env *denv,
					 sieve_size_t *address)
{
	unsigned int item, has_kinds;

	if (!sieve_binary_read_byte(denv->sblock, address, &item) ||
	    item >= TST_FRONTDESK_ITEM_COUNT)
		return FALSE;
	sieve_code_dumpf(denv, "FRONTDESK_TEST %s",
			 tst_frontdesk_defs[item]->identifier);
	sieve_code_descend(denv);
	switch ((enum tst_frontdesk_item)item) {
	case TST_FRONTDESK_NEED:
	case TST_FRONTDESK_LANGUAGE:
		if (sieve_match_opr_optional_dump(denv, address, NULL) != 0)
			return FALSE;
		return sieve_opr_stringlist_dump(denv, address, "keys");
	case TST_FRONTDESK_OFFICE:
		return sieve_opr_string_dump(denv, address, "office");
	case TST_FRONTDESK_MACHINE:
		if (!sieve_binary_read_byte(denv->sblock, address, &has_kinds))
			return FALSE;
		return has_kinds == 0 ||
			sieve_opr_stringlist_dump(denv, address, "kinds");
	default:
		return TRUE;
	}
}

/* A string list of the need and the secondary need. */
struct tst_frontdesk_strlist {
	struct sieve_stringlist strlist;
	const char *values[3];
	unsigned int idx;
};

static int tst_frontdesk_strlist_next(struct sieve_stringlist *_strlist,
				      string_t **str_r)
{
	struct tst_frontdesk_strlist *l =
		(struct tst_frontdesk_strlist *)_strlist;
	const char *value = l->values[l->idx];

	if (value == NULL) {
		*str_r = NULL;
		return 0;
	}
	l->idx++;
	*str_r = t_str_new_const(value, strlen(value));
	return 1;
}

static void tst_frontdesk_strlist_reset(struct sieve_stringlist *_strlist)
{
	((struct tst_frontdesk_strlist *)_strlist)->idx = 0;
}

static struct sieve_stringlist *
tst_frontdesk_values(const struct sieve_runtime_env *renv,
		     const char *first, const char *second)
{
	struct tst_frontdesk_strlist *l;
	unsigned int n = 0;

	l = t_new(struct tst_frontdesk_strlist, 1);
	l->strlist.runenv = renv;
	l->strlist.exec_status = SIEVE_EXEC_OK;
	l->strlist.next_item = tst_frontdesk_strlist_next;
	l->strlist.reset = tst_frontdesk_strlist_reset;
	if (first != NULL && *first != '\0')
		l->values[n++] = first;
	if (second != NULL && *second != '\0')
		l->values[n++] = second;
	return &l->strlist;
}

static bool tst_frontdesk_kind_listed(struct sieve_stringlist *kinds,
				      enum frontdesk_machine_kind kind,
				      int *ret_r)
{
	const char *name = frontdesk_machine_kind_name(kind);
	string_t *item = NULL;
	int ret;

	while ((ret = sieve_stringlist_next_item(kinds, &item)) > 0) {
		if (strcasecmp(str_c(item), name) == 0)
			return TRUE;
	}
	*ret_r = ret < 0 ? kinds->exec_status : SIEVE_EXEC_OK;
	return FALSE;
}

static int tst_frontdesk_operation_execute(const struct sieve_runtime_env *renv,
					   sieve_size_t *address)
{
	const struct sieve_extension *this_ext = renv->oprtn->ext;
	struct sieve_match_type mcht = SIEVE_MATCH_TYPE_DEFAULT(is_match_type);
	struct sieve_comparator cmp =
		SIEVE_COMPARATOR_DEFAULT(i_ascii_casemap_comparator);
	struct sieve_stringlist *keys = NULL, *values;
	const struct frontdesk_verdict *v;
	unsigned int item, has_kinds = 0;
	const char *none_reason;
	string_t *office = NULL;
	bool from_delivery;
	int match = 0, ret = SIEVE_EXEC_OK;

	if (!sieve_binary_read_byte(renv->sblock, address, &item) ||
	    item >= TST_FRONTDESK_ITEM_COUNT) {
		sieve_runtime_trace_error(renv, "invalid frontdesk test item");
		return SIEVE_EXEC_BIN_CORRUPT;
	}
	switch ((enum tst_frontdesk_item)item) {
	case TST_FRONTDESK_NEED:
	case TST_FRONTDESK_LANGUAGE:
		if (sieve_match_opr_optional_read(renv, address, NULL, &ret,
						  &cmp, &mcht) < 0)
			return ret;
		if ((ret = sieve_opr_stringlist_read(renv, address, "keys",
						     &keys)) <= 0)
			return ret;
		break;
	case TST_FRONTDESK_OFFICE:
		if ((ret = sieve_opr_string_read(renv, address, "office",
						 &office)) <= 0)
			return ret;
		break;
	case TST_FRONTDESK_MACHINE:
		if (!sieve_binary_read_byte(renv->sblock, address,
					    &has_kinds))
			return SIEVE_EXEC_BIN_CORRUPT;
		if (has_kinds != 0 &&
		    (ret = sieve_opr_stringlist_read(renv, address, "kinds",
						     &keys)) <= 0)
			return ret;
		break;
	default:
		break;
	}

	sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS, "%s test",
			    tst_frontdesk_defs[item]->identifier);
	sieve_runtime_trace_descend(renv);
	v = ext_frontdesk_get_verdict(renv, this_ext, &none_reason,
				      &from_delivery);
	if (v == NULL) {
		sieve_runtime_trace(renv, SIEVE_TRLVL_TESTS,
				    "no frontdesk verdict (%s): false",
				    none_reason);
		sieve_interpreter_set_test_result(renv->interp, FALSE);
		return SIEVE_EXEC_OK;
	}
	ret = SIEVE_EXEC_OK;
	switch ((enum tst_frontdesk_item)item) {
	case TST_FRONTDESK_NEED:
		values = tst_frontdesk_values(renv, v->result->need,
					      v->result->secondary);
		sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
			"need `%s', secondary `%s'", v->result->need,
			v->result->secondary == NULL ? "" :
			v->result->secondary);
		if ((match = sieve_match(renv, &mcht, &cmp, values, keys,
					 &ret)) < 0)
			return ret;
		break;
	case TST_FRONTDESK_LANGUAGE:
		values = tst_frontdesk_values(renv, v->result->language, NULL);
		if ((match = sieve_match(renv, &mcht, &cmp, values, keys,
					 &ret)) < 0)
			return ret;
		break;
	case TST_FRONTDESK_OFFICE:
		match = strcasecmp(str_c(office),
				   frontdesk_office_name(v->office)) == 0;
		sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING, "office `%s'",
				    frontdesk_office_name(v->office));
		break;
	case TST_FRONTDESK_URGENT:
		match = v->result->urgent;
		break;
	case TST_FRONTDESK_UNSURE:
		match = v->result->unsure;
		break;
	case TST_FRONTDESK_FOLLOWUP:
		match = v->follow_up;
		break;
	case TST_FRONTDESK_MACHINE:
		sieve_runtime_trace(renv, SIEVE_TRLVL_MATCHING,
			"machine kind `%s' (guard: %s)",
			v->guard.machine == FRONTDESK_MACHINE_NONE ? "none" :
			frontdesk_machine_kind_name(v->guard.machine),
			v->guard.reason);
		if (v->guard.machine == FRONTDESK_MACHINE_NONE)
			match = 0;
		else if (keys == NULL)
			match = 1;
		else {
			match = tst_frontdesk_kind_listed(keys,
				v->guard.machine, &ret) ? 1 : 0;
			if (ret <= 0)
				return ret;
		}
		break;
	case TST_FRONTDESK_ITEM_COUNT:
		i_unreached();
	}
	sieve_interpreter_set_test_result(renv->interp, match > 0);
	return SIEVE_EXEC_OK;
}
