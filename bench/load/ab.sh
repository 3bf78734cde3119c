#!/usr/bin/env bash
# A/B comparison of two portcullis binaries on one endpoint (the client-credentials token
# endpoint, or with --path the userinfo or introspection endpoint), in one run:
# the two servers are measured in alternating rounds (A B A B ...), each on its own fresh SQLite
# database, so both see the same machine load. Prints requests/s and p99 per round and the ratio
# B/A per round pair.
#
# Usage: bench/load/ab.sh --a PATH --b PATH [--path token|userinfo|introspect] [--rounds N]
#                         [--duration S] [--connections N]
#   --a PATH          the baseline binary (e.g. built from the previous commit)
#   --b PATH          the candidate binary
#   --path P          token (default), userinfo (GET with a user's access token from the
#                     password grant) or introspect (POST of that token by its client)
#   --rounds N        alternating rounds (default 3)
#   --duration S      measured seconds per server per round (default 8; 2 s warm-up before)
#   --connections N   wrk connections (default 32, 2 threads)
#
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A="" B="" BENCH_PATH=token ROUNDS=3 DURATION=8 CONNECTIONS=32
while [[ $# -gt 0 ]]; do
    case "$1" in
        --a) A="$2"; shift 2 ;;
        --b) B="$2"; shift 2 ;;
        --path) BENCH_PATH="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ -x "$A" && -x "$B" ]] || { echo "--a and --b must name executables" >&2; exit 2; }
for n in "$ROUNDS" "$DURATION" "$CONNECTIONS"; do
    [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || { echo "numeric options must be positive integers" >&2; exit 2; }
done
[[ "$ROUNDS" -le 20 && "$DURATION" -le 60 ]] || { echo "--rounds <= 20 and --duration <= 60" >&2; exit 2; }
[[ "$BENCH_PATH" =~ ^(token|userinfo|introspect)$ ]] || { echo "--path: token, userinfo or introspect" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is required (Debian: apt-get install wrk)" >&2; exit 2; }

CLIENT_ID="bench-client"
CLIENT_SECRET="bench-secret-0123456789abcdef"
export BENCH_AUTHORIZATION="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_SCOPE="api:read" BENCH_PATH
USERNAME="bench-user"
USER_PASSWORD="bench-password-0123456789"

# shellcheck source=bench/load/common.sh
source "$(dirname "$0")/common.sh"
make_work portcullis-ab
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# Runs one measured round of binary $2 under label $1; prints "label rps p99_ms".
round() {
    local label="$1" bin="$2" port db issuer line
    port="$(free_port)"
    db="sqlite://$WORK/$label-$RANDOM.db"
    issuer="http://127.0.0.1:$port"
    if [[ "$BENCH_PATH" == token ]]; then
        timeout 60 "$bin" clients add --id "$CLIENT_ID" --secret "$CLIENT_SECRET" \
            --grant-types client_credentials --scope "$BENCH_SCOPE" --database "$db" >/dev/null
    else
        timeout 60 "$bin" clients add --id "$CLIENT_ID" --secret "$CLIENT_SECRET" \
            --grant-types password --scope "openid profile email" --database "$db" >/dev/null
        printf '%s' "$USER_PASSWORD" | timeout 60 "$bin" users add --username "$USERNAME" \
            --email bench@example.com --name Bench --password-stdin --database "$db" >/dev/null
    fi
    python3 "$HERE/spawn_ready.py" --url "$issuer/healthz" --timeout 20 --log "$WORK/$label.log" \
        --pid-file "$WORK/pid" -- "$bin" serve --issuer "$issuer" --listen "127.0.0.1:$port" \
        --database "$db" >/dev/null
    PID="$(<"$WORK/pid")"
    local script="$HERE/token.lua" url="$issuer/token"
    if [[ "$BENCH_PATH" != token ]]; then
        BENCH_TOKEN="$(curl -sf -u "$CLIENT_ID:$CLIENT_SECRET" "$issuer/token" \
            -d grant_type=password -d "username=$USERNAME" -d "password=$USER_PASSWORD" \
            -d "scope=openid profile email" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
        export BENCH_TOKEN
        script="$HERE/validate.lua" url="$issuer/$BENCH_PATH"
    fi
    wrk -t2 -c"$CONNECTIONS" -d2s -s "$script" "$url" >/dev/null 2>&1
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "$url" \
        >"$WORK/wrk.txt" 2>&1
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    line="$(grep '^WRK_RESULT ' "$WORK/wrk.txt")"
    awk -v label="$label" '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
        if (r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["timeouts"] > 0)
            print "warning: " label " had failed requests" > "/dev/stderr"
        printf "%s %.0f %.2f\n", label, r["requests"] / (r["duration_us"] / 1e6), r["p99_us"] / 1000
    }' <<<"$line"
}

echo "round  A req/s  A p99 ms  B req/s  B p99 ms  B/A"
for i in $(seq 1 "$ROUNDS"); do
    read -r _ a_rps a_p99 < <(round A "$A")
    read -r _ b_rps b_p99 < <(round B "$B")
    awk -v i="$i" -v ar="$a_rps" -v ap="$a_p99" -v br="$b_rps" -v bp="$b_p99" \
        'BEGIN { printf "%5d  %7d  %8.2f  %7d  %8.2f  %.2f\n", i, ar, ap, br, bp, br / ar }'
done
