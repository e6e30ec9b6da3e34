/* Message view: the bounded, decoded picture of one mail that every decision
   is taken on. All MIME, charset and header decoding is libdovecot's
   (message-parser, message-decoder, mail-html2text, message-address); this
   module only chooses what to keep and enforces the bounds. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "istream.h"
#include "unichar.h"
#include "message-parser.h"
#include "message-decoder.h"
#include "message-header-decode.h"
#include "message-address.h"
#include "mail-html2text.h"
#include "rfc822-parser.h"
#include "frontdesk-view.h"

#include <ctype.h>

struct view_parse_ctx {
	struct frontdesk_view *view;
	const struct frontdesk_view_limits *limits;

	/* part whose body is being collected, and how */
	struct message_part *cur_part;
	struct message_part *attachment_part;
	bool cur_use, cur_html, cur_report;
	struct mail_html2text *html2text;
	buffer_t *html_out;

	string_t *html_text;
};

void frontdesk_view_limits_default(struct frontdesk_view_limits *limits_r)
{
	i_zero(limits_r);
	limits_r->max_message_bytes = FRONTDESK_VIEW_DEFAULT_MAX_MESSAGE_BYTES;
	limits_r->max_body_bytes = FRONTDESK_VIEW_DEFAULT_MAX_BODY_BYTES;
	limits_r->max_headers = FRONTDESK_VIEW_DEFAULT_MAX_HEADERS;
}

/* Copy valid UTF-8 without control characters (CR/LF/TAB become spaces, so
   nothing read from a header can ever start a new header line). */
static const char *
view_clean(pool_t pool, const unsigned char *data, size_t size, size_t max)
{
	string_t *valid = t_str_new(size + 1);
	string_t *out;
	const unsigned char *p;
	size_t i, len;

	if (size > max * 2)
		size = max * 2;
	/* returns TRUE (and copies nothing) when data is valid already */
	if (uni_utf8_get_valid_data(data, size, valid))
		str_append_data(valid, data, size);
	p = str_data(valid);
	len = str_len(valid);
	out = str_new(pool, I_MIN(len, max) + 1);
	for (i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			/* unfolding removes the line break only */
			size_t j = i;

			while (j < len && (p[j] == '\r' || p[j] == '\n'))
				j++;
			if (j < len && (p[j] == ' ' || p[j] == '\t')) {
				i = j - 1;
				continue;
			}
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			if (str_len(out) > 0 &&
			    str_data(out)[str_len(out)-1] != ' ')
				str_append_c(out, ' ');
		} else {
			str_append_c(out, p[i]);
		}
	}
	/* trim trailing space and cut at a character boundary */
	len = str_len(out);
	if (len > max)
		len = uni_utf8_data_truncate(str_data(out), len, max);
	while (len > 0 && str_data(out)[len-1] == ' ')
		len--;
	str_truncate(out, len);
	p = str_data(out);
	for (i = 0; i < len && p[i] == ' '; i++) ;
	return str_c(out) + i;
}

static const char *view_lcase_addr(pool_t pool, const struct message_address *a)
{
	if (a == NULL || a->mailbox == NULL || a->mailbox[0] == '\0')
		return "";
	if (a->domain == NULL || a->domain[0] == '\0')
		return p_strdup(pool, t_str_lcase(a->mailbox));
	return p_strdup(pool, t_str_lcase(t_strconcat(a->mailbox, "@",
						      a->domain, NULL)));
}

static void view_add_recipients(struct frontdesk_view *view,
				const unsigned char *value, size_t size)
{
	struct message_address *addr;
	const char *str;

	addr = message_address_parse(pool_datastack_create(), value, size,
				     32, 0);
	for (; addr != NULL; addr = addr->next) {
		str = view_lcase_addr(view->pool, addr);
		if (*str != '\0')
			array_push_back(&view->recipients, &str);
	}
}

static int view_parse_priority(const char *name, const char *value)
{
	if (strcasecmp(name, "X-Priority") == 0 ||
	    strcasecmp(name, "X-MSMail-Priority") == 0) {
		while (*value == ' ') value++;
		if (*value >= '1' && *value <= '5')
			return *value - '0';
		if (strncasecmp(value, "high", 4) == 0)
			return 1;
		if (strncasecmp(value, "low", 3) == 0)
			return 5;
	} else if (strcasecmp(name, "Importance") == 0) {
		if (strncasecmp(value, "high", 4) == 0)
			return 1;
		if (strncasecmp(value, "low", 3) == 0)
			return 5;
	} else if (strcasecmp(name, "Priority") == 0) {
		if (strncasecmp(value, "urgent", 6) == 0)
			return 1;
		if (strncasecmp(value, "non-urgent", 10) == 0)
			return 5;
	}
	return 0;
}

/* multipart/report; report-type=delivery-status */
static void view_report_type(struct frontdesk_view *view, const char *value)
{
	struct rfc822_parser_context parser;
	const char *key;
	string_t *type = t_str_new(64), *pvalue = t_str_new(64);

	rfc822_parser_init(&parser, (const unsigned char *)value,
			   strlen(value), NULL);
	rfc822_skip_lwsp(&parser);
	if (rfc822_parse_content_type(&parser, type) >= 0) {
		while (rfc822_parse_content_param(&parser, &key,
						  pvalue) > 0) {
			if (strcasecmp(key, "report-type") == 0) {
				view->report_type = p_strdup(view->pool,
					t_str_lcase(str_c(pvalue)));
				break;
			}
		}
	}
	rfc822_parser_deinit(&parser);
}

/* Report text kept, bounded. */
static void view_report_append(struct frontdesk_view *view,
			       const unsigned char *data, size_t size)
{
	if (str_len(view->report_text) >= FRONTDESK_VIEW_MAX_REPORT)
		return;
	if (size > FRONTDESK_VIEW_MAX_REPORT - str_len(view->report_text))
		size = FRONTDESK_VIEW_MAX_REPORT - str_len(view->report_text);
	str_append_data(view->report_text, data, size);
}

/* A header of an attached message (a bounce's returned mail). */
static void view_report_header(struct frontdesk_view *view,
			       const struct message_header_line *hdr)
{
	if (hdr->eoh || str_len(view->report_text) >=
	    FRONTDESK_VIEW_MAX_REPORT)
		return;
	view_report_append(view, (const unsigned char *)hdr->name,
			   strlen(hdr->name));
	view_report_append(view, (const unsigned char *)": ", 2);
	view_report_append(view, hdr->full_value, hdr->full_value_len);
	view_report_append(view, (const unsigned char *)"\n", 1);
}

/* The first "Action:" field in what the delivery-status parts said. */
static void view_dsn_action(struct frontdesk_view *view)
{
	const char *const *lines;

	lines = t_strsplit(str_c(view->report_text), "\n");
	for (; *lines != NULL; lines++) {
		if (strncasecmp(*lines, "Action:", 7) != 0)
			continue;
		const char *v = t_str_trim(*lines + 7, " \t\r");
		const char *end = v;
		while (*end != '\0' && *end != ' ' && *end != ';' &&
		       *end != '(' && *end != '\r')
			end++;
		if (end != v) {
			view->dsn_action = p_strdup(view->pool,
				t_str_lcase(t_strdup_until(v, end)));
		}
		return;
	}
}

static void view_add_top_header(struct view_parse_ctx *ctx,
				struct message_header_line *raw,
				struct message_header_line *dec)
{
	struct frontdesk_view *view = ctx->view;
	struct frontdesk_header *h;
	const char *name = raw->name;
	const char *value;
	int prio;

	view->header_count++;
	if (view->header_count > ctx->limits->max_headers) {
		view->truncated = TRUE;
		view->headers_truncated = TRUE;
		return;
	}
	value = view_clean(view->pool, dec->full_value, dec->full_value_len,
			   FRONTDESK_VIEW_MAX_HEADER_VALUE);
	h = array_append_space(&view->headers);
	h->name = p_strdup(view->pool, name);
	h->value = value;

	if (strcasecmp(name, "Subject") == 0 && view->subject[0] == '\0') {
		view->subject = view_clean(view->pool, dec->full_value,
					   dec->full_value_len,
					   FRONTDESK_VIEW_MAX_SUBJECT);
	} else if (strcasecmp(name, "From") == 0 && view->from_addr[0] == '\0') {
		struct message_address *addr;
		string_t *dname = t_str_new(64);

		addr = message_address_parse(pool_datastack_create(),
					     raw->full_value,
					     raw->full_value_len, 1, 0);
		view->from_addr = view_lcase_addr(view->pool, addr);
		if (addr != NULL && addr->name != NULL) {
			message_header_decode_utf8(
				(const unsigned char *)addr->name,
				strlen(addr->name), dname, NULL);
			view->from_name = view_clean(view->pool,
				str_data(dname), str_len(dname), 128);
		}
	} else if (strcasecmp(name, "To") == 0 || strcasecmp(name, "Cc") == 0 ||
		   strcasecmp(name, "Bcc") == 0 ||
		   strcasecmp(name, "Resent-To") == 0 ||
		   strcasecmp(name, "Resent-Cc") == 0 ||
		   strcasecmp(name, "Resent-Bcc") == 0) {
		view_add_recipients(view, raw->full_value, raw->full_value_len);
	} else if (strcasecmp(name, "Message-ID") == 0) {
		view->message_id = value;
	} else if (strcasecmp(name, "In-Reply-To") == 0) {
		view->in_reply_to = value;
	} else if (strcasecmp(name, "References") == 0) {
		view->references = value;
	} else if (strcasecmp(name, "Content-Language") == 0) {
		view->content_language = p_strdup(view->pool, t_str_lcase(value));
	} else if (strcasecmp(name, "Content-Type") == 0) {
		const char *p = strchr(value, ';');
		const char *ct = p == NULL ? value : t_strdup_until(value, p);

		view->content_type = p_strdup(view->pool,
					      t_str_lcase(t_str_trim(ct, " ")));
		if (p != NULL)
			view_report_type(view, value);
	} else if ((prio = view_parse_priority(name, value)) != 0) {
		if (view->priority == 3 || prio < view->priority)
			view->priority = prio;
	}
}

static bool view_part_in_attached_message(const struct message_part *part)
{
	for (part = part->parent; part != NULL; part = part->parent) {
		if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0)
			return TRUE;
	}
	return FALSE;
}

/* End of one part's headers: decide whether its body is customer text. */
static void view_part_start(struct view_parse_ctx *ctx,
			    struct message_part *part,
			    struct message_decoder_context *decoder)
{
	const char *ct = message_decoder_current_content_type(decoder);

	mail_html2text_deinit(&ctx->html2text);
	ctx->cur_part = part;
	ctx->cur_use = FALSE;
	ctx->cur_html = FALSE;
	ctx->cur_report = FALSE;
	ctx->view->mime_parts++;
	if (ct != NULL &&
	    (strcasecmp(ct, "message/delivery-status") == 0 ||
	     strcasecmp(ct, "message/global-delivery-status") == 0 ||
	     strcasecmp(ct, "message/feedback-report") == 0 ||
	     strcasecmp(ct, "message/disposition-notification") == 0 ||
	     strcasecmp(ct, "text/rfc822-headers") == 0 ||
	     strcasecmp(ct, "message/global-headers") == 0)) {
		/* a report the customer forwarded is not one to us */
		if (!view_part_in_attached_message(part)) {
			ctx->view->report_part = TRUE;
			ctx->cur_report = TRUE;
		}
	}
	if (ct != NULL && strcasecmp(ct, "text/calendar") == 0 &&
	    !view_part_in_attached_message(part))
		ctx->view->calendar_part = TRUE;
	if ((part->flags & MESSAGE_PART_FLAG_MULTIPART) != 0 ||
	    (part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0)
		return;
	if (ctx->attachment_part == part || view_part_in_attached_message(part))
		return;
	if (ct == NULL || strcasecmp(ct, "text/plain") == 0)
		ctx->cur_use = TRUE;
	else if (mail_html2text_content_type_match(ct)) {
		ctx->cur_use = TRUE;
		ctx->cur_html = TRUE;
		ctx->html2text = mail_html2text_init(0);
	}
}

static void view_append_text(string_t *dest, const unsigned char *data,
			     size_t size, size_t max)
{
	size_t room;

	if (str_len(dest) >= max)
		return;
	room = max - str_len(dest);
	if (size > room)
		size = uni_utf8_data_truncate(data, size, room);
	str_append_data(dest, data, size);
}

static bool view_body_full(struct view_parse_ctx *ctx)
{
	size_t max = ctx->limits->max_body_bytes;

	return str_len(ctx->view->text) >= max &&
		str_len(ctx->html_text) >= max;
}

static void view_body_block(struct view_parse_ctx *ctx,
			    const struct message_block *block)
{
	size_t max = ctx->limits->max_body_bytes;

	if (ctx->cur_report && block->part == ctx->cur_part)
		view_report_append(ctx->view, block->data, block->size);
	if (!ctx->cur_use || block->part != ctx->cur_part)
		return;
	if (ctx->cur_html) {
		buffer_set_used_size(ctx->html_out, 0);
		mail_html2text_more(ctx->html2text, block->data, block->size,
				    ctx->html_out);
		view_append_text(ctx->html_text, ctx->html_out->data,
				 ctx->html_out->used, max);
	} else {
		view_append_text(ctx->view->text, block->data, block->size,
				 max);
	}
}

static bool str_is_blank(const string_t *str)
{
	const unsigned char *p = str_data(str);
	size_t i;

	for (i = 0; i < str_len(str); i++) {
		if (!i_isspace(p[i]))
			return FALSE;
	}
	return TRUE;
}

int frontdesk_view_parse(pool_t pool, struct istream *input,
			 const struct frontdesk_view_limits *limits,
			 struct frontdesk_view **view_r, const char **error_r)
{
	const struct message_parser_settings parser_set = {
		.hdr_flags = MESSAGE_HEADER_PARSER_FLAG_CLEAN_ONELINE,
		.max_nested_mime_parts = 8,
		.max_total_mime_parts = FRONTDESK_VIEW_MAX_MIME_PARTS,
		.all_headers_max_size = 256*1024,
	};
	struct view_parse_ctx ctx;
	struct frontdesk_view *view;
	struct message_parser_ctx *parser;
	struct message_decoder_context *decoder;
	struct message_block raw, block;
	struct message_part *parts;
	struct istream *limited;
	int ret;

	*error_r = NULL;
	view = p_new(pool, struct frontdesk_view, 1);
	view->pool = pool;
	view->subject = "";
	view->from_name = "";
	view->from_addr = "";
	view->content_type = "text/plain";
	view->priority = 3;
	p_array_init(&view->headers, pool, 32);
	p_array_init(&view->recipients, pool, 4);
	view->text = str_new(pool, 1024);
	view->report_text = str_new(pool, 128);

	i_zero(&ctx);
	ctx.view = view;
	ctx.limits = limits;
	ctx.html_out = buffer_create_dynamic(pool_datastack_create(), 1024);
	ctx.html_text = str_new(pool_datastack_create(), 256);

	limited = i_stream_create_limit(input, limits->max_message_bytes);
	parser = message_parser_init(pool_datastack_create(), limited,
				     &parser_set);
	decoder = message_decoder_init(NULL, 0);
	while ((ret = message_parser_parse_next_block(parser, &raw)) > 0) {
		if (raw.hdr != NULL && raw.hdr->eoh)
			continue;
		if (raw.hdr != NULL && !raw.hdr->continues &&
		    strcasecmp(raw.hdr->name, "Content-Disposition") == 0) {
			/* the decoder has no notion of attachments */
			const unsigned char *v = raw.hdr->full_value;
			size_t len = raw.hdr->use_full_value ?
				raw.hdr->full_value_len : raw.hdr->value_len;
			if (!raw.hdr->use_full_value)
				v = raw.hdr->value;
			if (len >= 10 && strncasecmp((const char *)v,
						     "attachment", 10) == 0)
				ctx.attachment_part = raw.part;
		}
		if (!message_decoder_decode_next_block(decoder, &raw, &block))
			continue;
		if (block.hdr != NULL) {
			if (raw.part->parent == NULL)
				view_add_top_header(&ctx, raw.hdr, block.hdr);
			else if (view_part_in_attached_message(raw.part))
				view_report_header(view, block.hdr);
			continue;
		}
		if (block.size == 0) {
			view_part_start(&ctx, raw.part, decoder);
			continue;
		}
		view_body_block(&ctx, &block);
		if (view_body_full(&ctx)) {
			view->truncated = TRUE;
			break;
		}
	}
	if (limited->v_offset >= limits->max_message_bytes)
		view->truncated = TRUE;
	if (limited->stream_errno != 0) {
		view->read_error = TRUE;
		view->headers_truncated = TRUE;
		*error_r = t_strdup_printf("read(%s) failed: %s",
					   i_stream_get_name(limited),
					   i_stream_get_error(limited));
	}
	message_decoder_deinit(&decoder);
	message_parser_deinit(&parser, &parts);
	/* At the byte limit the parser sees an end of stream and ends the
	   header block there: the block was cut when it reaches the limit. */
	if (view->truncated && parts != NULL &&
	    parts->header_size.physical_size >= limits->max_message_bytes)
		view->headers_truncated = TRUE;
	mail_html2text_deinit(&ctx.html2text);
	i_stream_unref(&limited);
	T_BEGIN {
		view_dsn_action(view);
	} T_END;

	if (str_is_blank(view->text) && !str_is_blank(ctx.html_text)) {
		str_truncate(view->text, 0);
		str_append_str(view->text, ctx.html_text);
		view->from_html = TRUE;
	}
	*view_r = view;
	return view->read_error ? -1 : 0;
}

const char *frontdesk_view_header(const struct frontdesk_view *view,
				  const char *name)
{
	const struct frontdesk_header *h;

	array_foreach(&view->headers, h) {
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	}
	return NULL;
}

void frontdesk_view_set_envelope(struct frontdesk_view *view,
				 const char *from, const char *to,
				 const char *original_rcpt)
{
	view->envelope_from = from == NULL ? NULL :
		p_strdup(view->pool, t_str_lcase(from));
	view->envelope_to = to == NULL ? NULL :
		p_strdup(view->pool, t_str_lcase(to));
	view->original_rcpt = original_rcpt == NULL ? NULL :
		p_strdup(view->pool, t_str_lcase(original_rcpt));
}
