#ifndef FRONTDESK_REPORT_H
#define FRONTDESK_REPORT_H

/* The verdict on one message as the tools print it: one JSON object a line
   (frontdesk-classify, doveadm frontdesk classify) or a readable table
   row. Shared so both tools say the same thing the same way. */

struct frontdesk_settings;
struct frontdesk_classification;
struct frontdesk_view;

#include "frontdesk-machine.h"

/* Append the header line of the readable table and "\n". */
void frontdesk_report_human_header(string_t *out);

/* Append the verdict as one JSON object and "\n". id_key/id name the
   message ("file", "id"); ack_reason is the guard's token ("ok", ...) or
   NULL when no message was seen (JSON lines input); machine the guard's
   kind of machine mail (then the keywords and folder are machine mail's,
   as the delivery files it). */
void frontdesk_report_json(string_t *out, const struct frontdesk_settings *set,
			   const char *id_key, const char *id,
			   const struct frontdesk_classification *r,
			   const char *ack_reason,
			   enum frontdesk_machine_kind machine);
/* Append the verdict as one row of the readable table and "\n". */
void frontdesk_report_human(string_t *out, const char *id,
			    const struct frontdesk_classification *r,
			    const char *ack_reason,
			    enum frontdesk_machine_kind machine);

/* The envelope as the delivery would see it when only the message is at
   hand: from/to when given, else what the MTA recorded in Return-Path and
   Delivered-To, else From and the first recipient. */
void frontdesk_report_set_envelope(struct frontdesk_view *view,
				   const char *from, const char *to);

struct istream;
struct frontdesk_model;

/* The whole dry run of one message, as frontdesk-classify does it: parse,
   envelope (as above), classify, guard; the verdict appended to out (JSON
   line, or a table row when human). -1 with error_r when the message
   cannot be read. */
int frontdesk_report_classify(const struct frontdesk_model *model,
			      const struct frontdesk_settings *set,
			      const char *name, struct istream *input,
			      const char *from, const char *to, bool human,
			      string_t *out, const char **error_r);

#endif
