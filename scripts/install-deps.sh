#!/usr/bin/env bash
#
# install-deps.sh build|test|bench ...
#
# Installs what the named stage needs and nothing it already has, so that
# `make` on a machine that has everything costs a few dpkg-query calls and
# no network.  Works as root on a fresh Debian 12 without a terminal (CI).
# `apt-get update` runs only when something has to be installed: the
# package lists on a fresh machine may be missing or stale.

set -euo pipefail

cd "$(dirname "$0")/.."

build_pkgs=(nginx nginx-dev libssl-dev libxml2-dev libpcre2-dev
            libjansson-dev zlib1g-dev make gcc)

# bindfs stands in for several NFS clients of one export (t/test_multigateway.py);
# "fuse3|fuse": Debian's fuse3 replaces and provides fuse, either one
# satisfies bindfs, and forcing fuse3 over an installed fuse would remove
# a package other tools may be using.
# openssl (the command) makes the certificate t/test_example_conf.py needs.
test_pkgs=(python3-azure python3-pytest rclone bindfs "fuse3|fuse"
           libsecret-1-0 openssl)

# wrk and curl drive the benchmark; AzCopy (from t/node, see node_clients)
# needs libsecret at startup
bench_pkgs=(wrk curl libsecret-1-0)

apt_updated=no


installed() {
    local alt

    # "a|b": any one of the alternatives is enough
    for alt in ${1//|/ }; do
        if dpkg-query -W -f='${Status}' "$alt" 2>/dev/null \
           | grep -q '^install ok installed$'
        then
            return 0
        fi
    done

    return 1
}


apt_install() {
    local want=() p

    for p in "$@"; do
        installed "$p" || want+=("${p%%|*}")
    done

    [ ${#want[@]} -eq 0 ] && return 0

    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${want[*]}" >&2
        echo "install-deps: run as root: apt-get install ${want[*]}" >&2
        exit 1
    fi

    echo "install-deps: installing ${want[*]}"

    export DEBIAN_FRONTEND=noninteractive

    if [ $apt_updated = no ]; then
        apt-get update -o DPkg::Lock::Timeout=600 -qq
        apt_updated=yes
    fi

    apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
        --no-install-recommends "${want[@]}" </dev/null
}


# The node clients live in t/node/ (package.json and package-lock.json are
# committed, node_modules/ is not): a project-local install needs no root
# and pins the versions the tests were written against.
node_clients() {
    local dir=t/node
    local azcopy=$dir/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64
    local stamp=$dir/node_modules/.package-lock.json

    if ! command -v node >/dev/null 2>&1; then
        apt_install nodejs
    fi

    if ! command -v npm >/dev/null 2>&1; then
        apt_install npm
    fi

    if [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] \
       && [ -d "$dir/node_modules/@azure/storage-blob" ] && [ -f "$azcopy" ]
    then
        :
    else
        echo "install-deps: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    fi

    # the package ships the binary without its execute bit
    if [ -f "$azcopy" ] && [ ! -x "$azcopy" ]; then
        chmod +x "$azcopy"
    fi
}


if [ $# -eq 0 ]; then
    echo "usage: $0 build|test|bench ..." >&2
    exit 2
fi

for stage in "$@"; do
    case $stage in
    build)
        apt_install "${build_pkgs[@]}"
        ;;
    test)
        apt_install "${test_pkgs[@]}"
        node_clients
        ;;
    bench)
        apt_install "${bench_pkgs[@]}"
        node_clients
        ;;
    *)
        echo "install-deps: unknown stage \"$stage\"" >&2
        exit 2
        ;;
    esac
done
