#!/usr/bin/env bash
# The GPU check of issue 9: the benchmark on the GPU, then the `paper` profile (ResNet-32,
# 200 epochs) with CE and LDAM-DRW on synthetic CIFAR-shaped data and on Fashion-MNIST-LT.
# The whole fits in BUDGET_S seconds (default 460, under 8 minutes); nothing is installed
# or downloaded. Needs torch, numpy and tqdm (the GPU image's python3 has them); lt_lab is
# used from this tree through PYTHONPATH, no pip install.
#
# How a session with a lent GPU runs it (the device tool's `run`, one call):
#   1. here, first:
#        mkdir -p data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz data/fashion-mnist/
#      data/fashion-mnist/ is not git-ignored in this repository (only data/*.gz is), so it
#      travels with the tree; wherever data/ is ignored, pass  carry: ["data/fashion-mnist"]
#      to `run`. Without it the Fashion-MNIST runs are skipped (the GPU machine has no
#      network and no copy of its own).
#   2. run:  command "bash scripts/gpu_check.sh", timeout_s 540 (and the carry above).
#   3. back under $OUT (6 files; the tool returns at most 8, at most 2 folders down):
#        gpu_check.log                    everything this script printed
#        bench.json                       the benchmark record (python -m lt_lab.bench)
#        results/<key>.json               Fashion-MNIST-LT run records (lt_lab.results)
#        results/synthetic/synthetic_cifar10-<loss>-<model>-<epochs>ep-seed<seed>.json
#                                         synthetic-data runs: benchmark files, timing only
#      Copy bench.json to data/bench/ and the Fashion-MNIST-LT records to data/results/.
#      The synthetic runs are never results-store records (their config names CIFAR-10,
#      their data are random images, their accuracy is chance): keep them with data/bench/.
#
# Order: the benchmark (at most 150 s); synthetic CE alone (its wall time is the "200 epochs
# on one GPU" figure; at most 200 s); then the other three runs side by side on the one GPU
# (their records say so: extras.bench_timing.concurrent_runs = 3). Each step runs under
# `timeout`; one that fails or runs out of time is reported and the script goes on. Each run
# prints its elapsed time every 20 epochs, so a run cut short still shows its pace.
#
# COMPILE (default reduce-overhead: torch.compile with CUDA graphs) is the backbone's compile
# mode for the benchmark and the runs; COMPILE=off measures the eager trainer. Measured on an
# H100 (README, Performance): 200 epochs of ResNet-32 take about 2.5 min compiled, 4.4 min
# eager, so within the 8-minute budget only the CE run finishes; the three runs side by side
# report their pace. Raise BUDGET_S where the lease allows (each run alone: ~150 s).
#
# A dry run of the flow on a CPU (not the check itself):
#   PYTHON=.venv/bin/python DEVICE=cpu COMPILE=off BENCH_ARGS="--quick --models small_cnn" \
#   PAPER_ARGS="--epochs 5 --n-max 100 --models mlp" bash scripts/gpu_check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-460}
DEVICE=${DEVICE:-cuda}
COMPILE=${COMPILE:-reduce-overhead} # the backbone's torch.compile mode (off: eager)
read -r -a BENCH_EXTRA <<<"${BENCH_ARGS:-}"
read -r -a PAPER_EXTRA <<<"${PAPER_ARGS:-}"
OUT=${OUT:-$(mktemp -d)}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/results"
START=$SECONDS
STATUS_FILE=$(mktemp) # one line per step, background ones too (kept out of $OUT)

left() { echo $((BUDGET_S - (SECONDS - START))); }

# cap N: N seconds, or what is left of the budget less 20 s for the summary.
cap() {
    local rest=$(($(left) - 20))
    if ((rest < $1)); then echo $((rest > 1 ? rest : 1)); else echo "$1"; fi
}

# step NAME SECONDS COMMAND...: run COMMAND under `timeout`, note how it ended, go on.
step() {
    local name=$1 seconds=$2
    shift 2
    echo "=== $name (timeout ${seconds} s, $(left) s of the budget left) ==="
    local rc=0 began=$SECONDS
    timeout --kill-after=10 "$seconds" "$@" || rc=$?
    local how="rc=$rc"
    if ((rc == 124 || rc == 137)); then how+=" (timed out)"; fi
    how+=" in $((SECONDS - began)) s"
    echo "$name: $how" >>"$STATUS_FILE"
    echo "=== $name: $how ==="
}

summary() {
    timeout 60 "$PYTHON" - "$OUT" <<'PY' || echo "(the summary failed)"
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
bench = out / "bench.json"
if bench.exists():
    from lt_lab.bench import format_table

    print(format_table(json.loads(bench.read_text())))
else:
    print("no bench.json: the benchmark did not finish")
records = sorted((out / "results").rglob("*.json"))
print(f"{len(records)} run record(s):")
for path in records:
    r = json.loads(path.read_text())
    c, m = r["config"], r["metrics"]
    dataset = r.get("synthetic_data", c["dataset"])  # synthetic runs borrow CIFAR-10's config
    loss = c["loss"] + ("-DRW" if c["loss_params"].get("drw_start") is not None else "")
    timing = r.get("extras", {}).get("bench_timing", {})
    print(f"  {dataset:<18} {loss:<8} {c['model']:<9} {c['epochs']:>3} epochs "
          f"{r['wall_time_s']:>7.1f} s  runs at once {timing.get('concurrent_runs', '?')}  "
          f"acc {100 * m['acc']:6.2f} %  balanced {100 * m['balanced_acc']:6.2f} %  "
          f"{r['device']}  {path.relative_to(out)}")
PY
}

main() {
    echo "=== gpu_check $(date -u +%FT%TZ): repo $REPO, out $OUT, budget $BUDGET_S s ==="
    git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo "(no git commit here)"
    timeout 20 nvidia-smi || echo "(nvidia-smi failed or is missing)"
    "$PYTHON" -c 'import numpy, torch, tqdm
print("torch", torch.__version__, "cuda", torch.version.cuda, "available",
      torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
    if [[ $DEVICE == cuda ]] &&
        ! "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        echo "torch sees no CUDA GPU: nothing to check here"
        return 1
    fi

    local fashion=0
    if compgen -G "$REPO/data/fashion-mnist/*.gz" >/dev/null; then
        fashion=1
        export LT_LAB_DATA="$REPO/data"
        echo "Fashion-MNIST: $REPO/data/fashion-mnist"
    elif compgen -G "/usr/share/datasets/fashion-mnist/*.gz" >/dev/null; then
        fashion=1
        echo "Fashion-MNIST: /usr/share/datasets/fashion-mnist"
    else
        echo "Fashion-MNIST not found (data/fashion-mnist/*.gz): its paper runs are skipped;" \
            "copy it into the tree first (see the top of this script)"
    fi

    step bench "$(cap 150)" "$PYTHON" -m lt_lab.bench --device "$DEVICE" \
        --compile "$COMPILE" --output "$OUT/bench.json" ${BENCH_EXTRA[@]+"${BENCH_EXTRA[@]}"}

    local paper=("$PYTHON" -m lt_lab.bench --paper-run --device "$DEVICE" --compile "$COMPILE"
        --results-dir "$OUT/results" ${PAPER_EXTRA[@]+"${PAPER_EXTRA[@]}"})
    step "paper synthetic_cifar ce (alone)" "$(cap 200)" "${paper[@]}" \
        --paper-datasets synthetic_cifar --paper-losses ce --concurrent 1

    local together=("synthetic_cifar ldam_drw")
    if ((fashion)); then together+=("fashion_mnist ce" "fashion_mnist ldam_drw"); fi
    local seconds pids=() run dataset loss
    seconds=$(cap 600)
    for run in "${together[@]}"; do
        read -r dataset loss <<<"$run"
        step "paper $dataset $loss (${#together[@]} at once)" "$seconds" "${paper[@]}" \
            --paper-datasets "$dataset" --paper-losses "$loss" \
            --concurrent "${#together[@]}" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || true; done

    echo "=== summary: $((SECONDS - START)) s of the $BUDGET_S s budget ==="
    cat "$STATUS_FILE" && rm -f "$STATUS_FILE"
    summary
    ls -lR "$OUT"
}

main 2>&1 | tee -a "$OUT/gpu_check.log"
