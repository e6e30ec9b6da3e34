#ifndef TEST_FRONTDESK_H
#define TEST_FRONTDESK_H

#include "test-common.h"

void test_view(void);
void test_text(void);
void test_model(void);
void test_classify(void);
void test_settings(void);
void test_settings_registered(void);
void test_guard(void);
void test_guard_machine(void);
void test_ack(void);
void test_hours(void);
void test_dkim(void);
void test_spool(void);
void test_state(void);
void test_weights(void);
void test_rspamd(void);
void test_compat_json(void);
void test_verdict(void);
void test_machine(void);
void test_machine_rules(void);

#endif
