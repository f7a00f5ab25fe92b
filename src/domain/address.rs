//! Endpoint addresses. A requested `port_ip` must be in the server's address range and free
//! (EndPoint.2042 otherwise); without one, vpcep assigns the first free address of the range.
//!
//! Two ranges: the automatic range of a VPC (172.16.0.0/12, one per VPC: the same address may be
//! used in two VPCs, as in a cloud), and, with `--data-plane`, one range shared by every VPC
//! (`--data-plane-cidr`, default 127.16.0.0/12, which Linux routes to the loopback interface), so
//! that every endpoint's address is one this host can listen on and no two endpoints share it.
//! A range holds its block without the network address, the conventional gateway (.1) and the
//! broadcast address.

use std::net::Ipv4Addr;

pub const AUTO_IP_FIRST: u32 = 0xAC10_0002; // 172.16.0.2
pub const AUTO_IP_LAST: u32 = 0xAC1F_FFFE; // 172.31.255.254

/// The addresses endpoints get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressRange {
    pub first: u32,
    pub last: u32,
    /// One range for every VPC (the data plane's) rather than one per VPC.
    pub shared: bool,
    /// The block as configured, for messages (`172.16.0.0/12`).
    pub network: u32,
    pub prefix: u8,
}

impl AddressRange {
    /// Each VPC's automatic range.
    pub const AUTO: AddressRange = AddressRange {
        first: AUTO_IP_FIRST,
        last: AUTO_IP_LAST,
        shared: false,
        network: 0xAC10_0000,
        prefix: 12,
    };

    /// The shared range of the data plane: `cidr` (`127.16.0.0/12`), at most /30 so that it
    /// holds an address besides the network, gateway and broadcast addresses.
    pub fn shared_block(cidr: &str) -> Result<AddressRange, String> {
        let (addr, bits) = cidr
            .split_once('/')
            .ok_or_else(|| format!("{cidr:?} is not an IPv4 CIDR block (such as 127.16.0.0/12)"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{cidr:?} is not an IPv4 CIDR block (such as 127.16.0.0/12)"))?;
        let prefix: u8 = bits
            .parse()
            .ok()
            .filter(|p| (1..=30).contains(p))
            .ok_or_else(|| format!("the prefix of {cidr:?} must be between /1 and /30"))?;
        let mask = u32::MAX << (32 - u32::from(prefix));
        let network = u32::from(addr) & mask;
        if network != u32::from(addr) {
            return Err(format!(
                "{cidr:?} has host bits set; its block is {}/{prefix}",
                format_ipv4(network)
            ));
        }
        Ok(AddressRange {
            first: network + 2,
            last: (network | !mask) - 1,
            shared: true,
            network,
            prefix,
        })
    }

    pub fn contains(&self, ip: u32) -> bool {
        (self.first..=self.last).contains(&ip)
    }

    /// `172.16.0.0/12`.
    pub fn block(&self) -> String {
        format!("{}/{}", format_ipv4(self.network), self.prefix)
    }

    /// The address after the highest one of the range in use (`None` when none is): the cheap
    /// answer, found from one indexed `MAX`. `None` when the range's end is taken, and
    /// [`AddressRange::lowest_free`] must look for a gap.
    pub fn after_highest(&self, highest_in_use: Option<u32>) -> Option<u32> {
        match highest_in_use {
            None => Some(self.first),
            Some(m) if m < self.last => Some(m.max(self.first - 1) + 1),
            Some(_) => None,
        }
    }

    /// The lowest free address of the range, given the addresses of the range in use in
    /// ascending order; `None` when the range is full.
    pub fn lowest_free(&self, in_use_ascending: impl IntoIterator<Item = u32>) -> Option<u32> {
        let mut next = self.first;
        for ip in in_use_ascending {
            if ip > next {
                break;
            }
            if ip == self.last {
                return None;
            }
            next = next.max(ip + 1);
        }
        (next <= self.last).then_some(next)
    }
}

pub fn format_ipv4(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

/// A server address (the interface VLAN scenario's `ip`, a data-plane backend): an IPv4
/// address or a domain name.
pub fn ip_or_domain(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
            && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// Whether `source` is one of an endpoint's whitelist entries (addresses and CIDR blocks, as
/// the API validated them); an entry that does not parse matches nothing.
pub fn whitelisted(source: Ipv4Addr, whitelist: &[String]) -> bool {
    let source = u32::from(source);
    whitelist.iter().any(|entry| {
        let (addr, prefix) = match entry.split_once('/') {
            None => (entry.as_str(), 32),
            Some((a, p)) => match p.parse::<u32>() {
                Ok(p) if p <= 32 => (a, p),
                _ => return false,
            },
        };
        let Ok(addr) = addr.parse::<Ipv4Addr>() else {
            return false;
        };
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        source & mask == u32::from(addr) & mask
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTO: AddressRange = AddressRange::AUTO;

    #[test]
    fn the_next_address_follows_the_highest() {
        assert_eq!(AUTO.after_highest(None), Some(AUTO_IP_FIRST));
        assert_eq!(
            AUTO.after_highest(Some(AUTO_IP_FIRST)),
            Some(AUTO_IP_FIRST + 1)
        );
        assert_eq!(
            AUTO.after_highest(Some(AUTO_IP_LAST - 1)),
            Some(AUTO_IP_LAST)
        );
        assert_eq!(AUTO.after_highest(Some(AUTO_IP_LAST)), None);
    }

    #[test]
    fn a_full_end_falls_back_to_the_lowest_gap() {
        let f = AUTO_IP_FIRST;
        assert_eq!(AUTO.lowest_free([]), Some(f));
        assert_eq!(
            AUTO.lowest_free([f, f + 1, f + 3, AUTO_IP_LAST]),
            Some(f + 2)
        );
        assert_eq!(AUTO.lowest_free([f + 1, AUTO_IP_LAST]), Some(f));
        assert_eq!(AUTO.lowest_free(f..=AUTO_IP_LAST), None);
    }

    #[test]
    fn addresses_print_dotted() {
        assert_eq!(format_ipv4(AUTO_IP_FIRST), "172.16.0.2");
        assert_eq!(format_ipv4(AUTO_IP_LAST), "172.31.255.254");
        assert_eq!(AUTO.block(), "172.16.0.0/12");
    }

    #[test]
    fn the_data_plane_block_is_parsed_and_checked() {
        let r = AddressRange::shared_block("127.16.0.0/12").expect("block");
        assert_eq!(format_ipv4(r.first), "127.16.0.2");
        assert_eq!(format_ipv4(r.last), "127.31.255.254");
        assert!(r.shared && r.contains(r.first) && !r.contains(r.first - 1));
        assert_eq!(r.block(), "127.16.0.0/12");
        let small = AddressRange::shared_block("127.20.0.0/30").expect("block");
        assert_eq!(
            (small.first, small.last),
            (small.network + 2, small.network + 2)
        );
        for bad in [
            "127.16.0.0",
            "127.16.0.1/12",
            "127.16.0.0/31",
            "x/12",
            "127.16.0.0/a",
        ] {
            assert!(AddressRange::shared_block(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whitelists_match_addresses_and_blocks() {
        let list = vec!["127.0.0.1".to_owned(), "10.1.0.0/16".to_owned()];
        assert!(whitelisted(Ipv4Addr::new(127, 0, 0, 1), &list));
        assert!(!whitelisted(Ipv4Addr::new(127, 0, 0, 2), &list));
        assert!(whitelisted(Ipv4Addr::new(10, 1, 200, 3), &list));
        assert!(!whitelisted(Ipv4Addr::new(10, 2, 0, 1), &list));
        assert!(whitelisted(
            Ipv4Addr::new(8, 8, 8, 8),
            &["0.0.0.0/0".to_owned()]
        ));
        assert!(!whitelisted(Ipv4Addr::new(127, 0, 0, 1), &[]));
        assert!(!whitelisted(
            Ipv4Addr::new(127, 0, 0, 1),
            &["junk".to_owned()]
        ));
    }
}
