#!/usr/bin/env bash
#
# build.sh: builds the libFuzzer targets (fuzz/fuzz_<target>.c) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer into $OUT/fuzz_<target>.
#
#   BUILD           build directory (default ./build)
#   NGINX_TREE      a configured nginx tree, for objs/ngx_auto_config.h
#                   (default $BUILD/nginx: `make` configures it)
#   OUT             default $BUILD/fuzz
#   NGINX_FULL_SRC  nginx 1.22.1 with its .c files; default: the tree
#                   scripts/build-asan.sh fetched ($BUILD/asan/nginx-1.22.1),
#                   else Debian's source package is fetched into $OUT
#
# Debian's nginx-dev ships the headers only; the few core files the targets
# link with (pools, strings, the HTTP parser...) come from the source
# package, compiled here with the same sanitizers as the module.

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
tree=${NGINX_TREE:-$build/nginx}
out=${OUT:-$build/fuzz}
version=${NGINX_DEB_VERSION:-1.22.1-9+deb12u9}
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$out"


# clang, and libFuzzer with the sanitizer runtimes (-fsanitize=fuzzer)

missing=()
for p in clang libclang-rt-14-dev dpkg-dev debian-archive-keyring; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "fuzz: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "fuzz: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" \
        </dev/null
fi

if [ ! -f "$tree/objs/ngx_auto_config.h" ]; then
    echo "fuzz: $tree is not configured: run make first" >&2
    exit 1
fi


# the nginx sources

src=${NGINX_FULL_SRC:-}

if [ -z "$src" ]; then
    for d in "$build/asan/nginx-1.22.1" "$out/nginx-1.22.1"; do
        if [ -f "$d/src/core/ngx_palloc.c" ]; then
            src=$d
            break
        fi
    done
fi

if [ -z "$src" ]; then
    "$repo/scripts/fetch-nginx-source.sh" "$out" "$version"
    src=$out/nginx-1.22.1
fi

src=$(cd "$src" && pwd)

make -s -f "$repo/fuzz/fuzz.mk" -j"$jobs" \
    NGINX_SRC="$src" NGINX_OBJS="$tree/objs" OUT="$out"
