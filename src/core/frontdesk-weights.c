/* Loading, checking and scoring the learned need model's weights file
   (format in frontdesk-weights.h). Loaded once per process and shared by
   every delivery; scoring touches one row of int8 weights per feature. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strfuncs.h"
#include "sha2.h"
#include "hex-binary.h"
#include "frontdesk-settings.h"
#include "frontdesk-model.h"
#include "frontdesk-weights.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <math.h>

struct frontdesk_weights {
	pool_t pool;
	struct frontdesk_feature_params params;
	struct frontdesk_weights_calibration cal;
	const char *const *classes;
	unsigned int class_count, cols;
	const char *const *dense_names;
	unsigned int dense_count;
	/* into data */
	const float *scale, *bias, *dense;
	const int8_t *w;
	unsigned char *data;
	size_t data_size;
};

static int
parse_uint(const char *str, unsigned int min, unsigned int max,
	   unsigned int *num_r)
{
	if (str_to_uint(str, num_r) < 0 || *num_r < min || *num_r > max)
		return -1;
	return 0;
}

static int
parse_prob(const char *str, float *value_r)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(str, &end);
	if (errno != 0 || end == str || *end != '\0' ||
	    !(d >= 0.0 && d <= 1.0))
		return -1;
	*value_r = (float)d;
	return 0;
}

static int
weights_header_line(struct frontdesk_weights *w, const char *const *args,
		    unsigned int count, size_t *payload_r,
		    const char **sha_r, const char **error_r)
{
	const char *key = args[0];
	unsigned int i, num;

	if (strcmp(key, "buckets") == 0 && count == 2) {
		if (parse_uint(args[1], 1, FRONTDESK_FEATURES_MAX_BUCKETS,
			       &w->params.buckets) < 0)
			return -1;
	} else if (strcmp(key, "char") == 0 && count == 3) {
		if (parse_uint(args[1], 0, FRONTDESK_FEATURES_MAX_CHAR_N,
			       &w->params.char_min) < 0 ||
		    parse_uint(args[2], 0, FRONTDESK_FEATURES_MAX_CHAR_N,
			       &w->params.char_max) < 0 ||
		    (w->params.char_min > 0 &&
		     w->params.char_max < w->params.char_min))
			return -1;
	} else if (strcmp(key, "max-tokens") == 0 && count == 2) {
		if (parse_uint(args[1], 1, FRONTDESK_FEATURES_MAX_TOKENS_LIMIT,
			       &w->params.max_tokens) < 0)
			return -1;
	} else if (strcmp(key, "classes") == 0 && count >= 3 &&
		   count - 1 <= FRONTDESK_WEIGHTS_MAX_CLASSES) {
		w->classes = (const char *const *)
			p_strarray_dup(w->pool, args + 1);
		w->class_count = count - 1;
	} else if (strcmp(key, "dense") == 0 &&
		   count - 1 <= FRONTDESK_WEIGHTS_MAX_DENSE) {
		w->dense_names = (const char *const *)
			p_strarray_dup(w->pool, args + 1);
		w->dense_count = count - 1;
	} else if (strcmp(key, "calibration") == 0 && count == 5) {
		if (parse_prob(args[1], &w->cal.unsure) < 0 ||
		    parse_prob(args[2], &w->cal.name) < 0 ||
		    parse_prob(args[3], &w->cal.secondary) < 0 ||
		    parse_prob(args[4], &w->cal.urgent) < 0)
			return -1;
	} else if (strcmp(key, "payload-bytes") == 0 && count == 2) {
		if (parse_uint(args[1], 1, FRONTDESK_WEIGHTS_MAX_FILE, &num) < 0)
			return -1;
		*payload_r = num;
	} else if (strcmp(key, "payload-sha256") == 0 && count == 2) {
		if (strlen(args[1]) != SHA256_RESULTLEN * 2)
			return -1;
		*sha_r = args[1];
	} else if (key[0] == '#') {
		/* a comment for the curious */
	} else {
		*error_r = t_strdup_printf("unknown header line '%s'", key);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (args[i][0] == '\0')
			return -1;
	}
	return 0;
}

int frontdesk_weights_parse(const char *name, const unsigned char *data,
			    size_t size, struct frontdesk_weights **weights_r,
			    const char **error_r)
{
	struct frontdesk_weights *w;
	const unsigned char *end, *p, *nl, *payload;
	unsigned char digest[SHA256_RESULTLEN];
	size_t payload_size = 0, need;
	const char *sha = NULL, *line_error = NULL;
	unsigned int line_no = 1;
	pool_t pool;

	if (size < strlen(FRONTDESK_WEIGHTS_MAGIC) + 1 ||
	    memcmp(data, FRONTDESK_WEIGHTS_MAGIC "\n",
		   strlen(FRONTDESK_WEIGHTS_MAGIC) + 1) != 0) {
		*error_r = t_strdup_printf("%s: not a frontdesk weights file "
			"(expected '%s' on the first line)", name,
			FRONTDESK_WEIGHTS_MAGIC);
		return -1;
	}
	pool = pool_alloconly_create("frontdesk weights", 1024);
	w = p_new(pool, struct frontdesk_weights, 1);
	w->pool = pool;
	frontdesk_feature_params_default(&w->params);

	end = data + I_MIN(size, FRONTDESK_WEIGHTS_MAX_HEADER);
	p = data + strlen(FRONTDESK_WEIGHTS_MAGIC) + 1;
	for (;;) {
		const char *const *args;

		line_no++;
		nl = memchr(p, '\n', end - p);
		if (nl == NULL) {
			*error_r = t_strdup_printf("%s: header not ended by "
				"an empty line", name);
			pool_unref(&pool);
			return -1;
		}
		if (nl == p)
			break;
		args = t_strsplit_spaces(t_strndup(p, nl - p), " ");
		if (args[0] == NULL ||
		    weights_header_line(w, args, str_array_length(args),
					&payload_size, &sha,
					&line_error) < 0) {
			*error_r = t_strdup_printf("%s:%u: %s", name, line_no,
				line_error != NULL ? line_error :
				"invalid header line");
			pool_unref(&pool);
			return -1;
		}
		p = nl + 1;
	}
	payload = nl + 1;
	if (w->classes == NULL || sha == NULL || payload_size == 0) {
		*error_r = t_strdup_printf("%s: header lacks classes, "
			"payload-bytes or payload-sha256", name);
		pool_unref(&pool);
		return -1;
	}
	w->cols = w->class_count + 1;
	need = (size_t)w->cols * sizeof(float) * (2 + w->dense_count) +
		(size_t)w->params.buckets * w->cols;
	if (payload_size != need) {
		*error_r = t_strdup_printf("%s: payload-bytes %zu does not "
			"match its header (%zu)", name, payload_size, need);
		pool_unref(&pool);
		return -1;
	}
	if ((size_t)(data + size - payload) != payload_size) {
		*error_r = t_strdup_printf("%s: truncated or padded: %zu "
			"payload bytes, the header says %zu", name,
			(size_t)(data + size - payload), payload_size);
		pool_unref(&pool);
		return -1;
	}
	sha256_get_digest(payload, payload_size, digest);
	if (strcasecmp(binary_to_hex(digest, sizeof(digest)), sha) != 0) {
		*error_r = t_strdup_printf("%s: checksum mismatch: the file "
			"is corrupted", name);
		pool_unref(&pool);
		return -1;
	}
	/* aligned copy: the floats are read in place */
	w->data = i_malloc(payload_size);
	memcpy(w->data, payload, payload_size);
	w->data_size = payload_size;
	w->scale = (const float *)w->data;
	w->bias = w->scale + w->cols;
	w->dense = w->bias + w->cols;
	w->w = (const int8_t *)(w->dense + (size_t)w->dense_count * w->cols);
	*weights_r = w;
	return 0;
}

int frontdesk_weights_load(const char *path, struct frontdesk_weights **weights_r,
			   const char **error_r)
{
	struct stat st;
	unsigned char *buf;
	ssize_t ret;
	size_t pos = 0;
	int fd, result;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (st.st_size > FRONTDESK_WEIGHTS_MAX_FILE) {
		*error_r = t_strdup_printf("%s: too large (%lld bytes)", path,
					   (long long)st.st_size);
		i_close_fd(&fd);
		return -1;
	}
	buf = i_malloc(st.st_size + 1);
	while (pos < (size_t)st.st_size) {
		ret = read(fd, buf + pos, st.st_size - pos);
		if (ret <= 0) {
			*error_r = ret < 0 ?
				t_strdup_printf("read(%s) failed: %m", path) :
				t_strdup_printf("%s: shrank while read", path);
			i_free(buf);
			i_close_fd(&fd);
			return -1;
		}
		pos += ret;
	}
	i_close_fd(&fd);
	result = frontdesk_weights_parse(path, buf, pos, weights_r, error_r);
	i_free(buf);
	return result;
}

void frontdesk_weights_free(struct frontdesk_weights **_weights)
{
	struct frontdesk_weights *w = *_weights;

	if (w == NULL)
		return;
	*_weights = NULL;
	i_free(w->data);
	pool_unref(&w->pool);
}

const struct frontdesk_feature_params *
frontdesk_weights_params(const struct frontdesk_weights *weights)
{
	return &weights->params;
}

const struct frontdesk_weights_calibration *
frontdesk_weights_calibration(const struct frontdesk_weights *weights)
{
	return &weights->cal;
}

unsigned int frontdesk_weights_class_count(const struct frontdesk_weights *weights)
{
	return weights->class_count;
}

const char *frontdesk_weights_class(const struct frontdesk_weights *weights,
				    unsigned int idx)
{
	i_assert(idx < weights->class_count);
	return weights->classes[idx];
}

unsigned int frontdesk_weights_dense_count(const struct frontdesk_weights *weights)
{
	return weights->dense_count;
}

const char *frontdesk_weights_dense_name(const struct frontdesk_weights *weights,
					 unsigned int idx)
{
	i_assert(idx < weights->dense_count);
	return weights->dense_names[idx];
}

size_t frontdesk_weights_memory_size(const struct frontdesk_weights *weights)
{
	return weights->data_size +
		pool_alloconly_get_total_alloc_size(weights->pool);
}

void frontdesk_weights_score(const struct frontdesk_weights *w,
			     const ARRAY_TYPE(frontdesk_feature) *features,
			     const float *dense, float *logits_r)
{
	const struct frontdesk_feature *f;
	unsigned int c, d;
	float *acc = t_new(float, w->cols);

	array_foreach(features, f) {
		const int8_t *row;

		if (f->idx >= w->params.buckets)
			continue;
		row = w->w + (size_t)f->idx * w->cols;
		for (c = 0; c < w->cols; c++)
			acc[c] += f->value * row[c];
	}
	for (c = 0; c < w->cols; c++) {
		logits_r[c] = w->bias[c] + acc[c] * w->scale[c];
		for (d = 0; d < w->dense_count; d++)
			logits_r[c] += dense[d] * w->dense[d * w->cols + c];
	}
}

float frontdesk_weights_contribution(const struct frontdesk_weights *w,
				     const struct frontdesk_feature *f,
				     unsigned int col)
{
	i_assert(col < w->cols);
	if (f->idx >= w->params.buckets)
		return 0;
	return f->value * w->w[(size_t)f->idx * w->cols + col] * w->scale[col];
}

float frontdesk_weights_dense_contribution(const struct frontdesk_weights *w,
					   unsigned int dense_idx, float value,
					   unsigned int col)
{
	i_assert(dense_idx < w->dense_count && col < w->cols);
	return value * w->dense[dense_idx * w->cols + col];
}

int frontdesk_model_load(const struct frontdesk_settings *set,
			 struct frontdesk_model **model_r, const char **error_r)
{
	struct frontdesk_model *model = frontdesk_model_init();
	struct frontdesk_weights *weights;

	if (frontdesk_model_add_lexicon_file(model, set->model_path,
					     error_r) < 0 ||
	    (*set->rules_path != '\0' &&
	     frontdesk_model_add_file(model, set->rules_path, error_r) < 0)) {
		frontdesk_model_deinit(&model);
		return -1;
	}
	if (*set->weights_path != '\0') {
		if (frontdesk_weights_load(set->weights_path, &weights,
					   error_r) < 0) {
			frontdesk_model_deinit(&model);
			return -1;
		}
		frontdesk_model_set_weights(model, weights);
	}
	*model_r = model;
	return 0;
}
