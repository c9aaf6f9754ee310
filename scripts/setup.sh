#!/usr/bin/env bash
# setup.sh: everything a clone needs before `npm test`, in one command (contributors and
# .ci/run use it alike): the Debian/Ubuntu packages (installed when run as root or through sudo;
# otherwise the missing ones are named), the linux-arm64 cross-build's toolchain and sysroot
# (scripts/setup-arm64.sh), then the npm dependencies and the native build (`npm ci`, whose
# prepare script runs scripts/build.js, offline).
# Usage: bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# libffi-dev, libtcc-dev: the build; tcc: TinyCC's headers and libtcc1.a for cc() (copied into cc-runtime/); gcc, g++, make, python3: node-gyp and the C test fixtures; libsqlite3-dev, zlib1g: the
# libraries the tests and examples open; valgrind: the memcheck tests; binutils: the binary
# checks (readelf, objdump, strip); util-linux: unshare, for .ci/install-test's sandbox.
packages=(libffi-dev libtcc-dev tcc gcc g++ make python3 libc6-dev binutils util-linux
  libsqlite3-0 libsqlite3-dev zlib1g valgrind)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: not a Debian/Ubuntu system; install the equivalents of: ${missing[*]}" >&2
  else
    sudo=()
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null; then sudo=(sudo); else
        echo "setup: missing packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
        exit 1
      fi
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: system packages present"
fi

# The linux-arm64 cross-build that `npm run package` needs too (scripts/setup-arm64.sh: Debian's
# gcc-aarch64-linux-gnu and an arm64 libffi/libtcc sysroot in ~/.cache/cffi). Not fatal: without
# it everything but the arm64 binary works; CFFI_NO_ARM64=1 skips it.
if [ "$(uname -m)" = x86_64 ] && [ -z "${CFFI_NO_ARM64:-}" ]; then
  bash scripts/setup-arm64.sh ||
    echo "setup: warning: the arm64 cross-build is not set up (npm run package will say so; npm run package -- --no-arm64 skips it)" >&2
fi

# The npm dependencies (TypeScript for the type test) and the build, offline against the
# running Node's headers; no user npm configuration is needed.
npm ci --no-audit --no-fund --foreground-scripts
node -e 'const c = require("."); console.log("setup: cffi loads; exports:", Object.keys(c).join(" "))'
