# ngx_blob_module: build, run, test, benchmark.
SHELL := /bin/bash
#
# The nginx build tree is configured once (about 25 s) under build/ and
# kept, so a rebuild after a source change only compiles the module.
#
#   make             build the module (build/nginx/objs/ngx_http_blob_module.so)
#   make run         serve ./data on 127.0.0.1:10000 in the foreground
#                    (BLOB_LISTEN, BLOB_ROOT override; Ctrl-C stops it)
#   make test        the whole suite, real clients included
#   make test-quick  without the tests marked "clients" or "slow"
#   make test-asan   the whole suite on nginx built from Debian's source
#                    package with ASan and UBSan, the module compiled in
#                    (scripts/build-asan.sh; build/asan, about 2 min once)
#   make bench       the benchmark
#   make fuzz        build the libFuzzer targets (fuzz/) and run each for
#                    FUZZ_SECONDS (default 60); not part of `make test`
#
# Every target installs what it needs first (scripts/install-deps.sh is
# idempotent and costs nothing when all is there).

NGINX_SRC   ?= /usr/share/nginx/src
BUILD       ?= $(CURDIR)/build
NGINX_TREE  := $(BUILD)/nginx
MODULE_SO   := $(NGINX_TREE)/objs/ngx_http_blob_module.so
SOURCES     := $(wildcard ngx_blob_module/*.c ngx_blob_module/*.h) config

PYTHON      := /usr/bin/python3
PYTEST      := BLOB_MODULE=$(MODULE_SO) BLOB_SUMMARY_FILE=$(BUILD)/summary.txt \
               $(PYTHON) -m pytest -q -o cache_dir=$(BUILD)/pytest_cache \
                   --junitxml=$(BUILD)/junit.xml
T           ?= t/

# BLOB_MODULE empty: the module is in the binary, no load_module line;
# the sanitizer options are t/lib/gateway.py's (scripts/ubsan.supp)
ASAN_NGINX  := $(BUILD)/asan/nginx-1.22.1/objs/nginx
PYTEST_ASAN := BLOB_NGINX=$(ASAN_NGINX) BLOB_MODULE= \
               BLOB_SUMMARY_FILE=$(BUILD)/summary-asan.txt \
               $(PYTHON) -m pytest -q -o cache_dir=$(BUILD)/pytest_cache \
                   --junitxml=$(BUILD)/junit-asan.xml

.PHONY: all deps deps-test deps-bench run test test-quick test-asan bench \
        fuzz clean

all: $(MODULE_SO)

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh build test

deps-bench:
	@scripts/install-deps.sh build bench

$(NGINX_TREE)/objs/Makefile: config
	@scripts/install-deps.sh build
	rm -rf $(NGINX_TREE)
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(NGINX_TREE)
	cd $(NGINX_TREE) && . ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="-g -O2 -Wall -Werror" \
	        --add-dynamic-module=$(CURDIR) > $(BUILD)/configure.log 2>&1 \
	    || { tail -20 $(BUILD)/configure.log; exit 1; }

$(MODULE_SO): $(NGINX_TREE)/objs/Makefile $(SOURCES)
	$(MAKE) -s -C $(NGINX_TREE) -f objs/Makefile modules
	@ls -l $(MODULE_SO)

run: deps
	@$(MAKE) -s all
	BLOB_MODULE=$(MODULE_SO) BLOB_RUN_DIR=$(BUILD)/run scripts/run.sh

# pytest's exit status is make's; t/conftest.py prints the closing
# "N passed, N failed" line
test: deps-test
	@rm -f $(BUILD)/summary.txt
	@$(MAKE) -s all
	$(PYTEST) $(T)

test-quick: deps-test
	@rm -f $(BUILD)/summary.txt
	@$(MAKE) -s all
	$(PYTEST) -m "not clients and not slow" \
	    --ignore-glob='*/test_client_*' $(T)

test-asan: deps-test
	@rm -f $(BUILD)/summary-asan.txt
	BUILD=$(BUILD) scripts/build-asan.sh
	$(PYTEST_ASAN) $(T)

bench: deps-bench
	@$(MAKE) -s all
	@if [ -x scripts/bench.sh ]; then \
	    BLOB_MODULE=$(MODULE_SO) BLOB_RUN_DIR=$(BUILD)/bench \
	        scripts/bench.sh; \
	else \
	    echo "no scripts/bench.sh yet"; exit 1; \
	fi

# fuzz/build.sh, fuzz/run.sh: FUZZ_RUNS, FUZZ_TARGETS, FUZZ_JOBS too
FUZZ_SECONDS ?= 60

fuzz: $(NGINX_TREE)/objs/Makefile
	BUILD=$(BUILD) NGINX_TREE=$(NGINX_TREE) fuzz/build.sh
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

clean:
	rm -rf $(BUILD)
