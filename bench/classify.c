/* bench/classify: micro-benchmark of the work frontdesk does for every
   delivered message (the bounded message view, then the classification),
   on real mails padded to fixed sizes by repeating their paragraphs, and of
   the memory the loaded model takes. Prints markdown. Not installed: run by
   bench/classify-bench. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "bench-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <malloc.h>
#include <unistd.h>

/* Each size is timed for at least this long and this many messages, so
   that a 1 KB message is not measured by a handful of clock reads. */
#define BENCH_MIN_SECONDS 0.5
#define BENCH_MIN_MESSAGES 20
#define BENCH_WARMUP 3

ARRAY_DEFINE_TYPE(bench_size, size_t);

static const size_t default_sizes[] = {
	1024, 5*1024, 20*1024, 100*1024, 1024*1024
};

struct seed {
	const char *path;
	/* header block including the blank line, then the body */
	const char *header;
	size_t header_len;
	ARRAY_TYPE(const_string) paragraphs;
};

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static const char *null_env(const char *name ATTR_UNUSED,
			    void *context ATTR_UNUSED)
{
	return NULL;
}

static int seed_read(pool_t pool, const char *path, struct seed *seed_r)
{
	string_t *data = str_new(pool, 8192);
	const char *text, *body, *p, *end;
	char buf[8192];
	size_t n;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		i_error("fopen(%s) failed: %m", path);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_data(data, buf, n);
	fclose(f);
	text = str_c(data);
	body = strstr(text, "\n\n");
	if (body == NULL) {
		i_error("%s: no body", path);
		return -1;
	}
	body += 2;
	seed_r->path = path;
	seed_r->header = text;
	seed_r->header_len = body - text;
	/* paragraphs, each with its trailing blank line */
	p_array_init(&seed_r->paragraphs, pool, 16);
	for (p = body; *p != '\0'; p = end) {
		end = strstr(p, "\n\n");
		end = end == NULL ? p + strlen(p) : end + 2;
		if (end - p > 2) {
			const char *para = p_strndup(pool, p, end - p);
			array_push_back(&seed_r->paragraphs, &para);
		}
	}
	if (array_count(&seed_r->paragraphs) == 0) {
		i_error("%s: empty body", path);
		return -1;
	}
	return 0;
}

/* The seed's header, then its paragraphs over and over up to size. */
static string_t *seed_message(pool_t pool, const struct seed *seed, size_t size)
{
	string_t *msg = str_new(pool, size + 1024);
	const char *const *paras;
	unsigned int i, count;

	str_append_data(msg, seed->header, seed->header_len);
	paras = array_get(&seed->paragraphs, &count);
	for (i = 0; str_len(msg) < size; i++) {
		const char *para = paras[i % count];
		size_t left = size - str_len(msg);

		if (strlen(para) <= left)
			str_append(msg, para);
		else {
			str_append_data(msg, para, left);
			str_append_c(msg, '\n');
		}
	}
	return msg;
}

struct timing {
	double view_us, classify_us, total_us, total_p90_us;
	unsigned int messages;
};

struct bench_times {
	ARRAY_TYPE(bench_double) view, classify, total;
};

static void
bench_one(const struct frontdesk_model *model,
	  const struct frontdesk_settings *set, const string_t *msg,
	  struct bench_times *times)
{
	struct frontdesk_view *view;
	struct frontdesk_classification result;
	struct istream *input;
	const char *error;
	double t0, t1, t2, total;
	pool_t pool;

	T_BEGIN {
		t0 = bench_now_usecs();
		pool = pool_alloconly_create("bench message", 8192);
		input = i_stream_create_from_data(str_data(msg), str_len(msg));
		if (frontdesk_view_parse(pool, input, &set->limits, &view,
					 &error) < 0)
			i_fatal("view: %s", error);
		t1 = bench_now_usecs();
		frontdesk_classify(model, set, view, pool, &result);
		i_stream_unref(&input);
		pool_unref(&pool);
		t2 = bench_now_usecs();
	} T_END;
	if (times != NULL) {
		total = t1 - t0;
		array_push_back(&times->view, &total);
		total = t2 - t1;
		array_push_back(&times->classify, &total);
		total = t2 - t0;
		array_push_back(&times->total, &total);
	}
}

static void
bench_size(const struct frontdesk_model *model,
	   const struct frontdesk_settings *set, const struct seed *seeds,
	   unsigned int seed_count, size_t size, struct timing *timing_r)
{
	struct bench_times times;
	string_t **msgs = t_new(string_t *, seed_count);
	double start;
	unsigned int i, n = 0;

	for (i = 0; i < seed_count; i++)
		msgs[i] = seed_message(pool_datastack_create(), &seeds[i], size);
	for (i = 0; i < BENCH_WARMUP * seed_count; i++)
		bench_one(model, set, msgs[i % seed_count], NULL);
	i_array_init(&times.view, 1024);
	i_array_init(&times.classify, 1024);
	i_array_init(&times.total, 1024);
	start = bench_now_usecs();
	while (n < BENCH_MIN_MESSAGES ||
	       bench_now_usecs() - start < BENCH_MIN_SECONDS * 1e6) {
		bench_one(model, set, msgs[n % seed_count], &times);
		n++;
	}
	timing_r->messages = n;
	timing_r->view_us = bench_percentile(&times.view, 50);
	timing_r->classify_us = bench_percentile(&times.classify, 50);
	timing_r->total_us = bench_percentile(&times.total, 50);
	timing_r->total_p90_us = bench_percentile(&times.total, 90);
	array_free(&times.view);
	array_free(&times.classify);
	array_free(&times.total);
}

static const char *size_str(size_t size)
{
	if (size >= 1024*1024 && size % (1024*1024) == 0)
		return t_strdup_printf("%zu MB", size / (1024*1024));
	if (size % 1024 == 0)
		return t_strdup_printf("%zu KB", size / 1024);
	return t_strdup_printf("%zu B", size);
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: classify -m MODEL [-s SIZE[,SIZE...]] SEED.eml...\n"
		"Times message view + classification of the seed mails padded"
		" to each size\n(default 1k,5k,20k,100k,1M) and measures the "
		"loaded model's memory.\n");
}

static int parse_sizes(const char *arg, ARRAY_TYPE(bench_size) *sizes)
{
	const char *const *s;
	unsigned long num;
	size_t size;
	char *end;

	/* 1024, 5k, 1M */
	for (s = t_strsplit(arg, ","); *s != NULL; s++) {
		num = strtoul(*s, &end, 10);
		if (end == *s)
			return -1;
		if (*end == 'k' || *end == 'K') {
			num *= 1024;
			end++;
		} else if (*end == 'm' || *end == 'M') {
			num *= 1024*1024;
			end++;
		}
		if (*end != '\0' || num == 0 || num > 64*1024*1024)
			return -1;
		size = num;
		array_push_back(sizes, &size);
	}
	return 0;
}

static int bench_main(int argc, char *argv[])
{
	struct frontdesk_settings *set;
	struct frontdesk_model *model;
	ARRAY(struct seed) seeds;
	ARRAY_TYPE(bench_size) sizes;
	const char *model_path = NULL, *error;
	size_t heap0, rss0, heap1, rss1, size;
	double load_us;
	struct timing timing;
	pool_t pool;
	int i;

	pool = pool_alloconly_create("bench", 65536);
	p_array_init(&seeds, pool, 8);
	p_array_init(&sizes, pool, 8);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
			model_path = argv[++i];
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (parse_sizes(argv[++i], &sizes) < 0) {
				fprintf(stderr, "classify: bad -s %s\n",
					argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-') {
			print_usage(stderr);
			return 2;
		} else {
			struct seed *seed = array_append_space(&seeds);
			if (seed_read(pool, argv[i], seed) < 0)
				return 1;
		}
	}
	if (model_path == NULL || array_count(&seeds) == 0) {
		print_usage(stderr);
		return 2;
	}
	if (array_count(&sizes) == 0) {
		for (i = 0; i < (int)N_ELEMENTS(default_sizes); i++)
			array_push_back(&sizes, &default_sizes[i]);
	}
	if (frontdesk_settings_parse(pool, null_env, NULL, &set, &error) < 0)
		i_fatal("settings: %s", error);

	/* memory: what loading the model leaves allocated (heap) and what
	   it adds to the resident set (heap plus the data stack it grew) */
	heap0 = heap_bytes();
	rss0 = rss_bytes();
	load_us = bench_now_usecs();
	model = frontdesk_model_init();
	if (frontdesk_model_add_lexicon_file(model, model_path, &error) < 0)
		i_fatal("model: %s", error);
	load_us = bench_now_usecs() - load_us;
	heap1 = heap_bytes();
	rss1 = rss_bytes();

	printf("Model `%s`: %u rules (%u regex), loaded in %.1f ms.\n\n"
	       "| model memory | MB |\n|---|---:|\n"
	       "| allocated for the model (pool, arrays, hash) | %.2f |\n"
	       "| heap in use after loading (malloc, minus before) | %.2f |\n"
	       "| RSS after loading, minus before | %.2f |\n\n",
	       model_path, frontdesk_model_rule_count(model),
	       frontdesk_model_regex_rule_count(model), load_us / 1000,
	       frontdesk_model_memory_size(model) / (1024.0*1024),
	       (double)(heap1 - heap0) / (1024*1024),
	       (double)(rss1 > rss0 ? rss1 - rss0 : 0) / (1024*1024));
	printf("Message view + classification, %u seed mails padded by "
	       "repeating their paragraphs (body bound %zu KB of decoded "
	       "text, %zu KB of raw mail):\n\n", array_count(&seeds),
	       set->limits.max_body_bytes / 1024,
	       set->limits.max_message_bytes / 1024);
	printf("Medians, except p90; MB/s = size / median total.\n\n");
	printf("| size | messages | view µs | classify µs | total µs "
	       "| total µs (p90) | MB/s |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|\n");
	array_foreach_elem(&sizes, size) T_BEGIN {
		bench_size(model, set, array_front(&seeds),
			   array_count(&seeds), size, &timing);
		printf("| %s | %u | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
		       size_str(size), timing.messages, timing.view_us,
		       timing.classify_us, timing.total_us,
		       timing.total_p90_us,
		       (double)size / timing.total_us);
		fflush(stdout);
	} T_END;
	frontdesk_model_deinit(&model);
	pool_unref(&pool);
	return 0;
}

int main(int argc, char *argv[])
{
	int ret;

	lib_init();
	T_BEGIN {
		ret = bench_main(argc, argv);
	} T_END;
	lib_deinit();
	return ret;
}
