# recur - build, test and install. `make help` lists the targets.
#
# Libraries come from Debian packages through pkg-config; `make deps` installs whatever is
# missing (it is called by `make test` and `make demo`).

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
PKGS    := htslib hdf5 gsl openblas
# GSL's pkg-config file names its reference CBLAS; recur links OpenBLAS's instead.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)
CPPFLAGS += -Iinclude -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LIBS    = $(PKG_LIBS) -lm -lpthread
PYTHON  ?= /usr/bin/python3
PREFIX  ?= /usr/local
# Build tree and binary; `make sanitize` uses its own (build/san). `make MPI=1` builds the
# data-parallel binary bin/recur-mpi with OpenMPI's mpicc in build/mpi.
ifeq ($(MPI),1)
CC      := mpicc
O       ?= build/mpi
BIN     ?= bin/recur-mpi
CPPFLAGS += -DRECUR_MPI
endif
O       ?= build
BIN     ?= bin/recur

# The library is src/*.c; the command-line front end (src/cli/) links it.
LIB_SRC := $(wildcard src/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(O)/obj/%.o)
DLIB_OBJ := $(LIB_SRC:src/%.c=$(O)/double/obj/%.o)
CLI_OBJ := $(CLI_SRC:src/cli/%.c=$(O)/obj/cli/%.o)
HDR     := $(wildcard include/recur/*.h) $(wildcard src/*.h)
CLI_HDR := $(wildcard src/cli/*.h)

# Check suites: tests/check_*.c link the float library, tests/dcheck_*.c the double build.
TEST_SRC  := $(wildcard tests/check_*.c)
DTEST_SRC := $(wildcard tests/dcheck_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(O)/tests/%) $(DTEST_SRC:tests/%.c=$(O)/tests/%)
TEST_COMMON := tests/testutil.c

DEB_PKGS := build-essential pkg-config libhts-dev libhdf5-dev libgsl-dev libopenblas-dev \
            check samtools hdf5-tools python3-torch python3-h5py python3-numpy \
            snakemake python3-matplotlib python3-pygments libopenmpi-dev openmpi-bin

.PHONY: all test deps deps-fuzz deps-slurm test-slurm sanitize fuzz lint bench clean install help demo experiments check-build tasks deps-tasks suite
.DELETE_ON_ERROR:

all: $(BIN)

help:
	@echo "targets: all (default) test deps sanitize lint bench clean install demo experiments tasks"

$(O)/obj/%.o: src/%.c $(HDR) | $(O)/obj
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(O)/obj/cli/%.o: src/cli/%.c $(HDR) $(CLI_HDR) | $(O)/obj/cli
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(O)/double/obj/%.o: src/%.c $(HDR) | $(O)/double/obj
	$(CC) $(CPPFLAGS) -DRECUR_REAL=double $(ALL_CFLAGS) -c $< -o $@

$(O)/librecur.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(O)/double/librecur.a: $(DLIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(O)/librecur.a | $(dir $(BIN))
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(O)/librecur.a $(LIBS)

$(O)/tests/check_%: tests/check_%.c $(TEST_COMMON) tests/testutil.h $(O)/librecur.a | $(O)/tests
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_COMMON) \
		$(O)/librecur.a $(CHECK_LIBS) $(LIBS)

$(O)/tests/dcheck_%: tests/dcheck_%.c $(TEST_COMMON) tests/testutil.h $(O)/double/librecur.a | $(O)/tests
	$(CC) $(CPPFLAGS) -DRECUR_REAL=double -Itests $(ALL_CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(TEST_COMMON) $(O)/double/librecur.a $(CHECK_LIBS) $(LIBS)

$(O)/obj $(O)/obj/cli $(O)/double/obj $(O)/tests $(dir $(BIN)):
	mkdir -p $@

check-build: $(BIN) $(TEST_BIN)

# Installs the Debian packages that are missing (one apt-get update, only when needed).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || \
	        missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi

test: deps
	$(MAKE) check-build
	$(MAKE) MPI=1 all
	O=$(O) RECUR=$(BIN) tests/run.sh
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) deps-slurm && sh tests/slurm/run_slurm.sh; \
	else echo "make test: SLURM test skipped: it needs root to run the daemons (make test-slurm)"; fi

# The workflow on a real single-node SLURM cluster started on this machine (root; munge and
# slurm-wlm), with one MPI training job under srun: tests/slurm/run_slurm.sh.
deps-slurm: deps
	@for p in munge slurm-wlm slurmdbd mariadb-server; do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || \
	        missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

test-slurm: deps-slurm
	$(MAKE) all
	$(MAKE) MPI=1 all
	sh tests/slurm/run_slurm.sh

# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own tree.
sanitize: deps
	$(MAKE) O=build/san BIN=build/san/bin/recur \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" check-build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 O=build/san RECUR=build/san/bin/recur tests/run.sh

lint:
	clang-format --dry-run --Werror $(wildcard src/*.c src/*.h src/cli/*.c src/cli/*.h include/recur/*.h tests/*.c tests/*.h)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr -Iinclude -Isrc -Isrc/cli --suppress=missingIncludeSystem src include

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang against the library sources, each
# run for FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/<name>/).
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN := $(FUZZ_TARGETS:%=build/fuzz/%)
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

deps-fuzz: deps
	@for p in clang libclang-rt-14-dev; do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || \
	        missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(HDR)
	@mkdir -p build/fuzz
	clang -std=c11 $(CPPFLAGS) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_SRC) $(LIBS)

fuzz: deps-fuzz
	$(MAKE) $(FUZZ_BIN)
	@fail=0; for f in $(FUZZ_BIN); do \
	    n=$$(basename $$f); seeds=tests/fuzz/corpus/$$n; \
	    gen=tests/fuzz/make_$${n#fuzz_}_corpus.sh; \
	    if [ -f $$gen ]; then seeds=build/fuzz/seeds-$$n; mkdir -p $$seeds; sh $$gen $$seeds; fi; \
	    extra=$$(cat tests/fuzz/$$n.options 2>/dev/null); \
	    mkdir -p build/fuzz/corpus-$$n build/fuzz/artifacts; \
	    echo "== $$n for $(FUZZ_SECONDS) s $$extra"; \
	    ASAN_OPTIONS=allocator_may_return_null=1 $$f -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=10 -close_fd_mask=2 -artifact_prefix=build/fuzz/artifacts/$$n- \
	        $$extra build/fuzz/corpus-$$n $$seeds || \
	        { echo "make fuzz: $$n found a problem (see above)"; fail=1; }; \
	done; exit $$fail

$(O)/bench/fasta_read: bench/fasta_read.c $(O)/librecur.a
	@mkdir -p $(O)/bench
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(O)/librecur.a $(LIBS)

bench: all $(O)/bench/fasta_read
	$(PYTHON) bench/compare.py
	$(O)/bench/fasta_read
	$(PYTHON) bench/h5read.py

# The suite of real tasks (data/tasks/tasks.tsv): one script per task, data/tasks/NAME.sh, builds
# data/real/NAME/ from Debian packages (md5-pinned; a task already built is checked, not redone).
TASK_PKGS := samtools minimap2 python3-h5py python3-numpy python3-netcdf4
TASK_NAMES := $(filter-out common check,$(basename $(notdir $(wildcard data/tasks/*.sh))))

deps-tasks:
	@for p in $(TASK_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || \
	        missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "make deps-tasks: installing$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

tasks: $(TASK_NAMES:%=task-%)

# recur on the suite: every task with the defaults and the old defaults, 3 seeds, beside the
# baselines (pipelines/suite.smk); the README's table is results/suite/table.md.
suite: all tasks
	snakemake -s pipelines/suite.smk --cores $$(nproc) -q

task-%: deps-tasks
	sh data/tasks/$*.sh

# The main job on the shipped data through Snakemake: DNA classifiers and forecasters trained,
# evaluated, exported and plotted (pipelines/config/demo.yaml), on every core of the machine.
DEMO_CONFIG ?= pipelines/config/demo.yaml
demo: deps
	$(MAKE) all
	snakemake --cores $$(nproc) --configfile $(DEMO_CONFIG)
	@echo "make demo: results in results/demo/ (one directory per experiment and run)"
	@echo "make demo: report in results/demo/report.html"

# The BPTT experiments (pipelines/experiments.smk, pipelines/config/bptt/default.yaml): about
# 13 minutes on 2 cores; tables, figures and results/experiments/summary.tsv.
experiments: deps
	$(MAKE) all
	snakemake --cores $$(nproc) results/experiments/summary.tsv
	@echo "make experiments: results in results/experiments/, summary in results/experiments/summary.tsv"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/recur

clean:
	rm -rf build bin
