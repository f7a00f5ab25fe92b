//! Real sockets for the data-plane tests (`serve --data-plane`): a backend that reads the Proxy
//! Protocol v2 header and echoes, clients bound to a chosen source address, and waits bounded
//! in time for forwarding to start or stop.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

/// A /24 of 127.16.0.0/12 for one server, and a client port, both picked at random.
pub fn block_and_port() -> (String, u16) {
    let n = u32::from_be_bytes(
        *uuid::Uuid::new_v4()
            .as_bytes()
            .first_chunk()
            .expect("4 bytes"),
    );
    let block = format!("127.{}.{}.0/24", 16 + (n % 16), (n >> 4) % 256);
    (block, 20_000 + (n >> 12) as u16 % 30_000)
}

/// What the backend saw of one forwarded connection: the header (when one came) and the peer.
pub struct Seen {
    pub header: Vec<u8>,
}

/// A backend on 127.0.0.1 that reads a Proxy Protocol v2 header first when `header`, reports
/// it, then echoes everything.
pub async fn backend(header: bool) -> (u16, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("backend");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                if header {
                    let mut fixed = [0u8; 16];
                    if s.read_exact(&mut fixed).await.is_err() {
                        return;
                    }
                    let len = u16::from_be_bytes([fixed[14], fixed[15]]) as usize;
                    let mut rest = vec![0u8; len];
                    if s.read_exact(&mut rest).await.is_err() {
                        return;
                    }
                    head.extend_from_slice(&fixed);
                    head.extend_from_slice(&rest);
                }
                let _ = tx.send(Seen { header: head });
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (port, rx)
}

pub async fn connect_from(source: Ipv4Addr, to: SocketAddrV4) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    socket.connect(SocketAddr::V4(to)).await
}

/// Sends a line and reads the echo; an error when the connection closes instead.
pub async fn echo(s: &mut TcpStream, text: &[u8]) -> std::io::Result<()> {
    s.write_all(text).await?;
    let mut got = vec![0u8; text.len()];
    tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut got))
        .await
        .map_err(|_| std::io::Error::other("no echo in 2 s"))??;
    assert_eq!(got, text);
    Ok(())
}

/// Connects (from 127.0.0.1) until a connection carries an echo, for at most `within`.
pub async fn open_within(to: SocketAddrV4, within: Duration) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = connect_from(Ipv4Addr::LOCALHOST, to).await {
            if echo(&mut s, b"ping\n").await.is_ok() {
                return s;
            }
        }
        assert!(
            start.elapsed() < within,
            "{to} did not forward within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a connect to `to` is refused, for at most `within`.
pub async fn refused_within(to: SocketAddrV4, within: Duration) {
    let start = Instant::now();
    loop {
        match connect_from(Ipv4Addr::LOCALHOST, to).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            _ => {}
        }
        assert!(
            start.elapsed() < within,
            "{to} still accepts connections after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the peer closes `s` within `within` (a read ends or fails).
pub async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}
