#!/bin/sh
# A compiler workload for the AppArmor VM tests: `gcc -c` of three small files into $1
# (gcc's own temporary files go to /tmp with random names). Small, because the VM emulates
# the CPU: cc1 on a real test program takes a minute there.
set -e
src=$(dirname "$0")
for name in a b c; do
    gcc -O2 -c -o "$1/$name.o" "$src/vm_gcc_$name.c"
done
