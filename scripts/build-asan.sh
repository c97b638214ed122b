#!/usr/bin/env bash
#
# build-asan.sh: nginx 1.22.1 from Debian's source package, built with
# AddressSanitizer and UndefinedBehaviorSanitizer and ngx_blob_module
# compiled in (`make test-asan` runs the suite on it).
#
#   BUILD               build directory (default ./build); all of this
#                       script's work lands in $BUILD/asan
#   NGINX_DEB_VERSION   the source package's version (default
#                       1.22.1-9+deb12u9: the mirror lacks the sources of
#                       the newest security revision, see CLIENTS.md)
#
# The binary is $BUILD/asan/nginx-1.22.1/objs/nginx.  Every step is kept:
# a second run only recompiles what changed (the module, usually).
#
# Why the module is compiled in: ASan's odr-violation check trips over
# ngx_module_names in a dynamic module (it is defined in the binary and
# in the .so); linked into one binary, there is one definition.
#
# Why -DNGX_DEBUG_PALLOC=1: nginx carves small allocations out of 16 KiB
# pool blocks, where ASan sees one big allocation and misses an overflow
# into the neighbour; with it, every ngx_palloc() is its own malloc() with
# its own redzones.

set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
build=$(mkdir -p "$build" && cd "$build" && pwd)
asan=$build/asan
version=${NGINX_DEB_VERSION:-1.22.1-9+deb12u9}
src=$asan/nginx-1.22.1
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$asan"


# what `make` needs, plus dpkg-dev (apt-get source unpacks with
# dpkg-source) and the archive keyring the deb-src list is signed with

"$repo/scripts/install-deps.sh" build

missing=()
for p in dpkg-dev debian-archive-keyring libasan8 libubsan1; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "build-asan: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "build-asan: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" \
        </dev/null
fi


if [ ! -f "$src/debian/changelog" ]; then
    "$repo/scripts/fetch-nginx-source.sh" "$asan" "$version"
fi


# Debian's configure flags (nginx-dev's conf_flags: the same list
# debian/rules builds the nginx package with) with the module compiled in
# instead of --add-dynamic-module.  Debian's hardening CFLAGS are left
# out: _FORTIFY_SOURCE and ASan's interceptors get in each other's way.
#
# UBSan: -fno-sanitize-recover is NOT given, so a report is printed and
# the worker goes on (UBSAN_OPTIONS=halt_on_error=0), and the harness fails
# the run on the report line; ASan stops the worker at the first error.

. /usr/share/nginx/src/conf_flags

san="-fsanitize=address,undefined -fno-omit-frame-pointer"
conf=("${NGX_CONF_FLAGS[@]}"
      --with-debug
      --with-cc-opt="-g -O1 $san -DNGX_DEBUG_PALLOC=1"
      --with-ld-opt="$san"
      --add-module="$repo")

args=$(printf '%q ' "${conf[@]}")

if [ ! -f "$src/objs/Makefile" ] \
   || [ "$(cat "$asan/configure.args" 2>/dev/null)" != "$args" ] \
   || [ "$repo/config" -nt "$src/objs/Makefile" ]
then
    echo "build-asan: configure"
    rm -f "$asan/configure.args"
    (cd "$src" && ./configure "${conf[@]}") > "$asan/configure.log" 2>&1 \
        || { tail -30 "$asan/configure.log"; exit 1; }
    printf '%s' "$args" > "$asan/configure.args"
fi

echo "build-asan: make -j$jobs"
make -s -C "$src" -f objs/Makefile -j"$jobs" > "$asan/make.log" 2>&1 \
    || { grep -B2 -A8 -m5 'error' "$asan/make.log" || tail -40 "$asan/make.log"
         exit 1; }

"$src/objs/nginx" -v
ls -l "$src/objs/nginx"
