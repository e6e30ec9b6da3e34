/* frontdesk-classify: the dry run. Reads messages (or JSON lines) and prints
   what the plugin would decide for each, with the very same core code and
   the same plugin { } settings read from dovecot.conf. */

#include "lib.h"
#include "frontdesk-compat.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "ostream.h"
#include "unichar.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-tags.h"
#include "frontdesk-config.h"
#include "frontdesk-guard.h"
#include "frontdesk-report.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#define DEFAULT_CONFIG "/etc/dovecot/dovecot.conf"
/* A JSON line longer than this is not a ticket. */
#define MAX_JSONL_LINE (1024*1024)

enum output_mode { OUTPUT_JSON, OUTPUT_HUMAN, OUTPUT_FEATURES };

struct cli {
	const struct frontdesk_settings *set;
	const struct frontdesk_model *model;
	enum output_mode mode;
	const char *env_from, *env_to;
	unsigned int messages;
	int exit_code;
};

static void print_usage(FILE *f)
{
	fprintf(f,
"usage: frontdesk-classify [options] FILE|DIR|- ...\n"
"       frontdesk-classify [options] --jsonl < tickets.jsonl\n"
"Prints what frontdesk would decide for each message, one JSON object a line.\n"
"  -c, --config FILE   Dovecot config with the plugin { } settings\n"
"                      (default " DEFAULT_CONFIG " when readable)\n"
"  -o KEY=VALUE        override a setting (e.g. -o frontdesk_model=PATH)\n"
"      --from ADDR     envelope sender (default: Return-Path)\n"
"      --to ADDR       envelope recipient (default: Delivered-To, To)\n"
"      --jsonl         read {\"id\",\"subject\",\"body\",\"lang\"} lines on stdin\n"
"      --human         print a readable table instead of JSON\n"
"      --features      print the learned model's input for each message\n"
"                      (what model/train reads)\n"
"  -h, --help         this text\n");
}

static void
print_result(struct cli *cli, const char *id_key, const char *id,
	     const struct frontdesk_classification *r,
	     const char *ack_reason, enum frontdesk_machine_kind machine)
{
	string_t *out = t_str_new(512);

	if (cli->mode == OUTPUT_HUMAN)
		frontdesk_report_human(out, id, r, ack_reason, machine);
	else {
		frontdesk_report_json(out, cli->set, id_key, id, r, ack_reason,
				      machine);
	}
	fputs(str_c(out), stdout);
}

/* The envelope as the delivery would see it: --from/--to, else what the
   MTA recorded in Return-Path and Delivered-To, else To. */
static void cli_set_envelope(struct cli *cli, struct frontdesk_view *view)
{
	frontdesk_report_set_envelope(view, cli->env_from, cli->env_to);
}

static void json_str(string_t *out, const char *key, const char *value)
{
	str_printfa(out, "\"%s\":\"", key);
	json_append_escaped(out, value == NULL ? "" : value);
	str_append(out, "\",");
}

static void print_features(struct cli *cli, const char *name,
			   const struct frontdesk_view *view)
{
	string_t *out = t_str_new(8192), *sparse, *dense;

	/* filled inside the classifier's own data stack frame */
	sparse = str_new(default_pool, 8192);
	dense = str_new(default_pool, 256);
	frontdesk_classify_features(cli->model, cli->set, view, sparse, dense);
	str_append_c(out, '{');
	json_str(out, "file", name);
	json_str(out, "dense", str_c(dense));
	json_str(out, "sparse", str_c(sparse));
	str_truncate(out, str_len(out) - 1);
	str_append(out, "}\n");
	fputs(str_c(out), stdout);
	str_free(&sparse);
	str_free(&dense);
	cli->messages++;
}

static int classify_stream(struct cli *cli, const char *name,
			   struct istream *input)
{
	struct frontdesk_view *view;
	const char *error;
	string_t *out;
	pool_t pool;
	int ret;

	if (cli->mode != OUTPUT_FEATURES) {
		/* the dry run doveadm frontdesk classify does too */
		out = t_str_new(512);
		ret = frontdesk_report_classify(cli->model, cli->set, name,
						input, cli->env_from,
						cli->env_to,
						cli->mode == OUTPUT_HUMAN,
						out, &error);
		if (ret < 0) {
			i_error("%s: %s", name, error);
			cli->exit_code = 1;
			return -1;
		}
		fputs(str_c(out), stdout);
		cli->messages++;
		return 0;
	}
	pool = pool_alloconly_create("frontdesk message", 8192);
	ret = frontdesk_view_parse(pool, input, &cli->set->limits, &view,
				   &error);
	if (ret < 0) {
		i_error("%s: %s", name, error);
		cli->exit_code = 1;
	} else {
		cli_set_envelope(cli, view);
		print_features(cli, name, view);
	}
	pool_unref(&pool);
	return ret;
}

static void classify_path(struct cli *cli, const char *path, unsigned int depth);

static void classify_dir(struct cli *cli, const char *path, unsigned int depth)
{
	struct dirent **names;
	int i, n;

	/* sorted, so output order is reproducible */
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		i_error("scandir(%s) failed: %m", path);
		cli->exit_code = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (name[0] != '.' && depth < 8) T_BEGIN {
			classify_path(cli, t_strconcat(path, "/", name, NULL),
				      depth + 1);
		} T_END;
		free(names[i]);
	}
	free(names);
}

static bool has_suffix(const char *str, const char *suffix)
{
	size_t len = strlen(str), slen = strlen(suffix);

	return len >= slen && strcmp(str + len - slen, suffix) == 0;
}

static void classify_path(struct cli *cli, const char *path, unsigned int depth)
{
	struct istream *input;
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		input = i_stream_create_fd(STDIN_FILENO, 65536);
		i_stream_set_name(input, "-");
		(void)classify_stream(cli, "-", input);
		i_stream_unref(&input);
		return;
	}
	if (stat(path, &st) < 0) {
		i_error("stat(%s) failed: %m", path);
		cli->exit_code = 1;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		classify_dir(cli, path, depth);
		return;
	}
	if (depth > 0 && (has_suffix(path, ".jsonl") ||
			  has_suffix(path, ".json") ||
			  has_suffix(path, ".md") ||
			  has_suffix(path, ".txt") ||
			  has_suffix(path, ".tsv") ||
			  strstr(path, "LICENSE") != NULL ||
			  strstr(path, "/dovecot-") != NULL ||
			  strstr(path, "/dovecot.") != NULL))
		return; /* not messages: Maildir and corpus metadata */
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		i_error("open(%s) failed: %m", path);
		cli->exit_code = 1;
		return;
	}
	input = i_stream_create_fd_autoclose(&fd, 65536);
	i_stream_set_name(input, path);
	(void)classify_stream(cli, path, input);
	i_stream_unref(&input);
}

struct jsonl_record {
	const char *id, *subject, *body, *lang;
};

static void jsonl_member(const char *key, enum json_type type ATTR_UNUSED,
			 const char *value, void *context)
{
	struct jsonl_record *rec = context;

	value = t_strdup(value);
	if (strcmp(key, "id") == 0)
		rec->id = value;
	else if (strcmp(key, "subject") == 0)
		rec->subject = value;
	else if (strcmp(key, "body") == 0)
		rec->body = value;
	else if (strcmp(key, "lang") == 0)
		rec->lang = value;
}

static int jsonl_parse(const char *line, const char **id_r,
		       const char **subject_r, const char **body_r,
		       const char **lang_r, const char **error_r)
{
	struct jsonl_record rec;
	int ret;

	i_zero(&rec);
	ret = frontdesk_json_read_object(line, jsonl_member, &rec, error_r);
	*id_r = rec.id;
	*subject_r = rec.subject;
	*body_r = rec.body;
	*lang_r = rec.lang;
	if (ret == 0 && *id_r == NULL) {
		*error_r = "missing \"id\"";
		ret = -1;
	}
	return ret;
}

static void classify_jsonl(struct cli *cli)
{
	struct frontdesk_classification result;
	struct istream *input;
	const char *line, *id, *subject, *body, *lang, *error;
	unsigned int linenum = 0;
	pool_t pool;

	input = i_stream_create_fd(STDIN_FILENO, MAX_JSONL_LINE);
	while ((line = i_stream_read_next_line(input)) != NULL) {
		linenum++;
		if (*line == '\0')
			continue;
		T_BEGIN {
			if (!uni_utf8_str_is_valid(line)) {
				i_error("stdin:%u: not valid UTF-8", linenum);
				cli->exit_code = 1;
			} else if (jsonl_parse(line, &id, &subject, &body,
					       &lang, &error) < 0) {
				i_error("stdin:%u: invalid JSON line: %s",
					linenum, error);
				cli->exit_code = 1;
			} else {
				pool = pool_alloconly_create("jsonl", 4096);
				frontdesk_classify_text(cli->model, cli->set,
					subject, body, lang, pool, &result);
				print_result(cli, "id", id, &result, NULL,
					     FRONTDESK_MACHINE_NONE);
				pool_unref(&pool);
				cli->messages++;
			}
		} T_END;
	}
	if (input->stream_errno != 0) {
		i_error("read(stdin) failed: %s", i_stream_get_error(input));
		cli->exit_code = 1;
	} else if (i_stream_get_data_size(input) > 0) {
		i_error("stdin:%u: line longer than %u bytes", linenum + 1,
			MAX_JSONL_LINE);
		cli->exit_code = 1;
	}
	i_stream_unref(&input);
}

static int cli_main(int argc, char *argv[])
{
	struct cli cli;
	struct frontdesk_config *config;
	struct frontdesk_settings *set;
	struct frontdesk_model *model;
	ARRAY_TYPE(const_string) overrides, files;
	const char *config_path = NULL, *error, *arg, *const *ov;
	bool jsonl = FALSE;
	pool_t pool;
	int i;

	i_zero(&cli);
	t_array_init(&overrides, 4);
	t_array_init(&files, 4);
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			print_usage(stdout);
			return 0;
		} else if ((strcmp(arg, "-c") == 0 ||
			    strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (str_begins_with(arg, "--config=")) {
			config_path = arg + 9;
		} else if (strcmp(arg, "-o") == 0 && i + 1 < argc) {
			array_push_back(&overrides, (const char **)&argv[++i]);
		} else if (strcmp(arg, "--from") == 0 && i + 1 < argc) {
			cli.env_from = argv[++i];
		} else if (strcmp(arg, "--to") == 0 && i + 1 < argc) {
			cli.env_to = argv[++i];
		} else if (strcmp(arg, "--jsonl") == 0) {
			jsonl = TRUE;
		} else if (strcmp(arg, "--human") == 0) {
			cli.mode = OUTPUT_HUMAN;
		} else if (strcmp(arg, "--features") == 0) {
			cli.mode = OUTPUT_FEATURES;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "frontdesk-classify: unknown option "
				"'%s'\n", arg);
			print_usage(stderr);
			return 2;
		} else {
			array_push_back(&files, &arg);
		}
	}
	if (!jsonl && array_count(&files) == 0) {
		print_usage(stderr);
		return 2;
	}

	pool = pool_alloconly_create("frontdesk-classify", 4096);
	if (config_path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
		config_path = DEFAULT_CONFIG;
	if (config_path == NULL)
		config = frontdesk_config_new(pool);
	else if (frontdesk_config_read(pool, config_path, &config,
				       &error) < 0) {
		fprintf(stderr, "frontdesk-classify: %s\n", error);
		pool_unref(&pool);
		return 2;
	}
	array_foreach(&overrides, ov) {
		const char *eq = strchr(*ov, '=');

		if (eq == NULL) {
			fprintf(stderr, "frontdesk-classify: -o %s: expected "
				"KEY=VALUE\n", *ov);
			pool_unref(&pool);
			return 2;
		}
		frontdesk_config_set(config, t_strdup_until(*ov, eq), eq + 1);
	}
	if (frontdesk_settings_parse(pool, frontdesk_config_getenv, config,
				     &set, &error) < 0) {
		fprintf(stderr, "frontdesk-classify: invalid setting: %s\n",
			error);
		pool_unref(&pool);
		return 2;
	}
	if (frontdesk_model_load(set, &model, &error) < 0) {
		fprintf(stderr, "frontdesk-classify: model: %s\n", error);
		pool_unref(&pool);
		return 2;
	}
	cli.set = set;
	cli.model = model;
	if (cli.mode == OUTPUT_HUMAN) {
		string_t *hdr = t_str_new(128);

		frontdesk_report_human_header(hdr);
		fputs(str_c(hdr), stdout);
	}
	if (jsonl)
		classify_jsonl(&cli);
	array_foreach_elem(&files, arg) T_BEGIN {
		classify_path(&cli, arg, 0);
	} T_END;
	fflush(stdout);
	frontdesk_model_deinit(&model);
	pool_unref(&pool);
	return cli.exit_code;
}

int main(int argc, char *argv[])
{
	int ret;

	lib_init();
	T_BEGIN {
		ret = cli_main(argc, argv);
	} T_END;
	lib_deinit();
	return ret;
}
