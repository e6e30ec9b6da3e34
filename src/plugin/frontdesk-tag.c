/* Tagging and filing inside the storage: keywords merged into every save the
   delivery makes (so an explicit Sieve fileinto carries them too), every
   committed save noted (so the delivery knows the mail is stored, whoever
   stored it), and the office folders created on first use. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "hash.h"
#include "ioloop.h"
#include "mail-storage-private.h"
#include "mail-namespace.h"
#include "frontdesk-plugin.h"
#include "frontdesk-tag.h"

#define FRONTDESK_MAILBOX_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, frontdesk_storage_module)

struct frontdesk_mailbox {
	union mailbox_module_context module_ctx;
};

static MODULE_CONTEXT_DEFINE_INIT(frontdesk_storage_module,
				  &mail_storage_module_register);

/* Folders seen to exist, per user, with when: an lmtp process delivers many
   mails to the same desk, and asking the mailbox list twice per delivery
   was 4% of its CPU. If a folder was deleted meanwhile, the failed save
   makes the delivery forget it, create it and save again. */
#define FOLDER_CACHE_SECS 60
#define FOLDER_CACHE_MAX 256
static HASH_TABLE(char *, void *) folder_cache;

static const char *folder_cache_key(struct mail_user *user, const char *name)
{
	return t_strconcat(user->username, "\t", name, NULL);
}

static bool folder_cache_fresh(const char *key)
{
	void *value;

	if (!hash_table_is_created(folder_cache))
		return FALSE;
	value = hash_table_lookup(folder_cache, key);
	return value != NULL &&
		ioloop_time - (time_t)POINTER_CAST_TO(value, uintptr_t) <
		FOLDER_CACHE_SECS;
}

static void folder_cache_clear(void)
{
	struct hash_iterate_context *iter;
	char *key;
	void *value;

	iter = hash_table_iterate_init(folder_cache);
	while (hash_table_iterate(iter, folder_cache, &key, &value))
		i_free(key);
	hash_table_iterate_deinit(&iter);
	hash_table_clear(folder_cache, FALSE);
}

static void folder_cache_set(const char *key)
{
	char *orig_key;
	void *value;

	if (!hash_table_is_created(folder_cache))
		hash_table_create(&folder_cache, default_pool, 0, str_hash,
				  strcmp);
	if (hash_table_lookup_full(folder_cache, key, &orig_key, &value)) {
		hash_table_update(folder_cache, orig_key,
				  POINTER_CAST((uintptr_t)ioloop_time));
		return;
	}
	/* an lmtp process may serve many users: stay small */
	if (hash_table_count(folder_cache) >= FOLDER_CACHE_MAX)
		folder_cache_clear();
	hash_table_insert(folder_cache, i_strdup(key),
			  POINTER_CAST((uintptr_t)ioloop_time));
}

void frontdesk_folder_forget(struct mail_user *user, const char *name)
{
	char *orig_key;
	void *value;

	if (!hash_table_is_created(folder_cache))
		return;
	T_BEGIN {
		if (hash_table_lookup_full(folder_cache,
					   folder_cache_key(user, name),
					   &orig_key, &value)) {
			hash_table_remove(folder_cache, orig_key);
			i_free(orig_key);
		}
	} T_END;
}

void frontdesk_folder_cache_deinit(void)
{
	if (!hash_table_is_created(folder_cache))
		return;
	folder_cache_clear();
	hash_table_destroy(&folder_cache);
}

static void frontdesk_save_add_keywords(struct mail_save_context *ctx)
{
	struct mailbox *box = ctx->transaction->box;
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(box->storage->user);
	const ARRAY_TYPE(keywords) *all;
	ARRAY_TYPE(const_string) names;
	struct mail_keywords *kw;
	const char *const *ours, *name;
	unsigned int i;

	if (fuser == NULL || fuser->cur_keywords == NULL)
		return;
	T_BEGIN {
		t_array_init(&names, 8);
		if (ctx->data.keywords != NULL) {
			/* keep what Sieve (addflag) already set */
			all = mail_index_get_keywords(box->index);
			for (i = 0; i < ctx->data.keywords->count; i++) {
				name = array_idx_elem(all,
					ctx->data.keywords->idx[i]);
				array_push_back(&names, &name);
			}
		}
		for (ours = fuser->cur_keywords; *ours != NULL; ours++)
			array_push_back(&names, ours);
		array_append_zero(&names);
		kw = mailbox_keywords_create_valid(box, array_front(&names));
		mailbox_save_set_flags(ctx, ctx->data.flags |
				       ctx->data.pvt_flags, kw);
		mailbox_keywords_unref(&kw);
	} T_END;
}

static int frontdesk_save_begin(struct mail_save_context *ctx,
				struct istream *input)
{
	struct frontdesk_mailbox *fbox =
		FRONTDESK_MAILBOX_CONTEXT(ctx->transaction->box);

	frontdesk_save_add_keywords(ctx);
	return fbox->module_ctx.super.save_begin(ctx, input);
}

static int frontdesk_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct frontdesk_mailbox *fbox =
		FRONTDESK_MAILBOX_CONTEXT(ctx->transaction->box);

	frontdesk_save_add_keywords(ctx);
	return fbox->module_ctx.super.copy(ctx, mail);
}

static void frontdesk_stored_add(struct frontdesk_stored *stored,
				 const char *vname)
{
	const char *name;

	array_foreach_elem(&stored->folders, name) {
		if (strcmp(name, vname) == 0)
			return;
	}
	name = p_strdup(stored->pool, vname);
	array_push_back(&stored->folders, &name);
}

static int
frontdesk_transaction_commit(struct mailbox_transaction_context *t,
			     struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	struct frontdesk_mailbox *fbox = FRONTDESK_MAILBOX_CONTEXT(box);
	struct frontdesk_user *fuser =
		FRONTDESK_USER_CONTEXT(box->storage->user);
	/* the transaction is gone after the commit */
	bool saves = t->save_count > 0;

	if (fbox->module_ctx.super.transaction_commit(t, changes_r) < 0)
		return -1;
	if (saves && fuser->cur_stored != NULL)
		frontdesk_stored_add(fuser->cur_stored, mailbox_get_vname(box));
	return 0;
}

void frontdesk_tag_mailbox_allocated(struct mailbox *box)
{
	struct frontdesk_user *fuser = FRONTDESK_USER_CONTEXT(box->storage->user);
	struct mailbox_vfuncs *v = box->vlast;
	struct frontdesk_mailbox *fbox;

	/* only mailboxes opened by a delivery (LMTP/LDA, Sieve) */
	if (fuser == NULL || fuser->set == NULL ||
	    (box->flags & MAILBOX_FLAG_POST_SESSION) == 0)
		return;
	fbox = p_new(box->pool, struct frontdesk_mailbox, 1);
	fbox->module_ctx.super = *v;
	box->vlast = &fbox->module_ctx.super;
	v->save_begin = frontdesk_save_begin;
	v->copy = frontdesk_copy;
	v->transaction_commit = frontdesk_transaction_commit;
	MODULE_CONTEXT_SET(box, frontdesk_storage_module, fbox);
}

int frontdesk_folder_ensure(struct mail_user *user, const char *name,
			    const char **error_r)
{
	struct mail_namespace *ns;
	struct mailbox *box;
	enum mailbox_existence existence;
	enum mail_error error;
	const char *key = folder_cache_key(user, name);
	int ret = 0;

	if (folder_cache_fresh(key))
		return 0;
	ns = mail_namespace_find(user->namespaces, name);
	box = mailbox_alloc(ns->list, name, 0);
	if (mailbox_exists(box, TRUE, &existence) < 0) {
		*error_r = t_strdup(mailbox_get_last_internal_error(box, NULL));
		ret = -1;
	} else if (existence == MAILBOX_EXISTENCE_NONE) {
		if (mailbox_create(box, NULL, FALSE) < 0) {
			const char *errstr =
				mailbox_get_last_internal_error(box, &error);
			if (error != MAIL_ERROR_EXISTS) {
				*error_r = t_strdup(errstr);
				ret = -1;
			}
		}
		if (ret == 0 && mailbox_set_subscribed(box, TRUE) < 0) {
			*error_r = t_strdup(
				mailbox_get_last_internal_error(box, NULL));
			ret = -1;
		}
	}
	mailbox_free(&box);
	if (ret == 0)
		folder_cache_set(key);
	return ret;
}
