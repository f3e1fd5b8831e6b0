//! DER (X.690) read one element at a time, over asn1-rs (x509-parser's own reader, which
//! decodes each tag and length), and written back where a structure must be re-encoded: the
//! CMS signed attributes under their SET tag (RFC 3161 timestamps), a certificate's TBS without
//! its SCT extension (RFC 6962). Nothing here recurses: a hostile input is read as deep as the
//! caller walks it, no deeper.

use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer, Oid, Tag};

/// A reader over the elements of one DER value's content.
pub struct Elements<'a> {
    rest: &'a [u8],
}

impl<'a> Elements<'a> {
    /// The elements of `content`, a constructed value's content.
    pub fn within(content: &'a [u8]) -> Elements<'a> {
        Elements { rest: content }
    }

    /// Whether every element has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The elements inside `bytes`, which must be one `tag` value (a universal SEQUENCE or
    /// SET, say) with nothing after it.
    pub fn of(bytes: &'a [u8], tag: Tag) -> Result<Elements<'a>, String> {
        let (rest, any) = Any::from_der(bytes).map_err(|_| "not DER".to_string())?;
        if !rest.is_empty() || any.tag() != tag || !any.header.is_constructed() {
            return Err("a structure other than RFC 3161 and CMS lay out".to_string());
        }
        Ok(Elements { rest: any.data })
    }

    /// The next element, or an error naming `what` was expected.
    pub fn next(&mut self, what: &str) -> Result<Any<'a>, String> {
        let (rest, any) =
            Any::from_der(self.rest).map_err(|_| format!("no {what} where one is due"))?;
        self.rest = rest;
        Ok(any)
    }

    /// The next element's whole encoding (tag and length included).
    pub fn next_raw(&mut self, what: &str) -> Result<(Any<'a>, &'a [u8]), String> {
        let before = self.rest;
        let any = self.next(what)?;
        Ok((any, &before[..before.len() - self.rest.len()]))
    }

    /// The next element if it is context-specific `[number]`.
    pub fn context(&mut self, number: u32) -> Option<Any<'a>> {
        let (rest, any) = Any::from_der(self.rest).ok()?;
        if any.class() != Class::ContextSpecific || any.tag() != Tag(number) {
            return None;
        }
        self.rest = rest;
        Some(any)
    }

    pub fn oid(&mut self, what: &str) -> Result<Oid<'a>, String> {
        let any = self.next(what)?;
        Oid::try_from(any).map_err(|_| format!("{what} that is not an object identifier"))
    }

    /// An AlgorithmIdentifier's OID (its parameters are not read).
    pub fn algorithm(&mut self, what: &str) -> Result<Oid<'a>, String> {
        let (_, raw) = self.next_raw(what)?;
        Elements::of(raw, Tag::Sequence)?.oid(what)
    }
}

/// A DER length (X.690 §8.1.3): short form below 128, else the big-endian bytes after their
/// count.
pub fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![length as u8];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// `tag`, the DER length of `content`, `content`.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_length(content.len()));
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_are_short_below_128_and_long_above() {
        assert_eq!(der_length(5), [5]);
        assert_eq!(der_length(127), [127]);
        assert_eq!(der_length(128), [0x81, 128]);
        assert_eq!(der_length(300), [0x82, 1, 44]);
        assert_eq!(encode(0x04, b"ab"), [0x04, 2, b'a', b'b']);
    }
}
