#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30) from its seed corpus, one after
# the other; fails on the first crash, leak or timeout, leaving the input in artifacts/<target>/.
# Prints executions and coverage per target. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"

secs="${1:-30}"
targets=(jws_compact jwt_validate jwk_parse guard_extract token_request authorize_request)
# The fuzz build has its own flags (sanitizer, coverage); sharing the workspace's target dir
# would only make the two fight over its lock and rebuild each other's crates.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
# -a: debug assertions, so arithmetic overflow is a crash too.
flags=(+nightly fuzz)
build=(-a)

cargo "${flags[@]}" build "${build[@]}"

mkdir -p work
summary=()
for t in "${targets[@]}"; do
  # New inputs go to work/<target> (ignored by git); the committed seeds are only read.
  mkdir -p "work/$t"
  log="work/$t.log"
  printf '\n== %s (%s s)\n' "$t" "$secs"
  if ! cargo "${flags[@]}" run "${build[@]}" "$t" "work/$t" "corpus/$t" -- \
      -max_total_time="$secs" -timeout=25 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/ (log: fuzz/$log)" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  line=$(printf '%-14s execs %-10s cov %-6s ft %-6s corpus %s' "$t" "$execs" "$cov" "$ft" "$corp")
  echo "$line"
  summary+=("$line")
done

printf '\n== fuzzing summary (%s s per target)\n' "$secs"
printf '%s\n' "${summary[@]}"
