#!/usr/bin/env python3
"""Builds the seed corpus in corpus/<target>/ from the vectors the JOSE tests already carry
(crates/jose/tests/data: RFC 7520 cookbook and Wycheproof, with their SOURCE and LICENSE) and
from real access tokens and request headers. Deterministic except for the ES256 signatures of
the sample tokens, which are randomised; rerun only to change the seeds, then commit the result.

Needs the Python `cryptography` package to sign the sample access tokens.
"""

import base64
import hashlib
import json
import shutil
import struct
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "crates" / "jose" / "tests" / "data"
CORPUS = HERE / "corpus"
NOW = 1_700_000_000
ISS = "https://as.example"
AUD = "orders-api"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load(rel: str):
    return json.loads((DATA / rel).read_text())


def write(target: str, name: str, data) -> None:
    if isinstance(data, str):
        data = data.encode()
    (CORPUS / target / name).write_bytes(data)


# --- The fixed keys of fuzz/src/lib.rs --------------------------------------------------------

def int_of(text: str) -> int:
    return int.from_bytes(unb64(text), "big")


RSA_JWK = json.loads((HERE / "keys/rfc7520/3_4.rsa_private_key.json").read_text())
EC_JWK = json.loads((HERE / "keys/wycheproof/jws_es256_kid-ec-sign.json").read_text())

RSA_KEY = rsa.RSAPrivateNumbers(
    p=int_of(RSA_JWK["p"]), q=int_of(RSA_JWK["q"]), d=int_of(RSA_JWK["d"]),
    dmp1=int_of(RSA_JWK["dp"]), dmq1=int_of(RSA_JWK["dq"]), iqmp=int_of(RSA_JWK["qi"]),
    public_numbers=rsa.RSAPublicNumbers(int_of(RSA_JWK["e"]), int_of(RSA_JWK["n"])),
).private_key()
EC_KEY = ec.derive_private_key(int_of(EC_JWK["d"]), ec.SECP256R1())


def sign_es256(header: dict, claims: dict) -> str:
    data = f"{b64(json.dumps(header, separators=(',', ':')).encode())}." \
           f"{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    r, s = decode_dss_signature(EC_KEY.sign(data.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{data}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def sign_rs256(header: dict, claims: dict) -> str:
    data = f"{b64(json.dumps(header, separators=(',', ':')).encode())}." \
           f"{b64(json.dumps(claims, separators=(',', ':')).encode())}"
    sig = RSA_KEY.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{data}.{b64(sig)}"


# RFC 9068-shaped access tokens as the server issues them, valid at NOW.
ACCESS_CLAIMS = {
    "iss": ISS, "sub": "5ba552d67", "aud": AUD, "exp": NOW + 300, "iat": NOW,
    "jti": "dbe39bf3a3ba4238a513f51d6e1691c4", "client_id": "s6BhdRkqt3",
    "scope": "orders:read orders:write",
}
ES_HEADER = {"alg": "ES256", "kid": "kid-ec-sign", "typ": "at+jwt"}
RS_HEADER = {"alg": "RS256", "kid": "bilbo.baggins@hobbiton.example", "typ": "at+jwt"}
REAL_TOKENS = {
    "access-es256": sign_es256(ES_HEADER, ACCESS_CLAIMS),
    "access-rs256": sign_rs256(RS_HEADER, ACCESS_CLAIMS),
    "access-es256-aud-array": sign_es256(ES_HEADER, {**ACCESS_CLAIMS, "aud": ["other-api", AUD]}),
    "access-es256-expired": sign_es256(ES_HEADER, {**ACCESS_CLAIMS, "exp": NOW - 3600}),
    "id-token-rs256": sign_rs256(
        {"alg": "RS256", "kid": "bilbo.baggins@hobbiton.example"},
        {"iss": ISS, "sub": "alice", "aud": "s6BhdRkqt3", "exp": NOW + 300, "iat": NOW,
         "nonce": "n-0S6_WzA2Mj", "auth_time": NOW - 5}),
}


def cookbook_compact():
    out = {}
    for path in sorted((DATA / "jose-cookbook/jws").glob("*.json")):
        compact = load(f"jose-cookbook/jws/{path.name}").get("output", {}).get("compact")
        if isinstance(compact, str):
            out["rfc7520-" + path.stem.split(".")[0]] = compact
    return out


def wycheproof_compact(per_group: int):
    out = {}
    for gi, group in enumerate(load("wycheproof/json_web_signature_test.json")["testGroups"]):
        tests = [t for t in group["tests"] if isinstance(t.get("jws"), str)]
        for t in tests[:per_group]:
            out[f"wycheproof-jws-{t['tcId']}"] = t["jws"]
    return out


# --- jws_compact --------------------------------------------------------------------------------

def jws_compact():
    for name, token in {**cookbook_compact(), **wycheproof_compact(24), **REAL_TOKENS}.items():
        write("jws_compact", name, token)
    # Header edge cases behind a real signature segment.
    sig = REAL_TOKENS["access-es256"].rsplit(".", 1)[1]
    payload = b64(b'{"sub":"x"}')
    for name, header in {
        "crit": '{"alg":"ES256","crit":["exp"],"exp":1}',
        "crit-standard": '{"alg":"ES256","crit":["kid"],"kid":"kid-ec-sign"}',
        "b64-false": '{"alg":"ES256","b64":false,"crit":["b64"]}',
        "alg-none": '{"alg":"none"}',
        "duplicate-alg": '{"alg":"ES256","alg":"HS256"}',
        "embedded-jwk": '{"alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}',
        "enc": '{"alg":"RSA-OAEP","enc":"A256GCM"}',
        "kid-unicode": '{"alg":"ES256","kid":"\\u006bid-ec-sign"}',
    }.items():
        write("jws_compact", f"header-{name}", f"{b64(header.encode())}.{payload}.{sig}")


# --- jwt_validate -------------------------------------------------------------------------------
# Input layout (arbitrary 1.x, see the Input struct): signer u32, header u32, mutation u32 plus
# its fields, validator u8, shift i32 (all little endian), then the text.

def variant(index: int, count: int) -> bytes:
    value = 0 if index == 0 else (index << 32) // count + 1
    assert (value * count) >> 32 == index
    return struct.pack("<I", value)


SIGNERS = ["none", "es256", "rs256"]
HEADERS = ["standard", "nokid", "notyp", "raw"]
MUTATIONS = ["none", "flip", "truncate", "insert", "otherkey"]


def jwt_input(signer, header, text, mutation=("none",), validator=0, shift=0) -> bytes:
    kind = mutation[0]
    out = variant(SIGNERS.index(signer), 3) + variant(HEADERS.index(header), 4)
    out += variant(MUTATIONS.index(kind), 5)
    if kind == "flip":
        out += struct.pack("<HB", mutation[1], mutation[2])
    elif kind == "truncate":
        out += struct.pack("<H", mutation[1])
    elif kind == "insert":
        out += struct.pack("<HB", mutation[1], mutation[2])
    out += struct.pack("<Bi", validator, shift)
    return out + text.encode()


def claims(**changes) -> str:
    c = {"iss": ISS, "sub": "user-1", "aud": AUD, "exp": NOW + 600, "iat": NOW - 10,
         "jti": "jti-1", "scope": "orders:read"}
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return json.dumps(c, separators=(",", ":"))


def jwt_validate():
    good = claims()
    variants = {
        "good": good,
        "aud-array": claims(aud=["other-api", AUD]),
        "aud-empty-array": claims(aud=[]),
        "aud-wrong": claims(aud="api.evil"),
        "iss-trailing-slash": claims(iss=ISS + "/"),
        "no-exp": claims(exp=None),
        "expired": claims(exp=NOW - 31),
        "exp-string": claims(exp=str(NOW + 600)),
        "exp-float": claims(exp=NOW + 600.5),
        "nbf-future": claims(nbf=NOW + 60),
        "iat-future": claims(iat=NOW + 60),
        "nbf-null": claims(nbf=None) [:-1] + ',"nbf":null}',
        "exp-huge": good.replace(f'"exp":{NOW + 600}', '"exp":1e400'),
        "exp-i64-max": good.replace(f'"exp":{NOW + 600}', '"exp":9223372036854775807'),
        "exp-neg-zero": good.replace(f'"exp":{NOW + 600}', '"exp":-0'),
        "duplicate-exp": good[:-1] + f',"exp":{NOW - 1000}}}',
        "nested-duplicate": good[:-1] + ',"cnf":{"jkt":"a","jkt":"b"}}',
        "unicode-escape-iss": good.replace('"iss"', '"\\u0069ss"'),
        "not-object": "[1,2,3]",
    }
    for name, text in variants.items():
        write("jwt_validate", f"es256-{name}", jwt_input("es256", "standard", text))
    write("jwt_validate", "rs256-good", jwt_input("rs256", "standard", good))
    write("jwt_validate", "rs256-nokid", jwt_input("rs256", "nokid", good, validator=1))
    write("jwt_validate", "es256-notyp", jwt_input("es256", "notyp", good))
    write("jwt_validate", "es256-expired-allowed",
          jwt_input("es256", "standard", claims(exp=NOW - 3600), validator=2))
    write("jwt_validate", "es256-shift-past-exp", jwt_input("es256", "standard", good, shift=631))
    write("jwt_validate", "es256-flip-signature",
          jwt_input("es256", "standard", good, mutation=("flip", 400, 0)))
    write("jwt_validate", "es256-flip-payload",
          jwt_input("es256", "standard", good, mutation=("flip", 90, 1)))
    write("jwt_validate", "rs256-truncate",
          jwt_input("rs256", "standard", good, mutation=("truncate", 500)))
    write("jwt_validate", "es256-insert-dot",
          jwt_input("es256", "standard", good, mutation=("insert", 30, ord("."))))
    write("jwt_validate", "es256-other-key",
          jwt_input("es256", "standard", good, mutation=("otherkey",)))
    for name, header in {
        "typ-application": '{"alg":"ES256","kid":"kid-ec-sign","typ":"application/AT+JWT"}',
        "typ-jwt": '{"alg":"ES256","kid":"kid-ec-sign","typ":"JWT"}',
        "alg-rs256-on-es-key": '{"alg":"RS256","kid":"kid-ec-sign","typ":"at+jwt"}',
        "alg-hs256": '{"alg":"HS256","typ":"at+jwt"}',
        "kid-unknown": '{"alg":"ES256","kid":"nope","typ":"at+jwt"}',
        "crit": '{"alg":"ES256","kid":"kid-ec-sign","typ":"at+jwt","crit":["exp"],"exp":1}',
        "b64-false": '{"alg":"ES256","kid":"kid-ec-sign","b64":false,"crit":["b64"]}',
        "no-kid": '{"alg":"ES256","typ":"at+jwt"}',
    }.items():
        write("jwt_validate", f"raw-header-{name}", jwt_input("es256", "raw", f"{header}\n{good}"))
    for name, token in REAL_TOKENS.items():
        write("jwt_validate", f"token-{name}", jwt_input("none", "standard", token))


# --- jwk_parse ----------------------------------------------------------------------------------

def jwk_parse():
    for path in sorted((DATA / "jose-cookbook/jwk").glob("*.json")):
        write("jwk_parse", "rfc7520-" + path.stem.split(".")[0], path.read_bytes())
    seen = set()
    for source in ["json_web_key_test.json", "json_web_signature_test.json"]:
        for group in load(f"wycheproof/{source}")["testGroups"]:
            for member in ["private", "public"]:
                key = group.get(member)
                if key is None:
                    continue
                text = json.dumps(key, separators=(",", ":"))
                digest = hashlib.sha256(text.encode()).hexdigest()[:12]
                if digest in seen:
                    continue
                seen.add(digest)
                write("jwk_parse", f"wycheproof-{member}-{digest}", text)
    okp = load("jose-cookbook/curve25519/jws.json")
    for i, case in enumerate(okp if isinstance(okp, list) else [okp]):
        key = case.get("input", {}).get("key") if isinstance(case, dict) else None
        if key:
            write("jwk_parse", f"rfc8037-okp-{i}", json.dumps(key))
    # A published JWKS as the server serves it, and a few hostile shapes.
    es_public = {k: v for k, v in EC_JWK.items() if k != "d"}
    rs_public = {k: RSA_JWK[k] for k in ["kty", "kid", "use", "n", "e"]} | {"alg": "RS256"}
    write("jwk_parse", "jwks-server", json.dumps({"keys": [es_public, rs_public]}))
    write("jwk_parse", "jwks-duplicate-kid", json.dumps({"keys": [es_public, es_public]}))
    write("jwk_parse", "jwk-duplicate-member", '{"kty":"EC","crv":"P-256","crv":"P-384","x":"","y":""}')
    write("jwk_parse", "jwk-mismatched-private",
          json.dumps({**EC_JWK, "x": es_public["y"], "y": es_public["x"]}))
    write("jwk_parse", "jwk-rsa-e-even", json.dumps({**rs_public, "e": "Ag"}))
    write("jwk_parse", "jwk-rsa-leading-zero", json.dumps({**rs_public, "n": "AA" + rs_public["n"]}))


# --- guard_extract ------------------------------------------------------------------------------

def guard_extract():
    token = REAL_TOKENS["access-es256"]
    target = "/api/orders"
    cases = {
        "bearer": f"{target}\nAuthorization: Bearer {token}\n",
        "bearer-lowercase": f"{target}\nauthorization: bearer {token}\n",
        "bearer-upper-spaces": f"{target}\nAuthorization: BEARER   {token}\n",
        "bearer-empty": f"{target}\nAuthorization: Bearer \n",
        "bearer-padding": f"{target}\nAuthorization: Bearer mF_9.B5f-4.1JqM==\n",
        "bearer-two-tokens": f"{target}\nAuthorization: Bearer a.b.c d.e.f\n",
        "bearer-comma": f"{target}\nAuthorization: Bearer a,b\n",
        "bearer-quote": f"{target}\nAuthorization: Bearer a\"b\n",
        "two-authorization": f"{target}\nAuthorization: Bearer a.b.c\nAuthorization: Bearer d.e.f\n",
        "basic": f"{target}\nAuthorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\n",
        "dpop": f"{target}\nAuthorization: DPoP {token}\nDPoP: {token}\n",
        "query-only": f"{target}?access_token={token}\n",
        "query-and-header": f"{target}?access_token=a.b.c&x=1\nAuthorization: Bearer {token}\n",
        "query-repeated": f"{target}?access_token=a&access_token=b\n",
        "query-percent": f"{target}?access%5Ftoken=a%2Eb\n",
        "cookie": f"{target}\nCookie: theme=dark; at={token}; lang=en\n",
        "cookie-quoted": f"{target}\nCookie: at=\"{token}\"\n",
        "cookie-and-header": f"{target}\nCookie: at=a.b.c\nAuthorization: Bearer {token}\n",
        "cookie-twice": f"{target}\nCookie: at=a\nCookie: at=b\n",
        "non-ascii": f"{target}\nAuthorization: Bearer \u00e9t\u00e9\n",
        "crlf": f"{target}\r\nAuthorization: Bearer {token}\r\nHost: api.example\r\n",
    }
    for name, text in cases.items():
        write("guard_extract", name, text)


# --- token_request and authorize_request --------------------------------------------------------
# Requests written like HTTP/1.1 (fuzz/src/server.rs `parse_request`), shaped after the end-to-end
# tests (crates/e2e/tests/e2e/token_endpoint.rs, redirect.rs, pkce.rs), for the client of
# fuzz/src/server.rs.

CLIENT = "web"
SECRET = "web-secret-0123456789"
REDIRECT = "https://app.example/cb"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
FORM = "Content-Type: application/x-www-form-urlencoded"


def form(pairs) -> str:
    from urllib.parse import urlencode
    return urlencode(pairs)


def basic(user: str, password: str) -> str:
    from urllib.parse import quote_plus
    raw = f"{quote_plus(user)}:{quote_plus(password)}".encode()
    return "Authorization: Basic " + base64.b64encode(raw).decode()


def post(path: str, headers, body: str) -> str:
    return f"POST {path}\n" + "".join(h + "\n" for h in headers) + "\n" + body


def hs256_assertion(claims: dict) -> str:
    import hmac
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(
        json.dumps(claims).encode())
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def token_request():
    auth = basic(CLIENT, SECRET)
    assertion = hs256_assertion({"iss": CLIENT, "sub": CLIENT, "aud": ISS + "/token",
                                 "exp": 1_800_000_060, "iat": 1_800_000_000, "jti": "j-1"})
    jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    cases = {
        "client-credentials-basic": post("/token", [auth, FORM],
                                         form([("grant_type", "client_credentials"),
                                               ("scope", "orders:read")])),
        "client-credentials-post": post("/token", [FORM], form([
            ("grant_type", "client_credentials"), ("client_id", CLIENT),
            ("client_secret", SECRET)])),
        "client-credentials-crlf": post("/token", [auth, FORM], "grant_type=client_credentials")
        .replace("\n", "\r\n"),
        "client-secret-jwt": post("/token", [FORM], form([
            ("grant_type", "client_credentials"), ("client_id", CLIENT),
            ("client_assertion_type", jwt_type), ("client_assertion", assertion)])),
        "assertion-wrong-type": post("/token", [FORM], form([
            ("grant_type", "client_credentials"), ("client_assertion_type", "x"),
            ("client_assertion", assertion)])),
        "authorization-code": post("/token", [auth, FORM], form([
            ("grant_type", "authorization_code"), ("code", "c0de"), ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER)])),
        "refresh-token": post("/token", [auth, FORM], form([
            ("grant_type", "refresh_token"), ("refresh_token", "rt-0123"),
            ("scope", "openid")])),
        "password": post("/token", [auth, FORM], form([
            ("grant_type", "password"), ("username", "alice"), ("password", "pw")])),
        "device-code": post("/token", [FORM], form([
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", "dc-0123"), ("client_id", CLIENT)])),
        "token-exchange": post("/token", [auth, FORM], form([
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", assertion),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("audience", "orders-api"), ("resource", "https://orders.example/")])),
        # TOK-3: repeated parameters.
        "duplicate-grant-type": post("/token", [auth, FORM],
                                     "grant_type=client_credentials&grant_type=client_credentials"),
        "duplicate-client-id": post("/token", [FORM],
                                    f"grant_type=client_credentials&client_id={CLIENT}"
                                    f"&client_id={CLIENT}&client_secret={SECRET}"),
        # TOK-4: more than one authentication method.
        "basic-and-post": post("/token", [auth, FORM], form([
            ("grant_type", "client_credentials"), ("client_secret", SECRET)])),
        # TOK-5: Basic credentials are form-urlencoded.
        "basic-encoded": post("/token", [basic("my client", "se:cr%et+"), FORM],
                              "grant_type=client_credentials"),
        "basic-no-colon": post("/token", ["Authorization: Basic " + base64.b64encode(b"web").decode(),
                                          FORM], "grant_type=client_credentials"),
        "basic-bad-base64": post("/token", ["Authorization: Basic !!!", FORM],
                                 "grant_type=client_credentials"),
        "basic-bad-percent": post("/token", ["Authorization: Basic "
                                             + base64.b64encode(b"a:%zz").decode(), FORM],
                                  "grant_type=client_credentials"),
        # TOK-1: JSON body, GET.
        "json-body": post("/token", [auth, "Content-Type: application/json"],
                          '{"grant_type":"client_credentials"}'),
        "get": f"GET /token?grant_type=client_credentials\n{auth}\n\n",
        "charset": post("/token", [auth, FORM + "; charset=UTF-8"], "grant_type=client_credentials"),
        "revoke": post("/revoke", [auth, FORM], form([("token", "rt-0123"),
                                                      ("token_type_hint", "refresh_token")])),
        "introspect": post("/introspect", [auth, FORM], form([("token", assertion)])),
        "device-authorization": post("/device_authorization", [FORM],
                                     form([("client_id", CLIENT), ("scope", "orders:read")])),
    }
    for name, text in cases.items():
        write("token_request", name, text)


def authorize_request():
    base = [("response_type", "code"), ("client_id", CLIENT), ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"), ("state", "st-1"), ("nonce", "n-1"),
            ("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]

    def without(name):
        return [(k, v) for k, v in base if k != name]

    def get(pairs, headers=()):
        return f"GET /authorize?{form(pairs)}\n" + "".join(h + "\n" for h in headers) + "\n"

    cases = {
        "code-flow": get(base),
        "form-post": post("/authorize", [FORM], form(base)),
        "prompt-login-max-age": get(base + [("prompt", "login"), ("max_age", "0")]),
        "prompt-none": get(base + [("prompt", "none"), ("login_hint", "alice")]),
        "prompt-none-login": get(base + [("prompt", "none login")]),
        "response-mode-form-post": get(base + [("response_mode", "form_post")]),
        "response-mode-fragment": get(base + [("response_mode", "fragment")]),
        "id-token-hint": get(base + [("id_token_hint", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")]),
        "claims-and-locales": get(base + [("claims", '{"userinfo":{"email":null}}'),
                                          ("ui_locales", "fr en"), ("acr_values", "1")]),
        # RED-1 .. RED-6: redirect URI exact match, fragment, unknown client.
        "redirect-mismatch": get([(k, REDIRECT + "/x" if k == "redirect_uri" else v)
                                  for k, v in base]),
        "redirect-fragment": get([(k, REDIRECT + "#f" if k == "redirect_uri" else v)
                                  for k, v in base]),
        "no-redirect-uri": get(without("redirect_uri")),
        "unknown-client": get([(k, "nobody" if k == "client_id" else v) for k, v in base]),
        # PKCE: plain, missing, malformed.
        "pkce-plain": get([(k, "plain" if k == "code_challenge_method" else v) for k, v in base]),
        "pkce-missing": get(without("code_challenge")),
        "pkce-short": get([(k, "abc" if k == "code_challenge" else v) for k, v in base]),
        "response-type-token": get([(k, "token" if k == "response_type" else v)
                                    for k, v in base]),
        "duplicate-state": get(base + [("state", "st-2")]),
        "request-object": get(base + [("request", "eyJhbGciOiJub25lIn0.e30.")]),
        "request-uri": get(base + [("request_uri", "urn:ietf:params:oauth:request_uri:x")]),
        "cookie": get(base, ["Cookie: portcullis_session=abc; portcullis_csrf=def"]),
        "percent-garbage": "GET /authorize?client_id=%ZZ&redirect_uri=%E2%82&scope=%00\n\n",
    }
    for name, text in cases.items():
        write("authorize_request", name, text)


if __name__ == "__main__":
    for target in ["jws_compact", "jwt_validate", "jwk_parse", "guard_extract",
                   "token_request", "authorize_request"]:
        shutil.rmtree(CORPUS / target, ignore_errors=True)
        (CORPUS / target).mkdir(parents=True)
    jws_compact()
    jwt_validate()
    jwk_parse()
    guard_extract()
    token_request()
    authorize_request()
