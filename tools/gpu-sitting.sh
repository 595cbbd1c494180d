#!/usr/bin/env bash
# One sitting on a GPU machine, at most SITTING_S seconds (default 450, so that with on-device.sh's
# unpacking it stays under 8 minutes): the smoke preset on webgpu; `bench` at the paper shape and at the
# small shape, alternated with the PyTorch CUDA peer (tools/torch_lm_cuda.py) in fp32 and TF32; the
# efficiency suite at the paper preset; last, the subgroup-matrix probe
# (tools/subgroup-matrix-probe.mjs: f16 tensor-core matmul from WGSL behind Dawn's allow_unsafe_apis, or
# why it cannot run). Every step runs under `timeout` (its own limit, cut to what is left
# of the sitting); a step that fails or times out is logged and the sitting goes on. Everything goes
# under OUT (default ./gpu-sitting-out): sitting.log (machine, commit, each step's command, exit status
# and wall time), steps.tsv (step, exit status, wall s, limit s), and each step's output.
# First of all, the subgroup WGSL matmul against tfjs-webgpu's matMul at the paper preset's products
# (tools/webgpu-matmul-ab.mjs) picks the faster for the rest of the sitting.
# On the GPU machine, from a checkout that carries .gpu-kit (../shared/gpu/pack.sh):
#   bash .gpu-kit/on-device.sh bash tools/gpu-sitting.sh
set -uo pipefail
out=${OUT:-./gpu-sitting-out}
python=${PYTHON:-python3}
export ARCHBENCH_CACHE=${ARCHBENCH_CACHE:-/tmp/gpu-sitting-cache}
mkdir -p "$out"
log="$out/sitting.log"
start=$(date +%s)
end=$((start + ${SITTING_S:-450}))
say() { echo "$*" | tee -a "$log"; }

# step NAME LIMIT_S STDOUT_FILE COMMAND...: runs COMMAND under timeout, stdout to STDOUT_FILE, stderr to NAME.err
step() {
  local name=$1 limit=$2 stdout=$3; shift 3
  local left=$((end - $(date +%s)))
  ((left < limit)) && limit=$left
  if ((limit < 5)); then say "== $name: skipped, the sitting's time is spent"; printf '%s\tskipped\t0\t0\n' "$name" >> "$out/steps.tsv"; return; fi
  say "== $name (limit ${limit} s): $*"
  local t0 rc wall
  t0=$(date +%s%N)
  timeout -k 10 "$limit" "$@" > "$stdout" 2> "$out/$name.err"
  rc=$?
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  wall=$(printf '%d.%03d' $((wall / 1000)) $((wall % 1000)))
  say "   exit $rc$( ((rc == 124)) && echo ' (timed out)') after ${wall} s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$wall" "$limit" >> "$out/steps.tsv"
}

say "# gpu-sitting $(date -u +%FT%TZ) on $(hostname)"
say "# commit $(git rev-parse HEAD 2>/dev/null || echo "${COMMIT:-unknown (no .git here; set COMMIT)}")$(git status --porcelain 2>/dev/null | grep -q . && echo ' (with local changes)')"
say "# gpu $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'none found by nvidia-smi')"
say "# node $(node --version), $(uname -srm), $(nproc) cpus; python $(timeout 30 "$python" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>&1 | tail -1)"
printf 'step\texit\twall_s\tlimit_s\n' > "$out/steps.tsv"

# the subgroup WGSL matmul against tfjs-webgpu's at the paper preset's products, first: where the subgroup
# kernel is slower on this device, the rest of the sitting runs tfjs-webgpu's (ARCHBENCH_WEBGPU_MATMUL=tfjs,
# logged; bench prints the matmul it ran)
step matmul-ab 10 "$out/matmul-ab.out" node tools/webgpu-matmul-ab.mjs
choice=$(grep -o '"faster":"[a-z]*"' "$out/matmul-ab.out" 2>/dev/null | tail -1 | cut -d'"' -f4)
[[ $choice == subgroup ]] || choice=tfjs
export ARCHBENCH_WEBGPU_MATMUL=$choice
say "# matmul for the rest of the sitting: ARCHBENCH_WEBGPU_MATMUL=$choice (the faster by matmul-ab's geometric mean; tfjs-webgpu's where it did not run)"
step smoke 175 "$out/smoke.out" node bin/archbench.js run --preset smoke --seeds 1 --backend webgpu --out "$out/smoke"
step bench-paper 70 "$out/bench-paper.jsonl" node bin/archbench.js bench --json --configs peer-d768-l12 --steps 2 --warmup 1 --decode-steps 4 --backend webgpu
step peer-paper-fp32 30 "$out/peer-paper-fp32.json" "$python" tools/torch_lm_cuda.py --mode fp32
step bench-small 45 "$out/bench-small.jsonl" node bin/archbench.js bench --json --configs small-transformer,small-retnet,small-diff,small-yoco,small-lex,small-momentum --steps 8 --warmup 3 --decode-steps 16 --backend webgpu
step peer-paper-tf32 30 "$out/peer-paper-tf32.json" "$python" tools/torch_lm_cuda.py --mode tf32
step peer-small-fp32 15 "$out/peer-small-fp32.json" "$python" tools/torch_lm_cuda.py --mode fp32 --d 128 --layers 4 --heads 4 --seq 128 --batch 8
step efficiency-paper 60 "$out/efficiency-paper.out" node bin/archbench.js run efficiency --preset paper --arch transformer --seeds 1 --backend webgpu --out "$out/efficiency-paper"
step subgroup-matrix 15 "$out/subgroup-matrix.out" node tools/subgroup-matrix-probe.mjs --size 4096 --runs 10
say "# done in $(($(date +%s) - start)) s; steps: $out/steps.tsv"
