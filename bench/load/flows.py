#!/usr/bin/env python3
"""User flows for the load benchmark, driven like a browser with urllib and a cookie jar: the
authorization-code flow with PKCE (authorize, sign in, consent when asked, code redemption).

  flows.py tokens   --issuer URL ... --count N --parallel P    # N logins; one JSON line of tokens
  flows.py codeflow --issuer URL ... --duration S --parallel P # whole flows for S seconds

Endpoints come from the issuer's discovery document. Forms are read from the pages: the first
form with a password input is the sign-in form (its text input gets the username), any other form
is a consent form, submitted with the button whose value or text says allow or approve. Loopback
only: the script refuses an issuer that is not on 127.0.0.0/8 or ::1.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import http.cookiejar
import ipaddress
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

APPROVE_WORDS = ("allow", "approve", "accept", "continue", "authorize", "yes")
MAX_HOPS = 12
TIMEOUT = 30


class FormParser(HTMLParser):
    """Collects each form's action, method, inputs and submit buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "inputs": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1]["buttons"].append({"name": a.get("name", ""), "value": a.get("value", ""), "text": a.get("value", "")})
            else:
                self.forms[-1]["inputs"].append({"name": a.get("name", ""), "type": kind, "value": a.get("value", "")})
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = {"name": a.get("name", ""), "value": a.get("value", ""), "text": ""}
            self.forms[-1]["buttons"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag):
        if tag == "button":
            self._button = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class FlowError(Exception):
    pass


def check_loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing a non-loopback issuer: {url}")


def basic(client_id, secret):
    raw = f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


class Config:
    def __init__(self, args):
        self.issuer = args.issuer.rstrip("/")
        check_loopback(self.issuer)
        with urllib.request.urlopen(self.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT) as r:
            meta = json.load(r)
        self.authorization_endpoint = meta["authorization_endpoint"]
        self.token_endpoint = meta["token_endpoint"]
        for url in (self.authorization_endpoint, self.token_endpoint):
            check_loopback(url)
        self.client_id = args.client_id
        self.authorization = basic(args.client_id, args.client_secret)
        self.redirect_uri = args.redirect_uri
        self.scope = args.scope
        self.username = args.username
        self.password = args.password


def request(opener, method, url, fields=None, headers=None):
    """One exchange without following redirects: (status, headers, body text)."""
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with opener.open(req, timeout=TIMEOUT) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        return e.code, e.headers, body


def submit_page(cfg, opener, url, body):
    """Fills and submits the sign-in or consent form of a page; returns the next exchange."""
    parser = FormParser()
    parser.feed(body)
    if not parser.forms:
        raise FlowError(f"no form on the page at {url}: {body[:200]!r}")
    login = next((f for f in parser.forms if any(i["type"] == "password" for i in f["inputs"])), None)
    form = login or parser.forms[0]
    fields = []
    for field in form["inputs"]:
        if not field["name"]:
            continue
        if field["type"] == "password":
            fields.append((field["name"], cfg.password))
        elif login is not None and field["type"] in ("text", "email"):
            fields.append((field["name"], cfg.username))
        elif field["type"] in ("hidden", "text", "email"):
            fields.append((field["name"], field["value"]))
    if login is None:
        button = next((b for b in form["buttons"]
                       if any(w in (b["value"] + " " + b["text"]).lower() for w in APPROVE_WORDS)), None)
        if button is None:
            raise FlowError(f"no approve button on the page at {url}")
        if button["name"]:
            fields.append((button["name"], button["value"]))
    target = urllib.parse.urljoin(url, form["action"] or url)
    return request(opener, form["method"].upper(), target, fields)


def one_flow(cfg):
    """Runs the whole code flow in a fresh browser; returns the token response as a dict."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": cfg.client_id, "redirect_uri": cfg.redirect_uri,
        "scope": cfg.scope, "state": state, "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    url = f"{cfg.authorization_endpoint}?{query}"
    status, headers, body = request(opener, "GET", url)
    own = urllib.parse.urlsplit(cfg.issuer)[:2]
    submitted = 0
    for _ in range(MAX_HOPS):
        if status in (301, 302, 303, 307, 308):
            url = urllib.parse.urljoin(url, headers.get("Location", ""))
            if urllib.parse.urlsplit(url)[:2] != own:
                break
            status, headers, body = request(opener, "GET", url)
        elif status == 200:
            submitted += 1
            if submitted > 3:
                raise FlowError(f"the flow keeps showing forms (at {url})")
            status, headers, body = submit_page(cfg, opener, url, body)
        else:
            raise FlowError(f"{status} at {url}: {body[:200]!r}")
    else:
        raise FlowError("too many hops")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "code" not in params:
        raise FlowError(f"no code in the redirect {url}")
    if params.get("state") != [state]:
        raise FlowError("state mismatch")
    status, _, body = request(opener, "POST", cfg.token_endpoint, [
        ("grant_type", "authorization_code"), ("code", params["code"][0]),
        ("redirect_uri", cfg.redirect_uri), ("code_verifier", verifier),
    ], headers={"Authorization": cfg.authorization})
    if status != 200:
        raise FlowError(f"token endpoint answered {status}: {body[:200]!r}")
    tokens = json.loads(body)
    if "access_token" not in tokens:
        raise FlowError("no access_token")
    return tokens


def cmd_tokens(cfg, args):
    """Runs --count flows with --parallel workers; prints the tokens as one JSON object."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.parallel) as pool:
        results = list(pool.map(lambda _: one_flow(cfg), range(args.count)))
    elapsed = time.monotonic() - started
    out = {
        "access_tokens": [r["access_token"] for r in results],
        "refresh_tokens": [r["refresh_token"] for r in results if r.get("refresh_token")],
        "seconds": round(elapsed, 2),
        "per_second": round(args.count / elapsed, 1) if elapsed > 0 else 0,
    }
    json.dump(out, sys.stdout)
    print()
    return 0


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def cmd_codeflow(cfg, args):
    """Whole flows back to back on --parallel threads for --duration seconds."""
    deadline = time.monotonic() + args.duration
    lock = threading.Lock()
    latencies, errors = [], []

    def worker():
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                one_flow(cfg)
            except Exception as e:  # counted, and the first few printed
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                latencies.append(time.monotonic() - t0)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.duration + TIMEOUT + 5)
    elapsed = time.monotonic() - started
    latencies.sort()
    for e in errors[:3]:
        print(f"flow error: {e}", file=sys.stderr)
    print(f"FLOW_RESULT requests={len(latencies)} duration_us={int(elapsed * 1e6)} "
          f"status_errors={len(errors)} p50_us={int(percentile(latencies, 50) * 1e6)} "
          f"p99_us={int(percentile(latencies, 99) * 1e6)}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["tokens", "codeflow"])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--scope", default="openid profile")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--duration", type=float, default=8)
    args = parser.parse_args()
    if not (1 <= args.count <= 5000 and 1 <= args.parallel <= 64 and 0 < args.duration <= 120):
        parser.error("--count 1..5000, --parallel 1..64, --duration up to 120 s")
    cfg = Config(args)
    return cmd_tokens(cfg, args) if args.command == "tokens" else cmd_codeflow(cfg, args)


if __name__ == "__main__":
    sys.exit(main())
