#!/usr/bin/env bash
# funnel::onnx vs libtorch: writes the fixture models (the committed ones: training is seeded) as
# ONNX and TorchScript into a scratch folder, and runs the benchmark on one thread, which first
# checks that both give the same outputs.
#   benchmarks/neural/run.sh [build dir, default build/release] [google-benchmark flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
shift || true
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
FUNNEL_ONNX_OUT="$models" FUNNEL_TORCHSCRIPT_DIR="$models" /usr/bin/python3 tests/fixtures/onnx/make_models.py >/dev/null 2>&1
cmake --build "$build" --target bench_neural >/dev/null
OMP_NUM_THREADS=1 FUNNEL_MODELS_DIR="$models" "$build/benchmarks/neural/bench_neural" "$@"
