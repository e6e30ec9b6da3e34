#ifndef EXT_FRONTDESK_COMMON_H
#define EXT_FRONTDESK_COMMON_H

/* vnd.frontdesk: the Pigeonhole side. Every use of Pigeonhole's API is in
   src/sieve/ext-frontdesk*.c, tst-frontdesk.c, cmd-frontdesk-ack.c and
   sieve-frontdesk-plugin.c; sieve-frontdesk-verdict.c has none, so a port
   to another Pigeonhole line touches only these files. */

#include "sieve-common.h"

struct frontdesk_verdict;

struct ext_frontdesk_context {
	const struct sieve_extension *var_ext;
};

extern const struct sieve_extension_def frontdesk_extension;

/* tests */
extern const struct sieve_command_def tst_frontdesk_need;
extern const struct sieve_command_def tst_frontdesk_office;
extern const struct sieve_command_def tst_frontdesk_urgent;
extern const struct sieve_command_def tst_frontdesk_unsure;
extern const struct sieve_command_def tst_frontdesk_machine;
extern const struct sieve_command_def tst_frontdesk_language;
extern const struct sieve_command_def tst_frontdesk_followup;
extern const struct sieve_operation_def tst_frontdesk_operation;

/* the action */
extern const struct sieve_command_def cmd_frontdesk_ack;
extern const struct sieve_operation_def cmd_frontdesk_ack_operation;

/* ${frontdesk.*} */
extern const struct sieve_operand_def frontdesk_namespace_operand;
void ext_frontdesk_variables_init(const struct sieve_extension *ext,
				  struct sieve_validator *valdtr);

enum ext_frontdesk_operation {
	EXT_FRONTDESK_OPERATION_TEST,
	EXT_FRONTDESK_OPERATION_ACK,
};

/* The verdict for the message being filtered, looked up once per message
   (kept in the message context); NULL with none_reason_r when there is
   none. *from_delivery_r tells whether the delivery lent it. */
struct frontdesk_verdict *
ext_frontdesk_get_verdict(const struct sieve_runtime_env *renv,
			  const struct sieve_extension *ext,
			  const char **none_reason_r, bool *from_delivery_r);

#endif
