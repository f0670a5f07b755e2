#!/bin/sh
# Builds the seed corpus of fuzz_h5series from the committed series fixtures and the shipped
# series: each file once per reading mode (the mode is the input's last byte, see
# tests/fuzz/fuzz_h5series.c). Usage: sh tests/fuzz/make_h5series_corpus.sh [DIR]
# (default tests/fuzz/corpus/fuzz_h5series; the corpus itself is not committed).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
d=${1:-$top/tests/fuzz/corpus/fuzz_h5series}
mkdir -p "$d"
i=0
for f in "$top"/tests/fixtures/series/*.h5 "$top"/data/weather/seattle.h5; do
    for m in 0 1 2 3 4 5 6 7; do
        cp "$f" "$d/seed${i}_$m"
        printf "\\$(printf %03o "$m")" >>"$d/seed${i}_$m"
    done
    i=$((i + 1))
done
echo "make_h5series_corpus.sh: $((i * 8)) seeds in $d"
