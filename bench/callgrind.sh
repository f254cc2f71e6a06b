#!/usr/bin/env bash
# Instructions per operation of the C hot paths, counted by callgrind: a
# figure that does not move with machine noise (unlike ns/op).
#
# Each case runs `mp_bench_micro --callgrind WORKLOAD IMPL OPS` twice, with
# N1 and N2 operations; setup (creating every allocator, prefilling live
# blocks) is the same in both runs, so (Ir(N2) - Ir(N1)) / (N2 - N1) is the
# cost of one operation alone. An operation is what micro.c's ns/op covers
# (fixed64_pair: one alloc + one free; arena_small: one alloc + amortized
# reset; mixed_live10k: one free + one alloc).
#
# usage: bench/callgrind.sh [--json] [--only REGEX] [BUILD_DIR]   (default build/bench)
#   --only REGEX  run only the cases whose "workload impl" matches REGEX (grep -E)
set -euo pipefail
cd "$(dirname "$0")/.."

json=0
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --json) json=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) break ;;
  esac
done
build=${1:-build/bench}
micro="$build/bench/c/mp_bench_micro"

if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed (apt-get install valgrind): no instruction counts" >&2
  exit 0
fi
if [ ! -x "$micro" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMP_BUILD_BENCH=ON -DMP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 >/dev/null
fi

# jemalloc is dlopen'ed: it needs glibc's static TLS surplus raised, and the
# program must not re-exec itself (valgrind would not follow).
export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 MP_BENCH_NO_REEXEC=1

n1=20000
n2=220000
cases=(
  "fixed64_pair floor:freelist" "fixed64_pair fixed" "fixed64_pair fixed:inline"
  "fixed64_live10k floor:freelist" "fixed64_live10k fixed" "fixed64_live10k fixed:inline" "fixed64_pair slab" "fixed64_pair slab:inline" "fixed64_pair tlsf"
  "fixed64_pair pool:tlsf" "fixed64_pair buddy" "fixed64_pair glibc" "fixed64_pair jemalloc" "fixed64_pair mimalloc"
  "arena_small floor:bump" "arena_small arena" "arena_small arena:window" "arena_small mimalloc"
  "mixed_live10k floor:sizeclass" "mixed_live10k slab" "mixed_live10k tlsf" "mixed_live10k pool:tlsf" "mixed_live10k buddy"
  "mixed_live10k mimalloc" "pow2_live10k floor:sizeclass" "pow2_live10k buddy"
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions of one run, or empty when the case cannot run.
count_ir() { # workload impl ops
  local log="$tmp/log"
  if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$micro" --callgrind "$1" "$2" "$3" \
      >/dev/null 2>"$log"; then
    return 0
  fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log" | tail -n 1
}

[ "$json" = 1 ] || printf '%-15s %-16s %12s\n' workload impl "instr/op"
for c in "${cases[@]}"; do
  if [ -n "$only" ] && ! grep -Eq -- "$only" <<<"$c"; then continue; fi
  set -- $c
  a=$(count_ir "$1" "$2" "$n1")
  b=$(count_ir "$1" "$2" "$n2")
  if [ -z "$a" ] || [ -z "$b" ]; then
    reason=$("$micro" --callgrind "$1" "$2" 1 2>&1 >/dev/null | head -n 1 || true)
    if [ "$json" = 1 ]; then
      printf '{"bench":"callgrind","workload":"%s","impl":"%s","skipped":"%s"}\n' "$1" "$2" "${reason//\"/\'}"
    else
      printf '%-15s %-16s %12s  (%s)\n' "$1" "$2" "-" "$reason"
    fi
    continue
  fi
  per_op=$(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN { printf "%.1f", (b - a) / (n2 - n1) }')
  if [ "$json" = 1 ]; then
    printf '{"bench":"callgrind","workload":"%s","impl":"%s","instructions_per_op":%s}\n' "$1" "$2" "$per_op"
  else
    printf '%-15s %-16s %12s\n' "$1" "$2" "$per_op"
  fi
done
