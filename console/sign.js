// SDK-HMAC-SHA256 request signing on WebCrypto, exactly as the Huawei Cloud SDKs sign (and as
// vpcep verifies: docs/signing.md §3-§5). No dependency: runs in the browser and in Node 20
// (globalThis.crypto.subtle), where tests/browser/sign.test.mjs checks it against the vectors
// that the official Python SDK produced (tests/data/signing-vectors.json).

export const ALGORITHM = 'SDK-HMAC-SHA256';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `YYYYMMDDTHHMMSSZ` in UTC (docs/signing.md §2). */
export function sdkDate(date = new Date()) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** Decodes every `%XX` of `text` once, into bytes; anything else is kept as its UTF-8 bytes. */
function percentDecode(text) {
  const bytes = utf8.encode(text);
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x25) {
      const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error('malformed percent escape');
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(bytes[i]);
    }
  }
  return Uint8Array.from(out);
}

function isUnreserved(b) {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e;
}

/** Percent-encodes bytes, leaving only `A-Z a-z 0-9 - _ . ~`, with upper-case hex (§3.2). */
function percentEncode(bytes) {
  let s = '';
  for (const b of bytes) {
    s += isUnreserved(b) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

/** Encodes a text (a path segment, a query key or value) as the canonical forms do. */
export function encode(text) {
  return percentEncode(utf8.encode(text));
}

function split(bytes, sep) {
  const parts = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === sep) {
      parts.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/** §3.2: decode the path once, split on `/`, encode each segment, end in `/`. */
export function canonicalUri(path) {
  const decoded = percentDecode(path);
  strictUtf8.decode(decoded); // throws when the path does not decode to UTF-8
  let uri = split(decoded, 0x2f).map(percentEncode).join('/');
  if (!uri.endsWith('/')) uri += '/';
  return uri;
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** §3.3, from the raw query (without `?`): pairs sorted by decoded key then value, re-encoded. */
export function canonicalQuery(query) {
  const pairs = query.split('&').filter((piece) => piece !== '').map((piece) => {
    const eq = piece.indexOf('=');
    const [k, v] = eq < 0 ? [piece, ''] : [piece.slice(0, eq), piece.slice(eq + 1)];
    return [percentDecode(k), percentDecode(v)];
  });
  pairs.sort((x, y) => compareBytes(x[0], y[0]) || compareBytes(x[1], y[1]));
  return pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}

/** A query string in canonical form from `[key, value]` pairs, to send exactly what is signed. */
export function queryString(pairs) {
  return canonicalQuery(pairs.map(([k, v]) => `${encode(String(k))}=${encode(String(v))}`).join('&'));
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

async function hmacSha256Hex(keyText, message) {
  const key = await crypto.subtle.importKey(
    'raw', utf8.encode(keyText), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return hex(await crypto.subtle.sign('HMAC', key, utf8.encode(message)));
}

function trimOws(text) {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * Signs one request. `target` is the request target as sent (`/path?query`, still encoded);
 * `headers` are `[name, value]` pairs, all of which are signed except `Authorization` and names
 * holding `_` (§3.4), and must hold `X-Sdk-Date` (and `Host`, for the SDKs' form); `body` is a
 * string (sent as UTF-8), bytes, or null. Returns the `Authorization` value and the
 * intermediate texts.
 */
export async function signRequest({ method, target, headers, body, accessKey, secretKey }) {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  const signed = new Map();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower.includes('_')) continue;
    signed.set(lower, trimOws(String(value)));
  }
  const date = signed.get('x-sdk-date');
  if (!date) throw new Error('X-Sdk-Date is required');
  const names = [...signed.keys()].sort();
  const bodyBytes = body == null ? new Uint8Array() : typeof body === 'string' ? utf8.encode(body) : body;
  let payloadHash;
  if (bodyBytes.length === 0) {
    payloadHash = await sha256Hex(bodyBytes);
  } else if (signed.has('x-sdk-content-sha256')) {
    payloadHash = signed.get('x-sdk-content-sha256');
  } else {
    payloadHash = await sha256Hex(bodyBytes);
  }
  const canonicalRequest = [
    method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    names.map((n) => `${n}:${signed.get(n)}\n`).join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = `${ALGORITHM}\n${date}\n${await sha256Hex(utf8.encode(canonicalRequest))}`;
  const signature = await hmacSha256Hex(secretKey, stringToSign);
  const signedHeaders = names.join(';');
  return {
    authorization: `${ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    signedHeaders,
    signature,
    canonicalRequest,
    stringToSign,
  };
}
