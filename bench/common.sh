# The set-up shared by the side-by-side benchmarks (run_*_bench.sh): arguments, the PyTorch
# reference, the thread count and a random-weight model in a temporary directory.
# Not runnable alone: it is sourced, and defines one function.

# bench_setup DEFAULT_FLAGS_ARRAY_NAME [BUILD_DIR] [-- flags]: sets build, flags (the given ones,
# else the defaults), here (the repository), ref (torch_bert.py), threads (THREADS, else all
# cores), work (removed on exit) and model (made there: LAYERS, HIDDEN, HEADS, INTER override the
# all-MiniLM-L6-v2 shape), then prints one line saying what runs.
bench_setup() {
  local -n defaults=$1
  shift
  build=${1:-build}
  shift || true
  [[ "${1:-}" == "--" ]] && shift
  flags=("$@")
  ((${#flags[@]})) || flags=("${defaults[@]}")
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  ref="$here/../shared/reference/torch_bert.py"
  threads=${THREADS:-$(nproc)}
  [[ -f "$ref" ]] || { echo "bench: $ref not found (the shared references sit beside the repository)" >&2; exit 1; }
  [[ -x "$here/$build/embtune" ]] || { echo "bench: $here/$build/embtune not found (build it first)" >&2; exit 1; }

  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  model="$work/model"
  local layers=${LAYERS:-6} hidden=${HIDDEN:-384} heads=${HEADS:-12} inter=${INTER:-1536}
  /usr/bin/python3 "$ref" make-model "$model" --layers "$layers" --hidden "$hidden" --heads "$heads" \
    --inter "$inter" --seed 0 >/dev/null
  echo "model: ${layers} layers x ${hidden} hidden x ${heads} heads, intermediate ${inter}; threads ${threads}; flags ${flags[*]}"
}
