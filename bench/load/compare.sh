#!/usr/bin/env bash
# Portcullis against node-oidc-provider and the floor endpoint (bench/floor) on every measured
# path, in alternating rounds: the three servers run side by side on loopback and each path is
# loaded on one server at a time (the order rotates every round), so all see the same machine.
#
# Paths: cc (client-credentials grant), introspect (the code-flow client introspecting a user's
# access token), userinfo (a user's access token carrying openid), refresh (refresh-token
# rotation, each token used once), codeflow (authorize, sign in, token: whole flows per second,
# driven by flows.py). The floor has no users: it takes part in cc, introspect and userinfo.
# Then memory: VmRSS idle, under load, and after --logins password logins (code flows).
#
# Usage: bench/load/compare.sh [options]
#   --binary PATH          portcullis binary (default: build the release one)
#   --floor-binary PATH    portcullis-bench-floor binary (default: build the release one)
#   --paths LIST           default "cc introspect userinfo refresh codeflow"
#   --rounds N             alternating rounds (default 3)
#   --duration S           measured seconds per path, server and round (default 8)
#   --warmup S             wrk warm-up seconds before each measurement (default 1; 0 for none)
#   --connections N        wrk connections (default 32, --threads 2 wrk threads)
#   --flow-parallel N      concurrent code flows for the codeflow path (default 8)
#   --logins N             password logins for the memory figure, 0 to skip (default 1000)
#   --login-parallel N     concurrent logins for that (default 8)
#   --markdown FILE        also write the tables as Markdown to FILE
#   --keep                 keep the temporary directory (databases, logs, raw results)
#
# Everything listens on 127.0.0.1 only; a watchdog stops the run after a bound computed from
# the options; every process started here is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

BINARY="" FLOOR_BINARY="" PATHS="cc introspect userinfo refresh codeflow"
ROUNDS=3 DURATION=8 WARMUP=1 CONNECTIONS=32 THREADS=2 FLOW_PARALLEL=8
LOGINS=1000 LOGIN_PARALLEL=8 MARKDOWN="" KEEP=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --floor-binary) FLOOR_BINARY="$2"; shift 2 ;;
        --paths) PATHS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --flow-parallel) FLOW_PARALLEL="$2"; shift 2 ;;
        --logins) LOGINS="$2"; shift 2 ;;
        --login-parallel) LOGIN_PARALLEL="$2"; shift 2 ;;
        --markdown) MARKDOWN="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in "$ROUNDS" "$DURATION" "$WARMUP" "$CONNECTIONS" "$THREADS" "$FLOW_PARALLEL" "$LOGINS" "$LOGIN_PARALLEL"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "numeric options must be non-negative integers" >&2; exit 2; }
done
[[ "$ROUNDS" -ge 1 && "$ROUNDS" -le 10 && "$DURATION" -ge 1 && "$DURATION" -le 60 && "$WARMUP" -le 10 ]] \
    || { echo "--rounds 1..10, --duration 1..60, --warmup 0..10" >&2; exit 2; }
[[ "$CONNECTIONS" -ge "$THREADS" && "$THREADS" -ge 1 && "$FLOW_PARALLEL" -ge 1 && "$FLOW_PARALLEL" -le 64 ]] \
    || { echo "--connections >= --threads >= 1, --flow-parallel 1..64" >&2; exit 2; }
[[ "$LOGINS" -le 5000 && "$LOGIN_PARALLEL" -ge 1 && "$LOGIN_PARALLEL" -le 64 ]] \
    || { echo "--logins 0..5000, --login-parallel 1..64" >&2; exit 2; }
for p in $PATHS; do
    case "$p" in cc|introspect|userinfo|refresh|codeflow) ;; *) echo "unknown path $p" >&2; exit 2 ;; esac
done
PATH_COUNT="$(wc -w <<<"$PATHS")"
# The measuring part's bound: every load run at most doubled, plus the logins and a margin.
WATCHDOG_SECS=$((ROUNDS * PATH_COUNT * 3 * (DURATION + WARMUP + 10) * 2 + LOGINS * 2 / 5 + 300))

CLIENT_ID="bench-client"
CLIENT_SECRET="bench-secret-0123456789abcdef"
SCOPE="api:read"
CODE_CLIENT_ID="bench-web"
CODE_CLIENT_SECRET="bench-web-secret-0123456789abcdef"
REDIRECT_URI="http://127.0.0.1:9/callback"
USER_SCOPE="openid profile"
USERNAME="bench-user"
PASSWORD="bench-password-0123456789"
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
CC_AUTHORIZATION="$(basic "$CLIENT_ID" "$CLIENT_SECRET")"
CODE_AUTHORIZATION="$(basic "$CODE_CLIENT_ID" "$CODE_CLIENT_SECRET")"
export BENCH_SCOPE="$SCOPE" BENCH_THREADS="$THREADS"

# shellcheck source=bench/load/common.sh
source "$(dirname "$0")/common.sh"

# ---------------------------------------------------------------------------------------------
# Processes and cleanup
# ---------------------------------------------------------------------------------------------
make_work portcullis-compare
PIDS=()
WATCHDOG_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    [[ -n "$WATCHDOG_PID" ]] && kill "$WATCHDOG_PID" 2>/dev/null
    if [[ "$KEEP" -eq 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# A /proc status field (VmRSS, VmHWM) of a pid, in KiB.
proc_kib() {
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}
kib_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Samples VmRSS of a pid every 100 ms, appending to a file, until killed.
start_sampler() {
    local pid="$1" file="$2"
    ( while kill -0 "$pid" 2>/dev/null; do proc_kib "$pid" VmRSS >>"$file"; sleep 0.1; done ) &
    SAMPLER_PID=$!
    PIDS+=("$SAMPLER_PID")
}
stop_sampler() { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------------
for tool in wrk curl python3 awk node npm; do
    command -v "$tool" >/dev/null || die "$tool is required (wrk: apt-get install wrk)"
done

if [[ -z "$BINARY" || -z "$FLOOR_BINARY" ]]; then
    packages=()
    [[ -z "$BINARY" ]] && packages+=(-p portcullis-cli)
    [[ -z "$FLOOR_BINARY" ]] && packages+=(-p portcullis-bench-floor)
    log "building release binaries: cargo build --release ${packages[*]}"
    (cd "$ROOT" && cargo build --release "${packages[@]}") >&2
    target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    [[ -z "$BINARY" ]] && BINARY="$target_dir/release/portcullis"
    [[ -z "$FLOOR_BINARY" ]] && FLOOR_BINARY="$target_dir/release/portcullis-bench-floor"
fi
[[ -x "$BINARY" ]] || die "$BINARY is not an executable"
[[ -x "$FLOOR_BINARY" ]] || die "$FLOOR_BINARY is not an executable"

if [[ ! -d "$HERE/node/node_modules/oidc-provider" || ! -d "$HERE/node/node_modules/argon2" ]]; then
    log "installing node-oidc-provider (npm ci)"
    (cd "$HERE/node" && timeout 300 npm ci --no-audit --no-fund) >"$WORK/npm.log" 2>&1 \
        || die "npm ci failed (see $WORK/npm.log)"
fi
OIDC_PROVIDER_VERSION="$(node -p "require('$HERE/node/node_modules/oidc-provider/package.json').version")"

(
    sleep "$WATCHDOG_SECS" &
    nap=$!
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    wait "$nap" || exit 0
    echo "watchdog: ${WATCHDOG_SECS}s elapsed, stopping" >&2
    kill -TERM $$
) &
WATCHDOG_PID=$!

# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------
declare -A PID_OF ISSUER_OF TOKEN_URL USERINFO_URL INTROSPECT_URL ACCESS_TOKEN INTROSPECT_AUTH

spawn() {
    local name="$1" url="$2"
    shift 2
    python3 "$HERE/spawn_ready.py" --url "$url" --timeout 30 --log "$WORK/$name.log" \
        --pid-file "$WORK/$name.pid" -- "$@" >/dev/null || {
        [[ -f "$WORK/$name.pid" ]] && PIDS+=("$(<"$WORK/$name.pid")")
        tail -n 20 "$WORK/$name.log" >&2 || true
        die "$name did not start"
    }
    PID_OF[$name]="$(<"$WORK/$name.pid")"
    PIDS+=("${PID_OF[$name]}")
}

discover() {
    local name="$1" meta
    meta="$(curl -sS --max-time 5 "${ISSUER_OF[$name]}/.well-known/openid-configuration")"
    read -r TOKEN_URL[$name] USERINFO_URL[$name] INTROSPECT_URL[$name] < <(python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["token_endpoint"], m["userinfo_endpoint"], m["introspection_endpoint"])' <<<"$meta")
}

# flows.py against a server, bounded to the given seconds.
flows() {
    local seconds="$1" name="$2" command="$3"
    shift 3
    timeout "$seconds" python3 "$HERE/flows.py" "$command" --issuer "${ISSUER_OF[$name]}" --client-id "$CODE_CLIENT_ID" \
        --client-secret "$CODE_CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" --scope "$USER_SCOPE" \
        --username "$USERNAME" --password "$PASSWORD" "$@"
}

# Runs N code flows on a server; writes the tokens JSON to a file.
login_tokens() {
    local name="$1" count="$2" out="$3" parallel="${4:-8}"
    flows $((60 + count)) "$name" tokens --count "$count" --parallel "$parallel" >"$out" \
        2>>"$WORK/flows.err" || die "$name: $count logins failed: $(tail -n 3 "$WORK/flows.err")"
}

start_portcullis() {
    local port db
    port="$(free_port)"
    db="sqlite://$WORK/portcullis.db"
    ISSUER_OF[portcullis]="http://127.0.0.1:$port"
    timeout 60 "$BINARY" clients add --id "$CLIENT_ID" --secret "$CLIENT_SECRET" \
        --grant-types client_credentials --scope "$SCOPE" --database "$db" >/dev/null
    timeout 60 "$BINARY" clients add --id "$CODE_CLIENT_ID" --secret "$CODE_CLIENT_SECRET" \
        --redirect-uri "$REDIRECT_URI" --grant-types authorization_code,refresh_token \
        --scope "$USER_SCOPE" --database "$db" >/dev/null
    printf '%s\n' "$PASSWORD" | timeout 60 "$BINARY" users add --username "$USERNAME" \
        --password-stdin --database "$db" >/dev/null
    # Every sign-in of the run comes from 127.0.0.1 for one account, up to --flow-parallel or
    # --login-parallel at a time: lift the login throttle and let that many wait for hashing
    # from one address (node-oidc-provider's pages here have no such limits either).
    local parallel=$((FLOW_PARALLEL > LOGIN_PARALLEL ? FLOW_PARALLEL : LOGIN_PARALLEL))
    printf 'version = 1\n[login_throttle]\nmax_failures = 1000000\nwindow_secs = 60\n[password_hashing]\nper_addr = %s\n' \
        "$parallel" >"$WORK/portcullis.toml"
    spawn portcullis "${ISSUER_OF[portcullis]}/healthz" "$BINARY" serve --config "$WORK/portcullis.toml" \
        --issuer "${ISSUER_OF[portcullis]}" --listen "127.0.0.1:$port" --database "$db"
    INTROSPECT_AUTH[portcullis]="$CODE_AUTHORIZATION"
}

start_node() {
    local port
    port="$(free_port)"
    ISSUER_OF[node]="http://127.0.0.1:$port"
    spawn node "${ISSUER_OF[node]}/.well-known/openid-configuration" \
        env NODE_ENV=production PORT="$port" BASELINE_FORMAT=opaque BASELINE_OIDC=1 \
        CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" SCOPE="$SCOPE" \
        CODE_CLIENT_ID="$CODE_CLIENT_ID" CODE_CLIENT_SECRET="$CODE_CLIENT_SECRET" \
        REDIRECT_URI="$REDIRECT_URI" BENCH_USERNAME="$USERNAME" BENCH_PASSWORD="$PASSWORD" \
        node "$HERE/node/server.mjs"
    INTROSPECT_AUTH[node]="$CODE_AUTHORIZATION"
}

start_floor() {
    local port
    port="$(free_port)"
    ISSUER_OF[floor]="http://127.0.0.1:$port"
    spawn floor "${ISSUER_OF[floor]}/healthz" "$FLOOR_BINARY" --listen "127.0.0.1:$port" \
        --issuer "${ISSUER_OF[floor]}" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
        --print-token
    TOKEN_URL[floor]="${ISSUER_OF[floor]}/token"
    USERINFO_URL[floor]="${ISSUER_OF[floor]}/userinfo"
    INTROSPECT_URL[floor]="${ISSUER_OF[floor]}/introspect"
    ACCESS_TOKEN[floor]="$(head -n 1 "$WORK/floor.log")"
    INTROSPECT_AUTH[floor]="$CC_AUTHORIZATION"
}

# One request of each path by hand before loading; the answers must be the right ones.
check_server() {
    local name="$1" body status
    status="$(curl -sS -o "$WORK/check.json" -w '%{http_code}' --max-time 10 -H "Authorization: $CC_AUTHORIZATION" \
        -d grant_type=client_credentials --data-urlencode "scope=$SCOPE" "${TOKEN_URL[$name]}")"
    [[ "$status" == 200 ]] && grep -q '"access_token"' "$WORK/check.json" \
        || die "$name: client credentials answered $status: $(head -c 300 "$WORK/check.json")"
    status="$(curl -sS -o "$WORK/check.json" -w '%{http_code}' --max-time 10 \
        -H "Authorization: Bearer ${ACCESS_TOKEN[$name]}" "${USERINFO_URL[$name]}")"
    [[ "$status" == 200 ]] && grep -q '"sub"' "$WORK/check.json" \
        || die "$name: userinfo answered $status: $(head -c 300 "$WORK/check.json")"
    status="$(curl -sS -o "$WORK/check.json" -w '%{http_code}' --max-time 10 -H "Authorization: ${INTROSPECT_AUTH[$name]}" \
        --data-urlencode "token=${ACCESS_TOKEN[$name]}" "${INTROSPECT_URL[$name]}")"
    [[ "$status" == 200 ]] && grep -q '"active": *true' "$WORK/check.json" \
        || die "$name: introspection answered $status: $(head -c 300 "$WORK/check.json")"
}

# Whether userinfo still answers 200 with a sub, or introspection "active": true, for the token.
still_valid() {
    local name="$1" path="$2" status
    if [[ "$path" == userinfo ]]; then
        status="$(curl -sS -o "$WORK/check.json" -w '%{http_code}' --max-time 10 \
            -H "Authorization: Bearer ${ACCESS_TOKEN[$name]}" "${USERINFO_URL[$name]}")"
        [[ "$status" == 200 ]] && grep -q '"sub"' "$WORK/check.json"
    else
        status="$(curl -sS -o "$WORK/check.json" -w '%{http_code}' --max-time 10 -H "Authorization: ${INTROSPECT_AUTH[$name]}" \
            --data-urlencode "token=${ACCESS_TOKEN[$name]}" "${INTROSPECT_URL[$name]}")"
        [[ "$status" == 200 ]] && grep -q '"active": *true' "$WORK/check.json"
    fi
}

# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# Prints "rps p99_ms errors" from a file holding a WRK_RESULT or FLOW_RESULT line.
parse_result() {
    local line
    line="$(grep -E '^(WRK|FLOW)_RESULT ' "$1" | tail -n 1)" || { echo "0 0 -1"; return; }
    awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
        errors = r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
        printf "%.1f %.2f %d\n", r["requests"] / (r["duration_us"] / 1e6), r["p99_us"] / 1000, errors
    }' <<<"$line"
}

# Loads one path on one server for one round and appends a line to RESULTS.
measure() {
    local round="$1" path="$2" name="$3" out="$WORK/r$1-$2-$3.txt" url script pid
    pid="${PID_OF[$name]}"
    local -a env_vars=()
    case "$path" in
        cc) url="${TOKEN_URL[$name]}"; script="$HERE/token.lua"
            env_vars=(BENCH_AUTHORIZATION="$CC_AUTHORIZATION") ;;
        introspect) url="${INTROSPECT_URL[$name]}"; script="$HERE/paths.lua"
            env_vars=(BENCH_PATH=introspect BENCH_AUTHORIZATION="${INTROSPECT_AUTH[$name]}" BENCH_ACCESS_TOKEN="${ACCESS_TOKEN[$name]}") ;;
        userinfo) url="${USERINFO_URL[$name]}"; script="$HERE/paths.lua"
            env_vars=(BENCH_PATH=userinfo BENCH_ACCESS_TOKEN="${ACCESS_TOKEN[$name]}") ;;
        refresh) url="${TOKEN_URL[$name]}"; script="$HERE/paths.lua"
            # Fresh refresh tokens each round (a run ends with tokens in flight, lost).
            login_tokens "$name" $((CONNECTIONS + 4 * THREADS)) "$WORK/refresh-$name.json"
            python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["refresh_tokens"]))' \
                "$WORK/refresh-$name.json" >"$WORK/refresh-$name.txt"
            env_vars=(BENCH_PATH=refresh BENCH_AUTHORIZATION="$CODE_AUTHORIZATION" BENCH_REFRESH_FILE="$WORK/refresh-$name.txt") ;;
    esac
    : >"$WORK/$name.rss-now"
    if [[ "$path" == codeflow ]]; then
        start_sampler "$pid" "$WORK/$name.rss-now"
        flows $((DURATION + 60)) "$name" codeflow --duration "$DURATION" \
            --parallel "$FLOW_PARALLEL" >"$out" 2>>"$WORK/flows.err" || true
    else
        if [[ "$WARMUP" -gt 0 && "$path" != refresh ]]; then
            env "${env_vars[@]}" timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
                --timeout 5s -s "$script" "$url" >/dev/null 2>&1 || true
        fi
        start_sampler "$pid" "$WORK/$name.rss-now"
        env "${env_vars[@]}" timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
            --timeout 5s --latency -s "$script" "$url" >"$out" 2>&1 || true
    fi
    stop_sampler
    cat "$WORK/$name.rss-now" >>"$WORK/$name.rss-load"
    local rps p99 errors
    read -r rps p99 errors < <(parse_result "$out")
    # A 200 is not enough for these two: the token must still be valid after the run.
    if [[ "$path" == introspect || "$path" == userinfo ]] && ! still_valid "$name" "$path"; then
        log "warning: $name $path round $round: the access token is no longer valid after the run"
        errors=-1
    fi
    [[ "$errors" -gt 0 ]] && log "warning: $name $path round $round: $errors failed requests (see $out)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$path" "$name" "$rps" "$p99" "$errors" >>"$RESULTS"
    log "round $round $path $name: $rps req/s, p99 $p99 ms"
}

servers_for() {
    case "$1" in
        cc|introspect|userinfo) echo "portcullis node floor" ;;
        *) echo "portcullis node" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
COMMIT="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $LOAD_BEFORE; watchdog ${WATCHDOG_SECS}s"

start_portcullis
start_node
start_floor
sleep 2
declare -A IDLE_KIB
for name in portcullis node floor; do
    IDLE_KIB[$name]="$(proc_kib "${PID_OF[$name]}" VmRSS)"
done
for name in portcullis node; do
    discover "$name"
    login_tokens "$name" 1 "$WORK/user-$name.json" 1
    ACCESS_TOKEN[$name]="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_tokens"][0])' "$WORK/user-$name.json")"
done
for name in portcullis node floor; do
    check_server "$name"
    : >"$WORK/$name.rss-load"
done
log "all three servers answer every path; loading"

for round in $(seq 1 "$ROUNDS"); do
    log "round $round (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for path in $PATHS; do
        read -r -a servers <<<"$(servers_for "$path")"
        # Rotate the order every round so that no server always goes first.
        n="${#servers[@]}"
        for i in $(seq 0 $((n - 1))); do
            measure "$round" "$path" "${servers[$(((i + round - 1) % n))]}"
        done
    done
done
LOAD_AFTER_ROUNDS="$(cut -d' ' -f1-3 /proc/loadavg)"

# Memory: idle, under load (max sampled over every measured run), high-water mark, after logins.
MEMORY="$WORK/memory.tsv"
: >"$MEMORY"
for name in portcullis node floor; do
    load_kib="$(sort -n "$WORK/$name.rss-load" | tail -n 1)"
    before_kib="$(proc_kib "${PID_OF[$name]}" VmRSS)"
    logins_kib="" rate=""
    if [[ "$LOGINS" -gt 0 && "$name" != floor ]]; then
        log "$name: $LOGINS logins, $LOGIN_PARALLEL at a time"
        login_tokens "$name" "$LOGINS" "$WORK/logins-$name.json" "$LOGIN_PARALLEL"
        rate="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["per_second"])' "$WORK/logins-$name.json")"
        sleep 1
        logins_kib="$(proc_kib "${PID_OF[$name]}" VmRSS)"
    fi
    hwm_kib="$(proc_kib "${PID_OF[$name]}" VmHWM)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(kib_mb "${IDLE_KIB[$name]}")" "${load_kib:+$(kib_mb "$load_kib")}" \
        "$(kib_mb "$before_kib")" "${logins_kib:+$(kib_mb "$logins_kib")}" "$(kib_mb "$hwm_kib")" "$rate" >>"$MEMORY"
done

RUN_INFO="$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); commit $COMMIT; \
portcullis $("$BINARY" --version | awk '{print $2}'), node-oidc-provider $OIDC_PROVIDER_VERSION on node $(node --version); \
$ROUNDS rounds x ${DURATION}s per path and server (${WARMUP}s wrk warm-up), wrk -t$THREADS -c$CONNECTIONS, \
$FLOW_PARALLEL concurrent code flows; load average before $LOAD_BEFORE, after the rounds $LOAD_AFTER_ROUNDS, \
at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RESULTS" "$MEMORY" "$RUN_INFO" "$LOGINS" "${MARKDOWN:-}" <<'EOF'
import statistics, sys
results, memory, info, logins, markdown = sys.argv[1:6]
rows = [l.rstrip("\n").split("\t") for l in open(results) if l.strip()]
data = {}
paths = []
for rnd, path, name, rps, p99, errors in rows:
    if path not in paths:
        paths.append(path)
    data[(path, int(rnd), name)] = (float(rps), float(p99), int(errors))
rounds = sorted({int(r[0]) for r in rows})
labels = {"cc": "client credentials", "introspect": "introspection", "userinfo": "userinfo",
          "refresh": "refresh rotation", "codeflow": "code flow (whole flows/s)"}

def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"

def cell(path, rnd, name):
    v = data.get((path, rnd, name))
    if v is None:
        return ("-", "-")
    flag = " (token invalid after the run)" if v[2] < 0 else f" ({v[2]} failed)" if v[2] else ""
    return (f"{v[0]:.0f}{flag}", f"{v[1]:.2f}")

header = ["path", "round", "Portcullis req/s", "p99 ms", "node req/s", "p99 ms", "floor req/s", "p99 ms",
          "Portcullis/node", "Portcullis/floor"]
table = []
for path in paths:
    for rnd in rounds:
        p, n, f = (data.get((path, rnd, s)) for s in ("portcullis", "node", "floor"))
        table.append([labels[path], str(rnd), *cell(path, rnd, "portcullis"), *cell(path, rnd, "node"),
                      *cell(path, rnd, "floor"), ratio(p and p[0], n and n[0]), ratio(p and p[0], f and f[0])])
    med = {}
    for s in ("portcullis", "node", "floor"):
        vals = [data[(path, r, s)] for r in rounds if (path, r, s) in data]
        med[s] = (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals)) if vals else None
    def ratios(other):
        vals = [data[(path, r, "portcullis")][0] / data[(path, r, other)][0] for r in rounds
                if (path, r, other) in data and data[(path, r, other)][0] and (path, r, "portcullis") in data]
        return f"{statistics.median(vals):.2f}x" if vals else "n/a"
    fmt = lambda m: (f"{m[0]:.0f}", f"{m[1]:.2f}") if m else ("-", "-")
    table.append([f"**{labels[path]}**", "median", *fmt(med["portcullis"]), *fmt(med["node"]), *fmt(med["floor"]),
                  ratios("node"), ratios("floor")])

mem_rows = [l.rstrip("\n").split("\t") for l in open(memory) if l.strip()]
mem_header = ["server", "idle RSS MB", "max RSS under load MB", "RSS before logins MB",
              f"RSS after {logins} logins MB", "VmHWM MB", "logins/s"]

def text(header, rows):
    widths = [max(len(h), *(len(r[i].replace("**", "")) for r in rows)) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    for r in rows:
        out.append("  ".join(c.replace("**", "").ljust(w) for c, w in zip(r, widths)))
    return "\n".join(out)

def md(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(c or "-" for c in r) + " |" for r in rows]
    return "\n".join(out)

print()
print(text(header, table))
print()
print(text(mem_header, [[c or "-" for c in r] for r in mem_rows]))
print(info)
if markdown:
    with open(markdown, "w") as f:
        f.write(md(header, table) + "\n\n" + md(mem_header, mem_rows) + "\n\n" + info + "\n")
EOF
[[ -n "$MARKDOWN" ]] && log "Markdown written to $MARKDOWN"
log "done"
