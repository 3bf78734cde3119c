//! JWT sign and verify per algorithm for an access-token-sized JWT, measured against
//! jsonwebtoken (aws-lc-rs backend) and raw aws-lc-rs verification in the same run.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use portcullis_jose::{Algorithm, KeySet, SigningKey, UnixTime, Validator, jwt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const ISS: &str = "https://as.example";
const AUD: &str = "orders-api";
/// Fixed evaluation time for our validator; jsonwebtoken reads the wall clock, so `exp` is far.
const NOW: i64 = 1_700_000_000;

/// The claims of a typical access token (RFC 9068 shape), about 330 bytes of JSON.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    client_id: String,
    scope: String,
    auth_time: i64,
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        sub: "248289761001-user".into(),
        aud: AUD.into(),
        exp: 4_000_000_000,
        iat: NOW,
        nbf: NOW,
        jti: "8f0a6c3e-4d2b-4e51-9a1f-2c7e5b9d0e14".into(),
        client_id: "s6BhdRkqt3-orders-web".into(),
        scope: "openid profile orders:read orders:write".into(),
        auth_time: NOW - 120,
    }
}

fn b64d(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// RFC 7520 §3.4 RSA-2048 key: both libraries sign and verify with the same modulus.
const RSA_JWK: &str = include_str!("../tests/data/jose-cookbook/jwk/3_4.rsa_private_key.json");

fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![u8::try_from(len).unwrap()]
    } else {
        let b: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | u8::try_from(b.len()).unwrap()];
        out.extend(b);
        out
    }
}

fn der_uint(v: &[u8]) -> Vec<u8> {
    let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    let mut body = v[start..].to_vec();
    if body.first().is_none_or(|b| b & 0x80 != 0) {
        body.insert(0, 0);
    }
    let mut out = vec![0x02];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

fn rsa_pkcs1_der(jwk: &Value) -> Vec<u8> {
    let mut body = der_uint(&[0]);
    for m in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        body.extend(der_uint(&b64d(jwk[m].as_str().unwrap())));
    }
    let mut out = vec![0x30];
    out.extend(der_len(body.len()));
    out.extend(body);
    out
}

struct Fixture {
    alg: Algorithm,
    ours: SigningKey,
    keys: KeySet,
    theirs_enc: EncodingKey,
    theirs_dec: DecodingKey,
    token: String,
    public: Value,
}

fn fixture(alg: Algorithm) -> Fixture {
    let ours = match alg {
        Algorithm::RS256 | Algorithm::PS256 => {
            let jwk = serde_json::from_str(RSA_JWK).unwrap();
            SigningKey::from_jwk_with_alg(&jwk, alg).unwrap()
        }
        _ => SigningKey::generate(alg).unwrap(),
    }
    .with_kid("bench-key");
    let private = serde_json::to_value(ours.to_private_jwk()).unwrap();
    let field = |m: &str| b64d(private[m].as_str().unwrap());
    let theirs_enc = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(&field("k")),
        Algorithm::ES256 => {
            let mut point = vec![4u8];
            point.extend(field("x"));
            point.extend(field("y"));
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &field("d"),
                &point,
            )
            .unwrap();
            EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
        Algorithm::ES384 => {
            let mut point = vec![4u8];
            point.extend(field("x"));
            point.extend(field("y"));
            let pair = EcdsaKeyPair::from_private_key_and_public_key(
                &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                &field("d"),
                &point,
            )
            .unwrap();
            EncodingKey::from_ec_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::from_seed_and_public_key(&field("d"), &field("x")).unwrap();
            EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref())
        }
        _ => EncodingKey::from_rsa_der(&rsa_pkcs1_der(&private)),
    };
    let public = match ours.to_public_jwk() {
        Some(p) => serde_json::to_value(p).unwrap(),
        None => Value::Null,
    };
    let theirs_dec = if public.is_null() {
        DecodingKey::from_secret(&field("k"))
    } else {
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(public.clone()).unwrap();
        DecodingKey::from_jwk(&jwk).unwrap()
    };
    let mut keys = KeySet::new();
    keys.insert(ours.verifying_key()).unwrap();
    let token = jwt::encode(&ours, "at+jwt", &claims()).unwrap();
    Fixture {
        alg,
        ours,
        keys,
        theirs_enc,
        theirs_dec,
        token,
        public,
    }
}

fn their_header(alg: Algorithm) -> Header {
    let mut h = Header::new(alg.as_str().parse().unwrap());
    h.typ = Some("at+jwt".into());
    h.kid = Some("bench-key".into());
    h
}

fn their_validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg.as_str().parse().unwrap());
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v.validate_nbf = true;
    v
}

fn configure() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

const ALGS: [Algorithm; 6] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn sign<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    for alg in ALGS {
        let f = fixture(alg);
        let claims = claims();
        let header = their_header(alg);
        let mut g = c.benchmark_group(format!("{prefix}sign/{}", alg.as_str()));
        g.bench_function("portcullis", |b| {
            b.iter(|| jwt::encode(&f.ours, "at+jwt", black_box(&claims)).unwrap());
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &f.theirs_enc).unwrap());
        });
        g.finish();
    }
}

fn verify<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    for alg in ALGS {
        let f = fixture(alg);
        let validator = Validator::builder()
            .issuer(ISS)
            .audience(AUD)
            .required_typ("at+jwt")
            .build();
        let validation = their_validation(alg);
        // Both verify the same token bytes into the same claims type.
        validator
            .verify::<AccessClaims>(&f.token, &f.keys, UnixTime(NOW))
            .unwrap();
        jsonwebtoken::decode::<AccessClaims>(&f.token, &f.theirs_dec, &validation).unwrap();

        let mut g = c.benchmark_group(format!("{prefix}verify/{}", f.alg.as_str()));
        g.bench_function("portcullis", |b| {
            b.iter(|| {
                validator
                    .verify::<AccessClaims>(black_box(&f.token), &f.keys, UnixTime(NOW))
                    .unwrap()
            });
        });
        g.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<AccessClaims>(
                    black_box(&f.token),
                    &f.theirs_dec,
                    &validation,
                )
                .unwrap()
            });
        });
        raw_baselines(&mut g, &f);
        g.finish();
    }
}

/// The bare signature check on the same signing input: the floor a JWT verifier can approach.
fn raw_baselines<M: Measurement>(g: &mut BenchmarkGroup<'_, M>, f: &Fixture) {
    let (input, sig) = f.token.rsplit_once('.').unwrap();
    let sig = b64d(sig);
    let input = input.as_bytes().to_vec();
    let (alg, public): (
        &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
        Vec<u8>,
    ) = match f.alg {
        Algorithm::ES256 => {
            let mut point = vec![4u8];
            point.extend(b64d(f.public["x"].as_str().unwrap()));
            point.extend(b64d(f.public["y"].as_str().unwrap()));
            (&ECDSA_P256_SHA256_FIXED, point)
        }
        Algorithm::EdDSA => (&ED25519, b64d(f.public["x"].as_str().unwrap())),
        _ => return,
    };
    // Our own layers, to split the JWT cost: JWS only (no claims), then the key's primitive.
    g.bench_function("portcullis_jws_only", |b| {
        b.iter(|| portcullis_jose::jws::verify_compact(black_box(&f.token), &f.keys).unwrap());
    });
    let vk = f.ours.verifying_key();
    g.bench_function("portcullis_key_verify", |b| {
        b.iter(|| vk.verify(black_box(&input), black_box(&sig)).unwrap());
    });
    let unparsed = UnparsedPublicKey::new(alg, public);
    let parsed = unparsed.parse().unwrap();
    parsed.verify_sig(&input, &sig).unwrap();
    g.bench_function("aws_lc_raw_parsed", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(&input), black_box(&sig))
                .unwrap()
        });
    });
    g.bench_function("aws_lc_raw_unparsed", |b| {
        b.iter(|| unparsed.verify(black_box(&input), black_box(&sig)).unwrap());
    });
}

/// Thread CPU time (`CLOCK_THREAD_CPUTIME_ID`). The build machine is shared, so wall-clock
/// figures include time the thread spent preempted; CPU time does not.
struct ThreadCpu {
    wall: WallTime,
}

fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(t.tv_sec).unwrap() * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap()
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    #[allow(clippy::cast_precision_loss)]
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// Median of `v` (sorts in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `a` and `b` in alternating blocks and prints the median and minimum-based ratios
/// a / b. On a shared machine both sides of a pair see the same load, so the ratio is far
/// steadier than one computed from two separately measured criterion groups.
fn paired(name: &str, mut a: impl FnMut(), mut b: impl FnMut()) {
    const ROUNDS: usize = 60;
    let started = Instant::now();
    a();
    b();
    let one = started.elapsed().as_secs_f64() / 2.0;
    // Blocks of about 10 ms each.
    let per_block = ((0.01 / one.max(1e-7)) as usize).clamp(1, 100_000);
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..per_block {
                f();
            }
            t.elapsed().as_secs_f64() / per_block as f64
        };
        // Alternate which side goes first.
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ta.push(x);
        tb.push(y);
        ratios.push(x / y);
    }
    let min_a = ta.iter().copied().fold(f64::INFINITY, f64::min);
    let min_b = tb.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "paired {name}: median ratio {:.3}, min-block ratio {:.3} (min {:.2} us vs {:.2} us, {ROUNDS} rounds x {per_block})",
        median(&mut ratios),
        min_a / min_b,
        min_a * 1e6,
        min_b * 1e6
    );
}

fn paired_all() {
    for alg in ALGS {
        let f = fixture(alg);
        let claims = claims();
        let header = their_header(alg);
        paired(
            &format!("sign/{} portcullis/jsonwebtoken", alg.as_str()),
            || {
                black_box(jwt::encode(&f.ours, "at+jwt", black_box(&claims)).unwrap());
            },
            || {
                black_box(
                    jsonwebtoken::encode(&header, black_box(&claims), &f.theirs_enc).unwrap(),
                );
            },
        );
        let validator = Validator::builder()
            .issuer(ISS)
            .audience(AUD)
            .required_typ("at+jwt")
            .build();
        let validation = their_validation(alg);
        let ours = || {
            black_box(
                validator
                    .verify::<AccessClaims>(black_box(&f.token), &f.keys, UnixTime(NOW))
                    .unwrap(),
            );
        };
        paired(
            &format!("verify/{} portcullis/jsonwebtoken", alg.as_str()),
            ours,
            || {
                black_box(
                    jsonwebtoken::decode::<AccessClaims>(
                        black_box(&f.token),
                        &f.theirs_dec,
                        &validation,
                    )
                    .unwrap(),
                );
            },
        );
        let (input, sig) = f.token.rsplit_once('.').unwrap();
        let sig = b64d(sig);
        let public: Option<(
            &'static dyn aws_lc_rs::signature::VerificationAlgorithm,
            Vec<u8>,
        )> = match alg {
            Algorithm::ES256 => {
                let mut point = vec![4u8];
                point.extend(b64d(f.public["x"].as_str().unwrap()));
                point.extend(b64d(f.public["y"].as_str().unwrap()));
                Some((&ECDSA_P256_SHA256_FIXED, point))
            }
            Algorithm::EdDSA => Some((&ED25519, b64d(f.public["x"].as_str().unwrap()))),
            _ => None,
        };
        if let Some((va, bytes)) = public {
            let parsed = UnparsedPublicKey::new(va, bytes).parse().unwrap();
            let raw = || {
                parsed
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap();
            };
            paired(
                &format!("verify/{} portcullis/raw-aws-lc", alg.as_str()),
                ours,
                raw,
            );
            paired(
                &format!("verify/{} portcullis-jws-only/raw-aws-lc", alg.as_str()),
                || {
                    black_box(
                        portcullis_jose::jws::verify_compact(black_box(&f.token), &f.keys).unwrap(),
                    );
                },
                raw,
            );
        }
    }
}

/// `PORTCULLIS_BENCH_CLOCK=thread-cpu` measures thread CPU time (groups prefixed `cpu-`);
/// otherwise wall-clock time.
fn main() {
    if std::env::var("PORTCULLIS_BENCH_CLOCK").as_deref() == Ok("thread-cpu") {
        let mut c = configure()
            .with_measurement(ThreadCpu { wall: WallTime })
            .configure_from_args();
        sign(&mut c, "cpu-");
        verify(&mut c, "cpu-");
        c.final_summary();
    } else {
        let mut c = configure().configure_from_args();
        sign(&mut c, "");
        verify(&mut c, "");
        c.final_summary();
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not: skip the slow part there.
    if std::env::args().any(|a| a == "--bench") {
        paired_all();
    }
}
