#!/usr/bin/env bash
# The README's picture, step by step: two clicks to a mask, then the background repainted.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=examples/out
mkdir -p "$OUT"
$PY examples/make_examples.py
$PY -m virtart segment examples/photos/astronaut.png --point 250,150 --point 200,400 --point 110,330 \
    --point 320,420 --point 230,60 --out "$OUT/astronaut-person.png" --report "$OUT/segment.json"
$PY -m virtart stylize examples/photos/astronaut.png --style starry_night --mask "$OUT/astronaut-person.png" \
    --invert-mask --engine fast --out "$OUT/astronaut-fast.png" --report "$OUT/fast.json"
$PY -m virtart stylize examples/photos/astronaut.png --style starry_night --mask "$OUT/astronaut-person.png" \
    --invert-mask --engine gatys --steps "${STEPS:-auto}" --max-size 512 --out "$OUT/astronaut-gatys.png" \
    --report "$OUT/gatys.json" --plot "$OUT/gatys-losses.png"
$PY -m virtart detect examples/photos/astronaut.png --out-dir "$OUT/objects"
echo "results in $OUT"
