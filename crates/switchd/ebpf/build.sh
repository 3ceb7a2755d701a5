#!/usr/bin/env bash
# Builds kernel_relay.bpf.o from kernel_relay.bpf.c (clang, BPF target). The
# object is committed and embedded in the daemon, so building switchd needs
# no clang; rebuild it after changing the program.
#   build.sh          rebuild the object
#   build.sh --check  rebuild into a temporary file and fail if it differs
#                     from the committed one (skipped without clang)
set -euo pipefail
cd "$(dirname "$0")"
src=kernel_relay.bpf.c
out=kernel_relay.bpf.o
if ! command -v clang >/dev/null; then
    if [ "${1:-}" = --check ]; then
        echo "ebpf: skipped the object check: clang not found (apt-get install clang libbpf-dev)"
        exit 0
    fi
    echo "ebpf: clang not found (apt-get install clang libbpf-dev)" >&2
    exit 1
fi
build() {
    # -g for the BTF that describes the maps; the DWARF beside it (which
    # names the build directory) is stripped, so the object is the same
    # bytes in every checkout.
    clang -O2 -g -target bpf -Wall -Werror -I"/usr/include/$(uname -m)-linux-gnu" \
        -fdebug-prefix-map="$PWD"=. -fdebug-compilation-dir=. \
        -c "$src" -o "$1"
    llvm-strip -g "$1"
}
if [ "${1:-}" = --check ]; then
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    build "$tmp"
    if ! cmp -s "$tmp" "$out"; then
        echo "ebpf: $out is not what $src builds to with $(clang --version | head -n 1);" \
            "run crates/switchd/ebpf/build.sh and commit the object" >&2
        exit 1
    fi
    echo "ebpf: $out matches $src"
else
    build "$out"
    echo "ebpf: built $out ($(stat -c %s "$out") bytes)"
fi
