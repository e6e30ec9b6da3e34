#ifndef FRONTDESK_SETTING_KEYS_H
#define FRONTDESK_SETTING_KEYS_H

/* Every frontdesk_* setting, without the prefix: one line per key, in any
   order. On Dovecot 2.4 this list is what the config process registers
   (modules/settings/frontdesk-settings-module.c: doveconf shows the keys, a
   misspelt key is a config error); on 2.3 it is documentation. A new key
   read by frontdesk_settings_parse() goes here too, or the unit test
   test_settings_keys fails. All keys are strings: the core validates the
   values and names the key in its error. */
/* The named filter (settings block) that holds the state dict on 2.4. No key
   may start with it and "_": 2.4 reads "frontdesk_dict_x = v" as x inside
   frontdesk_dict { } (test_settings_keys checks). */
#define FRONTDESK_DICT_FILTER "frontdesk_dict"

#define FRONTDESK_SETTING_KEYS(X) \
	X(ack) \
	X(ack_check_recipient) \
	X(ack_dict) \
	X(ack_from) \
	X(ack_from_name) \
	X(ack_global_limit) \
	X(ack_ignore_senders) \
	X(ack_message_id_domain) \
	X(ack_retry_lifetime) \
	X(ack_return_path) \
	X(ack_sender_limit) \
	X(ack_spam_headers) \
	X(ack_subject_max) \
	X(add_headers) \
	X(addresses) \
	X(business_hours) \
	X(company) \
	X(default_language) \
	X(dkim_domain) \
	X(dkim_key) \
	X(dkim_selector) \
	X(enabled) \
	X(folder_back) \
	X(folder_front) \
	X(folder_machine) \
	X(holidays) \
	X(keyword_prefix) \
	X(max_body_size) \
	X(max_headers) \
	X(max_message_size) \
	X(min_score) \
	X(model) \
	X(needs) \
	X(response_time) \
	X(response_time_urgent) \
	X(rules) \
	X(sender_path) \
	X(spam_check) \
	X(spam_check_timeout) \
	X(state_dir) \
	X(state_timeout) \
	X(templates) \
	X(ticket_prefix) \
	X(ticket_secret_file) \
	X(timezone) \
	X(trusted_authserv_id) \
	X(unsure_threshold) \
	X(weights) \
	/* end */

/* Keys whose empty value is a choice of its own ("Empty: ..." in
   conf.d/90-frontdesk.conf), not "the default": with their defaults, which
   the core reads from here too. On 2.4 the settings module registers these
   defaults (doveconf shows them) and the plugin hands an empty value to the
   core as ""; every other key's registered default is "" and "" means
   unset, the core knowing the default. */
#define FRONTDESK_DEFAULT_FOLDER_MACHINE "Automatic"
#ifndef FRONTDESK_WEIGHTS_PATH
#  define FRONTDESK_WEIGHTS_PATH "/usr/share/frontdesk/frontdesk.weights"
#endif
#define FRONTDESK_SETTING_EMPTY_IS_VALUE(X) \
	X(folder_machine, FRONTDESK_DEFAULT_FOLDER_MACHINE) \
	X(weights, FRONTDESK_WEIGHTS_PATH) \
	/* end */

#endif
