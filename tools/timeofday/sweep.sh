#!/bin/bash
# The tests at another time of day: pytest with the whole process tree's wall clock moved to
# WHEN (UTC) and running on from there (libfaketime), the monotonic clock left real.
#
#   tools/timeofday/sweep.sh "2026-12-07 22:50" [pytest arguments]   (default: tests/e2e tests/e2e_recovery)
#
# Needs Debian's libfaketime (`apt-get install faketime`) and gcc. monosleep.c is preloaded
# first: libfaketime 0.9.10 turns Python 3.11's monotonic time.sleep into EINVAL when the
# monotonic clock is not faked. A fixed offset (not FAKETIME="@...") keeps every process the
# tests start on one clock. The browser tests (tests/api/test_web_dashboard.py) do not run
# under it: Chromium starts too slowly. docs/RELIABILITY.md "Time of day".
set -euo pipefail
when=${1:?usage: sweep.sh "YYYY-MM-DD HH:MM" [pytest arguments]}
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lib=$(ls /usr/lib/*-linux-gnu/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
[ -n "$lib" ] || { echo "libfaketime not found: apt-get install faketime" >&2; exit 2; }
shim=${TMPDIR:-/tmp}/rm-monosleep.so
[ -f "$shim" ] || gcc -shared -fPIC -O2 -o "$shim" "$here/monosleep.c" -ldl
offset=$(( $(date -u -d "$when" +%s) - $(date -u +%s) ))
[ "$offset" -ge 0 ] && offset="+$offset"
[ $# -gt 0 ] || set -- tests/e2e tests/e2e_recovery
cd "$root"
export LD_PRELOAD="$shim $lib" FAKETIME="$offset" FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC
.venv/bin/python -c 'import datetime as d, zoneinfo as z; n = d.datetime.now(d.UTC); print("now", n, "=", n.astimezone(z.ZoneInfo("America/Chicago")))'
exec .venv/bin/pytest -p no:cacheprovider -rfEs "$@"
