#!/usr/bin/env bash
# Fuzzes each named target (default: all) for SECONDS (default 60), starting
# from the committed seeds and growing fuzz/corpus/<target>. Stable toolchain:
# RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's -Z flags.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Exits non-zero on
# the first target that finds a crash (saved under fuzz/artifacts/<target>/).
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: ${secs}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -max_len=4096 -print_final_stats=1
done
