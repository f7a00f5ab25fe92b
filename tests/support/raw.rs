//! Raw HTTP/1.1 over TCP (`RawConn`, `RawResponse`), for what an HTTP client library will not
//! send or will not show: malformed requests, pipelining, held-back bodies, connection closes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::assert::check_error_body;

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body of the {} response is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error response of docs/api.md §2.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        let raw = String::from_utf8_lossy(&self.body).to_string();
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {} {raw}",
            self.status
        );
        assert!(
            self.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "no X-Request-Id on {self:?}"
        );
        check_error_body(&self.json(), code, &raw)
    }
}

pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream = TcpStream::connect(addr).expect("connect to vpcep");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// A second handle on the same socket, e.g. for writing from another thread.
    pub fn writer(&self) -> TcpStream {
        self.stream.try_clone().expect("clone the socket")
    }

    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "response deadline passed",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn take_line(&mut self, deadline: Instant) -> io::Result<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).to_string();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            if self.fill(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF inside a line",
                ));
            }
        }
    }

    fn take_exact(&mut self, n: usize, deadline: Instant) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill(deadline)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "EOF inside a body",
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response. `Ok(None)`: the server closed the connection before sending a byte.
    /// A response that is not well-formed HTTP/1.1 is an `InvalidData` error.
    pub fn read_response(&mut self, timeout: Duration) -> io::Result<Option<RawResponse>> {
        let deadline = Instant::now() + timeout;
        while self.buf.is_empty() {
            if self.fill(deadline)? == 0 {
                return Ok(None);
            }
        }
        let status_line = self.take_line(deadline)?;
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad(format!("not an HTTP/1.1 status line: {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = self.take_line(deadline)?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        let mut resp = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = resp.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            resp.body = self.take_exact(len, deadline)?;
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size_line = self.take_line(deadline)?;
                let size =
                    usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| bad(format!("bad chunk size {size_line:?}")))?;
                if size == 0 {
                    while !self.take_line(deadline)?.is_empty() {}
                    break;
                }
                let chunk = self.take_exact(size, deadline)?;
                resp.body.extend_from_slice(&chunk);
                self.take_exact(2, deadline)?;
            }
        } else if status != 204 && status != 304 {
            // No framing: the body runs to the end of the connection.
            while self.fill(deadline)? > 0 {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(Some(resp))
    }
}

/// Request head bytes: `METHOD PATH HTTP/1.1`, Host, the given headers, blank line.
pub fn request_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}
