#!/usr/bin/env bash
# Makes sure the system packages the build and the tests need are present:
# sipp (Debian: sip-tester), sox, espeak-ng (the default text-to-speech
# engine of `play {text}`), unshare (util-linux), ip (iproute2), a C
# toolchain, pkg-config and libopus-dev (for the Opus binding), and clang,
# llvm and libbpf-dev to check the committed eBPF object against its
# source (crates/switchd/ebpf/build.sh --check). As root the
# missing ones are installed with apt-get; otherwise the script names them
# and exits 1.
#
# `ensure-deps.sh build` checks only what building needs (a C toolchain,
# pkg-config, libopus-dev): the README's run command uses that.
set -euo pipefail
only_build=false
[ "${1:-}" = build ] && only_build=true

# command → Debian package
declare -A needed=(
    [cc]=build-essential
    [pkg-config]=pkg-config
)
if ! $only_build; then
    needed+=(
        [sipp]=sip-tester
        [sox]=sox
        [espeak-ng]=espeak-ng
        [unshare]=util-linux
        [ip]=iproute2
        [clang]=clang
        [llvm-strip]=llvm
    )
fi
missing=()
for cmd in "${!needed[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
# libopus: the library and headers the Opus binding links against.
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists opus; }; then
    missing+=(libopus-dev)
fi

# libbpf's headers, for the eBPF program's helpers.
if ! $only_build && [ ! -e /usr/include/bpf/bpf_helpers.h ]; then
    missing+=(libbpf-dev)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "ensure-deps: missing Debian packages: ${missing[*]}" >&2
    echo "ensure-deps: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
