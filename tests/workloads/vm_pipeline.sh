#!/bin/sh
# A shell pipeline over a directory tree for the AppArmor VM tests: list, filter, count and
# sort the test workloads' sources into $1/summary.txt; `ps`-like reads of its own /proc
# entries (its pid differs from run to run).
set -e
src=$(dirname "$0")
find "$src" -type f -name '*.c' | sort | xargs grep -c include | sort -t: -k2 -n > "$1/summary.txt"
grep -c . /proc/$$/maps >> "$1/summary.txt"
wc -l "$1/summary.txt" | cut -d' ' -f1
