//! What the data plane serves (`vpcep serve --data-plane`): one route per accepted connection of
//! an interface service, and the rules that say where it forwards and what it tells the backend.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::address::whitelisted;
use super::model::Port;

/// An accepted connection as the data plane needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub endpoint_id: String,
    pub marker_id: i64,
    /// The endpoint's address (`port_ip`).
    pub address: Ipv4Addr,
    pub enable_whitelist: bool,
    pub whitelist: Vec<String>,
    /// The service's `ip`, when it was created with one.
    pub service_ip: Option<String>,
    /// The address registered for the service's `port_id` ([`Backend`]): the service's
    /// project's own registration, else one for every project.
    pub registered: Option<String>,
    pub tcp_proxy: String,
    pub ports: Vec<Port>,
}

/// The address the data plane forwards to for the services on a backend port (`port_id`) that
/// were created without an `ip`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The project whose services it serves; empty: every project's.
    pub project_id: String,
    pub port_id: String,
    /// An IPv4 address or a host name.
    pub address: String,
    pub updated_at: i64,
}

/// What the backend is told about the connection, from the service's `tcp_proxy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    /// `close`: nothing.
    None,
    /// `proxy_open`, `open`: a Proxy Protocol v2 header first.
    ProxyV2,
    /// `toa_open`: the address would travel in a TCP option, which a user-space proxy cannot
    /// write; forwarded without a header.
    TcpOptionUnsupported,
}

/// One listener of a route: `listen` forwards to `backend`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Listener {
    pub listen: SocketAddrV4,
    pub backend: (String, u16),
}

impl Route {
    pub fn header(&self) -> Header {
        match self.tcp_proxy.as_str() {
            "proxy_open" | "open" => Header::ProxyV2,
            "toa_open" => Header::TcpOptionUnsupported,
            _ => Header::None,
        }
    }

    /// The backend host: the service's `ip`, else the address registered for its `port_id`;
    /// `None` with neither.
    pub fn backend_host(&self) -> Option<&str> {
        self.service_ip
            .as_deref()
            .filter(|ip| !ip.is_empty())
            .or(self.registered.as_deref())
    }

    /// One listener per TCP port mapping (UDP mappings are not forwarded); none without a
    /// backend host.
    pub fn listeners(&self) -> Vec<Listener> {
        let Some(host) = self.backend_host() else {
            return Vec::new();
        };
        self.ports
            .iter()
            .filter(|p| p.protocol.eq_ignore_ascii_case("TCP"))
            .map(|p| Listener {
                listen: SocketAddrV4::new(self.address, p.client_port),
                backend: (host.to_owned(), p.server_port),
            })
            .collect()
    }

    /// Whether a client at `source` may connect: always, unless the endpoint's whitelist is
    /// enabled and does not name it.
    pub fn admits(&self, source: Ipv4Addr) -> bool {
        !self.enable_whitelist || whitelisted(source, &self.whitelist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route {
            endpoint_id: "e".into(),
            marker_id: 7,
            address: Ipv4Addr::new(127, 16, 0, 2),
            enable_whitelist: false,
            whitelist: Vec::new(),
            service_ip: Some("127.0.0.1".into()),
            registered: None,
            tcp_proxy: "close".into(),
            ports: vec![
                Port {
                    client_port: 80,
                    server_port: 8080,
                    protocol: "TCP".into(),
                },
                Port {
                    client_port: 53,
                    server_port: 5353,
                    protocol: "UDP".into(),
                },
            ],
        }
    }

    #[test]
    fn tcp_mappings_listen_on_the_endpoint_address() {
        let r = route();
        assert_eq!(
            r.listeners(),
            vec![Listener {
                listen: "127.16.0.2:80".parse().expect("addr"),
                backend: ("127.0.0.1".into(), 8080),
            }]
        );
        let none = Route {
            service_ip: None,
            ..route()
        };
        assert!(none.listeners().is_empty());
        let registered = Route {
            service_ip: None,
            registered: Some("backend.local".into()),
            ..route()
        };
        assert_eq!(registered.backend_host(), Some("backend.local"));
        let both = Route {
            registered: Some("backend.local".into()),
            ..route()
        };
        assert_eq!(
            both.backend_host(),
            Some("127.0.0.1"),
            "the service's ip wins"
        );
    }

    #[test]
    fn tcp_proxy_chooses_the_header() {
        for (mode, header) in [
            ("close", Header::None),
            ("proxy_open", Header::ProxyV2),
            ("open", Header::ProxyV2),
            ("toa_open", Header::TcpOptionUnsupported),
        ] {
            let r = Route {
                tcp_proxy: mode.into(),
                ..route()
            };
            assert_eq!(r.header(), header, "{mode}");
        }
    }

    #[test]
    fn the_whitelist_applies_only_when_enabled() {
        let mut r = route();
        r.whitelist = vec!["127.0.0.1/32".into()];
        assert!(r.admits(Ipv4Addr::new(127, 0, 0, 2)));
        r.enable_whitelist = true;
        assert!(r.admits(Ipv4Addr::new(127, 0, 0, 1)));
        assert!(!r.admits(Ipv4Addr::new(127, 0, 0, 2)));
    }
}
