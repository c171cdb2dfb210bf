#!/usr/bin/env bash
# Wall time, CPU time and peak memory of the test suite per tier (the markers of pyproject.toml,
# assigned in tests/conftest.py's TIERS). Run from the checkout on a quiet machine:
#     bash benchmarks/test_tiers.sh              # every tier, then the whole suite as `make test` runs it
#     bash benchmarks/test_tiers.sh unit all     # some of them
# Prints one markdown row per tier (paste them into docs/test-tiers.md) and keeps each log in
# $LOGS (default runs/test-tiers/). Peak memory: the largest resident set of one process (GNU time)
# and the peak sum over the whole process tree (workers, kernels, torchrun ranks; sampled every 0.5 s).
# The environment is the Makefile's (TEST_ENV): one torch thread a worker, glibc malloc keeping freed memory.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOGS=${LOGS:-runs/test-tiers}
WORKERS=${PYTEST_WORKERS:-2}
TEST_ENV=$(make -s --no-print-directory test-env)  # the Makefile's: one torch thread, glibc malloc keeping memory
mkdir -p "$LOGS"

declare -A EXPR=(
    [unit]="not slow and not notebook and not browser and not distributed and not gpu"
    [slow]="slow and not notebook and not browser and not distributed and not golden"
    [golden]="golden"
    [notebook]="notebook"
    [browser]="browser"
    [distributed]="distributed"
    [gpu]="gpu"
    [all]=""
)
ORDER=(unit slow golden notebook browser distributed gpu all)
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=("${ORDER[@]}")

# peak of the summed RSS of a process and its descendants, sampled until it exits
tree_peak() {
    "$PY" - "$1" <<'PYEOF'
import sys, time, psutil
root, peak = psutil.Process(int(sys.argv[1])), 0
while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
    total = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    peak = max(peak, total)
    time.sleep(0.5)
print(f"{peak / 2**30:.1f}")
PYEOF
}

echo "| tier | -m | tests | pytest wall | user + sys CPU | peak RSS: one process / all together |"
echo "|---|---|---|---|---|---|"
for tier in "${tiers[@]}"; do
    expr=${EXPR[$tier]?unknown tier $tier: expected one of ${ORDER[*]}}
    args=(-q -p no:cacheprovider -n "$WORKERS" --dist loadfile --no-loadscope-reorder --durations=15)
    [ -z "$expr" ] || args+=(-m "$expr")
    log="$LOGS/$tier.log"
    env $TEST_ENV /usr/bin/time -f "TIME %e %U %S %M" -o "$LOGS/$tier.time" "$PY" -m pytest "${args[@]}" >"$log" 2>&1 &
    run=$!
    together=$(tree_peak "$run")
    wait "$run" || true
    # the last line: GNU time writes "Command exited with non-zero status N" first when a test failed
    read -r _ wall user sys rss < <(tail -n 1 "$LOGS/$tier.time")
    summary=$(grep -E "^(=+ )?[0-9]+ (passed|failed|skipped|deselected)" "$log" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')
    printf '| %s | `%s` | %s | %.0f s | %.0f s | %.1f / %s GB |\n' "$tier" "${expr:-(all)}" "$summary" "$wall" \
        "$(echo "$user + $sys" | bc)" "$(echo "$rss / 1048576" | bc -l)" "$together"
done
