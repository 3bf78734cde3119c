# Shared by the load scripts (sourced, not run): logging, a work directory with a fresh
# key-encryption key for its databases, free ports and stopping processes.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Creates the run's work directory as WORK (named after $1) and exports a key-encryption key,
# made for this run, under which the fresh databases seal their private signing keys as in
# production.
make_work() {
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    PORTCULLIS_KEY_ENCRYPTION_KEY="$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')"
    export PORTCULLIS_KEY_ENCRYPTION_KEY
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# SIGTERM, up to 5 s to exit, then SIGKILL.
stop_pid() {
    local pid="$1"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
}
