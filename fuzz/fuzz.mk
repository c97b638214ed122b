# ngx_blob_module fuzz targets (libFuzzer, clang).  Run through
# fuzz/build.sh, which finds the nginx sources and sets:
#
#   NGINX_SRC   nginx 1.22.1 sources with the .c files (Debian's package)
#   NGINX_OBJS  objs/ of a configured tree (ngx_auto_config.h)
#   OUT         where objects and the fuzz_<target> binaries go
#
# Every target is fuzz/fuzz_<target>.c.  It links with the module's files
# (but ngx_http_blob_module.c and _gc.c, which need a cycle), those it
# #includes itself excepted, with the handful of nginx core files below,
# and with fuzz_common.c and fuzz_stubs.c.  A "fuzz-ldflags:" line in a
# target's source adds link flags (--wrap).

FUZZ_DIR    := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
MODULE_DIR  := $(FUZZ_DIR)/../ngx_blob_module

CC          := clang
# pointer-overflow is left out: in clang 14 it also reports NULL + 0, the
# "p = s.data; last = p + s.len" of every empty ngx_str_t in nginx and in
# the module, which no compiler miscompiles; ASan still sees every access
# out of bounds
SAN         := -fsanitize=address,undefined -fno-sanitize=pointer-overflow \
               -fno-sanitize-recover=all -fno-omit-frame-pointer
# NGX_DEBUG_PALLOC: every pool allocation is its own malloc() with its own
# redzones, so an overflow into the neighbour allocation is seen
CFLAGS      := -g -O1 $(SAN) -fsanitize=fuzzer-no-link \
               -DNGX_DEBUG_PALLOC=1 -W -Wall -Wno-unused-parameter \
               -Wno-sign-compare
LIBS        := -lcrypto -lxml2 -ljansson -lpthread

INCS        := -I $(NGINX_SRC)/src/core -I $(NGINX_SRC)/src/event \
               -I $(NGINX_SRC)/src/event/modules -I $(NGINX_SRC)/src/os/unix \
               -I $(NGINX_OBJS) -I $(NGINX_SRC)/src/http \
               -I $(NGINX_SRC)/src/http/modules -I $(NGINX_SRC)/src/http/v2 \
               -I $(MODULE_DIR) -I $(FUZZ_DIR) -I /usr/include/libxml2

CORE_SRCS   := core/ngx_palloc core/ngx_string core/ngx_array core/ngx_list \
               core/ngx_parse core/ngx_parse_time core/ngx_inet \
               core/ngx_times core/ngx_buf core/ngx_crc32 core/ngx_md5 \
               os/unix/ngx_alloc os/unix/ngx_errno os/unix/ngx_time \
               http/ngx_http_parse
CORE_OBJS   := $(patsubst %,$(OUT)/obj/nginx/%.o,$(CORE_SRCS))

MODULE_SRCS := $(filter-out %/ngx_http_blob_module.c %/ngx_http_blob_gc.c, \
                   $(wildcard $(MODULE_DIR)/*.c))
MODULE_NAMES := $(basename $(notdir $(MODULE_SRCS)))
MODULE_HDR  := $(MODULE_DIR)/ngx_http_blob_module.h

COMMON_OBJS := $(OUT)/obj/fuzz/fuzz_common.o $(OUT)/obj/fuzz/fuzz_stubs.o

TARGETS     := $(patsubst $(FUZZ_DIR)/fuzz_%.c,%, \
                   $(filter-out %/fuzz_common.c %/fuzz_stubs.c, \
                       $(wildcard $(FUZZ_DIR)/fuzz_*.c)))

# the module files a target #includes, and its extra link flags
included     = $(shell sed -n \
                   's/^.include "\(ngx_http_blob_[a-z0-9_]*\)\.c".*/\1/p' \
                   $(FUZZ_DIR)/fuzz_$(1).c)
ldflags      = $(shell sed -n 's/^.*fuzz-ldflags: *//p' $(FUZZ_DIR)/fuzz_$(1).c)
module_objs  = $(patsubst %,$(OUT)/obj/module/%.o, \
                   $(filter-out $(call included,$(1)),$(MODULE_NAMES)))


.PHONY: all
all: $(patsubst %,$(OUT)/fuzz_%,$(TARGETS))

# nginx's own idioms, not the module's: memcpy(p, NULL, 0) for an empty
# ngx_str_t (ngx_vslprintf's %V), unaligned 4-byte loads in the HTTP
# parser (NGX_HAVE_NONALIGNED); only the module's code is held to these
$(OUT)/obj/nginx/%.o: $(NGINX_SRC)/src/%.c $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $(dir $@)
	$(CC) -c $(CFLAGS) -fno-sanitize=nonnull-attribute,alignment \
	    $(INCS) $< -o $@

$(OUT)/obj/module/%.o: $(MODULE_DIR)/%.c $(MODULE_HDR) $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $(dir $@)
	$(CC) -c $(CFLAGS) $(INCS) $< -o $@

$(OUT)/obj/fuzz/%.o: $(FUZZ_DIR)/%.c $(FUZZ_DIR)/fuzz_common.h \
                     $(MODULE_HDR) $(MODULE_SRCS) $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $(dir $@)
	$(CC) -c $(CFLAGS) $(INCS) $< -o $@

define fuzz_target
$(OUT)/fuzz_$(1): $(OUT)/obj/fuzz/fuzz_$(1).o $(COMMON_OBJS) $(CORE_OBJS) \
                  $(call module_objs,$(1))
	$(CC) $(SAN) -fsanitize=fuzzer $$^ $(call ldflags,$(1)) $(LIBS) -o $$@
endef

$(foreach t,$(TARGETS),$(eval $(call fuzz_target,$(t))))
