#!/usr/bin/env bash
# The README's first command (`make demo`): plan and apply specs/kandji-passport.yaml against
# graph-emulator, a sandbox Microsoft Graph tenant on loopback. Leaves nothing running.
set -euo pipefail

cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
SPEC="${SPEC:-specs/kandji-passport.yaml}"

echo "==> building entractl and graph-emulator"
"$CARGO" build --quiet --bin entractl
"$CARGO" build --quiet -p graph-emulator --bin graph-emulator

workdir="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [[ -n "$emulator_pid" ]] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

echo "==> starting graph-emulator (scenario p1: Contoso, Entra ID P1)"
target/debug/graph-emulator --scenario p1 --listen 127.0.0.1:0 >"$workdir/emulator.out" 2>"$workdir/emulator.err" &
emulator_pid=$!

base=""
for _ in $(seq 1 100); do
    base="$(head -n 1 "$workdir/emulator.out" 2>/dev/null || true)"
    [[ -n "$base" ]] && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "graph-emulator exited early:" >&2
        cat "$workdir/emulator.err" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ -z "$base" ]]; then
    echo "graph-emulator printed no base URL" >&2
    exit 1
fi
echo "    Graph and identity platform at $base"

# The scenario's automation client (public sandbox constants of graph-emulator).
export AZURE_TENANT_ID="3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"
export AZURE_CLIENT_ID="0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5"
export AZURE_CLIENT_SECRET="sandbox-ci-secret"
entractl=(target/debug/entractl --graph-url "$base" --authority-url "$base")

echo
echo "==> entractl plan $SPEC"
"${entractl[@]}" plan "$SPEC"

echo
echo "==> entractl apply $SPEC --auto-approve"
"${entractl[@]}" apply "$SPEC" --auto-approve --journal-dir "$workdir/journal"

echo
echo "==> entractl plan $SPEC --detailed-exitcode (0 = converged)"
"${entractl[@]}" plan "$SPEC" --detailed-exitcode >"$workdir/plan.txt"
echo "    exit 0: the tenant matches the spec"
sed -n '/^Outputs/,$p' "$workdir/plan.txt"
