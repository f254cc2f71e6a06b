#!/usr/bin/env bash
# The C suite in every configuration CI runs: release, ASan+UBSan, TSan
# (thread tests), valgrind memcheck, bounded libFuzzer runs (clang) and line
# coverage of native/core. MP_TEST_QUICK=1 runs the release build only.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${MP_FUZZ_SECONDS:-15}

configure_and_test() { # dir, ctest args..., -- cmake args...
  local dir=$1; shift
  local ctest_args=() cmake_args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do ctest_args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  cmake_args=("$@")
  echo "== C tests: $dir ${cmake_args[*]}"
  cmake -S . -B "$dir" -DMP_BUILD_TESTS=ON "${cmake_args[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "${ctest_args[@]}")
}

configure_and_test build-c/release -- -DCMAKE_BUILD_TYPE=Release
echo "== install + README C example"
bash scripts/test-install.sh
[ "${MP_TEST_QUICK:-0}" = 1 ] && exit 0

configure_and_test build-c/asan -- -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DMP_SANITIZE=address;undefined"
configure_and_test build-c/tsan -L threads -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_SANITIZE=thread

echo "== C tests: valgrind memcheck (every non-thread test binary)"
cmake -S . -B build-c/valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_VALGRIND=ON >/dev/null
cmake --build build-c/valgrind -j"$jobs" >/dev/null
vg_failed=0
for t in build-c/valgrind/test_* build-c/valgrind/fuzz_*_seeded; do
  case "$t" in *_threads) continue ;; esac
  [ -x "$t" ] || continue
  if MP_FUZZ_RUNS=150 valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite \
      "$t" >"$t.valgrind.log" 2>&1; then
    echo "valgrind ok: $(basename "$t")"
  else
    echo "valgrind FAILED: $(basename "$t")"; tail -n 30 "$t.valgrind.log"; vg_failed=1
  fi
done
[ "$vg_failed" = 0 ] || exit 1

if command -v clang >/dev/null; then
  echo "== libFuzzer: ${fuzz_seconds}s per harness"
  CC=clang cmake -S . -B build-c/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_BUILD_FUZZ=ON >/dev/null
  cmake --build build-c/fuzz -j"$jobs" >/dev/null
  for h in build-c/fuzz/fuzz_*; do
    case "$h" in *_seeded) continue ;; esac
    [ -x "$h" ] || continue
    echo "-- $(basename "$h")"
    "$h" -max_total_time="$fuzz_seconds" -rss_limit_mb=4096 2>&1 | tail -n 2
  done
else
  echo "== libFuzzer skipped: clang not installed (apt-get install clang)"
fi

echo "== line coverage of native/core"
MP_FUZZ_RUNS=300 configure_and_test build-c/coverage -LE threads -- -DCMAKE_BUILD_TYPE=Debug -DMP_COVERAGE=ON -DMP_WARNINGS_AS_ERRORS=OFF
if command -v gcovr >/dev/null; then
  gcovr -r . --filter native/core/ --object-directory build-c/coverage --print-summary \
    --txt build-c/coverage/coverage.txt build-c/coverage | tail -n 3
  tail -n 20 build-c/coverage/coverage.txt
else
  echo "gcovr not installed (apt-get install gcovr): no coverage report"
fi
