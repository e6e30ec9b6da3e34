/* A reader for the plugin { } block of dovecot.conf (Dovecot 2.3; on 2.4 the
   top-level frontdesk_* keys), so frontdesk-classify
   decides with exactly the settings the plugin would use. Only what the
   plugin reads is understood: sections, key = value, quotes, comments and
   !include; anything else is skipped. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-config.h"

#include <fcntl.h>
#include <unistd.h>
#include <glob.h>

struct config_kv {
	const char *key, *value;
};

struct frontdesk_config {
	pool_t pool;
	ARRAY(struct config_kv) kvs;
};

struct frontdesk_config *frontdesk_config_new(pool_t pool)
{
	struct frontdesk_config *config = p_new(pool, struct frontdesk_config, 1);

	config->pool = pool;
	p_array_init(&config->kvs, pool, 16);
	return config;
}

void frontdesk_config_set(struct frontdesk_config *config, const char *key,
			  const char *value)
{
	struct config_kv *kv;

	array_foreach_modifiable(&config->kvs, kv) {
		if (strcmp(kv->key, key) == 0) {
			kv->value = p_strdup(config->pool, value);
			return;
		}
	}
	kv = array_append_space(&config->kvs);
	kv->key = p_strdup(config->pool, key);
	kv->value = p_strdup(config->pool, value);
}

const char *frontdesk_config_getenv(const char *name, void *context)
{
	struct frontdesk_config *config = context;
	const struct config_kv *kv;

	array_foreach(&config->kvs, kv) {
		if (strcmp(kv->key, name) == 0)
			return kv->value;
	}
	return NULL;
}

static const char *config_unquote(const char *value)
{
	size_t len = strlen(value);

	if (len >= 2 && (value[0] == '"' || value[0] == '\'') &&
	    value[len-1] == value[0])
		return t_strndup(value + 1, len - 2);
	return value;
}

static const char *config_strip_comment(const char *line)
{
	const char *p;
	char quote = '\0';

	for (p = line; *p != '\0'; p++) {
		if (quote != '\0') {
			if (*p == quote)
				quote = '\0';
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '#') {
			return t_strdup_until(line, p);
		}
	}
	return line;
}

struct config_parse {
	struct frontdesk_config *config;
	/* section nesting: names of the open sections */
	ARRAY_TYPE(const_string) sections;
	unsigned int depth;
};

static int config_read_file(struct config_parse *ctx, const char *path,
			    bool must_exist, const char **error_r);

static int config_include(struct config_parse *ctx, const char *dir,
			  const char *pattern, bool must_exist,
			  const char **error_r)
{
	glob_t globbuf;
	size_t i;
	int ret = 0;

	if (pattern[0] != '/')
		pattern = t_strconcat(dir, "/", pattern, NULL);
	i_zero(&globbuf);
	if (glob(pattern, GLOB_BRACE, NULL, &globbuf) != 0) {
		globfree(&globbuf);
		if (must_exist && strpbrk(pattern, "*?[") == NULL) {
			*error_r = t_strdup_printf("!include %s: not found",
						   pattern);
			return -1;
		}
		return 0;
	}
	for (i = 0; i < globbuf.gl_pathc && ret == 0; i++) {
		ret = config_read_file(ctx, globbuf.gl_pathv[i], must_exist,
				       error_r);
	}
	globfree(&globbuf);
	return ret;
}

static bool config_in_plugin(struct config_parse *ctx, const char *line)
{
	/* Dovecot 2.4: frontdesk_* keys at the top level */
	if (array_count(&ctx->sections) == 0)
		return str_begins_with(t_str_trim(line, " \t"), "frontdesk_");
	/* Dovecot 2.3: top-level plugin { } only: protocol-specific blocks
	   are for protocol-specific overrides the tool does not impersonate */
	return array_count(&ctx->sections) == 1 &&
		strcmp(array_idx_elem(&ctx->sections, 0), "plugin") == 0;
}

static int config_read_file(struct config_parse *ctx, const char *path,
			    bool must_exist, const char **error_r)
{
	struct istream *input;
	const char *line, *dir, *p;
	unsigned int linenum = 0;
	int fd, ret = 0;

	if (++ctx->depth > FRONTDESK_CONFIG_MAX_DEPTH) {
		*error_r = t_strdup_printf("%s: !include nested too deep",
					   path);
		return -1;
	}
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		ctx->depth--;
		if (!must_exist && errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	p = strrchr(path, '/');
	dir = p == NULL ? "." : t_strdup_until(path, p);
	input = i_stream_create_fd_autoclose(&fd, FRONTDESK_CONFIG_MAX_LINE);
	while (ret == 0 && (line = i_stream_read_next_line(input)) != NULL) {
		linenum++;
		line = t_str_trim(config_strip_comment(line), " \t\r");
		if (*line == '\0')
			continue;
		if (str_begins_with(line, "!include_try ")) {
			ret = config_include(ctx, dir,
				t_str_trim(line + 13, " \t"), FALSE, error_r);
		} else if (str_begins_with(line, "!include ")) {
			ret = config_include(ctx, dir,
				t_str_trim(line + 9, " \t"), TRUE, error_r);
		} else if (line[strlen(line)-1] == '{') {
			const char *name = t_str_trim(
				t_strndup(line, strlen(line)-1), " \t");
			name = t_strcut(name, ' ');
			name = p_strdup(ctx->config->pool, name);
			array_push_back(&ctx->sections, &name);
		} else if (strcmp(line, "}") == 0) {
			if (array_count(&ctx->sections) == 0) {
				*error_r = t_strdup_printf(
					"%s:%u: '}' without section", path,
					linenum);
				ret = -1;
			} else {
				array_pop_back(&ctx->sections);
			}
		} else if ((p = strchr(line, '=')) != NULL &&
			   config_in_plugin(ctx, line)) {
			const char *key = t_str_trim(t_strdup_until(line, p),
						     " \t");
			const char *value = t_str_trim(p + 1, " \t");

			frontdesk_config_set(ctx->config, key,
					     config_unquote(value));
		}
	}
	if (ret == 0 && input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   i_stream_get_error(input));
		ret = -1;
	}
	i_stream_unref(&input);
	ctx->depth--;
	return ret;
}

int frontdesk_config_read(pool_t pool, const char *path,
			  struct frontdesk_config **config_r,
			  const char **error_r)
{
	struct config_parse ctx;
	int ret;

	i_zero(&ctx);
	ctx.config = frontdesk_config_new(pool);
	t_array_init(&ctx.sections, 8);
	ret = config_read_file(&ctx, path, TRUE, error_r);
	if (ret == 0 && array_count(&ctx.sections) != 0) {
		*error_r = t_strdup_printf("%s: section '%s' not closed", path,
			array_idx_elem(&ctx.sections,
				       array_count(&ctx.sections) - 1));
		ret = -1;
	}
	*config_r = ctx.config;
	return ret;
}
