#!/usr/bin/env bash
# Compare electbench's results at two revisions.
#
#   scripts/compare-commits.sh [--fail-on-regression PCT] [--bench] BASE [HEAD] [WORKLOAD...]
#
# Builds each revision (release) in a temporary git worktree, runs each
# workload (default: workloads/quickstart.toml) with its fixed seed at both
# revisions, and calls `electbench compare` (the HEAD build's) on each pair,
# passing --fail-on-regression through. HEAD defaults to the checkout's HEAD;
# a WORKLOAD is a path inside the repository, read from each revision's own
# tree. With --bench it also runs `cargo bench` at BASE (saving a criterion
# baseline) and at HEAD against it, and prints criterion's change estimates.
#
# Result folders are kept under $ELECTBENCH_COMPARE_DIR (default: a new
# temporary folder) and printed; the worktrees are removed on exit, Ctrl-C
# included. CARGO_TARGET_DIR, if set, is shared by both builds (dependencies
# are built once); otherwise a target folder under the results folder is.
#
# Exit status: that of the worst `electbench compare` (0 no regression, 1 a
# regression beyond PCT, 2 bad input), or 2 for a bad revision or build.
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

fail_pct=""
bench=0
while [ $# -gt 0 ]; do
    case "$1" in
        --fail-on-regression)
            [ $# -ge 2 ] || usage
            fail_pct="$2"
            shift 2
            ;;
        --bench)
            bench=1
            shift
            ;;
        -h | --help) usage ;;
        --*) echo "compare-commits: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
base_rev="$1"
shift
head_rev="HEAD"
if [ $# -ge 1 ] && [[ "$1" != *.toml ]]; then
    head_rev="$1"
    shift
fi
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(workloads/quickstart.toml)

repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
for rev in "$base_rev" "$head_rev"; do
    if ! git -C "$repo" rev-parse --verify --quiet "$rev^{commit}" > /dev/null; then
        echo "compare-commits: $rev is not a commit of $repo" >&2
        exit 2
    fi
done
base_sha="$(git -C "$repo" rev-parse "$base_rev^{commit}")"
head_sha="$(git -C "$repo" rev-parse "$head_rev^{commit}")"

out="${ELECTBENCH_COMPARE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/electbench-compare.XXXXXX")}"
mkdir -p "$out"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$out/target}"
trees=()
cleanup() {
    for t in "${trees[@]}"; do
        git -C "$repo" worktree remove --force "$t" > /dev/null 2>&1 || true
    done
    git -C "$repo" worktree prune > /dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Build `rev` in a worktree; the binary is copied out, since both builds
# share one target folder.
build() {
    local name="$1" sha="$2"
    local tree="$out/tree-$name"
    rm -rf "$tree"
    git -C "$repo" worktree add --detach --quiet "$tree" "$sha"
    trees+=("$tree")
    echo "compare-commits: building $name ($sha)" >&2
    if ! cargo build --release --quiet --manifest-path "$tree/Cargo.toml" >&2; then
        echo "compare-commits: the build of $name ($sha) failed" >&2
        exit 2
    fi
    cp "$CARGO_TARGET_DIR/release/electbench" "$out/electbench-$name"
}
build base "$base_sha"
build head "$head_sha"

status=0
for w in "${workloads[@]}"; do
    for side in base head; do
        if [ ! -f "$out/tree-$side/$w" ]; then
            echo "compare-commits: $w does not exist at $side" >&2
            exit 2
        fi
    done
    name="$(basename "$w" .toml)"
    for side in base head; do
        rm -rf "$out/$side-$name"
        "$out/electbench-$side" run "$out/tree-$side/$w" --out "$out/$side-$name" -q > /dev/null
    done
    base_dir="$(ls -d "$out/base-$name"/*/ | head -n 1)"
    head_dir="$(ls -d "$out/head-$name"/*/ | head -n 1)"
    echo "== $w: base $base_dir, head $head_dir"
    args=(compare "$base_dir" "$head_dir")
    [ -z "$fail_pct" ] || args+=(--fail-on-regression "$fail_pct")
    set +e
    "$out/electbench-head" "${args[@]}"
    code=$?
    set -e
    [ "$code" -le "$status" ] || status="$code"
done

if [ "$bench" = 1 ]; then
    echo "== cargo bench: base ($base_sha) saved as criterion baseline 'base'"
    (cd "$out/tree-base" && cargo bench --quiet -- --save-baseline base --noplot > "$out/bench-base.txt" 2>&1)
    echo "== cargo bench: head ($head_sha) against it"
    (cd "$out/tree-head" && cargo bench --quiet -- --baseline base --noplot > "$out/bench-head.txt" 2>&1)
    # criterion prints each benchmark's name (flush left, maybe followed by
    # its time on the same line), then, indented, "change: [...]"; with a
    # throughput, "change:" alone and the time change on the next line.
    echo "benchmark                                          time change [low estimate high] (p)"
    awk '/^[^ ]/ && !/^(Benchmarking|Found|Gnuplot|Warning)/ {
             name = $0; sub(/ +time:.*/, "", name) }
         /change: *\[/ { sub(/^ *change: */, ""); printf "%-50s %s\n", name, $0; next }
         /change: *$/ { inchange = 1; next }
         inchange && /time:/ {
             sub(/^ *time: */, ""); printf "%-50s %s\n", name, $0; inchange = 0 }' \
        "$out/bench-head.txt"
fi

echo "results: $out"
exit "$status"
