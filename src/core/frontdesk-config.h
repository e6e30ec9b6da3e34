#ifndef FRONTDESK_CONFIG_H
#define FRONTDESK_CONFIG_H

/* Reads the plugin { } settings of a Dovecot configuration file, the way
   the plugin sees them, for the tools that run outside Dovecot. Follows
   !include and !include_try. */

struct frontdesk_config;

/* Bounds: a configuration is small; past these it is not one. */
#define FRONTDESK_CONFIG_MAX_DEPTH 8
#define FRONTDESK_CONFIG_MAX_LINE 8192

int frontdesk_config_read(pool_t pool, const char *path,
			  struct frontdesk_config **config_r,
			  const char **error_r);
/* Set a value (command-line overrides). */
void frontdesk_config_set(struct frontdesk_config *config, const char *key,
			  const char *value);
/* A frontdesk_getenv_func_t. */
const char *frontdesk_config_getenv(const char *name, void *context);
struct frontdesk_config *frontdesk_config_new(pool_t pool);

#endif
