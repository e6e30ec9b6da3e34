/* Test helper, not installed: signs the message on stdin with
   frontdesk-dkim and writes the signed message to stdout, so that
   tests/integration/test_dkim.py can check it with an independent verifier.

   test-dkim-sign [-t unix-time] [-h header:header:...] key domain selector
*/

#include "lib.h"
#include "str.h"
#include "strfuncs.h"
#include "strnum.h"
#include "buffer.h"
#include "write-full.h"
#include "frontdesk-dkim.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int sign_main(int argc, char *argv[])
{
	struct frontdesk_dkim_key *key;
	const char *const *headers = NULL, *error;
	buffer_t *msg = t_buffer_create(8192);
	string_t *out = t_str_new(1024);
	unsigned char buf[8192];
	time_t now = time(NULL);
	long long t;
	ssize_t ret;
	int c;

	while ((c = getopt(argc, argv, "t:h:")) != -1) {
		switch (c) {
		case 't':
			if (str_to_llong(optarg, &t) < 0) {
				fprintf(stderr, "bad -t %s\n", optarg);
				return 2;
			}
			now = (time_t)t;
			break;
		case 'h':
			headers = t_strsplit(optarg, ":");
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "usage: test-dkim-sign [-t unix-time] "
			"[-h header:...] key domain selector < message\n");
		return 2;
	}
	while ((ret = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		buffer_append(msg, buf, ret);
	if (ret < 0) {
		fprintf(stderr, "read(stdin) failed: %s\n", strerror(errno));
		return 1;
	}

	if (frontdesk_dkim_key_load(argv[optind], argv[optind + 1],
				    argv[optind + 2], &key, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	ret = frontdesk_dkim_sign(key, msg->data, msg->used, headers, now,
				  out, &error);
	frontdesk_dkim_key_free(&key);
	if (ret < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	buffer_append(out, msg->data, msg->used);
	if (write_full(STDOUT_FILENO, out->data, out->used) < 0) {
		fprintf(stderr, "write(stdout) failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	int ret;

	lib_init();
	T_BEGIN {
		ret = sign_main(argc, argv);
	} T_END;
	lib_deinit();
	return ret;
}
