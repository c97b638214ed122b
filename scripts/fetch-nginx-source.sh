#!/usr/bin/env bash
#
# fetch-nginx-source.sh DIR [VERSION]: Debian's nginx source package, as
# DIR/nginx-1.22.1 (for the sanitizer build and the fuzz targets: nginx-dev
# ships only headers).
#
# Through a private deb-src list with private state: an `apt-get update` on
# the system's lists directory would drop the binary package lists every
# other apt user relies on.  The pinned revision first; should the mirror
# drop it, any 1.22.1.

set -euo pipefail

dir=$1
version=${2:-1.22.1-9+deb12u9}

apt=$dir/apt
fetch=$dir/src-fetch

rm -rf "$apt" "$fetch"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$fetch"

cat > "$apt/deb-src.sources" <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES

aptopts=(-o Dir::Etc::sourcelist="$apt/deb-src.sources"
         -o Dir::Etc::sourceparts=-
         -o Dir::State::Lists="$apt/lists"
         -o Dir::Cache="$apt/cache"
         -o APT::Sandbox::User=root
         -o Acquire::Retries=3)

echo "fetch-nginx-source: nginx=$version (source package) into $dir"
apt-get update -qq "${aptopts[@]}"

(cd "$fetch" \
    && { apt-get source -qq "${aptopts[@]}" "nginx=$version" \
         || apt-get source -qq "${aptopts[@]}" nginx; })

if [ ! -f "$fetch/nginx-1.22.1/debian/changelog" ]; then
    echo "fetch-nginx-source: apt-get source gave no nginx-1.22.1" >&2
    exit 1
fi

rm -rf "$dir/nginx-1.22.1"
mv "$fetch/nginx-1.22.1" "$dir/nginx-1.22.1"
rm -rf "$fetch" "$apt"
head -1 "$dir/nginx-1.22.1/debian/changelog"
