#!/usr/bin/env bash
# Installs what embtune's build, demo and tests need on a Debian 12 machine; safe to run twice.
# It is not a build script: it only brings packages (apt) and the npm test peers (tokenizers, gguf).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake pkg-config git
  libdnnl-dev libomp-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libutf8proc-dev libxml2-dev libonig-dev libsentencepiece-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-numpy dict-foldoc
  # Debian's python3-torch calls the system BLAS; with only the reference BLAS it is about ten
  # times slower, which would make the PyTorch baseline (and the parity tests) unfairly slow.
  libopenblas0-pthread
  nodejs
  # The starter model's recipe (scripts/starter/) reads WordNet 3.0.
  wordnet-base
)

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
apt_updated=0
apt_install() {
  if ((apt_updated == 0)); then
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
# Some nodejs builds bring npm along; Debian's own nodejs needs the separate npm package.
command -v npm >/dev/null 2>&1 || apt_install npm

# The reference tokenizer (Hugging Face tokenizers through its npm binding) for parity tests.
peer="$here/build/npm"
if [[ ! -d "$peer/node_modules/tokenizers" ]]; then
  echo "setup: installing npm tokenizers@0.23.2 into build/npm"
  mkdir -p "$peer"
  npm install --silent --no-audit --no-fund --prefix "$peer" tokenizers@0.23.2
fi
# An independent GGUF reader (Hugging Face's @huggingface/gguf) for the GGUF export tests.
if [[ ! -d "$peer/node_modules/@huggingface/gguf" ]]; then
  echo "setup: installing npm @huggingface/gguf@0.4.6 into build/npm"
  mkdir -p "$peer"
  npm install --silent --no-audit --no-fund --prefix "$peer" @huggingface/gguf@0.4.6
fi
echo "setup: ok"
