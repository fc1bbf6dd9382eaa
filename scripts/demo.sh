#!/usr/bin/env bash
# The README's first command (`make demo`): against graph-emulator, a sandbox Microsoft Graph
# tenant on loopback, plan and apply specs/kandji-passport.yaml (Web Login, the recommended mode:
# nothing weakened), then switch the same app to Mac Login (specs/kandji-passport-mac-login.yaml:
# password sign-in, MFA weakened for it) and sign in as Kandji Passport then does
# (`entractl verify-signin`). Leaves nothing running.
#
# ENTRACTL_BIN and GRAPH_EMULATOR_BIN: use these binaries instead of building them (the test
# that runs this script passes the ones cargo built for it).
set -euo pipefail

cd "$(dirname "$0")/.."
CARGO="${CARGO:-cargo}"
SPEC="${SPEC:-specs/kandji-passport.yaml}"
MAC_SPEC="${MAC_SPEC:-specs/kandji-passport-mac-login.yaml}"
ENTRACTL_BIN="${ENTRACTL_BIN:-}"
GRAPH_EMULATOR_BIN="${GRAPH_EMULATOR_BIN:-}"

if [[ -z "$ENTRACTL_BIN" || -z "$GRAPH_EMULATOR_BIN" ]]; then
    echo "==> building entractl and graph-emulator"
    "$CARGO" build --quiet --bin entractl
    "$CARGO" build --quiet -p graph-emulator --bin graph-emulator
fi
ENTRACTL_BIN="${ENTRACTL_BIN:-target/debug/entractl}"
GRAPH_EMULATOR_BIN="${GRAPH_EMULATOR_BIN:-target/debug/graph-emulator}"

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

# Scenario p1-legacy (Contoso before baseline-scope enforcement) on purpose: Mac Login's app
# exclusion lets Passport's password sign-in through only there (on enforced tenants it needs the
# remedies of docs/mfa.md).
echo "==> starting graph-emulator (scenario p1-legacy: Contoso, Entra ID P1, before June 2026)"
"$GRAPH_EMULATOR_BIN" --scenario p1-legacy --listen 127.0.0.1:0 >"$workdir/emulator.out" 2>"$workdir/emulator.err" &
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
echo "    Graph and identity platform at $base (graph-emulator pid $emulator_pid, stopped on exit)"

# The scenario's automation client (public sandbox constants of graph-emulator).
export AZURE_TENANT_ID="3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f"
export AZURE_CLIENT_ID="0e1c5f7a-2b3d-4e6f-8a9b-c0d1e2f3a4b5"
export AZURE_CLIENT_SECRET="sandbox-ci-secret"
entractl=("$ENTRACTL_BIN" --graph-url "$base" --authority-url "$base")

echo
echo "==> Web Login (recommended): entractl plan $SPEC"
"${entractl[@]}" plan "$SPEC"

echo
echo "==> entractl apply $SPEC --auto-approve"
echo "    Web Login weakens nothing: Passport shows the Entra sign-in page, where MFA and"
echo "    conditional access run, so no --allow-security-downgrade is needed."
"${entractl[@]}" apply "$SPEC" --auto-approve --journal-dir "$workdir/journal"

echo
echo "==> entractl plan $SPEC --detailed-exitcode (0 = converged)"
"${entractl[@]}" plan "$SPEC" --detailed-exitcode >"$workdir/plan.txt"
echo "    exit 0: the tenant matches the spec"
sed -n '/^Outputs/,$p' "$workdir/plan.txt"

echo
echo "==> Mac Login: entractl plan $MAC_SPEC"
echo "    The same app switched to password sign-in at the Mac login window: public client flows"
echo "    on, the web redirect URI, and MFA weakened for it."
"${entractl[@]}" plan "$MAC_SPEC"

echo
echo "==> entractl apply $MAC_SPEC --auto-approve --allow-security-downgrade"
echo "    The plan above flags security downgrades (the app excluded from MFA policies, per-user MFA"
echo "    off for its users): Passport's password sign-in cannot do MFA. This demo passes"
echo "    --allow-security-downgrade because the tenant is a sandbox; in real use, review each"
echo "    flagged change first (docs/mfa.md)."
"${entractl[@]}" apply "$MAC_SPEC" --auto-approve --allow-security-downgrade --journal-dir "$workdir/journal"

echo
echo "==> entractl plan $MAC_SPEC --detailed-exitcode (0 = converged)"
"${entractl[@]}" plan "$MAC_SPEC" --detailed-exitcode >/dev/null
echo "    exit 0: the tenant matches the spec"

# Passport's own password sign-in now works. The scenario's users share one sandbox password
# (graph_emulator::scenarios::SANDBOX_PASSWORD).
echo
echo "==> entractl verify-signin $MAC_SPEC --username alice@contoso.com"
ENTRACTL_SIGNIN_PASSWORD='Passw0rd!sandbox' "${entractl[@]}" verify-signin "$MAC_SPEC" --username alice@contoso.com
