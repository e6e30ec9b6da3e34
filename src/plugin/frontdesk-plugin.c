/* frontdesk plugin registration: per-user settings (parsed once when the
   user is created; a bad one disables frontdesk for that user, never the
   delivery), the process-wide model cache and the raw mail user. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mail-user.h"
#include "mail-storage-hooks.h"
#include "raw-storage.h"
#include "frontdesk-settings.h"
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
	char *model_path, *rules_path;
	struct timespec model_mtime, rules_mtime;
	off_t model_size, rules_size;
	struct frontdesk_model *model;
};

static struct model_cache model_cache;
static struct mail_user *frontdesk_raw_user;

static const char *frontdesk_user_getenv(const char *name, void *context)
{
	return mail_user_plugin_getenv(context, name);
}

static void frontdesk_user_deinit(struct mail_user *user)
{
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(user);

	event_unref(&fuser->event);
	fuser->module_ctx.super.deinit(user);
}

static void frontdesk_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct frontdesk_user *fuser;
	struct frontdesk_settings *set;
	const char *error, *enabled;

	/* internal users (the raw mail user of LMTP and of our own tagged
	   copy, shared namespace owners) receive no mail */
	if (user->autocreated)
		return;
	/* disabled users cost one lookup and see nothing of frontdesk */
	enabled = mail_user_plugin_getenv(user, "frontdesk_enabled");
	if (enabled == NULL || *enabled == '\0')
		return;

	fuser = p_new(user->pool, struct frontdesk_user, 1);
	fuser->module_ctx.super = *v;
	user->vlast = &fuser->module_ctx.super;
	v->deinit = frontdesk_user_deinit;
	fuser->event = event_create(user->event);
	event_add_category(fuser->event, &event_category_frontdesk);
	event_set_append_log_prefix(fuser->event, "frontdesk: ");
	MODULE_CONTEXT_SET(user, frontdesk_user_module, fuser);

	if (frontdesk_settings_parse(user->pool, frontdesk_user_getenv, user,
				     &set, &error) < 0) {
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

static int load_model(const char *path, const char *rules_path,
		      struct frontdesk_model **model_r, const char **error_r)
{
	struct frontdesk_model *model = frontdesk_model_init();

	if (frontdesk_model_add_lexicon_file(model, path, error_r) < 0 ||
	    (*rules_path != '\0' &&
	     frontdesk_model_add_file(model, rules_path, error_r) < 0)) {
		frontdesk_model_deinit(&model);
		return -1;
	}
	*model_r = model;
	return 0;
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
	     !file_changed(c->rules_path, &c->rules_mtime, c->rules_size)))
		return c->model;

	if (load_model(set->model_path, set->rules_path, &model, error_r) < 0)
		return NULL;
	frontdesk_model_deinit(&c->model);
	i_free(c->model_path);
	i_free(c->rules_path);
	c->model = model;
	c->model_path = i_strdup(set->model_path);
	c->rules_path = i_strdup(set->rules_path);
	cache_stat(c->model_path, &c->model_mtime, &c->model_size);
	cache_stat(c->rules_path, &c->rules_mtime, &c->rules_size);
	return c->model;
}

struct mail_user *frontdesk_raw_user_get(struct mail_user *user)
{
	if (frontdesk_raw_user == NULL) {
		void **sets = master_service_settings_get_others(master_service);

		frontdesk_raw_user =
			raw_storage_create_from_set(user->set_info, sets[0]);
	}
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
}
