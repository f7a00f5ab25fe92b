//! Zero-copy forwarding on Linux: `splice(2)` moves the bytes from one socket into a pipe and
//! from the pipe into the other socket inside the kernel, instead of reading them into a
//! user-space buffer and writing them out again.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// How much one `splice` moves at most: the default capacity of a pipe.
const CHUNK: usize = 64 * 1024;

/// A pipe, both ends non-blocking, closed when dropped.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: `fds` is a valid array of two file descriptors for pipe2 to fill.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
        Ok(unsafe {
            Pipe {
                read: OwnedFd::from_raw_fd(fds[0]),
                write: OwnedFd::from_raw_fd(fds[1]),
            }
        })
    }
}

/// One `splice` call: at most `len` bytes from `from` to `to`, without blocking.
fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: both descriptors are open for the duration of the call (borrowed from live
    // owners), and null offsets mean "the current position", as sockets and pipes require.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Moves everything `from` sends to `to` until `from` ends (then half-closes `to`) or either
/// fails, counting each chunk with `count`; the bytes moved.
pub async fn copy(from: &TcpStream, to: &TcpStream, count: impl Fn(u64)) -> u64 {
    let mut total = 0;
    if let Ok(pipe) = Pipe::new() {
        let _ = pump(from, to, &pipe, &count, &mut total).await;
    }
    // SAFETY: `to` is an open socket for the duration of the call.
    unsafe {
        libc::shutdown(to.as_raw_fd(), libc::SHUT_WR);
    }
    total
}

async fn pump(
    from: &TcpStream,
    to: &TcpStream,
    pipe: &Pipe,
    count: &impl Fn(u64),
    total: &mut u64,
) -> io::Result<()> {
    let (pipe_read, pipe_write) = (pipe.read.as_raw_fd(), pipe.write.as_raw_fd());
    loop {
        let n = from
            .async_io(Interest::READABLE, || {
                splice(from.as_raw_fd(), pipe_write, CHUNK)
            })
            .await?;
        if n == 0 {
            return Ok(());
        }
        let mut left = n;
        while left > 0 {
            let m = to
                .async_io(Interest::WRITABLE, || {
                    splice(pipe_read, to.as_raw_fd(), left)
                })
                .await?;
            if m == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            left -= m;
        }
        count(n as u64);
        *total += n as u64;
    }
}
