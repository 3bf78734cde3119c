#!/usr/bin/env bash
# Load benchmark of the Portcullis authorization server against node-oidc-provider, in one run:
# startup time, idle and loaded memory, and client-credentials token throughput over loopback.
#
# Usage: bench/load/run.sh [options]
#   --binary PATH        use this portcullis binary instead of building the release one
#   --connections N      wrk connections (default 32)
#   --threads N          wrk threads (default 2)
#   --duration S         measured seconds per server (default 12)
#   --warmup S           warm-up seconds per server, not counted (default 3)
#   --baselines LIST     node-oidc-provider token formats to run: "opaque jwt", "opaque",
#                        "jwt" or "none" (default "opaque jwt")
#   --node-workers N     node:cluster worker processes for node-oidc-provider (default 1)
#   --markdown FILE      also write the summary as a Markdown table to FILE
#   --keep               keep the temporary directory (databases, logs, raw wrk output)
#
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

BINARY=""
CONNECTIONS=32
THREADS=2
DURATION=12
WARMUP=3
BASELINES="opaque jwt"
NODE_WORKERS=1
MARKDOWN=""
KEEP=0
# Hard cap on the measuring part (after the build), whatever happens.
WATCHDOG_SECS=600

while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --baselines) BASELINES="$2"; shift 2 ;;
        --node-workers) NODE_WORKERS="$2"; shift 2 ;;
        --markdown) MARKDOWN="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for n in "$CONNECTIONS" "$THREADS" "$DURATION" "$WARMUP" "$NODE_WORKERS"; do
    [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || { echo "numeric options must be positive integers" >&2; exit 2; }
done
[[ "$DURATION" -le 120 && "$WARMUP" -le 60 ]] || { echo "--duration <= 120 and --warmup <= 60" >&2; exit 2; }
for b in $BASELINES; do
    case "$b" in opaque|jwt|none) ;; *) echo "--baselines takes opaque, jwt or none" >&2; exit 2 ;; esac
done

CLIENT_ID="bench-client"
CLIENT_SECRET="bench-secret-0123456789abcdef"
SCOPE="api:read"
# client_secret_basic: base64(urlencode(id) ":" urlencode(secret)); both are URL-safe already.
BENCH_AUTHORIZATION="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_AUTHORIZATION
export BENCH_SCOPE="$SCOPE"

# shellcheck source=bench/load/common.sh
source "$(dirname "$0")/common.sh"

# ---------------------------------------------------------------------------------------------
# Processes and cleanup
# ---------------------------------------------------------------------------------------------
make_work portcullis-load
PIDS=()
WATCHDOG_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    if [[ -n "$WATCHDOG_PID" ]]; then
        kill "$WATCHDOG_PID" 2>/dev/null || true
    fi
    if [[ "$KEEP" -eq 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# VmRSS (or another /proc status field) of a pid, in KiB.
proc_field_kib() {
    local pid="$1" field="$2" key value _
    while read -r key value _; do
        if [[ "$key" == "$field:" ]]; then
            echo "$value"
            return 0
        fi
    done <"/proc/$pid/status"
    echo 0
}

# A pid and its child processes (node:cluster workers).
tree_pids() {
    echo "$1"
    pgrep -P "$1" || true
}

# A /proc status field summed over a pid and its children, in KiB.
tree_kib() {
    local total=0 p
    for p in $(tree_pids "$1"); do
        total=$((total + $(proc_field_kib "$p" "$2" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# User + system CPU time of a pid and its children, in clock ticks.
tree_ticks() {
    local total=0 p
    for p in $(tree_pids "$1"); do
        total=$((total + $(cpu_ticks "$p" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

# User + system CPU time of a pid, in clock ticks.
cpu_ticks() {
    local stat
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"
    # After the command name: field 3 is state, so utime/stime are the 12th and 13th here.
    awk '{print $12 + $13}' <<<"$stat"
}

# Sets CHILDREN_CPU_MS to the user + system CPU time of this shell's finished children (wrk
# here), in milliseconds. Not to be called in a subshell: `times` would see the subshell's.
children_cpu_ms() {
    times >"$WORK/times.txt"
    CHILDREN_CPU_MS="$(tail -n 1 "$WORK/times.txt" | awk '{
        total = 0
        for (i = 1; i <= 2; i++) {
            split($i, p, "m"); sub("s", "", p[2]); total += p[1] * 60000 + p[2] * 1000
        }
        printf "%.0f", total
    }')"
}

kib_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
ensure_tools() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk"
        if [[ "$(id -u)" -ne 0 ]]; then
            die "wrk is missing; install it (Debian: apt-get install wrk)"
        fi
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >"$WORK/apt.log" 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get update >>"$WORK/apt.log" 2>&1
            DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >>"$WORK/apt.log" 2>&1 \
                || die "cannot install wrk (see $WORK/apt.log)"
        fi
    fi
    for tool in curl python3 awk; do
        command -v "$tool" >/dev/null || die "$tool is required"
    done
    if [[ "$BASELINES" != "none" ]]; then
        command -v node >/dev/null || die "node is required for the node-oidc-provider baseline (or pass --baselines none)"
        command -v npm >/dev/null || die "npm is required for the node-oidc-provider baseline"
    fi
}

build_portcullis() {
    if [[ -n "$BINARY" ]]; then
        [[ -x "$BINARY" ]] || die "$BINARY is not an executable"
        return
    fi
    log "building the release portcullis binary (cargo build --release -p portcullis-cli)"
    (cd "$ROOT" && cargo build --release -p portcullis-cli) >&2
    local target_dir
    target_dir="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    BINARY="$target_dir/release/portcullis"
    [[ -x "$BINARY" ]] || die "no binary at $BINARY after the build"
}

install_baseline() {
    [[ "$BASELINES" == "none" ]] && return
    local dir="$HERE/node"
    if [[ ! -d "$dir/node_modules/oidc-provider" ]]; then
        log "installing node-oidc-provider (npm ci)"
        (cd "$dir" && timeout 300 npm ci --no-audit --no-fund) >"$WORK/npm.log" 2>&1 \
            || die "npm ci failed (see $WORK/npm.log)"
    fi
    OIDC_PROVIDER_VERSION="$(node -p "require('$dir/node_modules/oidc-provider/package.json').version")"
}

# ---------------------------------------------------------------------------------------------
# Measuring one server
# ---------------------------------------------------------------------------------------------
# Starts a server through spawn_ready.py; sets SERVER_PID and READY_MS.
spawn_server() {
    local name="$1" url="$2"
    shift 2
    local out
    out="$(python3 "$HERE/spawn_ready.py" --url "$url" --timeout 20 \
        --log "$WORK/$name.log" --pid-file "$WORK/$name.pid" -- "$@")" || {
        [[ -f "$WORK/$name.pid" ]] && PIDS+=("$(<"$WORK/$name.pid")")
        tail -n 20 "$WORK/$name.log" >&2 || true
        die "$name did not start"
    }
    SERVER_PID="$(<"$WORK/$name.pid")"
    PIDS+=("$SERVER_PID")
    READY_MS="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["ready_ms"])' <<<"$out")"
}

# Samples VmRSS every 100 ms into a file until told to stop.
start_rss_sampler() {
    local pid="$1" file="$2"
    (
        while kill -0 "$pid" 2>/dev/null; do
            tree_kib "$pid" VmRSS >>"$file"
            sleep 0.1
        done
    ) &
    SAMPLER_PID=$!
    PIDS+=("$SAMPLER_PID")
}

# Sets REQS (requests/s), NON2XX (wrk counts statuses above 399), SOCKET_ERRORS, P50_MS, P99_MS from a wrk output file.
parse_wrk() {
    local file="$1" line
    line="$(grep '^WRK_RESULT ' "$file" | tail -n 1)" || die "no result line in $file"
    local -A r=()
    local kv
    for kv in ${line#WRK_RESULT }; do
        r["${kv%%=*}"]="${kv#*=}"
    done
    REQS="$(awk -v n="${r[requests]}" -v us="${r[duration_us]}" 'BEGIN { printf "%.0f", n / (us / 1e6) }')"
    TOTAL_REQS="${r[requests]}"
    NON2XX="${r[status_errors]}"
    SOCKET_ERRORS=$((r[connect_errors] + r[read_errors] + r[write_errors] + r[timeouts]))
    P50_MS="$(awk -v us="${r[p50_us]}" 'BEGIN { printf "%.2f", us / 1000 }')"
    P99_MS="$(awk -v us="${r[p99_us]}" 'BEGIN { printf "%.2f", us / 1000 }')"
}

# Checks one token request by hand: 200 and an access_token in the body.
check_token() {
    local name="$1" url="$2" body status
    body="$WORK/$name.first-token.json"
    status="$(curl -sS -o "$body" -w '%{http_code}' --max-time 5 \
        -H "Authorization: $BENCH_AUTHORIZATION" \
        --data-urlencode grant_type=client_credentials --data-urlencode "scope=$SCOPE" "$url")"
    [[ "$status" == "200" ]] || die "$name: token request answered $status: $(head -c 300 "$body")"
    grep -q '"access_token"' "$body" || die "$name: no access_token in $(head -c 300 "$body")"
}

# Runs warm-up then the measured wrk run against a started server; records the results under
# the given name in the RESULT_* arrays.
load_server() {
    local name="$1" url="$2" pid="$3" ready_ms="$4"
    check_token "$name" "$url"
    sleep 2
    local idle_kib
    idle_kib="$(tree_kib "$pid" VmRSS)"

    log "$name: warm-up ${WARMUP}s"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s -s "$HERE/token.lua" "$url" \
        >"$WORK/$name.warmup.txt" 2>&1 || die "$name: wrk warm-up failed"
    sleep 1

    log "$name: measuring ${DURATION}s with $CONNECTIONS connections"
    local samples="$WORK/$name.rss-samples" ticks_before ticks_after
    : >"$samples"
    start_rss_sampler "$pid" "$samples"
    ticks_before="$(tree_ticks "$pid")"
    local wrk_ms_before wrk_ms_after
    children_cpu_ms
    wrk_ms_before="$CHILDREN_CPU_MS"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency -s "$HERE/token.lua" "$url" \
        >"$WORK/$name.wrk.txt" 2>&1 || die "$name: wrk failed"
    children_cpu_ms
    wrk_ms_after="$CHILDREN_CPU_MS"
    ticks_after="$(tree_ticks "$pid")"
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true

    parse_wrk "$WORK/$name.wrk.txt"
    local peak_kib hwm_kib clk cpu_pct
    peak_kib="$(sort -n "$samples" | tail -n 1)"
    hwm_kib="$(tree_kib "$pid" VmHWM)"
    clk="$(getconf CLK_TCK)"
    cpu_pct="$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk" -v d="$DURATION" \
        'BEGIN { printf "%.0f", 100 * t / hz / d }')"
    local cpu_us_per_req wrk_pct
    cpu_us_per_req="$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk" -v n="$TOTAL_REQS" \
        'BEGIN { if (n > 0) printf "%.0f", 1e6 * t / hz / n; else print "n/a" }')"
    wrk_pct="$(awk -v ms=$((wrk_ms_after - wrk_ms_before)) -v d="$DURATION" \
        'BEGIN { printf "%.0f", ms / 10 / d }')"

    RESULT_NAMES+=("$name")
    RESULT_RPS+=("$REQS")
    RESULT_TOTAL+=("$TOTAL_REQS")
    RESULT_NON2XX+=("$NON2XX")
    RESULT_SOCKERR+=("$SOCKET_ERRORS")
    RESULT_P50+=("$P50_MS")
    RESULT_P99+=("$P99_MS")
    RESULT_READY+=("$ready_ms")
    RESULT_IDLE+=("$(kib_to_mb "$idle_kib")")
    RESULT_PEAK+=("$(kib_to_mb "${peak_kib:-0}")")
    RESULT_HWM+=("$(kib_to_mb "$hwm_kib")")
    RESULT_CPU+=("$cpu_pct")
    RESULT_CPU_US+=("$cpu_us_per_req")
    RESULT_WRK_CPU+=("$wrk_pct")
    log "$name: ${REQS} req/s, HTTP 4xx/5xx ${NON2XX}, socket errors ${SOCKET_ERRORS}, p99 ${P99_MS} ms," \
        "server CPU ${cpu_pct}% (${cpu_us_per_req} us/request), wrk CPU ${wrk_pct}%," \
        "RSS max sampled $(kib_to_mb "${peak_kib:-0}") MB, VmHWM $(kib_to_mb "$hwm_kib") MB"
    if [[ "$NON2XX" -ne 0 || "$SOCKET_ERRORS" -ne 0 ]]; then
        log "$name: WARNING: some requests failed (see $WORK/$name.wrk.txt)"
    fi
}

RESULT_NAMES=() RESULT_RPS=() RESULT_TOTAL=() RESULT_NON2XX=() RESULT_SOCKERR=() RESULT_P50=()
RESULT_P99=() RESULT_READY=() RESULT_IDLE=() RESULT_PEAK=() RESULT_HWM=() RESULT_CPU=()
RESULT_CPU_US=() RESULT_WRK_CPU=()

bench_portcullis() {
    local db="sqlite://$WORK/portcullis.db" port issuer
    port="$(free_port)"
    issuer="http://127.0.0.1:$port"
    log "portcullis: registering the client"
    timeout 60 "$BINARY" clients add --id "$CLIENT_ID" --secret "$CLIENT_SECRET" \
        --grant-types client_credentials --scope "$SCOPE" --database "$db" \
        >"$WORK/clients-add.log" 2>&1 || { cat "$WORK/clients-add.log" >&2; die "clients add failed"; }

    local serve=("$BINARY" serve --issuer "$issuer" --listen "127.0.0.1:$port" --database "$db")
    # First start: creates the signing keys. Then a restart on the same database, as a
    # redeployed or rescheduled server starts; that one is measured under load.
    spawn_server portcullis-first "$issuer/healthz" "${serve[@]}"
    PORTCULLIS_FIRST_READY_MS="$READY_MS"
    stop_pid "$SERVER_PID"
    sleep 0.5
    spawn_server portcullis "$issuer/healthz" "${serve[@]}"
    log "portcullis: /healthz 200 after ${PORTCULLIS_FIRST_READY_MS} ms (fresh database), ${READY_MS} ms (restart)"
    load_server portcullis "$issuer/token" "$SERVER_PID" "$READY_MS"
    stop_pid "$SERVER_PID"
}

bench_node() {
    local format="$1" port issuer name="node-oidc-provider-$1"
    [[ "$NODE_WORKERS" -gt 1 ]] && name="$name-x$NODE_WORKERS"
    port="$(free_port)"
    issuer="http://127.0.0.1:$port"
    # NODE_ENV=production as a deployment would run it (and its dev-only warnings aside).
    spawn_server "$name" "$issuer/.well-known/openid-configuration" \
        env NODE_ENV=production PORT="$port" BASELINE_FORMAT="$format" BASELINE_WORKERS="$NODE_WORKERS" \
        CLIENT_ID="$CLIENT_ID" \
        CLIENT_SECRET="$CLIENT_SECRET" SCOPE="$SCOPE" node "$HERE/node/server.mjs"
    log "$name: discovery 200 after ${READY_MS} ms"
    load_server "$name" "$issuer/token" "$SERVER_PID" "$READY_MS"
    stop_pid "$SERVER_PID"
}

# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }

summary_markdown() {
    local i
    echo "| Server | Token format | Requests/s | Ratio (Portcullis / this) | HTTP 4xx/5xx | Socket errors | p50 ms | p99 ms | Server CPU % | Server CPU µs/request | wrk CPU % | Start to first 200, ms | Idle RSS, MB | RSS under load (max sampled), MB | VmHWM, MB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for i in "${!RESULT_NAMES[@]}"; do
        local name="${RESULT_NAMES[$i]}" label format r ready
        case "$name" in
            portcullis) label="Portcullis $PORTCULLIS_VERSION"; format="ES256 JWT"; r="1.0x"
                ready="${RESULT_READY[$i]} (fresh DB: $PORTCULLIS_FIRST_READY_MS)" ;;
            node-oidc-provider-opaque*) label="node-oidc-provider $OIDC_PROVIDER_VERSION$WORKERS_LABEL"; format="opaque (default)"
                r="$(ratio "${RESULT_RPS[0]}" "${RESULT_RPS[$i]}")"; ready="${RESULT_READY[$i]}" ;;
            node-oidc-provider-jwt*) label="node-oidc-provider $OIDC_PROVIDER_VERSION$WORKERS_LABEL"; format="ES256 JWT"
                r="$(ratio "${RESULT_RPS[0]}" "${RESULT_RPS[$i]}")"; ready="${RESULT_READY[$i]}" ;;
        esac
        echo "| $label | $format | ${RESULT_RPS[$i]} | $r | ${RESULT_NON2XX[$i]} | ${RESULT_SOCKERR[$i]} | ${RESULT_P50[$i]} | ${RESULT_P99[$i]} | ${RESULT_CPU[$i]} | ${RESULT_CPU_US[$i]} | ${RESULT_WRK_CPU[$i]} | $ready | ${RESULT_IDLE[$i]} | ${RESULT_PEAK[$i]} | ${RESULT_HWM[$i]} |"
    done
    echo
    echo "$RUN_INFO"
}

summary_text() {
    local i
    printf '%-26s %-9s %7s %5s %7s %6s %6s %5s %6s %5s %7s %7s %7s %6s\n' \
        server format "req/s" ratio "4xx/5xx" "p50ms" "p99ms" "cpu%" "us/req" "wrk%" \
        "up ms" "idle MB" "load MB" "HWM MB"
    for i in "${!RESULT_NAMES[@]}"; do
        local format r
        case "${RESULT_NAMES[$i]}" in
            portcullis) format="ES256 JWT"; r="1.0x" ;;
            node-oidc-provider-opaque*) format="opaque" ;;
            node-oidc-provider-jwt*) format="ES256 JWT" ;;
        esac
        [[ "$i" -gt 0 ]] && r="$(ratio "${RESULT_RPS[0]}" "${RESULT_RPS[$i]}")"
        printf '%-26s %-9s %7s %5s %7s %6s %6s %5s %6s %5s %7s %7s %7s %6s\n' "${RESULT_NAMES[$i]}" \
            "$format" "${RESULT_RPS[$i]}" "$r" "${RESULT_NON2XX[$i]}" "${RESULT_P50[$i]}" \
            "${RESULT_P99[$i]}" "${RESULT_CPU[$i]}" "${RESULT_CPU_US[$i]}" "${RESULT_WRK_CPU[$i]}" \
            "${RESULT_READY[$i]}" "${RESULT_IDLE[$i]}" "${RESULT_PEAK[$i]}" "${RESULT_HWM[$i]}"
    done
    echo "portcullis first start on a fresh database (keys generated): ${PORTCULLIS_FIRST_READY_MS} ms to /healthz 200"
    echo "$RUN_INFO"
}

# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------
ensure_tools
build_portcullis
install_baseline
PORTCULLIS_VERSION="$("$BINARY" --version | awk '{print $2}')"
OIDC_PROVIDER_VERSION="${OIDC_PROVIDER_VERSION:-n/a}"
WORKERS_LABEL=""
[[ "$NODE_WORKERS" -gt 1 ]] && WORKERS_LABEL=", $NODE_WORKERS cluster workers"

(
    sleep "$WATCHDOG_SECS" &
    nap=$!
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    wait "$nap" || exit 0
    echo "watchdog: ${WATCHDOG_SECS}s elapsed, stopping" >&2
    kill -TERM $$
) &
WATCHDOG_PID=$!

COMMIT="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(cd "$ROOT" && git status --porcelain 2>/dev/null | head -n 1)" ]]; then
    COMMIT="$COMMIT (with uncommitted changes)"
fi
RUN_INFO="$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); \
commit $COMMIT; node-oidc-provider workers: $NODE_WORKERS; wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s measured; \
node $(node --version 2>/dev/null || echo n/a); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

log "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench_portcullis
for format in $BASELINES; do
    [[ "$format" == "none" ]] && continue
    sleep 2
    bench_node "$format"
done

echo
summary_text
if [[ -n "$MARKDOWN" ]]; then
    summary_markdown >"$MARKDOWN"
    log "Markdown summary written to $MARKDOWN"
fi
log "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
