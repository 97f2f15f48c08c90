#!/usr/bin/env bash
# Offline checks of systemd/outreachd.service, no running systemd needed:
#   1. `systemd-analyze verify` in a throwaway root holding the unit and a stub for every
#      Exec binary (the real /usr/bin/outreachd need not be installed on this machine), so
#      syntax, unknown keys and bad values are errors but a missing binary is not;
#   2. `systemd-analyze security --offline=true`: overall exposure must be <= MAX_EXPOSURE.
# Exit 0 when both pass, 1 when either fails, 2 when systemd-analyze is missing.
# Needs Debian's `systemd` package (apt-get install --no-install-recommends systemd).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
unit="${1:-$here/outreachd.service}"
name="$(basename "$unit")"
max_exposure="${MAX_EXPOSURE:-2.0}"

if ! command -v systemd-analyze >/dev/null; then
    echo "check.sh: systemd-analyze not found (apt-get install systemd)" >&2
    exit 2
fi
echo "systemd-analyze: $(systemd-analyze --version | head -n 1)"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/systemd/system"
cp "$unit" "$root/etc/systemd/system/$name"
# Every Exec*= command path (after the -@:+! prefixes) becomes an executable stub.
sed -nE 's/^Exec[A-Za-z]*=[-@:+!]*([^[:space:]]+).*/\1/p' "$unit" | sort -u |
    while read -r binary; do
        mkdir -p "$root$(dirname "$binary")"
        printf '#!/bin/sh\nexit 0\n' >"$root$binary"
        chmod 0755 "$root$binary"
    done

failed=0
if verify_out="$(systemd-analyze verify --man=no --recursive-errors=no --root="$root" \
    "$name" 2>&1)" && [ -z "$verify_out" ]; then
    echo "verify: $name: clean"
else
    printf '%s\n' "$verify_out" | sed "s|$root||g"
    echo "verify: $name: FAILED"
    failed=1
fi

security_out="$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)" || true
exposure="$(printf '%s\n' "$security_out" |
    sed -nE 's/.*Overall exposure level for [^:]+: ([0-9]+(\.[0-9]+)?).*/\1/p')"
if [ -z "$exposure" ]; then
    printf '%s\n' "$security_out"
    echo "security: $name: no exposure level found in the output: FAILED"
    failed=1
elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    printf '%s\n' "$security_out" | grep -E '^✗' || true
    echo "security: $name: exposure $exposure <= $max_exposure: OK"
else
    printf '%s\n' "$security_out"
    echo "security: $name: exposure $exposure > $max_exposure: FAILED"
    failed=1
fi
exit "$failed"
