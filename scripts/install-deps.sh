#!/usr/bin/env bash
# Installs what funnel needs on Debian 12, from Debian's own packages.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh demo     the same, plus the data the flagship demo reads
set -euo pipefail
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

packages=(
  build-essential cmake ninja-build pkg-config ccache clang-format
  libeigen3-dev nlohmann-json3-dev libfmt-dev libhnswlib-dev zlib1g-dev   # funnel
  libcpp-httplib-dev                                                      # service example
  libonnx-dev libprotobuf-dev                                             # funnel::onnx
  catch2 libbenchmark-dev                                                 # tests, benchmarks
  libxgboost-dev libfaiss-dev liblinear-dev libopenblas-dev               # benchmark anchors
  dataset-fashion-mnist                                                   # real data (MIT)
  pybind11-dev python3-dev python3-numpy python3-pandas python3-pytest    # Python module
  python3-xgboost                                                         # its tests, docs/python.md
)
if [ "${1:-}" = "demo" ]; then
  packages+=(r-base-core r-cran-dslabs)   # MovieLens, obtained on the user's machine
  packages+=(python3-torch)               # the flagship's two-tower retriever, trained locally
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ${#packages[@]} packages present"
