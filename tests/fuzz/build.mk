# Builds the libFuzzer harnesses and the ASan+UBSan unit tests and CLI,
# outside the checkout, without touching the autotools build:
#   make -f tests/fuzz/build.mk BUILD=/tmp/dir fuzz     (needs clang)
#   make -f tests/fuzz/build.mk BUILD=/tmp/dir sanitize (clang, else gcc)
# tests/fuzz/run and scripts/sanitize call it; they pick BUILD.
# The core sources are compiled directly, with Dovecot's include and
# library flags from dovecot-config.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
BUILD ?= /tmp/frontdesk-fuzz-$(shell id -u)
DOVECOT_CONFIG ?= /usr/lib/dovecot/dovecot-config
# clang for the fuzzers; the sanitizer build takes clang when there, else gcc
FUZZ_CC ?= clang
SAN_CC ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo gcc)

DC_INCLUDE := $(shell . $(DOVECOT_CONFIG) && echo "$$LIBDOVECOT_INCLUDE")
DC_LIBS := $(shell . $(DOVECOT_CONFIG) && echo "$$LIBDOVECOT")
DC_LIBDIR := $(patsubst -L%,%,$(filter -L%,$(DC_LIBS)))
CRYPTO_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

# every core module (the learned model's, the regex guard, ... included)
CORE := $(patsubst $(TOP)/src/core/frontdesk-%.c,%,\
	$(wildcard $(TOP)/src/core/frontdesk-*.c))
CORE_SRC := $(CORE:%=$(TOP)/src/core/frontdesk-%.c)
CORE_H := $(wildcard $(TOP)/src/core/*.h) $(wildcard $(TOP)/src/compat/*.h) \
	$(wildcard $(TOP)/modules/settings/*.h)
# the Dovecot 2.3/2.4 compatibility layer the core calls (src/compat)
CORE += compat compat-dict
CORE_SRC += $(TOP)/src/compat/frontdesk-compat.c \
	$(TOP)/src/compat/frontdesk-compat-dict.c

# -O1 and frame pointers: readable sanitizer stacks at a usable speed.
# Every UBSan finding aborts, so libFuzzer and the test runner see it.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
CPPFLAGS := -DHAVE_CONFIG_H $(DC_INCLUDE) -I$(TOP)/src/core \
	-I$(TOP)/src/compat -I$(TOP)/modules/settings \
	-DFRONTDESK_MODEL_PATH=\"$(BUILD)/frontdesk.model\" \
	-DFRONTDESK_WEIGHTS_PATH=\"$(TOP)/model/frontdesk.weights\" \
	-DFRONTDESK_TEMPLATE_DIR=\"$(TOP)/templates\" \
	-DFRONTDESK_SENDER_PATH=\"/nonexistent/frontdesk-sender\" \
	-DFRONTDESK_VERSION=\"sanitize\"
CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -w
LDLIBS := $(DC_LIBS) -Wl,-rpath,$(DC_LIBDIR) $(CRYPTO_LIBS) -lm

HARNESSES := fuzz-view fuzz-ack fuzz-model fuzz-template fuzz-hours
UNIT_SRC := $(wildcard $(TOP)/tests/unit/*.c)

.PHONY: fuzz sanitize model
fuzz: $(HARNESSES:%=$(BUILD)/%) model
sanitize: $(BUILD)/san/test-frontdesk $(BUILD)/san/frontdesk-classify model
model: $(BUILD)/frontdesk.model

$(BUILD)/frontdesk.model: $(wildcard $(TOP)/model/lexicon/*.txt) $(TOP)/model/build-model
	@mkdir -p $(BUILD)
	sh $(TOP)/model/build-model $(addprefix $(TOP)/model/lexicon/,it.txt en.txt de.txt fr.txt es.txt pt.txt) > $@.tmp && mv $@.tmp $@

# --- fuzzers: core with coverage (fuzzer-no-link), harness with libFuzzer -----
$(BUILD)/fuzzobj/frontdesk-compat.o $(BUILD)/fuzzobj/frontdesk-compat-dict.o: \
		$(BUILD)/fuzzobj/%.o: $(TOP)/src/compat/%.c $(CORE_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(SAN) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c -o $@ $<

$(BUILD)/fuzzobj/%.o: $(TOP)/src/core/%.c $(CORE_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(SAN) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c -o $@ $<

$(BUILD)/fuzzobj/%.o: $(TOP)/tests/fuzz/%.c $(TOP)/tests/fuzz/fuzz-common.h $(CORE_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) $(SAN) -fsanitize=fuzzer-no-link $(CPPFLAGS) \
		-DFUZZ_MODEL_PATH=\"$(BUILD)/frontdesk.model\" \
		-DFUZZ_TEMPLATE_DIR=\"$(TOP)/templates\" -c -o $@ $<

FUZZ_CORE_OBJ := $(CORE:%=$(BUILD)/fuzzobj/frontdesk-%.o) \
	$(BUILD)/fuzzobj/fuzz-common.o $(BUILD)/fuzzobj/fuzz-oracle.o

$(BUILD)/fuzz-%: $(BUILD)/fuzzobj/fuzz-%.o $(FUZZ_CORE_OBJ)
	$(FUZZ_CC) $(SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# --- sanitizer build of the unit tests and the CLI ----------------------------
$(BUILD)/san/core/frontdesk-compat.o $(BUILD)/san/core/frontdesk-compat-dict.o: \
		$(BUILD)/san/core/%.o: $(TOP)/src/compat/%.c $(CORE_H)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(CFLAGS) $(SAN) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/san/core/%.o: $(TOP)/src/core/%.c $(CORE_H)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(CFLAGS) $(SAN) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/san/unit/%.o: $(TOP)/tests/unit/%.c $(CORE_H) $(TOP)/tests/unit/test-frontdesk.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(CFLAGS) $(SAN) $(CPPFLAGS) \
		-DTEST_MODEL_PATH=\"$(BUILD)/frontdesk.model\" \
		-DTEST_WEIGHTS_PATH=\"$(TOP)/model/frontdesk.weights\" \
		-DTEST_DATA_DIR=\"$(TOP)/tests/data\" \
		-DTEST_TEMPLATE_DIR=\"$(TOP)/templates\" -c -o $@ $<

$(BUILD)/san/cli.o: $(TOP)/src/cli/frontdesk-classify.c $(CORE_H)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(CFLAGS) $(SAN) $(CPPFLAGS) -c -o $@ $<

SAN_CORE_OBJ := $(CORE:%=$(BUILD)/san/core/frontdesk-%.o)

$(BUILD)/san/test-frontdesk: $(patsubst $(TOP)/tests/unit/%.c,$(BUILD)/san/unit/%.o,$(UNIT_SRC)) $(SAN_CORE_OBJ)
	$(SAN_CC) $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/san/frontdesk-classify: $(BUILD)/san/cli.o $(SAN_CORE_OBJ)
	$(SAN_CC) $(SAN) -o $@ $^ $(LDLIBS)
