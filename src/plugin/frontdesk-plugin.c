/* frontdesk plugin registration: per-user settings (parsed once when the
   user is created; a bad one disables frontdesk for that user, never the
   delivery), the process-wide model cache and the raw mail user. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "raw-storage.h"
#include "frontdesk-settings.h"
#include "frontdesk-compat-storage.h"
#include "frontdesk-model.h"
#include "frontdesk-plugin.h"
#include "frontdesk-tag.h"
#include "frontdesk-acknowledge.h"
#include "dict.h"

#include <sys/stat.h>

const char *frontdesk_plugin_version = DOVECOT_ABI_VERSION;
/* the delivery hook only exists in lmtp and dovecot-lda */
const char frontdesk_plugin_binary_dependency[] = "lda lmtp";

struct event_category event_category_frontdesk = {
	.name = "frontdesk",
};

struct frontdesk_user_module frontdesk_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

struct model_cache {
	char *model_path, *rules_path, *weights_path;
	struct timespec model_mtime, rules_mtime, weights_mtime;
	off_t model_size, rules_size, weights_size;
	struct frontdesk_model *model;
};

static struct model_cache model_cache;
static struct mail_user *frontdesk_raw_user;

static void frontdesk_user_deinit(struct mail_user *user)
{
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(user);

	event_unref(&fuser->event);
	frontdesk_user_settings_deinit(&fuser->user_set);
	fuser->module_ctx.super.deinit(user);
}

static void frontdesk_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct frontdesk_user *fuser;
	struct frontdesk_settings *set;
	struct frontdesk_user_settings *user_set;
	const char *error, *enabled;

	/* internal users (the raw mail user of LMTP and of our own tagged
	   copy, shared namespace owners) receive no mail */
	if (user->autocreated)
		return;
	/* disabled users cost one lookup and see nothing of frontdesk */
	if (frontdesk_user_settings_init(user, &user_set, &error) < 0) {
		e_error(user->event, "frontdesk: Invalid settings, frontdesk "
			"disabled for this user: %s", error);
		return;
	}
	enabled = frontdesk_user_settings_getenv("frontdesk_enabled", user_set);
	if (enabled == NULL || *enabled == '\0') {
		frontdesk_user_settings_deinit(&user_set);
		return;
	}

	fuser = p_new(user->pool, struct frontdesk_user, 1);
	fuser->user_set = user_set;
	fuser->module_ctx.super = *v;
	user->vlast = &fuser->module_ctx.super;
	v->deinit = frontdesk_user_deinit;
	fuser->event = event_create(user->event);
	event_add_category(fuser->event, &event_category_frontdesk);
	event_set_append_log_prefix(fuser->event, "frontdesk: ");
	MODULE_CONTEXT_SET(user, frontdesk_user_module, fuser);

	if (frontdesk_settings_parse(user->pool, frontdesk_user_settings_getenv,
				     user_set, &set, &error) < 0) {
		e_error(fuser->event, "Invalid setting, frontdesk disabled "
			"for this user: %s", error);
		return;
	}
	if (set->enabled)
		fuser->set = set;
}

static bool file_changed(const char *path, const struct timespec *mtime,
			 off_t size)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return TRUE;
	return st.st_mtim.tv_sec != mtime->tv_sec ||
		st.st_mtim.tv_nsec != mtime->tv_nsec || st.st_size != size;
}

static void cache_stat(const char *path, struct timespec *mtime_r,
		       off_t *size_r)
{
	struct stat st;

	i_zero(mtime_r);
	*size_r = -1;
	if (*path != '\0' && stat(path, &st) == 0) {
		*mtime_r = st.st_mtim;
		*size_r = st.st_size;
	}
}

const struct frontdesk_model *
frontdesk_model_get(const struct frontdesk_settings *set, const char **error_r)
{
	struct model_cache *c = &model_cache;
	struct frontdesk_model *model;

	if (c->model != NULL && strcmp(c->model_path, set->model_path) == 0 &&
	    strcmp(c->rules_path, set->rules_path) == 0 &&
	    !file_changed(c->model_path, &c->model_mtime, c->model_size) &&
	    (*c->rules_path == '\0' ||
	     !file_changed(c->rules_path, &c->rules_mtime, c->rules_size)) &&
	    strcmp(c->weights_path, set->weights_path) == 0 &&
	    (*c->weights_path == '\0' ||
	     !file_changed(c->weights_path, &c->weights_mtime,
			   c->weights_size)))
		return c->model;

	if (frontdesk_model_load(set, &model, error_r) < 0)
		return NULL;
	frontdesk_model_deinit(&c->model);
	i_free(c->model_path);
	i_free(c->rules_path);
	i_free(c->weights_path);
	c->model = model;
	c->model_path = i_strdup(set->model_path);
	c->rules_path = i_strdup(set->rules_path);
	c->weights_path = i_strdup(set->weights_path);
	cache_stat(c->model_path, &c->model_mtime, &c->model_size);
	cache_stat(c->rules_path, &c->rules_mtime, &c->rules_size);
	cache_stat(c->weights_path, &c->weights_mtime, &c->weights_size);
	return c->model;
}

struct mail_user *frontdesk_raw_user_get(struct mail_user *user)
{
	if (frontdesk_raw_user == NULL)
		frontdesk_raw_user = frontdesk_raw_user_create(user);
	return frontdesk_raw_user;
}

static struct mail_storage_hooks frontdesk_mail_storage_hooks = {
	.mail_user_created = frontdesk_mail_user_created,
	.mailbox_allocated = frontdesk_tag_mailbox_allocated,
};

void frontdesk_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &frontdesk_mail_storage_hooks);
	/* frontdesk_ack_dict: file, redis, memcached, ... */
	dict_drivers_register_builtin();
	frontdesk_deliver_init();
}

void frontdesk_plugin_deinit(void)
{
	frontdesk_deliver_deinit();
	frontdesk_ack_deinit();
	frontdesk_folder_cache_deinit();
	dict_drivers_unregister_builtin();
	mail_storage_hooks_remove(&frontdesk_mail_storage_hooks);
	if (frontdesk_raw_user != NULL)
		mail_user_unref(&frontdesk_raw_user);
	frontdesk_model_deinit(&model_cache.model);
	i_free(model_cache.model_path);
	i_free(model_cache.rules_path);
	i_free(model_cache.weights_path);
}
