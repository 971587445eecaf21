//! keyroll against raw `aws-lc-rs` AES-256-GCM, in the same run.
//!
//! `cargo bench -p keyroll --bench envelope` (add `-- <filter>` for a subset). Every keyroll
//! operation is paired with what an application would write by hand on `aws-lc-rs` for the
//! same job: a fresh random nonce per message from `aws_lc_rs::rand::fill`, the caller's
//! context as associated data, `nonce ‖ ciphertext ‖ tag` in a new `Vec` (and on open, the
//! plaintext in a new `Vec`). keyroll adds its 26-byte header (authenticated), the key lookup,
//! state checks, and for the text form base64url. At the end a table of throughputs and
//! keyroll/raw ratios is printed (the `## Core (Rust)` section of `docs/benchmarks.md`).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use keyroll::{Keyring, Protection, SecretKey, Unlock, DEFAULT_PBKDF2_ITERATIONS};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SIZES: [usize; 3] = [64, 1024, 64 * 1024];
const TEXT_SIZES: [usize; 2] = [64, 1024];
const CONTEXT: &[u8] = b"users:42:ssn";
const NOW: u64 = 1_700_000_000;

fn raw_key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32-byte key"))
}

/// Seal as an application would on raw aws-lc-rs: random nonce, then `nonce ‖ ct ‖ tag`.
fn raw_seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    aws_lc_rs::rand::fill(&mut nonce).expect("system random generator");
    let mut out = Vec::with_capacity(12 + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[12..],
        )
        .expect("seal");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Open `nonce ‖ ct ‖ tag` into a new plaintext `Vec`.
fn raw_open(key: &LessSafeKey, aad: &[u8], token: &[u8]) -> Vec<u8> {
    let nonce: [u8; 12] = token[..12].try_into().expect("12-byte nonce");
    let mut buf = token[12..].to_vec();
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .expect("open")
        .len();
    buf.truncate(len);
    buf
}

fn fixture() -> (Keyring, LessSafeKey) {
    let mut ring = Keyring::generate(NOW).expect("keyring");
    // A keyring with history: the active version is v3.
    ring.rotate(NOW + 1).expect("rotate");
    ring.rotate(NOW + 2).expect("rotate");
    let raw = raw_key(SecretKey::generate().expect("key").expose());
    (ring, raw)
}

fn bench_seal(c: &mut Criterion, ring: &Keyring, raw: &LessSafeKey) {
    let mut group = c.benchmark_group("encrypt");
    for size in SIZES {
        let pt = vec![0xA5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("raw_aws_lc_rs", size), &pt, |b, pt| {
            b.iter(|| raw_seal(raw, CONTEXT, black_box(pt)))
        });
        group.bench_with_input(BenchmarkId::new("keyroll_binary", size), &pt, |b, pt| {
            b.iter(|| {
                ring.encrypt_binary(black_box(pt), CONTEXT, Some(NOW))
                    .expect("encrypt")
            })
        });
        if TEXT_SIZES.contains(&size) {
            group.bench_with_input(BenchmarkId::new("keyroll_text", size), &pt, |b, pt| {
                b.iter(|| {
                    ring.encrypt(black_box(pt), CONTEXT, Some(NOW))
                        .expect("encrypt")
                })
            });
        }
    }
    group.finish();
}

fn bench_open(c: &mut Criterion, ring: &Keyring, raw: &LessSafeKey) {
    let mut group = c.benchmark_group("decrypt");
    for size in SIZES {
        let pt = vec![0xA5u8; size];
        let raw_token = raw_seal(raw, CONTEXT, &pt);
        let binary = ring
            .encrypt_binary(&pt, CONTEXT, Some(NOW))
            .expect("encrypt");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("raw_aws_lc_rs", size), |b| {
            b.iter(|| raw_open(raw, CONTEXT, black_box(&raw_token)))
        });
        group.bench_function(BenchmarkId::new("keyroll_binary", size), |b| {
            b.iter(|| {
                ring.decrypt(black_box(&binary), CONTEXT, None)
                    .expect("decrypt")
            })
        });
        if TEXT_SIZES.contains(&size) {
            let text = ring.encrypt(&pt, CONTEXT, Some(NOW)).expect("encrypt");
            group.bench_function(BenchmarkId::new("keyroll_text", size), |b| {
                b.iter(|| {
                    ring.decrypt(black_box(text.as_bytes()), CONTEXT, None)
                        .expect("decrypt")
                })
            });
        }
    }
    group.finish();
}

fn bench_rewrap(c: &mut Criterion, ring: &mut Keyring, raw: &LessSafeKey) {
    let mut group = c.benchmark_group("rewrap");
    let sizes_and_tokens: Vec<(usize, Vec<u8>, Vec<u8>)> = SIZES
        .iter()
        .map(|&size| {
            let pt = vec![0xA5u8; size];
            let old = ring
                .encrypt_binary(&pt, CONTEXT, Some(NOW))
                .expect("encrypt");
            (size, pt, old)
        })
        .collect();
    // The envelopes above are under the old version; rewrap moves them to the new one.
    ring.rotate(NOW + 3).expect("rotate");
    let ring = &*ring;
    let old_raw = raw_key(SecretKey::generate().expect("key").expose());
    for (size, pt, old) in &sizes_and_tokens {
        let raw_token = raw_seal(&old_raw, CONTEXT, pt);
        group.throughput(Throughput::Bytes(*size as u64));
        group.bench_function(BenchmarkId::new("raw_aws_lc_rs", size), |b| {
            b.iter(|| {
                let pt = raw_open(&old_raw, CONTEXT, black_box(&raw_token));
                raw_seal(raw, CONTEXT, &pt)
            })
        });
        group.bench_function(BenchmarkId::new("keyroll_binary", size), |b| {
            b.iter(|| ring.rewrap_binary(black_box(old), CONTEXT).expect("rewrap"))
        });
    }
    group.finish();
}

fn bench_keyring_open(c: &mut Criterion, ring: &Keyring) {
    let master = SecretKey::generate().expect("key");
    let by_master = ring
        .to_document(Protection::MasterKey(&master))
        .expect("document");
    let by_passphrase = ring
        .to_document(Protection::Passphrase {
            passphrase: b"correct horse battery staple",
            iterations: DEFAULT_PBKDF2_ITERATIONS,
        })
        .expect("document");
    let mut group = c.benchmark_group("keyring_open");
    group.bench_function("master_key", |b| {
        b.iter(|| {
            Keyring::from_document(black_box(&by_master), Unlock::MasterKey(&master)).expect("open")
        })
    });
    // 600,000 PBKDF2 iterations: a handful of runs, once each.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("passphrase_600k", |b| {
        b.iter(|| {
            Keyring::from_document(
                black_box(&by_passphrase),
                Unlock::Passphrase(b"correct horse battery staple"),
            )
            .expect("open")
        })
    });
    group.finish();
}

/// Per-operation time of `a` and `b` in ns, measured in alternating blocks of ~2 ms and
/// taking each one's fastest block. On a shared machine, load comes and goes; alternating
/// the two and keeping the best block of each compares them under the same conditions.
fn paired(mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let mut block = 1u32;
    loop {
        let t = std::time::Instant::now();
        for _ in 0..block {
            a();
        }
        if t.elapsed() > Duration::from_millis(2) || block >= 1 << 24 {
            break;
        }
        block *= 2;
    }
    let (mut best_a, mut best_b) = (f64::INFINITY, f64::INFINITY);
    for round in 0..ROUNDS {
        let time = |f: &mut dyn FnMut()| {
            let t = std::time::Instant::now();
            for _ in 0..block {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(block)
        };
        if round % 2 == 0 {
            best_a = best_a.min(time(&mut a));
            best_b = best_b.min(time(&mut b));
        } else {
            best_b = best_b.min(time(&mut b));
            best_a = best_a.min(time(&mut a));
        }
    }
    (best_a, best_b)
}

const ROUNDS: usize = 60;

fn human_rate(size: usize, ns: f64) -> String {
    let ops = 1e9 / ns;
    let bytes = ops * size as f64;
    if size >= 1024 {
        format!("{:.2} GB/s", bytes / 1e9)
    } else {
        format!("{:.2} M ops/s", ops / 1e6)
    }
}

fn label(size: usize) -> String {
    if size >= 1024 {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// Where the small-message overhead goes: the nonce draw, and the longer associated data
/// (keyroll authenticates its 26-byte header besides the caller's context).
fn print_breakdown(ring: &Keyring, raw: &LessSafeKey) {
    let token = ring
        .encrypt_binary(&[0xA5; 64], CONTEXT, Some(NOW))
        .expect("encrypt");
    let active = ring.active_version().expect("active");
    let (lookup_ns, header_ns) = paired(
        || {
            black_box(ring.version(black_box(active)));
        },
        || drop(black_box(ring.needs_rewrap(black_box(&token)))),
    );
    println!(
        "keyroll bookkeeping: version lookup (HashMap, FxHash) {lookup_ns:.1} ns; \
         needs_rewrap (header parse + active-key lookup) {header_ns:.1} ns"
    );
    let mut nonce = [0u8; 12];
    let (fill_ns, _) = paired(
        || aws_lc_rs::rand::fill(black_box(&mut nonce)).expect("rng"),
        || {},
    );
    let pt = [0xA5u8; 64];
    let long_aad = [CONTEXT, &[0u8; 26][..]].concat();
    let short = raw_seal(raw, CONTEXT, &pt);
    let long = raw_seal(raw, &long_aad, &pt);
    let (short_ns, long_ns) = paired(
        || drop(black_box(raw_open(raw, CONTEXT, black_box(&short)))),
        || drop(black_box(raw_open(raw, &long_aad, black_box(&long)))),
    );
    let secret = SecretKey::from_bytes([7; 32]);
    let (raw7, keyroll7) = (
        raw_key(secret.expose()),
        keyroll::aead::AeadKey::new(&secret),
    );
    let token = raw_seal(&raw7, CONTEXT, &pt);
    let nonce: [u8; 12] = token[..12].try_into().expect("nonce");
    let (raw_ns, aead_ns) = paired(
        || drop(black_box(raw_open(&raw7, CONTEXT, black_box(&token)))),
        || {
            drop(black_box(keyroll7.open(
                &nonce,
                CONTEXT,
                black_box(&token[12..]),
            )))
        },
    );
    println!("open of 64 B: raw {raw_ns:.0} ns, keyroll::aead::AeadKey::open {aead_ns:.0} ns");
    println!(
        "aws_lc_rs::rand::fill of a 12-byte nonce: {fill_ns:.0} ns; raw open of 64 B with a \
         {}-byte AAD: {short_ns:.0} ns, with keyroll's {}-byte AAD (header + context): {long_ns:.0} ns",
        CONTEXT.len(),
        long_aad.len()
    );
}

/// The table of `docs/benchmarks.md`: keyroll against raw aws-lc-rs, paired.
fn print_summary(ring: &Keyring, raw: &LessSafeKey) {
    let old_raw = raw_key(SecretKey::generate().expect("key").expose());
    println!();
    println!(
        "Paired runs ({ROUNDS} alternating blocks of ~2 ms each, best block), AEAD backend {}:",
        keyroll::aead::BACKEND
    );
    println!(
        "| operation | size | raw aws-lc-rs | keyroll binary | ratio | keyroll text | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for op in ["encrypt", "decrypt", "rewrap"] {
        for size in SIZES {
            let pt = vec![0xA5u8; size];
            let text_token = ring.encrypt(&pt, CONTEXT, Some(NOW)).expect("encrypt");
            let bin_token = ring
                .encrypt_binary(&pt, CONTEXT, Some(NOW))
                .expect("encrypt");
            let raw_token = raw_seal(raw, CONTEXT, &pt);
            let old_token = raw_seal(&old_raw, CONTEXT, &pt);
            let run_raw = || match op {
                "encrypt" => drop(black_box(raw_seal(raw, CONTEXT, black_box(&pt)))),
                "decrypt" => drop(black_box(raw_open(raw, CONTEXT, black_box(&raw_token)))),
                _ => {
                    let pt = raw_open(&old_raw, CONTEXT, black_box(&old_token));
                    drop(black_box(raw_seal(raw, CONTEXT, &pt)))
                }
            };
            let (pt, bin_token, text_token) = (&pt, &bin_token, &text_token);
            let run_keyroll = |text: bool| {
                move || match (op, text) {
                    ("encrypt", false) => drop(black_box(ring.encrypt_binary(
                        black_box(pt),
                        CONTEXT,
                        Some(NOW),
                    ))),
                    ("encrypt", true) => {
                        drop(black_box(ring.encrypt(black_box(pt), CONTEXT, Some(NOW))))
                    }
                    ("decrypt", false) => {
                        drop(black_box(ring.decrypt(black_box(bin_token), CONTEXT, None)))
                    }
                    ("decrypt", true) => drop(black_box(ring.decrypt(
                        black_box(text_token.as_bytes()),
                        CONTEXT,
                        None,
                    ))),
                    _ => drop(black_box(ring.rewrap_binary(black_box(bin_token), CONTEXT))),
                }
            };
            let (raw_ns, bin_ns) = paired(run_raw, run_keyroll(false));
            let text = if TEXT_SIZES.contains(&size) && op != "rewrap" {
                let (raw_ns2, text_ns) = paired(run_raw, run_keyroll(true));
                format!(
                    "{} | {:.2}×",
                    human_rate(size, text_ns),
                    raw_ns.min(raw_ns2) / text_ns
                )
            } else {
                "– | –".to_owned()
            };
            println!(
                "| {op} | {} | {} | {} | **{:.2}×** | {text} |",
                label(size),
                human_rate(size, raw_ns),
                human_rate(size, bin_ns),
                raw_ns / bin_ns,
            );
        }
    }
}

fn main() {
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"));
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .output_directory(&dir)
        .configure_from_args();
    let (mut ring, raw) = fixture();
    let table = std::env::var("KEYROLL_BENCH_TABLE").unwrap_or_default();
    if table != "only" {
        bench_seal(&mut c, &ring, &raw);
        bench_open(&mut c, &ring, &raw);
        bench_keyring_open(&mut c, &ring);
        bench_rewrap(&mut c, &mut ring, &raw);
        c.final_summary();
    }
    // The paired table follows unless profiling; KEYROLL_BENCH_TABLE=0 skips it and
    // KEYROLL_BENCH_TABLE=only skips criterion's runs.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profiling = args.iter().any(|a| a == "--profile-time");
    if args.iter().any(|a| a == "--bench") && !profiling && table != "0" {
        print_summary(&ring, &raw);
        print_breakdown(&ring, &raw);
    }
}
