//! Endpoint addresses: a requested `port_ip` must be free in its VPC (EndPoint.2042); otherwise
//! vpcep assigns the first free address of its automatic range, 172.16.0.0/12 without the network
//! address, the conventional gateway (.1) and the broadcast address.

pub const AUTO_IP_FIRST: u32 = 0xAC10_0002; // 172.16.0.2
pub const AUTO_IP_LAST: u32 = 0xAC1F_FFFE; // 172.31.255.254

pub fn format_ipv4(ip: u32) -> String {
    std::net::Ipv4Addr::from(ip).to_string()
}

/// The address after the highest one of the automatic range in use in a VPC (`None` when none
/// is): the cheap answer, found from one indexed `MAX`. `None` when the range's end is taken,
/// and [`lowest_free`] must look for a gap.
pub fn after_highest(highest_in_use: Option<u32>) -> Option<u32> {
    match highest_in_use {
        None => Some(AUTO_IP_FIRST),
        Some(m) if m < AUTO_IP_LAST => Some(m.max(AUTO_IP_FIRST - 1) + 1),
        Some(_) => None,
    }
}

/// The lowest free address of the range, given the addresses of the range in use in ascending
/// order; `None` when the range is full.
pub fn lowest_free(in_use_ascending: impl IntoIterator<Item = u32>) -> Option<u32> {
    let mut next = AUTO_IP_FIRST;
    for ip in in_use_ascending {
        if ip > next {
            break;
        }
        if ip == AUTO_IP_LAST {
            return None;
        }
        next = next.max(ip + 1);
    }
    (next <= AUTO_IP_LAST).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_address_follows_the_highest() {
        assert_eq!(after_highest(None), Some(AUTO_IP_FIRST));
        assert_eq!(after_highest(Some(AUTO_IP_FIRST)), Some(AUTO_IP_FIRST + 1));
        assert_eq!(after_highest(Some(AUTO_IP_LAST - 1)), Some(AUTO_IP_LAST));
        assert_eq!(after_highest(Some(AUTO_IP_LAST)), None);
    }

    #[test]
    fn a_full_end_falls_back_to_the_lowest_gap() {
        let f = AUTO_IP_FIRST;
        assert_eq!(lowest_free([]), Some(f));
        assert_eq!(lowest_free([f, f + 1, f + 3, AUTO_IP_LAST]), Some(f + 2));
        assert_eq!(lowest_free([f + 1, AUTO_IP_LAST]), Some(f));
        assert_eq!(lowest_free(f..=AUTO_IP_LAST), None);
    }

    #[test]
    fn addresses_print_dotted() {
        assert_eq!(format_ipv4(AUTO_IP_FIRST), "172.16.0.2");
        assert_eq!(format_ipv4(AUTO_IP_LAST), "172.31.255.254");
    }
}
