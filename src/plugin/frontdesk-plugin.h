#ifndef FRONTDESK_PLUGIN_H
#define FRONTDESK_PLUGIN_H

#include "module-context.h"
#include "mail-user.h"

struct frontdesk_settings;
struct frontdesk_model;

struct frontdesk_user {
	union mail_user_module_context module_ctx;
	struct event *event;
	/* where the settings come from (frontdesk-compat-storage.h) */
	struct frontdesk_user_settings *user_set;
	/* NULL when frontdesk is disabled for this user or its settings are
	   invalid: the user then gets plain delivery */
	const struct frontdesk_settings *set;
	/* keywords of the delivery in progress; NULL outside one */
	const char *const *cur_keywords;
	/* where the delivery in progress stored the mail; NULL outside one */
	struct frontdesk_stored *cur_stored;
	/* the verdict of the delivery in progress, lent to the Sieve
	   extension; NULL outside one */
	struct frontdesk_verdict *cur_verdict;
};

#define FRONTDESK_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, frontdesk_user_module)
extern MODULE_CONTEXT_DEFINE(frontdesk_user_module, &mail_user_module_register);

extern struct event_category event_category_frontdesk;

extern const char *frontdesk_plugin_version;
extern const char frontdesk_plugin_binary_dependency[];

void frontdesk_plugin_init(struct module *module);
void frontdesk_plugin_deinit(void);

/* The model for these settings, loaded once per process and reloaded when
   a file changes. NULL with error_r when it cannot be loaded. */
const struct frontdesk_model *
frontdesk_model_get(const struct frontdesk_settings *set, const char **error_r);

/* The process-wide raw mail user for building the tagged message. */
struct mail_user *frontdesk_raw_user_get(struct mail_user *user);

/* Exported for the Sieve extension (frontdesk-verdict.h). */
struct frontdesk_verdict *
frontdesk_delivery_verdict(struct mail_user *user, unsigned int abi);

void frontdesk_deliver_init(void);
void frontdesk_deliver_deinit(void);

#endif
