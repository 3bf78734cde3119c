#!/usr/bin/env python3
"""Memory of a portcullis server under a burst of concurrent sign-ins.

Starts `portcullis serve` (a release build) on a fresh SQLite database on 127.0.0.1, signs in
once with the right password, then fires BURST concurrent `POST /login` requests with random
usernames (each costs one argon2id hash: the dummy hash of an unknown user), twice. Prints, in
MiB: RSS when idle, after the single sign-in, the peak during the bursts (VmHWM) and RSS after
each burst, plus how the requests were answered (303: checked, sent on or back to the form;
503: refused at once because the hashing queue was full).

The login throttle and the per-address limit are raised in the generated config so that every
request reaches the hashing pool: the worst case for memory. Everything listens on loopback and
stops by itself.

Before the bursts, LOGINS correct sign-ins (8 at a time by default) and RSS two seconds after
them: memory must come back to its size after the single sign-in, however many logins there
were.

Last, on a second fresh server with the default login throttle and per-address limit, an
attack: BURST concurrent wrong-password `POST /login` for the one account from one address.
The server's audit log tells how many of them were checked against the password (the rest were
refused by the throttle before any hashing, or answered 503); at most the throttle's limit may
be, every answer must be a 303 or a 503 with `Retry-After`, and the peak RSS is printed.

With --floor-binary, the argon2id bound (bench/floor `--argon2-for 8`: one verification after
another on every core, nothing else running) is measured right before the sign-ins, and their
rate is printed as a share of it.

Usage: bench/load/login_rss.py --binary target/release/portcullis [--burst 1000] [--logins 1000]
       [--floor-binary target/release/portcullis-bench-floor]
"""

import argparse
import asyncio
import base64
import json
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "bench-password-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mib(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def request(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def get_login(port: int) -> tuple[str, str]:
    """The sign-in form's CSRF token and the cookie it is bound to."""
    raw = f"GET /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    _, data = asyncio.run(request(port, raw.encode()))
    head, _, body = data.partition(b"\r\n\r\n")
    cookies = re.findall(rb"(?im)^set-cookie: ([^;]+)", head)
    csrf = re.search(rb'name="csrf" value="([^"]+)"', body)
    if not cookies or not csrf:
        sys.exit("could not read the sign-in form")
    return csrf.group(1).decode(), "; ".join(c.decode() for c in cookies)


def login_request(port: int, csrf: str, cookie: str, username: str, password: str) -> bytes:
    body = f"csrf={quote(csrf)}&request=&username={quote(username)}&password={quote(password)}"
    return (
        f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


async def send_all(port: int, reqs: list[bytes], at_once: int) -> Counter:
    """Sends every request, `at_once` at a time; counts the answers by status (0: no answer),
    with "503-no-retry-after" for a 503 that lacks `Retry-After`."""
    gate = asyncio.Semaphore(at_once)

    async def one(raw: bytes) -> str:
        async with gate:
            try:
                status, data = await request(port, raw)
            except OSError:
                return "0"
        head = data.partition(b"\r\n\r\n")[0].lower()
        if status == 503 and b"\r\nretry-after:" not in head:
            return "503-no-retry-after"
        return str(status)

    return Counter(await asyncio.gather(*(one(r) for r in reqs)))


async def burst(port: int, csrf: str, cookie: str, n: int) -> Counter:
    reqs = [
        login_request(port, csrf, cookie, "u-" + secrets.token_hex(6), "wrong-password")
        for _ in range(n)
    ]
    return await send_all(port, reqs, n)


def start_server(binary: str, config_text: str) -> tuple[int, int, str]:
    """A fresh database with the user alice and a server on it: (pid, port, log path)."""
    work = tempfile.mkdtemp(prefix="portcullis-login-rss.")
    # Private signing keys are sealed at rest as in production, under a key made for this run.
    os.environ["PORTCULLIS_KEY_ENCRYPTION_KEY"] = (
        base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    )
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    db = f"sqlite://{work}/db.sqlite?mode=rwc"
    config = os.path.join(work, "portcullis.toml")
    with open(config, "w", encoding="ascii") as f:
        f.write(config_text)
    subprocess.run(
        [binary, "users", "add", "--username", "alice", "--password-stdin", "--database", db],
        input=PASSWORD.encode(), check=True, stdout=subprocess.DEVNULL, timeout=60,
    )
    pid_file = os.path.join(work, "pid")
    log = os.path.join(work, "server.log")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "spawn_ready.py"), "--url", f"{issuer}/healthz",
         "--timeout", "20", "--log", log, "--pid-file", pid_file,
         "--", binary, "serve", "--config", config, "--issuer", issuer,
         "--listen", f"127.0.0.1:{port}", "--database", db],
        check=True, stdout=subprocess.DEVNULL, timeout=60,
    )
    with open(pid_file, encoding="ascii") as f:
        return int(f.read().strip()), port, log


def attack(binary: str, n: int, spray: bool) -> None:
    """n concurrent wrong guesses from one address with the default limits: at one account, or
    (spray) each at another made-up username, which only the address limit can hold."""
    pid, port, log = start_server(binary, "version = 1\n")
    try:
        time.sleep(1)
        csrf, cookie = get_login(port)
        reqs = [
            login_request(port, csrf, cookie, f"user-{i}" if spray else "alice", f"guess-{i}")
            for i in range(n)
        ]
        started = time.monotonic()
        counts = asyncio.run(send_all(port, reqs, n))
        took = time.monotonic() - started
        time.sleep(1)
        peak = mib(pid, "VmHWM")
        after = mib(pid, "VmRSS")
        # The right password is refused now too: the account is locked for the window.
        status, data = asyncio.run(request(port, login_request(port, csrf, cookie, "alice", PASSWORD)))
    finally:
        os.kill(pid, 15)
        time.sleep(0.5)
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    failures = [line for line in text.splitlines() if "login_failure" in line]
    checked = [line for line in failures if re.search(r"throttled[=:\s\"]*false", line)]
    throttled = [line for line in failures if re.search(r"throttled[=:\s\"]*true", line)]
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    bad = {k: v for k, v in counts.items() if k not in ("303", "503")}
    target = "as many usernames" if spray else "one account"
    print(f"attack: {n} concurrent wrong passwords for {target} from one address ({took:.1f} s)")
    print(f"  answers:                {answers}")
    print(f"  checked against the password hash: {len(checked)} (audit login_failure, throttled=false)")
    print(f"  refused by the throttle before hashing: {len(throttled)}")
    print(f"  right password afterwards: {status} ({'locked' if b'portcullis-session' not in data else 'signed in'})")
    print(f"  RSS after: {after:.1f} MiB, peak (VmHWM): {peak:.1f} MiB")
    if bad:
        print(f"  UNEXPECTED answers: {bad}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--binary", required=True)
    p.add_argument("--burst", type=int, default=1000)
    p.add_argument("--logins", type=int, default=1000)
    p.add_argument("--login-concurrency", type=int, default=8,
                   help="sign-ins in flight at once in the LOGINS phase (default 8)")
    p.add_argument("--floor-binary", help="portcullis-bench-floor: measure the argon2id bound "
                   "(every core hashing) right before the sign-ins and print their ratio")
    args = p.parse_args()
    if not 1 <= args.burst <= 5000:
        sys.exit("--burst must be 1..5000")
    # A thousand sockets on each side: lift the open-file limit (inherited by the server).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pid, port, _ = start_server(
        args.binary,
        "version = 1\n[login_throttle]\nmax_failures = 1000000\nwindow_secs = 60\n"
        f"[password_hashing]\nper_addr = {args.burst}\n",
    )
    try:
        time.sleep(2)
        idle = mib(pid, "VmRSS")
        csrf, cookie = get_login(port)
        status, _ = asyncio.run(request(port, login_request(port, csrf, cookie, "alice", PASSWORD)))
        if status != 303:
            sys.exit(f"the single sign-in answered {status}")
        time.sleep(2)
        after_one = mib(pid, "VmRSS")
        bound = None
        if args.floor_binary:
            out = subprocess.run([args.floor_binary, "--argon2-for", "8"], check=True,
                                 capture_output=True, timeout=120).stdout
            bound = json.loads(out)
        started = time.monotonic()
        reqs = [login_request(port, csrf, cookie, "alice", PASSWORD) for _ in range(args.logins)]
        logins = asyncio.run(send_all(port, reqs, args.login_concurrency))
        logins_took = time.monotonic() - started
        time.sleep(2)
        after_logins = mib(pid, "VmRSS")
        rows = []
        for i in (1, 2):
            started = time.monotonic()
            counts = asyncio.run(burst(port, csrf, cookie, args.burst))
            took = time.monotonic() - started
            time.sleep(2)
            rows.append((i, counts, took, mib(pid, "VmRSS")))
        peak = mib(pid, "VmHWM")
    finally:
        os.kill(pid, 15)
    print(f"idle RSS:               {idle:7.1f} MiB")
    print(f"after one sign-in:      {after_one:7.1f} MiB")
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(logins.items()))
    rate = args.logins / logins_took if logins_took else 0.0
    print(f"after {args.logins} sign-ins:   {after_logins:7.1f} MiB  ({logins_took:.1f} s, {rate:.1f}/s; {answers})")
    if bound:
        print(f"argon2id bound:         {bound['per_second']:7.1f}/s on {bound['threads']} threads; "
              f"sign-ins at {rate / bound['per_second']:.0%} of it")
    for i, counts, took, rss in rows:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        print(f"after burst {i} ({args.burst}): {rss:7.1f} MiB  ({took:.1f} s; {answers})")
    print(f"peak RSS (VmHWM):       {peak:7.1f} MiB")
    attack(args.binary, args.burst, spray=False)
    attack(args.binary, args.burst, spray=True)


if __name__ == "__main__":
    main()
