/* Dovecot 2.3 / 2.4 compatibility for the core: the JSON reader (2.3's
   json_parser and 2.4's json_istream differ entirely). The rest of the
   differences are macros in frontdesk-compat.h. */

#include "lib.h"
#include "istream.h"
#include "frontdesk-compat.h"

#if FRONTDESK_DOVECOT24
#  include "json-istream.h"
#else
#  include "json-parser.h"
#endif

int frontdesk_json_read_object(const char *text,
			       frontdesk_json_member_func_t *callback,
			       void *context, const char **error_r)
{
	return frontdesk_json_read_object_data((const unsigned char *)text,
					       strlen(text), callback, context,
					       error_r);
}

#if FRONTDESK_DOVECOT24
int frontdesk_json_read_object_data(const unsigned char *data, size_t size,
				    frontdesk_json_member_func_t *callback,
				    void *context, const char **error_r)
{
	struct istream *input;
	struct json_istream *jinput;
	struct json_node node;
	const char *value, *bad = NULL;
	int ret;

	input = i_stream_create_from_data(data, size);
	/* numbers as their text, as 2.3 gives them (by default 2.4 truncates
	   them to integers: a score of 8.7 would read 8) */
	jinput = json_istream_create_object(input, NULL,
					    JSON_PARSER_FLAG_NUMBERS_AS_STRING);
	/* read_next() skips nested objects and arrays as a unit */
	while ((ret = json_istream_read_next(jinput, &node)) > 0) {
		if (!json_node_is_singular(&node))
			continue;
		/* only what 2.3's parser gives too: a string with \u0000
		   comes as data (refused there), a long one as a stream */
		switch (node.value.content_type) {
		case JSON_CONTENT_TYPE_NONE:
			value = node.type == JSON_TYPE_NULL ? NULL :
				json_node_get_str(&node);
			break;
		case JSON_CONTENT_TYPE_STRING:
		case JSON_CONTENT_TYPE_INTEGER:
			value = json_node_as_str(&node);
			break;
		default:
			bad = t_strdup_printf("member '%s': %s", node.name,
				node.value.content_type ==
				JSON_CONTENT_TYPE_DATA ?
				"a string holds \\u0000" :
				"value not readable as text");
			break;
		}
		if (bad != NULL)
			break;
		callback(node.name, node.type, value, context);
	}
	if (bad != NULL) {
		json_istream_destroy(&jinput);
		i_stream_unref(&input);
		*error_r = bad;
		return -1;
	}
	ret = json_istream_finish(&jinput, error_r);
	i_stream_unref(&input);
	return ret > 0 ? 0 : -1;
}
#else
int frontdesk_json_read_object_data(const unsigned char *data, size_t size,
				    frontdesk_json_member_func_t *callback,
				    void *context, const char **error_r)
{
	struct istream *input;
	struct json_parser *parser;
	enum json_type type;
	const char *key = NULL, *value;
	int ret;

	input = i_stream_create_from_data(data, size);
	parser = json_parser_init(input);
	while (json_parse_next(parser, &type, &value) > 0) {
		if (type == JSON_TYPE_OBJECT_KEY) {
			key = t_strdup(value);
			continue;
		}
		if (type == JSON_TYPE_OBJECT || type == JSON_TYPE_ARRAY) {
			json_parse_skip(parser);
			key = NULL;
			continue;
		}
		if (key != NULL) {
			callback(key, type, type == JSON_TYPE_NULL ? NULL :
				 value, context);
		}
		key = NULL;
	}
	ret = json_parser_deinit(&parser, error_r);
	i_stream_unref(&input);
	return ret;
}
#endif
