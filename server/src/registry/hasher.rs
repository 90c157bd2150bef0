//! A SHA-256 / SHA-512 hasher whose running state can be saved in the `blobupload` row and
//! resumed by any pod, so a chunked upload needs no re-read of what was already received.
//!
//! Saved form (`blobupload.sha_state`), one line of ASCII fields separated by spaces:
//! `v1 <algorithm> <total bytes> <state> <pending>`, where `<state>` is the eight chaining words in
//! big-endian hex (64 hex digits for sha256, 128 for sha512) and `<pending>` is the hex of the
//! bytes not yet compressed (fewer than one block; `-` when none). Example of a fresh sha256 state:
//! `v1 sha256 0 6a09e667bb67ae85...5be0cd19 -`. Python Quay's pickled states are not readable
//! here (and ours not there): an upload is finished by the implementation that started it.

use sha2::block_api::{compress256, compress512};
use std::fmt::Write as _;

const SHA256_IV: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const SHA512_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The algorithm of a digest string (`sha256:…` / `sha512:…`).
    pub fn of_digest(digest: &str) -> Option<Algorithm> {
        match digest.split_once(':')?.0 {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
    fn block(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Words {
    S256([u32; 8]),
    S512([u64; 8]),
}

/// A resumable hasher: feed bytes with [`update`](Self::update), save with
/// [`save`](Self::save), restore with [`restore`](Self::restore), finish with
/// [`digest`](Self::digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hasher {
    words: Words,
    total: u64,
    pending: Vec<u8>,
}

impl Hasher {
    pub fn new(alg: Algorithm) -> Self {
        let words = match alg {
            Algorithm::Sha256 => Words::S256(SHA256_IV),
            Algorithm::Sha512 => Words::S512(SHA512_IV),
        };
        Hasher { words, total: 0, pending: Vec::with_capacity(alg.block()) }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self.words {
            Words::S256(_) => Algorithm::Sha256,
            Words::S512(_) => Algorithm::Sha512,
        }
    }

    /// Bytes hashed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        let block = self.algorithm().block();
        if !self.pending.is_empty() {
            let take = (block - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < block {
                return;
            }
            let full = std::mem::take(&mut self.pending);
            self.compress(&full);
        }
        let whole = data.len() - data.len() % block;
        self.compress(&data[..whole]);
        self.pending.extend_from_slice(&data[whole..]);
    }

    /// Compresses whole blocks.
    fn compress(&mut self, blocks: &[u8]) {
        match &mut self.words {
            Words::S256(w) => {
                let (chunks, _) = blocks.as_chunks::<64>();
                compress256(w, chunks);
            }
            Words::S512(w) => {
                let (chunks, _) = blocks.as_chunks::<128>();
                compress512(w, chunks);
            }
        }
    }

    /// The `algorithm:hex` digest of everything fed so far (the hasher itself is unchanged).
    pub fn digest(&self) -> String {
        let mut h = self.clone();
        let block = h.algorithm().block();
        let len_field = if block == 64 { 8 } else { 16 };
        let bits = u128::from(h.total) * 8;
        let mut tail = std::mem::take(&mut h.pending);
        tail.push(0x80);
        while tail.len() % block != block - len_field {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes()[16 - len_field..]);
        h.compress(&tail);
        let mut out = format!("{}:", h.algorithm().name());
        match h.words {
            Words::S256(w) => w.iter().for_each(|x| {
                let _ = write!(out, "{x:08x}");
            }),
            Words::S512(w) => w.iter().for_each(|x| {
                let _ = write!(out, "{x:016x}");
            }),
        }
        out
    }

    /// The saved form described in the module documentation.
    pub fn save(&self) -> String {
        let mut out = format!("v1 {} {} ", self.algorithm().name(), self.total);
        match &self.words {
            Words::S256(w) => w.iter().for_each(|x| {
                let _ = write!(out, "{x:08x}");
            }),
            Words::S512(w) => w.iter().for_each(|x| {
                let _ = write!(out, "{x:016x}");
            }),
        }
        out.push(' ');
        if self.pending.is_empty() {
            out.push('-');
        }
        for b in &self.pending {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// Reads a saved form; `None` when it is not one (e.g. a Python pickle).
    pub fn restore(saved: &str) -> Option<Hasher> {
        let mut f = saved.split(' ');
        if f.next()? != "v1" {
            return None;
        }
        let alg = match f.next()? {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        };
        let total: u64 = f.next()?.parse().ok()?;
        let state = f.next()?;
        let pending_hex = f.next()?;
        if f.next().is_some() {
            return None;
        }
        let words = match alg {
            Algorithm::Sha256 if state.len() == 64 => {
                let mut w = [0u32; 8];
                for (i, x) in w.iter_mut().enumerate() {
                    *x = u32::from_str_radix(state.get(i * 8..i * 8 + 8)?, 16).ok()?;
                }
                Words::S256(w)
            }
            Algorithm::Sha512 if state.len() == 128 => {
                let mut w = [0u64; 8];
                for (i, x) in w.iter_mut().enumerate() {
                    *x = u64::from_str_radix(state.get(i * 16..i * 16 + 16)?, 16).ok()?;
                }
                Words::S512(w)
            }
            _ => return None,
        };
        let pending = if pending_hex == "-" { Vec::new() } else { hex_decode(pending_hex)? };
        if pending.len() >= alg.block() || (total % alg.block() as u64) != pending.len() as u64 {
            return None;
        }
        Some(Hasher { words, total, pending })
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The digest of a whole byte string.
pub fn digest_of(alg: Algorithm, bytes: &[u8]) -> String {
    let mut h = Hasher::new(alg);
    h.update(bytes);
    h.digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn reference(alg: Algorithm, data: &[u8]) -> String {
        let hex: String = match alg {
            Algorithm::Sha256 => sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).iter().map(|b| format!("{b:02x}")).collect(),
        };
        format!("{}:{hex}", alg.name())
    }

    #[test]
    fn matches_sha2_for_every_length_and_split() {
        let data: Vec<u8> = (0..600u32).map(|i| (i * 31 % 251) as u8).collect();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            for len in [0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 300, 600] {
                let expected = reference(alg, &data[..len]);
                assert_eq!(digest_of(alg, &data[..len]), expected, "{alg:?} len {len}");
                for split in [0, 1.min(len), len / 2, len.saturating_sub(1), len] {
                    let mut h = Hasher::new(alg);
                    h.update(&data[..split]);
                    let saved = h.save();
                    let mut resumed = Hasher::restore(&saved).expect("restores");
                    assert_eq!(resumed, h);
                    resumed.update(&data[split..len]);
                    assert_eq!(resumed.digest(), expected, "{alg:?} len {len} split {split}");
                    assert_eq!(resumed.len(), len as u64);
                }
            }
        }
    }

    #[test]
    fn known_empty_digest_and_saved_form() {
        let h = Hasher::new(Algorithm::Sha256);
        assert_eq!(h.digest(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(
            h.save(),
            "v1 sha256 0 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19 -"
        );
    }

    #[test]
    fn refuses_foreign_or_inconsistent_states() {
        for bad in [
            "",
            "gANjcmVzdW1hYmxlc2hhMjU2",
            "v1 md5 0 00 -",
            "v1 sha256 3 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19 -",
            "v1 sha256 1 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19 zz",
            "v1 sha256 0 6a09 -",
        ] {
            assert!(Hasher::restore(bad).is_none(), "{bad:?}");
        }
    }
}
