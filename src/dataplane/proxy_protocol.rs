//! The Proxy Protocol v2 header the data plane writes first on a backend connection when the
//! service's `tcp_proxy` asks for one (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>):
//! command PROXY, TCP over IPv4, the consumer's address and port as source, the endpoint's
//! address and port as destination, and two TLVs of the custom range.

use std::net::SocketAddrV4;

/// The 12 bytes every v2 header starts with.
pub const SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];
/// Version 2, command PROXY.
pub const VERSION_PROXY: u8 = 0x21;
/// AF_INET, SOCK_STREAM.
pub const TCP_OVER_IPV4: u8 = 0x11;
/// The connection's `marker_id`, in ASCII decimal digits.
pub const TLV_MARKER_ID: u8 = 0xE1;
/// The endpoint's id, the 36-character UUID.
pub const TLV_ENDPOINT_ID: u8 = 0xE2;

/// The header for a consumer at `source` connected to `destination` (the endpoint's address and
/// client port) through the connection `marker_id` of endpoint `endpoint_id`.
pub fn header(
    source: SocketAddrV4,
    destination: SocketAddrV4,
    marker_id: i64,
    endpoint_id: &str,
) -> Vec<u8> {
    let marker = marker_id.to_string();
    let tlvs = [
        (TLV_MARKER_ID, marker.as_bytes()),
        (TLV_ENDPOINT_ID, endpoint_id.as_bytes()),
    ];
    let tlv_len: usize = tlvs.iter().map(|(_, v)| 3 + v.len()).sum();
    let len = 12 + tlv_len;
    let mut out = Vec::with_capacity(16 + len);
    out.extend_from_slice(&SIGNATURE);
    out.push(VERSION_PROXY);
    out.push(TCP_OVER_IPV4);
    // A marker id has at most 20 digits and an id 36 characters: the length fits in a u16.
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&source.ip().octets());
    out.extend_from_slice(&destination.ip().octets());
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&destination.port().to_be_bytes());
    for (kind, value) in tlvs {
        out.push(kind);
        out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_laid_out_byte_for_byte() {
        let id = "0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
        let h = header(
            "127.0.0.1:40000".parse().expect("addr"),
            "127.16.0.2:80".parse().expect("addr"),
            16777216,
            id,
        );
        let mut want = SIGNATURE.to_vec();
        want.extend_from_slice(&[0x21, 0x11]);
        want.extend_from_slice(&(12u16 + 3 + 8 + 3 + 36).to_be_bytes());
        want.extend_from_slice(&[127, 0, 0, 1, 127, 16, 0, 2]);
        want.extend_from_slice(&40000u16.to_be_bytes());
        want.extend_from_slice(&80u16.to_be_bytes());
        want.extend_from_slice(&[0xE1, 0, 8]);
        want.extend_from_slice(b"16777216");
        want.extend_from_slice(&[0xE2, 0, 36]);
        want.extend_from_slice(id.as_bytes());
        assert_eq!(h, want);
        assert_eq!(h.len(), 16 + 62);
    }
}
