//! No nonce is ever shared between a process and its fork, whichever way the fork is made.
//!
//! A child made by `syscall(SYS_fork)`, `syscall(SYS_clone, SIGCHLD)` or glibc's `_Fork()`
//! runs no `pthread_atfork` handlers, so any random bytes a library keeps across calls are
//! copied into the child and handed out twice. keyroll keeps none: each encrypt draws its nonce
//! from AWS-LC at the time of the call, and AWS-LC's generator notices the fork itself
//! (`MADV_WIPEONFORK`). This test forks each way after the process has already encrypted, has
//! parent and child encrypt the same number of messages, and compares every nonce.
//!
//! Everything runs in one `#[test]` so that no other test thread holds a lock (malloc's, say)
//! at the moment of a raw fork.
#![cfg(all(target_os = "linux", not(feature = "rustcrypto")))]
#![allow(unsafe_code, clippy::unwrap_used)]

use keyroll::envelope::{HEADER_LEN, HEADER_LEN_WITH_TIME};
use keyroll::Keyring;
use std::collections::HashSet;

const PER_PROCESS: usize = 300;
const NONCE: usize = 12;

extern "C" {
    /// glibc ≥ 2.34: fork without running atfork handlers.
    fn _Fork() -> libc::pid_t;
}

/// How the child is made.
#[derive(Debug, Clone, Copy)]
enum How {
    RawForkSyscall,
    RawCloneSyscall,
    GlibcUnderscoreFork,
    LibcFork,
}

fn make_child(how: How) -> libc::pid_t {
    // SAFETY: each call creates a child that only encrypts, writes to a pipe and `_exit`s.
    unsafe {
        match how {
            How::RawForkSyscall => libc::syscall(libc::SYS_fork) as libc::pid_t,
            How::RawCloneSyscall => libc::syscall(
                libc::SYS_clone,
                libc::SIGCHLD as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
            ) as libc::pid_t,
            How::GlibcUnderscoreFork => _Fork(),
            How::LibcFork => libc::fork(),
        }
    }
}

/// The nonces of `n` fresh envelopes, concatenated, drawn one encrypt call at a time.
fn nonces(ring: &Keyring, n: usize, issued_at: Option<u64>) -> Vec<u8> {
    let header = if issued_at.is_some() {
        HEADER_LEN_WITH_TIME
    } else {
        HEADER_LEN
    };
    let mut out = Vec::with_capacity(n * NONCE);
    for _ in 0..n {
        let env = ring.encrypt_binary(b"m", b"ctx", issued_at).unwrap();
        out.extend_from_slice(&env[header..header + NONCE]);
    }
    out
}

/// The nonces of one `encrypt_many` batch (text form, decoded back to the binary nonce).
fn batch_nonces(ring: &Keyring, n: usize) -> Vec<u8> {
    let items = vec![b"m".as_slice(); n];
    let mut out = Vec::with_capacity(n * NONCE);
    for token in ring.encrypt_many(&items, b"ctx", None).unwrap() {
        use base64::Engine as _;
        let body = token.rsplit(':').next().unwrap();
        let binary = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        out.extend_from_slice(&binary[HEADER_LEN..HEADER_LEN + NONCE]);
    }
    out
}

fn read_all(fd: libc::c_int) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is a valid writable buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    out
}

fn write_all(fd: libc::c_int, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: `data` is a valid readable buffer of the given length.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n <= 0 {
            return;
        }
        data = &data[n as usize..];
    }
}

/// Forks `how`; parent and child each produce nonces with `draw`; returns (parent, child).
fn fork_and_draw(how: How, draw: &dyn Fn() -> Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = make_child(how);
    assert!(pid >= 0, "{how:?} failed");
    if pid == 0 {
        // Child: draw, send, and leave without running any destructor or test harness code.
        let mine = draw();
        write_all(fds[1], &mine);
        // SAFETY: `_exit` ends the child at once, as a forked child must.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: closing our copy of the write end so that `read_all` sees EOF.
    unsafe { libc::close(fds[1]) };
    let parent = draw();
    let child = read_all(fds[0]);
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    unsafe {
        libc::close(fds[0]);
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    (parent, child)
}

fn shared(a: &[u8], b: &[u8]) -> usize {
    let theirs: HashSet<&[u8]> = b.chunks(NONCE).collect();
    a.chunks(NONCE).filter(|n| theirs.contains(n)).count()
}

#[test]
fn no_nonce_is_shared_across_any_kind_of_fork() {
    let ring = Keyring::generate(1_700_000_000).unwrap();
    let mut report = Vec::new();
    for how in [
        How::RawForkSyscall,
        How::RawCloneSyscall,
        How::GlibcUnderscoreFork,
        How::LibcFork,
    ] {
        for (name, draw) in [
            (
                "encrypt",
                &(|| nonces(&ring, PER_PROCESS, Some(1))) as &dyn Fn() -> Vec<u8>,
            ),
            ("encrypt_many", &|| batch_nonces(&ring, PER_PROCESS)),
        ] {
            // The process has encrypted just before the fork: whatever it might keep is warm.
            let _ = nonces(&ring, 3, None);
            let (parent, child) = fork_and_draw(how, draw);
            assert_eq!(parent.len(), PER_PROCESS * NONCE);
            assert_eq!(
                child.len(),
                PER_PROCESS * NONCE,
                "{how:?}/{name}: child output"
            );
            report.push((how, name, shared(&parent, &child)));
        }
    }
    let bad: Vec<_> = report.iter().filter(|r| r.2 > 0).collect();
    assert!(
        bad.is_empty(),
        "nonces shared between parent and child: {bad:?}"
    );
}
