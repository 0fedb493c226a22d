# RainForest build.  `make` builds everything into build/; `make demo` and
# `make test` first install missing Debian packages (mk/deps.sh).
#
# Layout (each layer knows only those above it in this list):
#   src/base  -> libbase.a: the protocol codec and client, cpu sets, sizes,
#                histograms, clocks, fd passing, exit statuses, step
#                timings (knows nothing of the rest)
#   src/ficm  -> libficm.a: the FICM rings of include/rf/ficm.h and the
#                rfd<->librf control messages on them
#   src/librf, src/rfcom -> librf.a (the library OS, with RFcom, FICM and
#                the base pieces it uses); src/rfcom -> librfcom.so
#   src/rfloop -> librfloop.so (LD_PRELOAD; header-only base pieces, and
#                fdpass.c built in)
#   src/rfd, src/rfm, bench/ -> programs; examples/*.c -> one libos program each;
#   apps/rfkv/*.c -> build/rfkv, the memcached-compatible KV service;
#   apps/rfload, apps/rfinterfere -> plain Linux programs on libbase.a: the
#                load generator and the interference workloads of the
#                experiments (one folder, several files each).
# Unit tests (tests/unit/test_*.c) are built a second time with ASan+UBSan.

CC      ?= cc
B       := build
PKGS    := hwloc json-c liburing yaml-0.1
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-format-truncation \
           -fno-strict-aliasing -pthread -Iinclude -Isrc
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_JSON  := $(shell pkg-config --libs json-c 2>/dev/null)
LDLIBS_HWLOC := $(shell pkg-config --libs hwloc 2>/dev/null)
LDLIBS_URING := $(shell pkg-config --libs liburing 2>/dev/null)
# rfm reads deployment files (src/rfm/deploy_yaml.c) with libyaml.
LDLIBS_YAML  := $(shell pkg-config --libs yaml-0.1 2>/dev/null)
# rfd's confinement builds each program's seccomp filter (src/rfd/confine_seccomp.c).
LDLIBS_SECCOMP := $(shell pkg-config --libs libseccomp 2>/dev/null)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BASE_SRC   := $(wildcard src/base/*.c)
FICM_SRC   := $(wildcard src/ficm/*.c)
LIBRF_SRC  := $(wildcard src/librf/*.c) $(wildcard src/librf/*.S)
# The base pieces librf uses (RFcom's open asks rfd through the client,
# with a request encoded by the protocol codec, and takes the channel's
# memfd with fdpass; memregion.c takes regions).
LIBRF_BASE := src/base/client.c src/base/proto.c src/base/proto_policy.c src/base/err.c \
              src/base/cpuset.c src/base/units.c src/base/fdpass.c src/base/rfloop_call.c
# librf serves RFloop connections itself (src/librf/loop_*.c): RFloop's
# byte rings and its listener's checks of a request, the same sources as
# librfloop.so's.
LIBRF_RFLOOP := src/rfloop/ring.c src/rfloop/req.c
# RFcom: in librf.a (built with -DRFCOM_LIBRF: fibers wait without blocking
# their core) and in librfcom.so for plain programs (with the FICM rings,
# the protocol client).  Both export the paper's names (src/rfcom/names.c).
RFCOM_SRC  := $(wildcard src/rfcom/*.c)
RFCOM_SO_SRC := $(RFCOM_SRC) $(FICM_SRC) src/base/client.c src/base/proto.c \
                src/base/proto_policy.c src/base/err.c \
                src/base/cpuset.c src/base/fdpass.c
# RFloop: librfloop.so, an LD_PRELOAD library on its own (no libbase):
# the header-only base pieces, and fd passing and sock_diag built into it
# (its version script keeps base_* hidden).
RFLOOP_SRC := $(wildcard src/rfloop/*.c) src/base/fdpass.c src/base/sockdiag.c src/base/rfloop_call.c
RFD_SRC    := $(wildcard src/rfd/*.c)
RFM_SRC    := $(wildcard src/rfm/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
EXAMPLES   := $(patsubst examples/%.c,$(B)/%,$(wildcard examples/*.c))
# apps/rfkv: the memcached-compatible KV service (build/rfkv); its unit
# tests (tests/unit/test_kv_*.c) link all but its main and its sockets.
KV_SRC     := $(wildcard apps/rfkv/*.c)
KV_LIB_SRC := $(filter-out apps/rfkv/main.c apps/rfkv/conn.c,$(KV_SRC))
RFLOAD_SRC := $(wildcard apps/rfload/*.c)
RFINTERFERE_SRC := $(wildcard apps/rfinterfere/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(wildcard tests/helpers/*.c))

# Objects are never intermediate: a second `make` finds them and does nothing.
.SECONDARY:

obj = $(patsubst %.c,$(B)/obj/%.o,$(patsubst %.S,$(B)/obj/%.o,$(1)))
san = $(patsubst %.c,$(B)/san/%.o,$(patsubst %.S,$(B)/san/%.o,$(1)))
pic = $(patsubst %.c,$(B)/pic/%.o,$(1))

.PHONY: all deps demo test unit integration soak bench clean
all: $(B)/rfd $(B)/rfm $(B)/rfbench $(B)/librf.a $(B)/librfcom.so $(B)/rfcom.pc $(EXAMPLES) $(B)/rfkv \
     $(B)/librfloop.so $(TEST_HELPERS) $(B)/tests/rfd-faults $(B)/rfload $(B)/rfinterfere \
     $(B)/rfmicro

deps:
	@bash mk/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(B)/obj/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CC) $(CFLAGS) -c $< -o $@
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC+SAN  $<"
	@$(CC) $(CFLAGS) $(SAN) -DRF_SANITIZE -MMD -MP -c $< -o $@
$(B)/san/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS+SAN  $<"
	@$(CC) $(CFLAGS) -DRF_SANITIZE -c $< -o $@

$(B)/pic/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC+PIC  $<"
	@$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@
$(B)/obj/src/rfcom/%.o: CFLAGS += -DRFCOM_LIBRF
$(B)/san/src/rfcom/%.o: CFLAGS += -DRFCOM_LIBRF

$(B)/libbase.a: $(call obj,$(BASE_SRC))
	@rm -f $@; ar rcs $@ $^
$(B)/libficm.a: $(call obj,$(FICM_SRC))
	@rm -f $@; ar rcs $@ $^
# librf.a is one relocatable object in which only the public names stay
# global: rf_* and rfcom_* (include/rf/); librf's internals (lrf_*),
# RFcom's (rfcom__*), FICM's and the base layer's become local, so they
# neither clash with an application's names nor with libbase.a linked
# beside it.  tests/check-exports.sh checks every global is documented.
$(B)/librf.a: $(call obj,$(LIBRF_SRC) $(RFCOM_SRC) $(FICM_SRC) $(LIBRF_BASE) $(LIBRF_RFLOOP))
	@rm -f $@ $(B)/obj/librf.o
	@ld -r -o $(B)/obj/librf.o $^
	@objcopy --wildcard --keep-global-symbol='rf_*' --keep-global-symbol='rfcom_[!_]*' \
	    $(B)/obj/librf.o
	@ar rcs $@ $(B)/obj/librf.o
$(B)/san/libbase.a: $(call san,$(BASE_SRC))
	@rm -f $@; ar rcs $@ $^
$(B)/san/libficm.a: $(call san,$(FICM_SRC))
	@rm -f $@; ar rcs $@ $^
# The unit tests' librf: librf and RFcom only (FICM and base come from
# their own archives, linked after it).
$(B)/san/librf.a: $(call san,$(LIBRF_SRC) $(RFCOM_SRC) $(LIBRF_RFLOOP))
	@rm -f $@; ar rcs $@ $^

# librfcom.so exports the RFcom and FICM calls only (src/rfcom/rfcom.map);
# rfcom.pc points at the build tree (PKG_CONFIG_PATH=build).
$(B)/librfcom.so: $(call pic,$(RFCOM_SO_SRC)) src/rfcom/rfcom.map
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -shared -fPIC -Wl,-soname,librfcom.so -Wl,--version-script=src/rfcom/rfcom.map \
		-Wl,-z,defs -o $@ $(call pic,$(RFCOM_SO_SRC)) $(LDLIBS_JSON)
# librfloop.so (LD_PRELOAD) exports only the libc calls it wraps
# (src/rfloop/rfloop.map).
$(B)/librfloop.so: $(call pic,$(RFLOOP_SRC)) src/rfloop/rfloop.map
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -shared -fPIC -Wl,-soname,librfloop.so -Wl,--version-script=src/rfloop/rfloop.map \
		-Wl,-z,defs -o $@ $(call pic,$(RFLOOP_SRC)) -ldl
$(B)/rfcom.pc: mk/rfcom.pc.in
	@echo "  GEN     $@"
	@mkdir -p $(@D)
	@sed -e 's|@LIBDIR@|$(abspath $(B))|' -e 's|@INCLUDEDIR@|$(abspath include)|' $< >$@

$(B)/rfd: $(call obj,$(RFD_SRC)) $(B)/libficm.a $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_HWLOC) $(LDLIBS_JSON) $(LDLIBS_SECCOMP) -lm
# The crash tests' rfd: the same objects but fault.c, whose fault points
# (src/rfd/fault.h) act in this build only.
$(B)/fault/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC+FLT  $<"
	@$(CC) $(CFLAGS) -DRFD_FAULTS -MMD -MP -c $< -o $@
$(B)/tests/rfd-faults: $(call obj,$(filter-out src/rfd/fault.c,$(RFD_SRC))) \
		$(B)/fault/src/rfd/fault.o $(B)/libficm.a $(B)/libbase.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_HWLOC) $(LDLIBS_JSON) $(LDLIBS_SECCOMP) -lm
$(B)/rfm: $(call obj,$(RFM_SRC)) $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON) $(LDLIBS_YAML) -lm
# rfbench runs itself in subOSes as a plain RFcom program (`rfbench ficm`):
# it links RFcom's plain-program objects (those of librfcom.so).
$(B)/rfbench: $(call obj,$(BENCH_SRC)) $(call pic,$(RFCOM_SRC)) $(B)/libficm.a $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON) -lm
# `rfbench microtail`'s measuring program: one source, run as a libos
# subOS and as a plain Linux program (bench/libos/rfmicro.c).
$(B)/rfmicro: $(B)/obj/bench/libos/rfmicro.o $(B)/librf.a $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_URING) $(LDLIBS_JSON) -lm
$(B)/rfkv: $(call obj,$(KV_SRC)) $(B)/librf.a $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_URING) $(LDLIBS_JSON) -lm
# The experiments' plain programs (no librf).
$(B)/rfload: $(call obj,$(RFLOAD_SRC)) $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON) -lm
$(B)/rfinterfere: $(call obj,$(RFINTERFERE_SRC)) $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON) -lm
$(B)/%: $(B)/obj/examples/%.o $(B)/librf.a $(B)/libbase.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_URING) $(LDLIBS_JSON) -lm
# A plain Linux program using RFcom through librfcom.so (found by rpath).
$(B)/tests/rfcom_echo: $(B)/obj/tests/helpers/rfcom_echo.o $(B)/librfcom.so
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $< -L$(B) -lrfcom -Wl,-rpath,'$$ORIGIN/..'
$(B)/tests/%: $(B)/obj/tests/helpers/%.o $(B)/librf.a $(B)/libbase.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_URING) $(LDLIBS_JSON) -lm

# Unit tests: each links the sanitized libraries plus, for rfd parts, the
# sanitized rfd objects other than main (RFloop's rings are in librf.a), the
# benchmark merge test rfbench's median merge, the load generator's test
# its schedule, workload and protocol, rfbench kv's search its sweep.
$(B)/tests/test_bench_merge: $(B)/san/bench/merge.o
$(B)/tests/test_bench_kv_sweep: $(B)/san/bench/kv_sweep.o
$(B)/tests/test_kv_proto $(B)/tests/test_kv_store $(B)/tests/test_kv_place: $(call san,$(KV_LIB_SRC))
$(B)/san/tests/unit/test_kv_%.o: CFLAGS += -Iapps/rfkv
$(B)/tests/test_rfload: $(call san,apps/rfload/sched.c apps/rfload/workload.c apps/rfload/proto.c)
$(B)/san/tests/unit/test_rfload.o: CFLAGS += -Iapps/rfload
RFD_LIB_SRC := $(filter-out src/rfd/main.c,$(RFD_SRC))
$(B)/san/librfd.a: $(call san,$(RFD_LIB_SRC))
	@rm -f $@; ar rcs $@ $^
RFM_LIB_SRC := $(filter-out src/rfm/main.c,$(RFM_SRC))
$(B)/san/librfm.a: $(call san,$(RFM_LIB_SRC))
	@rm -f $@; ar rcs $@ $^
$(B)/tests/test_%: $(B)/san/tests/unit/test_%.o $(B)/san/librfd.a $(B)/san/librfm.a $(B)/san/librf.a \
		$(B)/san/libficm.a $(B)/san/libbase.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(SAN) -o $@ $^ -lcmocka $(LDLIBS_HWLOC) $(LDLIBS_JSON) $(LDLIBS_URING) \
		$(LDLIBS_SECCOMP) $(LDLIBS_YAML) -lm

unit: $(UNIT_TESTS)
	@bash tests/run-unit.sh $(UNIT_TESTS)

integration: all
	@bash tests/run-integration.sh

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_TESTS)
	@bash tests/check-exports.sh $(B)
	@bash tests/run-unit.sh $(UNIT_TESTS)
	@bash tests/run-integration.sh

# The long soak (bench/soak.c): minutes; results/soak.{csv,png}.
soak: all
	@$(B)/rfbench soak --json

# Every benchmark with its defaults (--runs 3): results/NAME.{json,csv,png},
# results/summary.json, results/report.html and the tables on stdout
# (mk/bench.py).  Minutes; run it on a quiet machine.
bench: all
	@python3 mk/bench.py --build $(B) --results results

demo: deps
	@$(MAKE) --no-print-directory all
	@bash examples/demo.sh

# ---- fuzzing: `make fuzz` (not part of `make test`) ----------------------
# libFuzzer targets fuzz/fuzz_*.c, built with clang (+ASan+UBSan) into
# build/fuzz/ from the sources they exercise, each run for FUZZ_TIME seconds.
# libFuzzer writes what it finds into a scratch corpus under build/fuzz/;
# the committed seeds in fuzz/corpus/<target>/ are only read.  A crash stops
# the run and leaves its input as build/fuzz/<target>-crash-*.
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 30
FUZZ_FLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
              -fno-strict-aliasing -Iinclude -Isrc $(shell pkg-config --cflags json-c 2>/dev/null) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(wildcard fuzz/fuzz_*.c))

$(B)/fuzz/fuzz_ficm_ring: src/ficm/ring.c src/ficm/wait.c src/ficm/group.c
$(B)/fuzz/fuzz_proto: src/base/proto.c src/base/proto_policy.c src/base/err.c src/base/cpuset.c \
		src/base/units.c
$(B)/fuzz/fuzz_rfcom_frag: src/rfcom/frag.c
$(B)/fuzz/fuzz_rfd_conn: src/rfd/conn.c src/base/proto.c src/base/proto_policy.c src/base/err.c \
		src/base/cpuset.c src/base/units.c
$(B)/fuzz/fuzz_deploy_yaml: src/rfm/deploy_yaml.c src/rfm/deploy_subos.c src/rfm/deploy_plan.c \
		src/rfm/forms.c src/rfm/format.c src/base/proto.c src/base/proto_policy.c src/base/err.c \
		src/base/probe_url.c \
		src/base/cpuset.c src/base/units.c src/base/confine_spec.c src/base/exitstatus.c
$(B)/fuzz/fuzz_rfloop_ring: src/rfloop/ring.c
$(B)/fuzz/fuzz_rfm_args: src/rfm/args.c src/rfm/args_policy.c src/rfm/forms.c src/base/proto.c \
		src/base/proto_policy.c src/base/err.c src/base/cpuset.c src/base/units.c \
		src/base/probe_url.c
$(B)/fuzz/%: fuzz/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(LDLIBS_JSON) $(LDLIBS_YAML) -lm

.PHONY: fuzz fuzz-deps
fuzz-deps:
	@bash mk/deps.sh fuzz
$(FUZZ_TARGETS): | fuzz-deps
fuzz: $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$${t##*/}; mkdir -p $(B)/fuzz/corpus/$$n; \
	  echo "  FUZZ    $$n for $(FUZZ_TIME) s"; \
	  if ! $$t -max_total_time=$(FUZZ_TIME) -timeout=10 -artifact_prefix=$(B)/fuzz/$$n- \
	       $(B)/fuzz/corpus/$$n fuzz/corpus/$$n >$(B)/fuzz/$$n.log 2>&1; then \
	    tail -50 $(B)/fuzz/$$n.log; echo "fuzz: $$n failed (log: $(B)/fuzz/$$n.log)"; exit 1; fi; \
	  grep -E '^#[0-9]+.*DONE|^Done' $(B)/fuzz/$$n.log | tail -2; done

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
