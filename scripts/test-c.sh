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

configure_and_test build/release -- -DCMAKE_BUILD_TYPE=Release
[ "${MP_TEST_QUICK:-0}" = 1 ] && exit 0

configure_and_test build/asan -- -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DMP_SANITIZE=address;undefined"
configure_and_test build/tsan -L threads -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_SANITIZE=thread

echo "== C tests: valgrind memcheck"
cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_VALGRIND=ON >/dev/null
cmake --build build/valgrind -j"$jobs" >/dev/null
(cd build/valgrind && MP_FUZZ_RUNS=200 ctest -j"$jobs" -LE threads --output-on-failure \
  -T memcheck --overwrite MemoryCheckCommandOptions="--error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite" \
  | tail -n 20)
defects=$(cat build/valgrind/Testing/Temporary/MemoryChecker.*.log 2>/dev/null | grep -c "ERROR SUMMARY: [1-9]" || true)
if [ "$defects" != 0 ]; then echo "valgrind found defects"; grep -l "ERROR SUMMARY: [1-9]" build/valgrind/Testing/Temporary/MemoryChecker.*.log; exit 1; fi

if command -v clang >/dev/null; then
  echo "== libFuzzer: ${fuzz_seconds}s per harness"
  CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_BUILD_FUZZ=ON >/dev/null
  cmake --build build/fuzz -j"$jobs" >/dev/null
  for h in build/fuzz/fuzz_*; do
    case "$h" in *_seeded) continue ;; esac
    [ -x "$h" ] || continue
    echo "-- $(basename "$h")"
    "$h" -max_total_time="$fuzz_seconds" -rss_limit_mb=4096 2>&1 | tail -n 2
  done
else
  echo "== libFuzzer skipped: clang not installed (apt-get install clang)"
fi

echo "== line coverage of native/core"
configure_and_test build/coverage -LE threads -- -DCMAKE_BUILD_TYPE=Debug -DMP_COVERAGE=ON -DMP_WARNINGS_AS_ERRORS=OFF
if command -v gcovr >/dev/null; then
  gcovr -r . --filter native/core/ --object-directory build/coverage --print-summary \
    --txt build/coverage/coverage.txt build/coverage | tail -n 3
  tail -n 20 build/coverage/coverage.txt
else
  echo "gcovr not installed (apt-get install gcovr): no coverage report"
fi
