#!/usr/bin/env bash
# Soak the safety checkers: run the random-fault invariant sweeps of
# tests/invariants.rs with N times as many seeds (default 20, about a minute
# on two cores per 10x). A failure prints each bad seed with its fault
# schedule and the command that replays it with a full event trace.
#
#   scripts/soak.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
ELECTBENCH_SEEDS="${1:-20}" cargo test --release --test invariants
