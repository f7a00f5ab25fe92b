//! AK/SK request signing as the official Huawei Cloud clients do it (`SDK-HMAC-SHA256`, the
//! default, and `SDK-HMAC-SM3`), verified as Huawei's API gateway verifies it: parsing
//! `Authorization` (only `x-sdk-date` must be signed), the `X-Sdk-Date` window, the canonical
//! request rebuilt from the request as received (raw path, raw query, header bytes, body bytes),
//! and the constant-time comparison.
//!
//! This module owns the algorithm only. Looking up the secret key by access key, checking
//! `X-Project-Id` against the path (signed or not) and turning a [`SignatureError`] into a
//! response belong to the caller (`api::extract`). "§N" below cites the sections of
//! docs/signing.md (studied from the Python SDK and the Go signers).
//!
//! Nothing here panics on any input, and no error message carries the secret key, the signature
//! or any other credential: messages are short reasons that may be sent to the client.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use sm3::Sm3;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// How far `X-Sdk-Date` may be from the server's clock, in either direction. The SDK enforces no
/// window; 15 minutes is what Huawei's API gateway applies (§7 step 4).
pub const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(15);

/// The signing algorithms vpcep verifies. The others the SDK knows (§1, §9) are refused: the
/// derived-key `V11-HMAC-SHA256` is never used by `VpcepClient`, and the ECDSA/SM2 variants are
/// opt-in and randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSm3,
}

impl Algorithm {
    /// The first word of `Authorization` and the first line of the string to sign.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "SDK-HMAC-SHA256",
            Algorithm::HmacSm3 => "SDK-HMAC-SM3",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "SDK-HMAC-SHA256" => Some(Algorithm::HmacSha256),
            "SDK-HMAC-SM3" => Some(Algorithm::HmacSm3),
            _ => None,
        }
    }

    /// The header that may carry the payload hash (§3.5); SM3 has its own name (§9).
    fn content_header(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "x-sdk-content-sha256",
            Algorithm::HmacSm3 => "x-sdk-content-sm3",
        }
    }

    /// The same name as the SDK spells it, for messages.
    fn content_header_display(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "X-Sdk-Content-Sha256",
            Algorithm::HmacSm3 => "X-Sdk-Content-Sm3",
        }
    }

    /// Lowercase hex of the algorithm's hash: SM3 replaces SHA-256 everywhere (§9).
    fn hash_hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::HmacSha256 => hex::encode(Sha256::digest(data)),
            Algorithm::HmacSm3 => hex::encode(Sm3::digest(data)),
        }
    }

    /// HMAC keyed with the secret key's UTF-8 bytes, as is (§5), compared in constant time.
    fn signature_matches(self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        match self {
            Algorithm::HmacSha256 => mac_matches::<Hmac<Sha256>>(key, message, signature),
            Algorithm::HmacSm3 => mac_matches::<Hmac<Sm3>>(key, message, signature),
        }
    }
}

fn mac_matches<M: Mac + KeyInit>(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    // HMAC takes keys of any length, so this never fails; an error still only means "no match".
    match <M as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.verify_slice(signature).is_ok()
        }
        Err(_) => false,
    }
}

/// Signature schemes of the SDK that vpcep recognises by name but does not verify (§1, §9). Any
/// other scheme is not named back: a client that put its token in `Authorization` by mistake
/// must not find it echoed in the 401.
const KNOWN_UNSUPPORTED: [&str; 3] = ["V11-HMAC-SHA256", "SDK-ECDSA-P256-SHA256", "SDK-SM2-SM3"];

/// Why a signed request is refused. Each message is a short reason that is safe to send: it
/// never holds the secret key, the signature or a header value.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the Authorization header is repeated or not valid UTF-8")]
    BadAuthorizationHeader,
    #[error("{0}")]
    MalformedAuthorization(&'static str),
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(&'static str),
    #[error("unsupported Authorization scheme: SDK-HMAC-SHA256 or SDK-HMAC-SM3 is required")]
    UnsupportedScheme,
    #[error("X-Sdk-Date must be among the signed headers")]
    DateNotSigned,
    #[error("signed header {0} is missing")]
    MissingSignedHeader(String),
    #[error("signed header {0} is repeated")]
    RepeatedSignedHeader(String),
    #[error("signed header {0} is not valid UTF-8")]
    SignedHeaderNotUtf8(String),
    #[error("X-Sdk-Date is missing")]
    MissingDate,
    #[error("X-Sdk-Date must be one value of the form YYYYMMDDTHHMMSSZ")]
    MalformedDate,
    #[error("X-Sdk-Date is more than 15 minutes from the server's time")]
    DateOutOfWindow,
    #[error("the request path has a malformed percent-escape or is not UTF-8")]
    MalformedPath,
    #[error("the query string has a malformed percent-escape")]
    MalformedQuery,
    #[error("UNSIGNED-PAYLOAD is not accepted")]
    UnsignedPayload,
    #[error("{0} must be one value: UNSIGNED-PAYLOAD or the hex hash of the body")]
    ContentHashMismatch(&'static str),
    #[error("the signature does not match")]
    Mismatch,
}

/// Parsed `Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex` (§2).
#[derive(Clone)]
pub struct Authorization {
    pub algorithm: Algorithm,
    pub access_key: String,
    /// Lower-case, sorted, unique, and holding `x-sdk-date`.
    pub signed_headers: Vec<String>,
    /// The 32 decoded bytes.
    signature: Vec<u8>,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization")
            .field("algorithm", &self.algorithm)
            .field("access_key", &self.access_key)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"<redacted>")
            .finish()
    }
}

impl Authorization {
    /// `None` when the request has no `Authorization` header at all: it is not a signed request,
    /// and the caller tries other authentication. Any `Authorization` header is a signing
    /// attempt, so a scheme other than ours is an error, not `None`.
    pub fn from_headers(headers: &HeaderMap) -> Option<Result<Self, SignatureError>> {
        let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
        let first = values.next()?;
        if values.next().is_some() {
            return Some(Err(SignatureError::BadAuthorizationHeader));
        }
        Some(
            std::str::from_utf8(first.as_bytes())
                .map_err(|_| SignatureError::BadAuthorizationHeader)
                .and_then(Self::parse),
        )
    }

    /// The scheme up to the first space, then comma-separated `key=value` fields, each trimmed
    /// (§7 step 2). The SDK sends exactly `Access`, `SignedHeaders` and `Signature`, each once;
    /// anything else is refused rather than guessed at.
    pub fn parse(value: &str) -> Result<Self, SignatureError> {
        use SignatureError::MalformedAuthorization as Malformed;

        let value = trim_ows(value);
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let algorithm = Algorithm::from_name(scheme).ok_or_else(|| {
            match KNOWN_UNSUPPORTED.iter().find(|known| **known == scheme) {
                Some(known) => SignatureError::UnsupportedAlgorithm(known),
                None => SignatureError::UnsupportedScheme,
            }
        })?;

        let (mut access, mut signed, mut signature) = (None, None, None);
        for field in rest.split(',') {
            let (key, val) = trim_ows(field).split_once('=').ok_or(Malformed(
                "an Authorization field is not of the form key=value",
            ))?;
            let slot = match trim_ows(key) {
                "Access" => &mut access,
                "SignedHeaders" => &mut signed,
                "Signature" => &mut signature,
                _ => return Err(Malformed("unknown Authorization field")),
            };
            if slot.replace(trim_ows(val)).is_some() {
                return Err(Malformed("repeated Authorization field"));
            }
        }

        let access_key = access
            .filter(|a| !a.is_empty())
            .ok_or(Malformed("Authorization lacks Access"))?;
        let signed_headers =
            parse_signed_headers(signed.ok_or(Malformed("Authorization lacks SignedHeaders"))?)?;
        let signature = signature.ok_or(Malformed("Authorization lacks Signature"))?;
        // The SDK always sends 64 lower-case hex digits (§2, §5), and the reference verifier
        // compares the hex text, so an upper-case spelling is refused: one request, one form.
        let lower_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        if signature.len() != 64 || !signature.bytes().all(lower_hex) {
            return Err(Malformed("Signature must be 64 lower-case hex digits"));
        }
        let signature = hex::decode(signature)
            .map_err(|_| Malformed("Signature must be 64 lower-case hex digits"))?;

        Ok(Authorization {
            algorithm,
            access_key: access_key.to_owned(),
            signed_headers,
            signature,
        })
    }

    /// Whether `name` (lower case) is among the signed headers: only those may be trusted (§7
    /// step 10).
    pub fn is_signed(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }
}

/// §7 step 3: lower-case valid header names, strictly increasing in byte order (sorted and
/// unique), with `x-sdk-date` among them.
///
/// `host` is not required, as Huawei's API gateway does not require it: the Go signers (the
/// Terraform provider's golangsdk, the Go SDK v3) sign the keys of Go's header map, and Go keeps
/// the host outside it, so they never sign `host` (§12). When `host` is signed, it is verified
/// like any signed header, against the `Host` header as received (§6). An unsigned `host` only
/// lets a captured request be replayed, within the date window, to another server that holds the
/// same credential; the gateway accepts that, and so does vpcep. `x-project-id` and
/// `content-type` need not be signed either (the caller checks `X-Project-Id`, signed or not).
fn parse_signed_headers(list: &str) -> Result<Vec<String>, SignatureError> {
    let names: Vec<String> = list.split(';').map(str::to_owned).collect();
    let valid = |name: &String| {
        http::HeaderName::from_bytes(name.as_bytes()).is_ok_and(|h| h.as_str() == name)
    };
    if !names.iter().all(valid) || !names.windows(2).all(|w| w[0] < w[1]) {
        return Err(SignatureError::MalformedAuthorization(
            "SignedHeaders must be lower-case header names, sorted and unique",
        ));
    }
    if !names.iter().any(|n| n == "x-sdk-date") {
        return Err(SignatureError::DateNotSigned);
    }
    Ok(names)
}

/// Reads `X-Sdk-Date` (exactly `YYYYMMDDTHHMMSSZ`, one value) and checks it is within
/// [`MAX_CLOCK_SKEW`] of `now` in either direction; exactly 15 minutes still passes.
pub fn check_date(
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, SignatureError> {
    let date = parse_sdk_date(single_date_value(headers)?).ok_or(SignatureError::MalformedDate)?;
    if (now - date).abs() > MAX_CLOCK_SKEW {
        return Err(SignatureError::DateOutOfWindow);
    }
    Ok(date)
}

fn single_date_value(headers: &HeaderMap) -> Result<&str, SignatureError> {
    let mut values = headers.get_all("x-sdk-date").iter();
    let value = values.next().ok_or(SignatureError::MissingDate)?;
    if values.next().is_some() {
        return Err(SignatureError::MalformedDate);
    }
    std::str::from_utf8(value.as_bytes())
        .map(trim_ows)
        .map_err(|_| SignatureError::MalformedDate)
}

/// The basic ISO-8601 form of §2, strictly: 16 characters, digits, a literal `T` and `Z`, and a
/// real calendar date and time (no leap second). Because the form is fixed, the value the SDK
/// re-formats into the string to sign (§4) is this very text.
fn parse_sdk_date(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(number(4, 6)?).ok()?).ok()?;
    let day = u8::try_from(number(6, 8)?).ok()?;
    let hour = u8::try_from(number(9, 11)?).ok()?;
    let minute = u8::try_from(number(11, 13)?).ok()?;
    let second = u8::try_from(number(13, 15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// The parts of a request that the signature covers, as received.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The raw path, still percent-encoded (`http::Uri::path()`), never a router's decoded one.
    pub path: &'a str,
    /// The raw query without `?` (`http::Uri::query()`).
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The exact body bytes (§3.5: never re-serialize).
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (or the SM3 header) on a non-empty body,
    /// which leaves the body unsigned. The JSON APIs never need it (§7 step 8).
    pub allow_unsigned_payload: bool,
}

/// Verifies the signature, not the date window (that is [`check_date`]). If the sorted query does
/// not match and the query repeats a key in an order other than the sorted one, tries once more
/// with the pairs as received: the SDK sorts integer values numerically (§3.3, vector v11), and
/// both forms cover exactly the same pairs.
pub fn verify(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    secret_key: &str,
    options: Options,
) -> Result<(), SignatureError> {
    let canonical = Canonical::build(req, auth, options)?;
    let matches = |sorted_query: bool| {
        let string_to_sign = format!(
            "{}\n{}\n{}",
            auth.algorithm.name(),
            canonical.date,
            auth.algorithm
                .hash_hex(canonical.text(sorted_query).as_bytes())
        );
        auth.algorithm.signature_matches(
            secret_key.as_bytes(),
            string_to_sign.as_bytes(),
            &auth.signature,
        )
    };
    if matches(true) || (canonical.received_order_differs() && matches(false)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The canonical request of §3, for trace-level logging when verification fails: it holds no
/// secret. `sorted_query = false` keeps the query pairs in received order.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    auth: &Authorization,
    options: Options,
    sorted_query: bool,
) -> Result<String, SignatureError> {
    Ok(Canonical::build(req, auth, options)?.text(sorted_query))
}

/// A decoded query key and value: bytes, since the query need not decode to UTF-8 (§3.3).
type QueryPair = (Vec<u8>, Vec<u8>);

/// Everything of the canonical request but the query order, which `verify` may try twice.
struct Canonical<'a> {
    method: String,
    uri: String,
    /// Decoded pairs in received order.
    pairs: Vec<QueryPair>,
    /// One `name:value\n` line per signed header.
    headers: String,
    payload_hash: String,
    /// The `X-Sdk-Date` text for the string to sign (§4).
    date: &'a str,
    signed_headers: String,
}

impl<'a> Canonical<'a> {
    fn build(
        req: &SignedRequest<'a>,
        auth: &Authorization,
        options: Options,
    ) -> Result<Self, SignatureError> {
        let mut headers = String::new();
        let mut date = None;
        for name in &auth.signed_headers {
            let value = signed_header_value(req.headers, name)?;
            if name == "x-sdk-date" {
                date = Some(value);
            }
            headers.push_str(name);
            headers.push(':');
            headers.push_str(value);
            headers.push('\n');
        }
        // `parse` guarantees x-sdk-date is signed, so `date` is set; the check stays total.
        let date = date
            .filter(|d| parse_sdk_date(d).is_some())
            .ok_or(SignatureError::MalformedDate)?;
        Ok(Canonical {
            // §3.1: the SDK upper-cases the method (v19 sends `post`).
            method: req.method.to_ascii_uppercase(),
            uri: canonical_uri(req.path)?,
            pairs: parse_query_pairs(req.query.unwrap_or(""))?,
            headers,
            payload_hash: payload_hash(auth.algorithm, req.headers, req.body, options)?,
            date,
            signed_headers: auth.signed_headers.join(";"),
        })
    }

    fn text(&self, sorted_query: bool) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.uri,
            canonical_query(&self.pairs, sorted_query),
            self.headers,
            self.signed_headers,
            self.payload_hash
        )
    }

    /// The received-order retry can only help when a key repeats (otherwise the SDK's order is the
    /// sorted one) and the received order is not already sorted.
    fn received_order_differs(&self) -> bool {
        let mut sorted = self.pairs.clone();
        sorted.sort();
        let repeated_key = sorted.windows(2).any(|w| w[0].0 == w[1].0);
        repeated_key && sorted != self.pairs
    }
}

/// §3.4 and §7 step 7: present exactly once, read as bytes and decoded as UTF-8 (the SDK sends
/// non-ASCII values as raw UTF-8, which `to_str()` refuses), trimmed of spaces and tabs only.
fn signed_header_value<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .ok_or_else(|| SignatureError::MissingSignedHeader(name.to_owned()))?;
    if values.next().is_some() {
        return Err(SignatureError::RepeatedSignedHeader(name.to_owned()));
    }
    std::str::from_utf8(value.as_bytes())
        .map(trim_ows)
        .map_err(|_| SignatureError::SignedHeaderNotUtf8(name.to_owned()))
}

/// §3.5, with the checks of §7 step 8. An empty body always hashes as empty, even with the
/// content header (v15). A content header on a non-empty body is either `UNSIGNED-PAYLOAD`
/// (refused unless allowed) or the body's real hash, used as sent; any other value would leave
/// the body unsigned, so it is refused.
fn payload_hash(
    algorithm: Algorithm,
    headers: &HeaderMap,
    body: &[u8],
    options: Options,
) -> Result<String, SignatureError> {
    let real = algorithm.hash_hex(body);
    if body.is_empty() {
        return Ok(real);
    }
    let mut values = headers.get_all(algorithm.content_header()).iter();
    let Some(value) = values.next() else {
        return Ok(real);
    };
    let bad = SignatureError::ContentHashMismatch(algorithm.content_header_display());
    if values.next().is_some() {
        return Err(bad);
    }
    let value = std::str::from_utf8(value.as_bytes()).map(trim_ows);
    match value {
        Ok("UNSIGNED-PAYLOAD") if options.allow_unsigned_payload => {
            Ok("UNSIGNED-PAYLOAD".to_owned())
        }
        Ok("UNSIGNED-PAYLOAD") => Err(SignatureError::UnsignedPayload),
        Ok(hash) if hash.len() == 64 && hash.eq_ignore_ascii_case(&real) => Ok(hash.to_owned()),
        _ => Err(bad),
    }
}

/// RFC 3986 unreserved characters stay, every other byte becomes `%XX` with upper-case hex
/// (§3.2 step 4; the same encoder for query keys and values, §3.3 step 2).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn pct_encode(raw: &[u8]) -> String {
    percent_encoding::percent_encode(raw, ENCODE).to_string()
}

/// Strict percent-decoding: `%` must be followed by two hex digits, and `+` is not a space.
fn pct_decode(text: &str) -> Option<Vec<u8>> {
    let hex_value = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_value)?;
            let low = bytes.get(i + 2).copied().and_then(hex_value)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

/// §3.2: decode the whole raw path once (so `%2F` becomes a real `/` and `%2541` stays `%2541`),
/// split on `/` (empty segments kept), encode each segment, and end with exactly one `/`. A
/// malformed escape or a path that is not UTF-8 is refused (§7 step 5).
fn canonical_uri(path: &str) -> Result<String, SignatureError> {
    let decoded = pct_decode(path).ok_or(SignatureError::MalformedPath)?;
    if std::str::from_utf8(&decoded).is_err() {
        return Err(SignatureError::MalformedPath);
    }
    let mut uri = decoded
        .split(|&b| b == b'/')
        .map(pct_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    Ok(uri)
}

/// §3.3: split on `&` (empty pieces skipped), each piece at its first `=` (no `=`: empty value),
/// and decode only `%XX`. The decoded bytes need not be UTF-8: they are only sorted and
/// re-encoded.
fn parse_query_pairs(query: &str) -> Result<Vec<QueryPair>, SignatureError> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            match (pct_decode(key), pct_decode(value)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(SignatureError::MalformedQuery),
            }
        })
        .collect()
}

/// §3.3: sorted by decoded key, then value, in byte order (the same as code-point order for
/// UTF-8, and not the order of the encoded text: `a.b` before `a/b`, v09); `k=v` joined by `&`,
/// empty values kept as `k=`.
fn canonical_query(pairs: &[QueryPair], sorted: bool) -> String {
    let mut ordered: Vec<&QueryPair> = pairs.iter().collect();
    if sorted {
        ordered.sort();
    }
    ordered
        .iter()
        .map(|(k, v)| format!("{}={}", pct_encode(k), pct_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// HTTP optional whitespace: spaces and tabs only (§3.4 keeps inner whitespace as it is).
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use time::macros::datetime;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY_SM3: &str = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b";
    const SIG: &str = "204a40331f1233c2d4f74cce59d165a8b45f1d2307e605502b75dc1fb1df3efc";

    fn auth_value(scheme: &str, signed: &str, signature: &str) -> String {
        format!("{scheme} Access=AK1, SignedHeaders={signed}, Signature={signature}")
    }

    fn query(raw: &str) -> String {
        canonical_query(&parse_query_pairs(raw).unwrap(), true)
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    fn is_malformed(r: Result<Authorization, SignatureError>) -> bool {
        matches!(r, Err(SignatureError::MalformedAuthorization(_)))
    }

    // ----- canonical URI (§3.2) -----

    #[test]
    fn uri_gets_a_trailing_slash_once() {
        assert_eq!(canonical_uri("/v1/x").unwrap(), "/v1/x/");
        assert_eq!(canonical_uri("/v1/x/").unwrap(), "/v1/x/");
        assert_eq!(canonical_uri("/").unwrap(), "/");
        assert_eq!(canonical_uri("").unwrap(), "/");
    }

    #[test]
    fn uri_decodes_once_so_encoded_slash_becomes_a_separator_and_double_encoding_stays() {
        assert_eq!(canonical_uri("/o/dir%2Fsub").unwrap(), "/o/dir/sub/");
        assert_eq!(canonical_uri("/o/dir%2fsub").unwrap(), "/o/dir/sub/");
        assert_eq!(canonical_uri("/o/%2541.txt").unwrap(), "/o/%2541.txt/");
    }

    #[test]
    fn uri_keeps_empty_segments() {
        assert_eq!(canonical_uri("//a//b").unwrap(), "//a//b/");
        assert_eq!(canonical_uri("//").unwrap(), "//");
    }

    #[test]
    fn uri_encodes_everything_but_unreserved_with_upper_case_hex() {
        assert_eq!(
            canonical_uri("/a b+*()!':@{}~-_.Z9").unwrap(),
            "/a%20b%2B%2A%28%29%21%27%3A%40%7B%7D~-_.Z9/"
        );
        assert_eq!(canonical_uri("/%76%31/x").unwrap(), "/v1/x/");
        assert_eq!(canonical_uri("/%7e").unwrap(), "/~/");
    }

    #[test]
    fn uri_encodes_non_ascii_as_utf8_bytes() {
        assert_eq!(canonical_uri("/file%E4%B8%AD").unwrap(), "/file%E4%B8%AD/");
        assert_eq!(canonical_uri("/中").unwrap(), "/%E4%B8%AD/");
    }

    #[test]
    fn uri_refuses_malformed_escapes_and_non_utf8() {
        for bad in ["/a%", "/a%4", "/a%zz", "/a%4g/b", "/%FF", "/%E4%B8", "/中%"] {
            assert!(
                matches!(canonical_uri(bad), Err(SignatureError::MalformedPath)),
                "{bad:?} accepted"
            );
        }
    }

    // ----- canonical query (§3.3) -----

    #[test]
    fn query_plus_stays_a_literal_plus() {
        assert_eq!(query("email=user+tag%40x.com"), "email=user%2Btag%40x.com");
        assert_eq!(query("q=a%20b"), "q=a%20b");
    }

    #[test]
    fn query_keeps_empty_values_and_skips_empty_pieces() {
        assert_eq!(query("marker=&a=1"), "a=1&marker=");
        assert_eq!(query("flag"), "flag=");
        assert_eq!(query("&&a=1&"), "a=1");
        assert_eq!(query(""), "");
        assert_eq!(query("a=b=c"), "a=b%3Dc");
    }

    #[test]
    fn query_repeated_keys_are_kept_and_sorted_by_value() {
        assert_eq!(
            query("tags=prod&name=s&tags=dev&tags=blue"),
            "name=s&tags=blue&tags=dev&tags=prod"
        );
        // Strings, not numbers: the SDK's numeric order needs the received-order retry (v11).
        assert_eq!(query("limit=9&limit=10"), "limit=10&limit=9");
    }

    #[test]
    fn query_sorts_decoded_bytes_in_code_point_order() {
        // '.' (0x2E) < '/' (0x2F) once decoded, though "%2F" < "." as encoded text (v09).
        assert_eq!(query("a%2Fb=2&a.b=1"), "a.b=1&a%2Fb=2");
        // U+FF5E before U+1F680 in code-point (and UTF-8) order, unlike UTF-16 order.
        assert_eq!(
            query("k=%F0%9F%9A%80&k=%EF%BD%9E&k=Z"),
            "k=Z&k=%EF%BD%9E&k=%F0%9F%9A%80"
        );
        assert_eq!(query("b=1&B=1&a=1"), "B=1&a=1&b=1");
    }

    #[test]
    fn query_keeps_received_order_when_asked() {
        let pairs = parse_query_pairs("limit=9&limit=10").unwrap();
        assert_eq!(canonical_query(&pairs, false), "limit=9&limit=10");
    }

    #[test]
    fn query_refuses_malformed_escapes_but_not_non_utf8() {
        assert!(matches!(
            parse_query_pairs("a=%zz"),
            Err(SignatureError::MalformedQuery)
        ));
        assert!(matches!(
            parse_query_pairs("a%=1"),
            Err(SignatureError::MalformedQuery)
        ));
        assert_eq!(query("a=%FF"), "a=%FF");
    }

    // ----- Authorization (§2, §7 steps 2-3) -----

    #[test]
    fn authorization_parses_the_sdk_format() {
        let a =
            Authorization::parse(&auth_value("SDK-HMAC-SHA256", "host;x-sdk-date", SIG)).unwrap();
        assert_eq!(a.algorithm, Algorithm::HmacSha256);
        assert_eq!(a.access_key, "AK1");
        assert_eq!(a.signed_headers, ["host", "x-sdk-date"]);
        assert_eq!(hex::encode(&a.signature), SIG);
        let sm3 =
            Authorization::parse(&auth_value("SDK-HMAC-SM3", "host;x-sdk-date", SIG)).unwrap();
        assert_eq!(sm3.algorithm, Algorithm::HmacSm3);
        assert_eq!(Algorithm::HmacSm3.name(), "SDK-HMAC-SM3");
    }

    #[test]
    fn authorization_tolerates_spacing_around_fields() {
        let a = Authorization::parse(&format!(
            "  SDK-HMAC-SHA256 Access = AK1 ,SignedHeaders=host;x-sdk-date,\tSignature={SIG} "
        ))
        .unwrap();
        assert_eq!(a.access_key, "AK1");
    }

    #[test]
    fn authorization_debug_hides_the_signature() {
        let a =
            Authorization::parse(&auth_value("SDK-HMAC-SHA256", "host;x-sdk-date", SIG)).unwrap();
        let shown = format!("{a:?}");
        assert!(
            !shown.contains(SIG) && !shown.contains(&SIG[..16]),
            "{shown}"
        );
        assert!(shown.contains("AK1"));
    }

    #[test]
    fn authorization_refuses_other_algorithms() {
        for scheme in ["V11-HMAC-SHA256", "SDK-ECDSA-P256-SHA256", "SDK-SM2-SM3"] {
            let err =
                Authorization::parse(&auth_value(scheme, "host;x-sdk-date", SIG)).unwrap_err();
            assert!(matches!(err, SignatureError::UnsupportedAlgorithm(_)));
            assert_eq!(
                err.to_string(),
                format!("unsupported signing algorithm {scheme}")
            );
        }
        for other in [
            "Bearer abc",
            "sdk-hmac-sha256 Access=AK1, SignedHeaders=host;x-sdk-date",
            "vpcep_0123456789abcdef",
            "",
        ] {
            let err = Authorization::parse(other).unwrap_err();
            assert!(
                matches!(err, SignatureError::UnsupportedScheme),
                "{other:?}"
            );
            assert!(!err.to_string().contains("vpcep_"));
        }
    }

    #[test]
    fn authorization_refuses_malformed_fields() {
        let ok_sig = format!("Signature={SIG}");
        for bad in [
            "SDK-HMAC-SHA256".to_owned(),
            "SDK-HMAC-SHA256 ".to_owned(),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, {ok_sig},"),
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date".to_owned(),
            format!("SDK-HMAC-SHA256 SignedHeaders=host;x-sdk-date, {ok_sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host;x-sdk-date, {ok_sig}"),
            format!("SDK-HMAC-SHA256 Access=AK1, {ok_sig}"),
            format!(
                "SDK-HMAC-SHA256 Access=AK1, Access=AK2, SignedHeaders=host;x-sdk-date, {ok_sig}"
            ),
            format!("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, {ok_sig}, Extra=1"),
            format!("SDK-HMAC-SHA256 Access AK1, SignedHeaders=host;x-sdk-date, {ok_sig}"),
            format!("SDK-HMAC-SHA256 access=AK1, SignedHeaders=host;x-sdk-date, {ok_sig}"),
        ] {
            assert!(is_malformed(Authorization::parse(&bad)), "{bad:?} accepted");
        }
    }

    #[test]
    fn authorization_requires_a_64_lower_hex_signature() {
        for sig in [
            SIG.to_uppercase(),
            SIG[..63].to_owned(),
            format!("{SIG}0"),
            format!("{}g", &SIG[..63]),
            String::new(),
            // 64 bytes, but not ASCII: must not panic on slicing or decoding.
            format!("{}é", &SIG[..62]),
        ] {
            let value = auth_value("SDK-HMAC-SHA256", "host;x-sdk-date", &sig);
            assert!(
                is_malformed(Authorization::parse(&value)),
                "{sig:?} accepted"
            );
        }
    }

    #[test]
    fn authorization_requires_sorted_unique_lower_case_signed_headers() {
        for signed in [
            "x-sdk-date;host",
            "host;host;x-sdk-date",
            "Host;x-sdk-date",
            "host;;x-sdk-date",
            "host;x-sdk-date;",
            "",
            "host;x sdk;x-sdk-date",
            "host;x-sdk-date;中",
        ] {
            let value = auth_value("SDK-HMAC-SHA256", signed, SIG);
            assert!(
                is_malformed(Authorization::parse(&value)),
                "{signed:?} accepted"
            );
        }
    }

    #[test]
    fn authorization_requires_the_date_to_be_signed() {
        for signed in ["host", "content-type;host;user-agent", "accept;user-agent"] {
            let value = auth_value("SDK-HMAC-SHA256", signed, SIG);
            let err = Authorization::parse(&value).unwrap_err();
            assert!(matches!(err, SignatureError::DateNotSigned), "{signed:?}");
            assert_eq!(
                err.to_string(),
                "X-Sdk-Date must be among the signed headers"
            );
        }
    }

    /// What the Go signers sign (§12): never `host`; golangsdk signs `accept`, `user-agent` and,
    /// with a body, `content-type`; the Go SDK v3 leaves `content-type` out.
    #[test]
    fn authorization_accepts_the_go_signers_header_sets() {
        for signed in [
            "accept;user-agent;x-sdk-date",
            "accept;content-type;user-agent;x-sdk-date",
            "user-agent;x-sdk-date",
            "x-sdk-date",
            "host;x-sdk-date",
        ] {
            let value = auth_value("SDK-HMAC-SHA256", signed, SIG);
            let auth = Authorization::parse(&value).unwrap();
            assert_eq!(auth.signed_headers.join(";"), signed);
        }
    }

    #[test]
    fn authorization_from_headers_distinguishes_absent_from_bad() {
        assert!(Authorization::from_headers(&HeaderMap::new()).is_none());
        let value = auth_value("SDK-HMAC-SHA256", "host;x-sdk-date", SIG);
        let one = headers(&[("authorization", value.as_bytes())]);
        assert!(Authorization::from_headers(&one).unwrap().is_ok());
        let two = headers(&[
            ("authorization", value.as_bytes()),
            ("authorization", value.as_bytes()),
        ]);
        assert!(matches!(
            Authorization::from_headers(&two),
            Some(Err(SignatureError::BadAuthorizationHeader))
        ));
        let latin1 = headers(&[("authorization", b"SDK-HMAC-SHA256 \xff")]);
        assert!(matches!(
            Authorization::from_headers(&latin1),
            Some(Err(SignatureError::BadAuthorizationHeader))
        ));
        let bearer = headers(&[("authorization", b"Bearer x")]);
        assert!(matches!(
            Authorization::from_headers(&bearer),
            Some(Err(SignatureError::UnsupportedScheme))
        ));
    }

    // ----- X-Sdk-Date (§2, §7 step 4) -----

    fn date_headers(value: &str) -> HeaderMap {
        headers(&[("x-sdk-date", value.as_bytes())])
    }

    #[test]
    fn date_window_is_inclusive_at_fifteen_minutes_in_both_directions() {
        let h = date_headers("20240315T083000Z");
        let signed = datetime!(2024-03-15 08:30:00 UTC);
        assert_eq!(check_date(&h, signed).unwrap(), signed);
        for now in [
            datetime!(2024-03-15 08:45:00 UTC),
            datetime!(2024-03-15 08:15:00 UTC),
        ] {
            assert!(check_date(&h, now).is_ok(), "{now} refused");
        }
        for now in [
            datetime!(2024-03-15 08:45:01 UTC),
            datetime!(2024-03-15 08:14:59 UTC),
            datetime!(2024-03-15 08:45:00.001 UTC),
        ] {
            assert!(
                matches!(check_date(&h, now), Err(SignatureError::DateOutOfWindow)),
                "{now} accepted"
            );
        }
        assert_eq!(
            check_date(&h, datetime!(2024-03-16 08:30:00 UTC))
                .unwrap_err()
                .to_string(),
            "X-Sdk-Date is more than 15 minutes from the server's time"
        );
    }

    #[test]
    fn date_crosses_midnight_and_year_end() {
        let h = date_headers("20241231T235959Z");
        assert!(check_date(&h, datetime!(2025-01-01 00:10:00 UTC)).is_ok());
    }

    #[test]
    fn date_must_be_the_exact_basic_form() {
        let now = datetime!(2024-03-15 08:30:00 UTC);
        for bad in [
            "20240315T083000",
            "20240315T083000z",
            "20240315t083000Z",
            "2024-03-15T08:30:00Z",
            "20240315T0830000Z",
            "2024031T083000Z",
            "+2024031T083000Z",
            "20240230T083000Z",
            "20241315T083000Z",
            "20240315T243000Z",
            "20240315T083060Z",
            "2024031５T08300Z",
            "Fri, 15 Mar 2024 08:30:00 GMT",
            "",
        ] {
            assert!(
                matches!(
                    check_date(&date_headers(bad), now),
                    Err(SignatureError::MalformedDate)
                ),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn date_must_be_present_once() {
        let now = datetime!(2024-03-15 08:30:00 UTC);
        assert!(matches!(
            check_date(&HeaderMap::new(), now),
            Err(SignatureError::MissingDate)
        ));
        let twice = headers(&[
            ("x-sdk-date", b"20240315T083000Z"),
            ("x-sdk-date", b"20240315T083000Z"),
        ]);
        assert!(matches!(
            check_date(&twice, now),
            Err(SignatureError::MalformedDate)
        ));
        let latin1 = headers(&[("x-sdk-date", b"20240315T08300\xe9")]);
        assert!(matches!(
            check_date(&latin1, now),
            Err(SignatureError::MalformedDate)
        ));
    }

    // ----- payload hash (§3.5) and the whole request -----

    #[test]
    fn empty_payload_hashes_are_the_documented_ones() {
        assert_eq!(Algorithm::HmacSha256.hash_hex(b""), EMPTY_SHA256);
        assert_eq!(Algorithm::HmacSm3.hash_hex(b""), EMPTY_SM3);
    }

    #[test]
    fn payload_hash_rules() {
        let none = HeaderMap::new();
        let unsigned = headers(&[("x-sdk-content-sha256", b"UNSIGNED-PAYLOAD")]);
        let allow = Options {
            allow_unsigned_payload: true,
        };
        let sha = Algorithm::HmacSha256;
        // Empty body: the empty hash, even with UNSIGNED-PAYLOAD (v15).
        assert_eq!(
            payload_hash(sha, &unsigned, b"", Options::default()).unwrap(),
            EMPTY_SHA256
        );
        assert_eq!(
            payload_hash(sha, &none, b"{}", Options::default()).unwrap(),
            sha.hash_hex(b"{}")
        );
        assert!(matches!(
            payload_hash(sha, &unsigned, b"{}", Options::default()),
            Err(SignatureError::UnsignedPayload)
        ));
        assert_eq!(
            payload_hash(sha, &unsigned, b"{}", allow).unwrap(),
            "UNSIGNED-PAYLOAD"
        );
        // The SM3 variant reads its own header only.
        assert_eq!(
            payload_hash(Algorithm::HmacSm3, &unsigned, b"{}", Options::default()).unwrap(),
            Algorithm::HmacSm3.hash_hex(b"{}")
        );
        let real = sha.hash_hex(b"{}");
        let matching = headers(&[("x-sdk-content-sha256", real.as_bytes())]);
        assert_eq!(
            payload_hash(sha, &matching, b"{}", Options::default()).unwrap(),
            real
        );
        let other = sha.hash_hex(b"{ }");
        for bad in [other.as_str(), "", "UNSIGNED", "unsigned-payload"] {
            let h = headers(&[("x-sdk-content-sha256", bad.as_bytes())]);
            assert!(
                matches!(
                    payload_hash(sha, &h, b"{}", allow),
                    Err(SignatureError::ContentHashMismatch(_))
                ),
                "{bad:?} accepted"
            );
        }
    }

    /// A tiny hand-made request checked against a signature computed here, so the unit tests
    /// cover `verify` end to end; the SDK's own vectors are in `tests/signing_vectors.rs`.
    #[test]
    fn verify_accepts_the_right_key_and_refuses_others() {
        let h = headers(&[
            ("host", b"127.0.0.1:8080"),
            ("x-sdk-date", b"20240315T083000Z"),
            ("x-note", "  备注 note\t".as_bytes()),
        ]);
        let req = SignedRequest {
            method: "get",
            path: "/v1/p/x",
            query: Some("b=2&a=1"),
            headers: &h,
            body: b"",
        };
        let canonical = "GET\n/v1/p/x/\na=1&b=2\nhost:127.0.0.1:8080\nx-note:备注 note\n\
                         x-sdk-date:20240315T083000Z\n\nhost;x-note;x-sdk-date\n"
            .to_owned()
            + EMPTY_SHA256;
        let string_to_sign = format!(
            "SDK-HMAC-SHA256\n20240315T083000Z\n{}",
            Algorithm::HmacSha256.hash_hex(canonical.as_bytes())
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        mac.update(string_to_sign.as_bytes());
        let sig = hex::encode(mac.finalize().into_bytes());
        let auth = Authorization::parse(&auth_value(
            "SDK-HMAC-SHA256",
            "host;x-note;x-sdk-date",
            &sig,
        ))
        .unwrap();
        assert_eq!(
            canonical_request(&req, &auth, Options::default(), true).unwrap(),
            canonical
        );
        verify(&req, &auth, "secret", Options::default()).unwrap();
        assert!(matches!(
            verify(&req, &auth, "secreT", Options::default()),
            Err(SignatureError::Mismatch)
        ));
        let tampered = SignedRequest {
            query: Some("b=3&a=1"),
            ..req
        };
        assert!(matches!(
            verify(&tampered, &auth, "secret", Options::default()),
            Err(SignatureError::Mismatch)
        ));
        let missing = SignedRequest {
            headers: &HeaderMap::new(),
            ..req
        };
        assert_eq!(
            verify(&missing, &auth, "secret", Options::default())
                .unwrap_err()
                .to_string(),
            "signed header host is missing"
        );
    }

    #[test]
    fn verify_never_panics_on_odd_input() {
        let odd = headers(&[("host", b"\xff\xfe"), ("x-sdk-date", b"\xe4\xb8\xad")]);
        let bad_date = headers(&[("host", b"h"), ("x-sdk-date", "２０２４".as_bytes())]);
        let fine = headers(&[("host", b"h"), ("x-sdk-date", b"20240315T083000Z")]);
        let auth =
            Authorization::parse(&auth_value("SDK-HMAC-SM3", "host;x-sdk-date", SIG)).unwrap();
        for h in [&odd, &bad_date, &fine] {
            for (path, query) in [("/%", None), ("/中%E4", Some("x")), ("/", Some("%"))] {
                let req = SignedRequest {
                    method: "ÄÖ",
                    path,
                    query,
                    headers: h,
                    body: b"\x00\xff",
                };
                assert!(verify(&req, &auth, "", Options::default()).is_err());
                assert!(canonical_request(&req, &auth, Options::default(), false).is_err());
            }
        }
        let req = SignedRequest {
            method: "ÄÖ",
            path: "",
            query: Some("&=&é=%FF"),
            headers: &fine,
            body: b"\x00\xff",
        };
        assert!(canonical_request(&req, &auth, Options::default(), false).is_ok());
        assert!(matches!(
            verify(&req, &auth, "", Options::default()),
            Err(SignatureError::Mismatch)
        ));
    }
}

/// Properties over arbitrary input: the verifier never panics, and a correctly signed request
/// stops verifying when any byte of its body changes.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn headers_from(pairs: &[(String, Vec<u8>)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                headers.append(n, v);
            }
        }
        headers
    }

    /// Signs like the SDK, from the canonical request this module builds.
    fn sign(req: &SignedRequest<'_>, auth: &Authorization, sk: &str) -> Vec<u8> {
        let canonical = canonical_request(req, auth, Options::default(), true).unwrap();
        let date = req.headers.get("x-sdk-date").unwrap().to_str().unwrap();
        let sts = format!(
            "{}\n{date}\n{}",
            auth.algorithm.name(),
            auth.algorithm.hash_hex(canonical.as_bytes())
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(sk.as_bytes()).unwrap();
        mac.update(sts.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsing_authorization_never_panics(value in ".{0,200}") {
            let _ = Authorization::parse(&value);
        }

        #[test]
        fn canonicalization_never_panics(path in "[ -~é中%/]{0,64}", query in "[ -~é%&=+]{0,64}") {
            let _ = canonical_uri(&path);
            let _ = parse_query_pairs(&query);
        }

        #[test]
        fn verify_never_panics(
            method in "[A-Za-z]{0,8}",
            path in "/[ -~%]{0,40}",
            query in proptest::option::of("[ -~%]{0,40}"),
            raw_headers in proptest::collection::vec(("[a-z-]{1,12}", proptest::collection::vec(any::<u8>(), 0..24)), 0..6),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            signed in "[a-z;-]{0,40}",
        ) {
            let headers = headers_from(&raw_headers);
            let auth = format!(
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;{signed};x-sdk-date, Signature={}",
                "0".repeat(64)
            );
            if let Ok(auth) = Authorization::parse(&auth) {
                let req = SignedRequest { method: &method, path: &path, query: query.as_deref(), headers: &headers, body: &body };
                let _ = verify(&req, &auth, "secret", Options::default());
                let _ = canonical_request(&req, &auth, Options::default(), false);
            }
            let _ = check_date(&headers, OffsetDateTime::now_utc());
        }

        #[test]
        fn a_changed_body_byte_never_verifies(
            body in proptest::collection::vec(any::<u8>(), 1..256),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
            segment in "[A-Za-z0-9._~-]{1,16}",
            value in "[ -~]{0,16}",
        ) {
            let mut headers = HeaderMap::new();
            headers.insert("host", http::HeaderValue::from_static("127.0.0.1:8400"));
            headers.insert("x-sdk-date", http::HeaderValue::from_static("20240315T083000Z"));
            let path = format!("/v1/p/{segment}");
            let query = format!("a={}", percent_encoding::utf8_percent_encode(&value, ENCODE));
            let mut auth = Authorization::parse(&format!(
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature={}",
                "0".repeat(64)
            )).unwrap();
            let req = SignedRequest { method: "PUT", path: &path, query: Some(&query), headers: &headers, body: &body };
            auth.signature = sign(&req, &auth, "sk");
            prop_assert!(verify(&req, &auth, "sk", Options::default()).is_ok());
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 1 << bit;
            let req = SignedRequest { body: &tampered, ..req };
            prop_assert!(verify(&req, &auth, "sk", Options::default()).is_err());
        }
    }
}
