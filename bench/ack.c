/* bench/ack: micro-benchmark of composing one acknowledgment as the plugin
   does after a customer's mail is stored: the ticket reference (HMAC), the
   deadline in business hours and its wording, and the message itself from
   the language's template. Real mails (view and classification are done
   once, outside the timing); each template language in turn. Prints
   markdown. Not installed: run by bench/ack-bench. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "frontdesk-view.h"
#include "frontdesk-model.h"
#include "frontdesk-settings.h"
#include "frontdesk-classify.h"
#include "frontdesk-ticket.h"
#include "frontdesk-hours.h"
#include "frontdesk-template.h"
#include "frontdesk-ack.h"
#include "bench-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_ROUNDS 200

struct mail_case {
	const char *path;
	struct frontdesk_view *view;
	struct frontdesk_classification result;
};

static const char *bench_env(const char *name, void *context ATTR_UNUSED)
{
	/* a desk in another zone than the machine, with a holiday: the
	   deadline walks real calendars */
	if (strcmp(name, "frontdesk_timezone") == 0)
		return "Europe/Rome";
	if (strcmp(name, "frontdesk_holidays") == 0)
		return "12-25 12-26 01-01";
	return NULL;
}

static int mail_read(pool_t pool, const struct frontdesk_model *model,
		     const struct frontdesk_settings *set, const char *path,
		     struct mail_case *mc)
{
	struct istream *input;
	const char *error;

	input = i_stream_create_file(path, 8192);
	if (frontdesk_view_parse(pool, input, &set->limits, &mc->view,
				 &error) < 0) {
		i_error("%s: %s", path, error);
		i_stream_unref(&input);
		return -1;
	}
	i_stream_unref(&input);
	frontdesk_classify(model, set, mc->view, pool, &mc->result);
	mc->path = path;
	return 0;
}

int main(int argc, char *argv[])
{
	static const char *const langs[] = { "it", "en", "de", "fr", "es", "pt" };
	static const unsigned char secret[32] = "frontdesk bench secret, 32 bytes";
	const char *model_path = NULL, *tpl_dir = NULL, *error, *ticket;
	struct frontdesk_settings *set;
	struct frontdesk_model *model;
	struct frontdesk_ticket_key key;
	struct frontdesk_ack_params params;
	ARRAY(struct mail_case) mails;
	ARRAY_TYPE(bench_double) t_ticket, t_hours, t_compose, t_total;
	const struct mail_case *mc, *first;
	size_t bytes = 0;
	unsigned int i, l, acks = 0;
	time_t now = 1795354404; /* a Monday afternoon, fixed: repeatable */
	pool_t pool;
	int ret = 0;

	lib_init();
	pool = pool_alloconly_create("bench ack", 1024*1024);
	p_array_init(&mails, pool, 16);
	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "-m") == 0 && i + 1 < (unsigned int)argc)
			model_path = argv[++i];
		else if (strcmp(argv[i], "-t") == 0 &&
			 i + 1 < (unsigned int)argc)
			tpl_dir = argv[++i];
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: ack -m MODEL -t TEMPLATE_DIR "
				"MAIL...\n");
			return 2;
		}
	}
	if (model_path == NULL || tpl_dir == NULL) {
		fprintf(stderr, "usage: ack -m MODEL -t TEMPLATE_DIR MAIL...\n");
		return 2;
	}
	if (frontdesk_settings_parse(pool, bench_env, NULL, &set, &error) < 0)
		i_fatal("settings: %s", error);
	model = frontdesk_model_init();
	if (frontdesk_model_add_lexicon_file(model, model_path, &error) < 0)
		i_fatal("model: %s", error);
	for (i = 1; i < (unsigned int)argc; i++) {
		if (argv[i][0] == '-') {
			i++;
			continue;
		}
		if (mail_read(pool, model, set, argv[i],
			      array_append_space(&mails)) < 0)
			return 1;
	}
	if (array_count(&mails) == 0)
		i_fatal("no mails given");

	key.prefix = "FD";
	key.secret = secret;
	key.secret_len = sizeof(secret);
	i_zero(&params);
	params.from_addr = "support@example.com";
	params.from_name = "";
	params.company = set->ack.company;
	params.msgid_domain = "example.com";
	params.subject_max = set->ack.subject_max;

	i_array_init(&t_ticket, 4096);
	i_array_init(&t_hours, 4096);
	i_array_init(&t_compose, 4096);
	i_array_init(&t_total, 4096);
	for (l = 0; l < N_ELEMENTS(langs); l++) {
		struct frontdesk_template *tpl;

		if (frontdesk_template_load(pool, tpl_dir, langs[l], &tpl,
					    &error) <= 0)
			i_fatal("template %s: %s", langs[l], error);
		for (i = 0; i < BENCH_ROUNDS; i++) {
			array_foreach(&mails, mc) T_BEGIN {
				struct frontdesk_classification result = mc->result;
				struct frontdesk_ack_input input;
				struct frontdesk_when when;
				string_t *msg = t_str_new(4096);
				double t0, t1, t2, t3, d;
				time_t at = now + (time_t)(i * 997) % (7*24*3600);
				time_t deadline;

				result.language = langs[l];
				t0 = bench_now_usecs();
				ticket = frontdesk_ticket_make(&key, t_strdup_printf(
					"%s %u", mc->path, i));
				t1 = bench_now_usecs();
				deadline = frontdesk_hours_deadline(set->ack.hours,
					at, result.urgent ?
					set->ack.urgent_response_secs :
					set->ack.response_secs);
				frontdesk_hours_describe(set->ack.hours, at,
							 deadline, &when);
				t2 = bench_now_usecs();
				i_zero(&input);
				input.view = mc->view;
				input.result = &result;
				input.tpl = tpl;
				input.to_addr = "customer@example.org";
				input.ticket = ticket;
				input.when = &when;
				input.now = at;
				if (frontdesk_ack_compose(&params, &input, msg,
							  &error) < 0) {
					i_error("%s (%s): %s", mc->path,
						langs[l], error);
					ret = 1;
				}
				t3 = bench_now_usecs();
				if (i > 0) { /* the first round warms up */
					d = t1 - t0; array_push_back(&t_ticket, &d);
					d = t2 - t1; array_push_back(&t_hours, &d);
					d = t3 - t2; array_push_back(&t_compose, &d);
					d = t3 - t0; array_push_back(&t_total, &d);
					bytes += str_len(msg);
					acks++;
				}
			} T_END;
		}
	}
	first = array_idx(&mails, 0);
	printf("%u acknowledgments: %u mails (%s ...) x %zu template "
	       "languages x %u rounds, business hours \"%s\" in Europe/Rome "
	       "with holidays; mean ack size %zu bytes. Medians and p90, "
	       "µs per acknowledgment:\n\n", acks, array_count(&mails),
	       strrchr(first->path, '/') == NULL ? first->path :
	       strrchr(first->path, '/') + 1, N_ELEMENTS(langs), BENCH_ROUNDS - 1,
	       FRONTDESK_DEFAULT_BUSINESS_HOURS, bytes / (acks == 0 ? 1 : acks));
	printf("| step | median µs | p90 µs |\n|---|---:|---:|\n");
	printf("| ticket reference (HMAC-SHA256) | %.1f | %.1f |\n",
	       bench_percentile(&t_ticket, 50), bench_percentile(&t_ticket, 90));
	printf("| deadline in business hours + wording | %.1f | %.1f |\n",
	       bench_percentile(&t_hours, 50), bench_percentile(&t_hours, 90));
	printf("| message from the template (headers, text, HTML, QP) | %.1f | %.1f |\n",
	       bench_percentile(&t_compose, 50), bench_percentile(&t_compose, 90));
	printf("| total | %.1f | %.1f |\n", bench_percentile(&t_total, 50),
	       bench_percentile(&t_total, 90));
	array_free(&t_ticket);
	array_free(&t_hours);
	array_free(&t_compose);
	array_free(&t_total);
	frontdesk_model_deinit(&model);
	pool_unref(&pool);
	lib_deinit();
	return ret;
}
