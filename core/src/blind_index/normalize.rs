//! The normalisers a blind index applies before its MAC (`docs/wire-format.md` §11.2).
//!
//! A normaliser decides which inputs count as "the same value": everything it maps to the
//! same bytes gets the same index. Its canonical name is part of the index key's derivation
//! label, so two indexes that normalise differently never share a key, and the set is closed:
//! combinations that would behave like another one (anything with `digits`) are refused
//! rather than given a second name.

use crate::{Error, Result};
use caseless::Caseless;
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// How a value is normalised before it is indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Normalizer {
    /// The bytes as given, any bytes (not necessarily UTF-8): no Unicode normalisation, so a
    /// composed `é` and `e` + U+0301 differ.
    Exact,
    /// UTF-8 text with leading and trailing Unicode `White_Space` removed (what Rust's
    /// `str::trim` removes; the 25 code points are listed in the spec).
    Trim,
    /// Unicode compatibility caseless matching (Unicode §3.13, D146): NFKC(toCasefold(NFKD(
    /// toCasefold(NFD(x))))), full case folding. `Straße`, `STRASSE` and `ｓｔｒａｓｓｅ`
    /// match; surrounding spaces still count.
    CaseFold,
    /// [`Normalizer::CaseFold`], then [`Normalizer::Trim`]: what e-mail addresses and user
    /// names typed into forms usually want.
    TrimCaseFold,
    /// NFKC (so full-width `１２３` becomes `123`), then only the ASCII digits 0–9 kept:
    /// phone and card numbers written with spaces, dashes or dots match. Digits of other
    /// scripts (e.g. U+0663) are dropped, not converted.
    Digits,
}

impl Normalizer {
    /// Every normaliser, in the order of the spec.
    pub const ALL: [Normalizer; 5] = [
        Normalizer::Exact,
        Normalizer::Trim,
        Normalizer::CaseFold,
        Normalizer::TrimCaseFold,
        Normalizer::Digits,
    ];

    /// The canonical name, as in the derivation label and every binding.
    pub fn as_str(self) -> &'static str {
        match self {
            Normalizer::Exact => "exact",
            Normalizer::Trim => "trim",
            Normalizer::CaseFold => "casefold",
            Normalizer::TrimCaseFold => "trim+casefold",
            Normalizer::Digits => "digits",
        }
    }

    /// Parses a name: one of the canonical names, or `casefold+trim` (the same as
    /// `trim+casefold`: the steps always run in the spec's order).
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "exact" => Normalizer::Exact,
            "trim" => Normalizer::Trim,
            "casefold" => Normalizer::CaseFold,
            "trim+casefold" | "casefold+trim" => Normalizer::TrimCaseFold,
            "digits" => Normalizer::Digits,
            _ => {
                return Err(Error::InvalidArgument(
                    "unknown normaliser: use exact, trim, casefold, trim+casefold or digits",
                ))
            }
        })
    }

    /// The bytes the index MACs for `value`. Every normaliser but `exact` needs UTF-8 text
    /// ([`Error::InvalidArgument`] otherwise). The result may be empty (e.g. `digits` of a
    /// value with no digits): empty is indexed like any other value. An owned result holds the
    /// caller's value: [`crate::BlindIndex`] wipes it after use.
    pub fn apply(self, value: &[u8]) -> Result<Cow<'_, [u8]>> {
        if self == Normalizer::Exact {
            return Ok(Cow::Borrowed(value));
        }
        let text = core::str::from_utf8(value)
            .map_err(|_| Error::InvalidArgument("this blind-index normaliser needs UTF-8 text"))?;
        Ok(match self {
            Normalizer::Exact | Normalizer::Trim => Cow::Borrowed(text.trim().as_bytes()),
            Normalizer::CaseFold => Cow::Owned(fold(text).as_bytes().to_vec()),
            Normalizer::TrimCaseFold => Cow::Owned(fold(text).trim().as_bytes().to_vec()),
            // ASCII is its own NFKC: skip the normaliser on the common case.
            Normalizer::Digits if text.is_ascii() => {
                Cow::Owned(text.bytes().filter(u8::is_ascii_digit).collect())
            }
            Normalizer::Digits => Cow::Owned(
                text.nfkc()
                    .filter(char::is_ascii_digit)
                    .map(|c| c as u8)
                    .collect(),
            ),
        })
    }
}

/// Compatibility caseless folding (D146), composed at the end so the bytes are short.
///
/// ASCII takes a shortcut with the same result, ~10x faster (most e-mail addresses and user
/// names are ASCII, or nearly): no ASCII character has a decomposition, NFD/NFKD/NFKC leave it
/// as it is, and full case folding maps exactly `A`-`Z` to `a`-`z` there (`CaseFolding.txt`).
/// In mixed text only the non-ASCII runs go through the Unicode pipeline: a run is cut before
/// an ASCII character, because an ASCII character is a starter (combining class 0) that is
/// never the second half of a composition, so no stage (folding is per character; the
/// normalisations reorder only non-starters and compose only onto a preceding starter) can
/// join what lies on either side of it. An ASCII character followed by a non-ASCII one stays in
/// the run (`e` + U+0301 composes). Checked against the full pipeline for every ASCII
/// character and for random mixtures of ASCII and tricky code points by the unit tests.
pub(super) fn fold(text: &str) -> Zeroizing<String> {
    if text.is_ascii() {
        return Zeroizing::new(text.to_ascii_lowercase());
    }
    let bytes = text.as_bytes();
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut run = 0; // start of the pending run for the Unicode pipeline
    for (i, &b) in bytes.iter().enumerate() {
        // Only ASCII bytes cut: they are always char boundaries in UTF-8.
        if b.is_ascii() && bytes.get(i + 1).map_or(true, u8::is_ascii) {
            if run < i {
                out.push_str(&fold_unicode(&text[run..i]));
            }
            out.push(char::from(b.to_ascii_lowercase()));
            run = i + 1;
        }
    }
    if run < bytes.len() {
        out.push_str(&fold_unicode(&text[run..]));
    }
    out
}

/// The full pipeline of [`fold`].
pub(super) fn fold_unicode(text: &str) -> Zeroizing<String> {
    Zeroizing::new(
        text.chars()
            .nfd()
            .default_case_fold()
            .nfkd()
            .default_case_fold()
            .nfkc()
            .collect(),
    )
}

impl core::fmt::Display for Normalizer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Normalizer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Normalizer::parse(s)
    }
}
