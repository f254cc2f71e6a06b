#!/usr/bin/env bash
# Installs the library into a temporary prefix, then builds the README's C
# example against the installed files twice (pkg-config, and CMake's
# find_package) and checks that it prints what the README says it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake -S . -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DMP_BUILD_TESTS=OFF >/dev/null
cmake --build "$tmp/build" -j2 >/dev/null
cmake --install "$tmp/build" --prefix "$tmp/prefix" >/dev/null

# The example is the ```c block that starts with "/* example.c */"; the
# expected output is the ``` block after the line "prints".
awk '/^```c$/ {grab=1; buf=""; next} grab && /^```$/ {if (buf ~ /^\/\* example.c \*\//) {printf "%s", buf; exit} grab=0; next} grab {buf = buf $0 "\n"}' README.md >"$tmp/example.c"
awk 'prev == "prints" && /^```$/ {grab=1; next} grab && /^```$/ {exit} grab {print} {if ($0 != "") prev=$0}' README.md >"$tmp/expected.txt"
[ -s "$tmp/example.c" ] || { echo "README example not found"; exit 1; }
[ -s "$tmp/expected.txt" ] || { echo "README expected output not found"; exit 1; }

libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n 1)
PKG_CONFIG_PATH="$libdir" cc -std=c11 -Wall -Werror "$tmp/example.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs memory_pool_core) -o "$tmp/example-pc"
"$tmp/example-pc" >"$tmp/out-pc.txt"
diff -u "$tmp/expected.txt" "$tmp/out-pc.txt"

mkdir -p "$tmp/consumer"
cp "$tmp/example.c" "$tmp/consumer/"
cat >"$tmp/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(memory_pool_core 0.1 REQUIRED)
add_executable(example example.c)
target_link_libraries(example PRIVATE memory_pool_core::memory_pool_core)
CM
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
"$tmp/consumer/build/example" >"$tmp/out-cmake.txt"
diff -u "$tmp/expected.txt" "$tmp/out-cmake.txt"
echo "install test: README example built with pkg-config and find_package, output as documented"
echo "2 passed, 0 failed"
