/* The acknowledgment spool's file format and atomic writes. */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "write-full.h"
#include "frontdesk-spool.h"

#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int spool_name_cmp(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

int frontdesk_spool_list(const char *dir, ARRAY_TYPE(const_string) *names,
			 const char **error_r)
{
	const char *name;
	struct dirent *d;
	DIR *dirp;

	if ((dirp = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("opendir(%s) failed: %m", dir);
		return -1;
	}
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		name = t_strdup(d->d_name);
		array_push_back(names, &name);
	}
	(void)closedir(dirp);
	array_sort(names, spool_name_cmp);
	return 0;
}

int frontdesk_spool_mkdirs(const char *spool_dir, const char **error_r)
{
	static const char *const subdirs[] = {
		"", "/tmp", "/queue", "/failed", "/spare"
	};
	const char *path;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(subdirs); i++) {
		path = t_strconcat(spool_dir, subdirs[i], NULL);
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*error_r = t_strdup_printf("mkdir(%s) failed: %m",
						   path);
			return -1;
		}
	}
	return 0;
}

/* Values are single-line by construction; this keeps a broken one from
   changing the file's structure. */
static const char *one_line(const char *value)
{
	return value == NULL ? "" : str_sanitize(value, 1024);
}

/* Open a spare file for writing, empty. Not with O_TRUNC: on ext4 (the
   default auto_da_alloc) a file truncated to 0 and written again is
   flushed by close(), which cost the delivery a write-out per ack (a third
   of its spool write, and a disk write). Spare files are emptied when they
   are put aside; one that is not (a crash in between) is emptied here. */
static int spool_open_spare(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (st.st_size > 0 && ftruncate(fd, 0) < 0)) {
		i_close_fd(&fd);
		return -1;
	}
	return fd;
}

/* Files of sent entries are kept (emptied) in spare/ and reused: on ext4
   without a journal, creating an inode scans past every inode deleted in
   the last minutes, so a create and a delete per acknowledgment made every
   file creation on the volume slower, Dovecot's own too. Returns an open,
   empty file renamed to tmp_path, or -1 when there is none. */
static int spool_take_spare(const char *spool_dir, const char *tmp_path)
{
	const char *dir = t_strconcat(spool_dir, "/spare", NULL);
	struct dirent *d;
	unsigned int tries = 0;
	DIR *dirp;
	int fd = -1;

	if ((dirp = opendir(dir)) == NULL)
		return -1;
	while (fd < 0 && tries < 4 && (d = readdir(dirp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		/* concurrent deliveries race for the same file: the rename
		   gives it to one of them, the others try the next one */
		tries++;
		if (rename(t_strconcat(dir, "/", d->d_name, NULL),
			   tmp_path) < 0)
			continue;
		fd = spool_open_spare(tmp_path);
	}
	(void)closedir(dirp);
	return fd;
}

void frontdesk_spool_done(const char *spool_dir, const char *name,
			  unsigned int *spare_count)
{
	const char *path = t_strdup_printf("%s/queue/%s", spool_dir, name);
	int fd;

	if (*spare_count < FRONTDESK_SPOOL_SPARE_MAX) {
		/* emptied first: the customer's ack does not linger */
		fd = open(path, O_WRONLY | O_TRUNC);
		if (fd >= 0) {
			i_close_fd(&fd);
			if (rename(path, t_strdup_printf("%s/spare/%s",
							 spool_dir, name)) == 0) {
				(*spare_count)++;
				return;
			}
		}
	}
	i_unlink_if_exists(path);
}

unsigned int frontdesk_spool_spare_count(const char *spool_dir)
{
	const char *dir = t_strconcat(spool_dir, "/spare", NULL);
	struct dirent *d;
	unsigned int count = 0;
	DIR *dirp;

	if ((dirp = opendir(dir)) == NULL)
		return FRONTDESK_SPOOL_SPARE_MAX;
	while ((d = readdir(dirp)) != NULL) {
		if (d->d_name[0] != '.')
			count++;
	}
	(void)closedir(dirp);
	return count;
}

int frontdesk_spool_write(const char *spool_dir,
			  const struct frontdesk_spool_entry *e,
			  bool fsync_data, const char **error_r)
{
	const char *tmp_path, *path;
	string_t *hdr = t_str_new(512 + e->message_size);
	int fd;

	if (strchr(e->name, '/') != NULL || e->name[0] == '.') {
		*error_r = t_strdup_printf("bad spool name %s", e->name);
		return -1;
	}
	str_printfa(hdr, FRONTDESK_SPOOL_MAGIC"\n"
		    "created %ld\nexpires %ld\nnext %ld\nattempts %u\n"
		    "from %s\nrcpt %s\nticket %s\nhostname %s\n"
		    "submission_host %s\nsendmail_path %s\n"
		    "submission_timeout %u\nlast_error %s\n\n",
		    (long)e->created, (long)e->expires, (long)e->next_try,
		    e->attempts, one_line(e->mail_from),
		    one_line(e->rcpt_to), one_line(e->ticket),
		    one_line(e->hostname), one_line(e->submission_host),
		    one_line(e->sendmail_path), e->submission_timeout,
		    one_line(e->last_error));

	tmp_path = t_strdup_printf("%s/tmp/%s", spool_dir, e->name);
	path = t_strdup_printf("%s/queue/%s", spool_dir, e->name);
	fd = spool_take_spare(spool_dir, tmp_path);
	if (fd < 0)
		fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		int open_errno = errno;

		*error_r = t_strdup_printf("open(%s) failed: %m", tmp_path);
		/* ENOENT tells the caller to create the spool */
		errno = open_errno;
		return -1;
	}
	/* one write() for the header and the message */
	str_append_data(hdr, e->message, e->message_size);
	if (write_full(fd, str_data(hdr), str_len(hdr)) < 0 ||
	    (fsync_data && fdatasync(fd) < 0)) {
		*error_r = t_strdup_printf("write(%s) failed: %m", tmp_path);
		i_close_fd(&fd);
		i_unlink(tmp_path);
		return -1;
	}
	if (close(fd) < 0) {
		*error_r = t_strdup_printf("close(%s) failed: %m", tmp_path);
		i_unlink(tmp_path);
		return -1;
	}
	if (rename(tmp_path, path) < 0) {
		*error_r = t_strdup_printf("rename(%s, %s) failed: %m",
					   tmp_path, path);
		i_unlink(tmp_path);
		return -1;
	}
	return 0;
}

static int parse_field(struct frontdesk_spool_entry *e, pool_t pool,
		       const char *line)
{
	const char *sp = strchr(line, ' ');
	const char *key, *value;
	long num;

	if (sp == NULL)
		return -1;
	key = t_strdup_until(line, sp);
	value = sp + 1;
	if (strcmp(key, "created") == 0 || strcmp(key, "expires") == 0 ||
	    strcmp(key, "next") == 0) {
		if (str_to_long(value, &num) < 0)
			return -1;
		if (key[0] == 'c')
			e->created = num;
		else if (key[0] == 'e')
			e->expires = num;
		else
			e->next_try = num;
	} else if (strcmp(key, "attempts") == 0) {
		if (str_to_uint(value, &e->attempts) < 0)
			return -1;
	} else if (strcmp(key, "submission_timeout") == 0) {
		if (str_to_uint(value, &e->submission_timeout) < 0)
			return -1;
	} else if (strcmp(key, "from") == 0)
		e->mail_from = p_strdup(pool, value);
	else if (strcmp(key, "rcpt") == 0)
		e->rcpt_to = p_strdup(pool, value);
	else if (strcmp(key, "ticket") == 0)
		e->ticket = p_strdup(pool, value);
	else if (strcmp(key, "hostname") == 0)
		e->hostname = p_strdup(pool, value);
	else if (strcmp(key, "submission_host") == 0)
		e->submission_host = p_strdup(pool, value);
	else if (strcmp(key, "sendmail_path") == 0)
		e->sendmail_path = p_strdup(pool, value);
	else if (strcmp(key, "last_error") == 0)
		e->last_error = p_strdup(pool, value);
	/* unknown keys: written by a newer version, ignored */
	return 0;
}

int frontdesk_spool_read(pool_t pool, const char *spool_dir, const char *name,
			 struct frontdesk_spool_entry **entry_r,
			 const char **error_r)
{
	return frontdesk_spool_read_in(pool, spool_dir, "queue", name,
				       entry_r, error_r);
}

int frontdesk_spool_read_in(pool_t pool, const char *spool_dir,
			    const char *subdir, const char *name,
			    struct frontdesk_spool_entry **entry_r,
			    const char **error_r)
{
	const char *path = t_strdup_printf("%s/%s/%s", spool_dir, subdir,
					   name);
	struct frontdesk_spool_entry *e;
	buffer_t *buf;
	const unsigned char *data, *p, *end, *nl;
	struct stat st;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return errno == ENOENT ? 0 : -1;
	}
	if (fstat(fd, &st) < 0 || st.st_size > FRONTDESK_SPOOL_MAX_SIZE) {
		*error_r = t_strdup_printf("%s: unusable (size %lld)", path,
					   (long long)st.st_size);
		i_close_fd(&fd);
		return -1;
	}
	buf = buffer_create_dynamic(pool, st.st_size + 1);
	ret = read(fd, buffer_append_space_unsafe(buf, st.st_size),
		   st.st_size);
	i_close_fd(&fd);
	if (ret != st.st_size) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   ret < 0 ? strerror(errno) : "short");
		return -1;
	}
	data = buf->data;
	end = data + buf->used;
	e = p_new(pool, struct frontdesk_spool_entry, 1);
	e->name = p_strdup(pool, name);
	nl = memchr(data, '\n', end - data);
	if (nl == NULL || nl - data != strlen(FRONTDESK_SPOOL_MAGIC) ||
	    memcmp(data, FRONTDESK_SPOOL_MAGIC, nl - data) != 0) {
		*error_r = t_strdup_printf("%s: not a frontdesk spool file",
					   path);
		return -1;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL) {
			*error_r = t_strdup_printf("%s: truncated", path);
			return -1;
		}
		if (nl == p) {
			e->message = nl + 1;
			e->message_size = end - (nl + 1);
			break;
		}
		if (parse_field(e, pool, t_strdup_until(p, nl)) < 0) {
			*error_r = t_strdup_printf("%s: bad line '%s'", path,
				str_sanitize(t_strdup_until(p, nl), 80));
			return -1;
		}
	}
	if (e->message == NULL || e->rcpt_to == NULL || *e->rcpt_to == '\0') {
		*error_r = t_strdup_printf("%s: incomplete", path);
		return -1;
	}
	*entry_r = e;
	return 1;
}

unsigned int frontdesk_spool_backoff(unsigned int attempts)
{
	unsigned int secs = FRONTDESK_SPOOL_FIRST_RETRY_SECS;

	while (attempts > 1 && secs < FRONTDESK_SPOOL_MAX_RETRY_SECS) {
		secs *= 2;
		attempts--;
	}
	return I_MIN(secs, FRONTDESK_SPOOL_MAX_RETRY_SECS);
}
