/* frontdesk's state in files: tickets and rate counters under the state
   directory, for one server and no extra service. */

#include "lib.h"
#include "str.h"
#include "mkdir-parents.h"
#include "strnum.h"
#include "write-full.h"
#include "ioloop.h"
#include "frontdesk-state.h"
#include "frontdesk-state-private.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

/* Records live in 64 bucket files per kind (by the key's hash), one line
   each, changed under flock. A file per record cost an inode per delivery,
   and creating inodes was the largest single cost of a delivery on ext4;
   buckets also let old records expire. A desk with 1000 new tickets a day
   keeps about 90 KB per ticket bucket. */
#define BUCKET_COUNT 64
#define BUCKET_MAX_SIZE (8*1024*1024)
/* tickets: "<hash> <created> <value>", appended in time order and kept 90
   days (a follow-up after that opens a new ticket): the bucket is pruned
   when its first line has expired */
#define TICKET_KEEP_SECS (90*24*3600)
/* counters: "<hash> <window> <count> <updated>", kept 2 days (the longest
   window is a day) */
#define COUNTER_KEEP_SECS (2*24*3600)
#define HASH_HEX_LEN 32

static int open_creating_dirs(const char *path, int flags,
			      const char **error_r)
{
	const char *dir;
	int fd;

	fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT && (flags & O_CREAT) != 0) {
		dir = t_strdup_until(path, strrchr(path, '/'));
		if (mkdir_parents(dir, 0700) < 0 && errno != EEXIST) {
			*error_r = t_strdup_printf("mkdir(%s) failed: %m", dir);
			return -1;
		}
		fd = open(path, flags, 0600);
	}
	if (fd < 0 && errno != ENOENT)
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
	return fd;
}

static unsigned int bucket_of(const char *hash)
{
	unsigned int i, n = 0;

	for (i = 0; i < 2; i++) {
		n = n * 16 + (i_isdigit(hash[i]) ? hash[i] - '0' :
			      i_tolower(hash[i]) - 'a' + 10);
	}
	return n % BUCKET_COUNT;
}

/* Open and lock the bucket of hash. Returns 1, 0 if it does not exist (only
   without create), -1 on error. */
static int bucket_open(struct frontdesk_state *state, const char *kind,
		       const char *hash, bool create, int *fd_r,
		       const char **path_r, const char **error_r)
{
	const char *path;
	int fd;

	path = t_strdup_printf("%s/%s/%02x", state->dir, kind,
			       bucket_of(hash));
	fd = open_creating_dirs(path, create ? O_RDWR | O_CREAT : O_RDONLY,
				error_r);
	if (fd < 0)
		return errno == ENOENT && !create ? 0 : -1;
	if (flock(fd, create ? LOCK_EX : LOCK_SH) < 0) {
		*error_r = t_strdup_printf("flock(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	*fd_r = fd;
	*path_r = path;
	return 1;
}

/* Read the bucket into buf; size_r is the file's size (what a rewrite
   shorter than it must cut off). */
static int bucket_read(struct frontdesk_state *state, int fd,
		       const char *path, string_t *buf, uoff_t *size_r,
		       const char **error_r)
{
	struct stat st;
	ssize_t ret;

	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		return -1;
	}
	*size_r = st.st_size;
	if (st.st_size > BUCKET_MAX_SIZE) {
		/* not ours, or damaged: starting over costs at worst a
		   second acknowledgment, reading it all could cost memory */
		e_warning(state->event, "%s is larger than %d bytes: "
			  "starting it over", path, BUCKET_MAX_SIZE);
		return 0;
	}
	if (st.st_size == 0)
		return 0;
	ret = pread(fd, buffer_append_space_unsafe(buf, st.st_size),
		    st.st_size, 0);
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	buffer_set_used_size(buf, ret);
	return 0;
}

/* Write content at offset, and cut off what was after it in a file of
   old_size bytes: only when there is something to cut (an append at the
   end, the usual claim, needs no ftruncate()). */
static int bucket_write(struct frontdesk_state *state, int fd,
			const char *path, const string_t *content,
			uoff_t offset, uoff_t old_size, const char **error_r)
{
	uoff_t end = offset + str_len(content);

	if (pwrite_full(fd, str_data(content), str_len(content),
			offset) < 0 ||
	    (end < old_size && ftruncate(fd, end) < 0)) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		return -1;
	}
	if (state->fsync && fdatasync(fd) < 0) {
		*error_r = t_strdup_printf("fdatasync(%s) failed: %m", path);
		return -1;
	}
	return 0;
}

/* Iterate the lines of a bucket: next line into line_r (without "\n"). */
static bool bucket_next_line(const string_t *buf, size_t *pos,
			     const char **line_r, size_t *len_r)
{
	const char *data = (const char *)str_data(buf), *nl;
	size_t size = str_len(buf);

	if (*pos >= size)
		return FALSE;
	nl = memchr(data + *pos, '\n', size - *pos);
	if (nl == NULL) {
		/* a torn last line (a crash while writing): ignored, and
		   *pos stays before it so that it is written over */
		return FALSE;
	}
	*line_r = data + *pos;
	*len_r = nl - (data + *pos);
	*pos = nl - data + 1;
	return TRUE;
}

static bool line_has_hash(const char *line, size_t len, const char *hash)
{
	return len > HASH_HEX_LEN && line[HASH_HEX_LEN] == ' ' &&
		memcmp(line, hash, HASH_HEX_LEN) == 0;
}

/* The n-th space-separated field (0-based) of a line, as a number. */
static bool line_number(const char *line, size_t len, unsigned int n,
			unsigned long *num_r)
{
	const char *p = line, *end = line + len, *start;

	for (; n > 0 && p < end; p++) {
		if (*p == ' ')
			n--;
	}
	start = p;
	while (p < end && *p != ' ')
		p++;
	return p > start &&
		str_to_ulong(t_strndup(start, p - start), num_r) == 0;
}

static bool ticket_line_expired(const char *line, size_t len)
{
	unsigned long created;

	return !line_number(line, len, 1, &created) ||
		(time_t)created + TICKET_KEEP_SECS < ioloop_time;
}

int frontdesk_state_file_claim(struct frontdesk_state *state, const char *ticket,
		      const char *value, const char **error_r)
{
	const char *hash = frontdesk_state_hash(ticket), *path, *line;
	string_t *buf = t_str_new(4096), *out;
	size_t pos = 0, len;
	uoff_t size;
	bool prune = FALSE;
	int fd, ret = 1;

	if (bucket_open(state, "ticket-db", hash, TRUE, &fd, &path,
			error_r) < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, &size, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (pos == len + 1 && ticket_line_expired(line, len))
			prune = TRUE;
		if (line_has_hash(line, len, hash)) {
			ret = 0;
			break;
		}
	}
	if (ret > 0) {
		out = t_str_new(128);
		if (prune) {
			/* the oldest ticket expired: keep the others */
			size_t end = pos;

			pos = 0;
			while (pos < end &&
			       bucket_next_line(buf, &pos, &line, &len)) {
				if (!ticket_line_expired(line, len)) {
					str_append_data(out, line, len);
					str_append_c(out, '\n');
				}
			}
			pos = 0;
		}
		str_printfa(out, "%s %ld %s\n", hash, (long)ioloop_time,
			    value);
		/* appended after the last whole line */
		if (bucket_write(state, fd, path, out, pos, size, error_r) < 0)
			ret = -1;
	}
	/* closing releases the lock */
	i_close_fd(&fd);
	return ret;
}

int frontdesk_state_file_lookup(struct frontdesk_state *state, const char *ticket,
		       const char **value_r, const char **error_r)
{
	const char *hash = frontdesk_state_hash(ticket), *path, *line, *p, *end;
	string_t *buf = t_str_new(4096);
	size_t pos = 0, len;
	uoff_t size;
	int fd, ret;

	ret = bucket_open(state, "ticket-db", hash, FALSE, &fd, &path,
			  error_r);
	if (ret <= 0)
		return ret;
	ret = bucket_read(state, fd, path, buf, &size, error_r);
	i_close_fd(&fd);
	if (ret < 0)
		return -1;
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (!line_has_hash(line, len, hash))
			continue;
		/* "<hash> <created> <value>" */
		end = line + len;
		p = memchr(line + HASH_HEX_LEN + 1, ' ',
			   end - (line + HASH_HEX_LEN + 1));
		*value_r = p == NULL ? "" : t_strdup_until(p + 1, end);
		return 1;
	}
	return 0;
}

/* Remove the ticket's line: the claim is undone. */
int frontdesk_state_file_release(struct frontdesk_state *state, const char *ticket,
			const char **error_r)
{
	const char *hash = frontdesk_state_hash(ticket), *path, *line;
	string_t *buf = t_str_new(4096), *out;
	size_t pos = 0, len;
	uoff_t size;
	bool found = FALSE;
	int fd, ret;

	ret = bucket_open(state, "ticket-db", hash, TRUE, &fd, &path, error_r);
	if (ret < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, &size, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	out = t_str_new(str_len(buf));
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (line_has_hash(line, len, hash))
			found = TRUE;
		else {
			str_append_data(out, line, len);
			str_append_c(out, '\n');
		}
	}
	ret = found ? bucket_write(state, fd, path, out, 0, size, error_r) : 0;
	/* closing releases the lock */
	i_close_fd(&fd);
	return ret;
}

int frontdesk_state_file_count(struct frontdesk_state *state, const char *key,
		      unsigned long window, unsigned int *count_r,
		      const char **error_r)
{
	const char *hash = frontdesk_state_hash(key), *path, *line;
	string_t *buf = t_str_new(1024), *out;
	unsigned long num, updated;
	unsigned int count = 0;
	size_t pos = 0, len;
	uoff_t size;
	int fd, ret = 0;

	if (bucket_open(state, "counter-db", hash, TRUE, &fd, &path,
			error_r) < 0)
		return -1;
	if (bucket_read(state, fd, path, buf, &size, error_r) < 0) {
		i_close_fd(&fd);
		return -1;
	}
	/* rewrite the bucket: this key's line last, stale lines gone */
	out = t_str_new(str_len(buf) + 64);
	while (bucket_next_line(buf, &pos, &line, &len)) {
		if (line_has_hash(line, len, hash)) {
			if (line_number(line, len, 1, &num) && num == window &&
			    line_number(line, len, 2, &num) && num < UINT_MAX)
				count = num;
			continue;
		}
		if (!line_number(line, len, 3, &updated) ||
		    (time_t)updated + COUNTER_KEEP_SECS < ioloop_time)
			continue;
		str_append_data(out, line, len);
		str_append_c(out, '\n');
	}
	count++;
	str_printfa(out, "%s %lu %u %ld\n", hash, window, count,
		    (long)ioloop_time);
	if (bucket_write(state, fd, path, out, 0, size, error_r) < 0)
		ret = -1;
	/* closing releases the lock */
	i_close_fd(&fd);
	*count_r = count;
	return ret;
}
