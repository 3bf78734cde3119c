#!/usr/bin/env python3
"""Spawns a server, polls an HTTP URL every millisecond until it answers 200, and prints the
child's pid, the milliseconds from spawn to that first 200 and its RSS then, as one JSON line."""

import argparse
import json
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit


def status_of(host: str, port: int, path: str) -> int:
    """The HTTP status of one GET, or 0 when nothing answers yet."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            sock.sendall(request.encode("ascii"))
            head = b""
            while b"\r\n" not in head and len(head) < 256:
                chunk = sock.recv(256)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return 0
    parts = head.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return 0


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="URL that answers 200 once the server is up")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait at most")
    parser.add_argument("--log", required=True, help="file for the child's stdout and stderr")
    parser.add_argument("--pid-file", required=True, help="file to write the child's pid to")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the server command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no server command given")
    url = urlsplit(args.url)
    host, port, path = url.hostname or "127.0.0.1", url.port or 80, url.path or "/"

    with open(args.log, "ab") as log:
        start = time.monotonic_ns()
        child = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    with open(args.pid_file, "w", encoding="ascii") as pid_file:
        pid_file.write(f"{child.pid}\n")
    deadline = start + int(args.timeout * 1e9)
    polls = 0
    while True:
        polls += 1
        if status_of(host, port, path) == 200:
            ready = time.monotonic_ns()
            break
        if child.poll() is not None:
            print(f"server exited with status {child.returncode} before answering", file=sys.stderr)
            return 1
        if time.monotonic_ns() > deadline:
            print(f"server did not answer 200 at {args.url} within {args.timeout}s", file=sys.stderr)
            return 1
        time.sleep(0.001)
    result = {
        "pid": child.pid,
        "ready_ms": round((ready - start) / 1e6, 1),
        "rss_kib_at_ready": rss_kib(child.pid),
        "polls": polls,
    }
    print(json.dumps(result))
    # The server keeps running; the calling script owns it from here (its pid is in --pid-file).
    return 0


if __name__ == "__main__":
    sys.exit(main())
