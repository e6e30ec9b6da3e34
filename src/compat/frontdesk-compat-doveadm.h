#ifndef FRONTDESK_COMPAT_DOVEADM_H
#define FRONTDESK_COMPAT_DOVEADM_H

/* Dovecot 2.3 / 2.4 differences in doveadm's mail command API that
   `doveadm frontdesk` (src/doveadm) meets, in one place. Include after
   doveadm-mail.h. On both lines the commands read their options and
   arguments by name from ctx->cctx (doveadm_cmd_param_*()); what differs:
   - a mail command's init() gets the positional arguments too in 2.3, only
     the context in 2.4: declare it with FRONTDESK_DOVEADM_INIT_ARGS(ctx).
   - 2.3 turns each -option into a getopt() call of the command's
     parse_arg() and refuses an option when there is none; 2.4 has no
     parse_arg (nor getopt_args): frontdesk_doveadm_cmd_options() says which
     options the command takes. */

#include "frontdesk-compat.h"

#if FRONTDESK_DOVECOT24
#  define FRONTDESK_DOVEADM_INIT_ARGS(ctx) \
	struct doveadm_mail_cmd_context *ctx
#else
#  define FRONTDESK_DOVEADM_INIT_ARGS(ctx) \
	struct doveadm_mail_cmd_context *ctx, \
	const char *const *frontdesk_unused_args ATTR_UNUSED
#endif

#if !FRONTDESK_DOVECOT24
static inline bool
frontdesk_doveadm_parse_arg(struct doveadm_mail_cmd_context *ctx ATTR_UNUSED,
			    int c ATTR_UNUSED)
{
	/* the value is read from ctx->cctx in init() */
	return TRUE;
}
#endif

/* The command takes the -options in getopt_args (as getopt() spells them),
   declared in its doveadm_cmd_ver2 parameters. */
static inline void
frontdesk_doveadm_cmd_options(struct doveadm_mail_cmd_context *ctx,
			      const char *getopt_args)
{
#if FRONTDESK_DOVECOT24
	(void)ctx;
	(void)getopt_args;
#else
	ctx->getopt_args = getopt_args;
	ctx->v.parse_arg = frontdesk_doveadm_parse_arg;
#endif
}

#endif
