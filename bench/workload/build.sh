#!/bin/sh
# Benchmark 3's workload: a small C build, as `make` would run it. Compiles every .c file here
# at four optimisation levels (separate gcc runs, so cc1, as and ld each start many times),
# links the four programs and runs each on their own sources. Output goes to $1 (created).
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT_DIR}
mkdir -p "$out"
for opt in O0 O1 O2 O3; do
    objs=
    for c in "$src"/*.c; do
        o="$out/$(basename "$c" .c).$opt.o"
        gcc -"$opt" -g -Wall -Wextra -std=c11 -D_POSIX_C_SOURCE=200809L -c "$c" -o "$o"
        objs="$objs $o"
    done
    # shellcheck disable=SC2086 # one word per object file
    gcc -o "$out/words.$opt" $objs
    "$out/words.$opt" "$src"/*.c "$src"/*.h >"$out/words.$opt.txt"
done
for opt in O1 O2 O3; do cmp -s "$out/words.O0.txt" "$out/words.$opt.txt"; done
