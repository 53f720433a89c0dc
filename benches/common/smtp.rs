//! A minimal SMTP server for benchmarks, in process: it answers every command a client
//! sends (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and counts the messages it accepted, as
//! fast as the loopback allows, so that a benchmark measures the client and not the server.
//!
//! It acknowledges every segment at once (`TCP_QUICKACK`, Linux): lettre's client writes a
//! message in several small segments without `TCP_NODELAY`, so with the usual delayed ACK
//! each message waits about 40 ms for the server's ACK (Nagle), whatever both sides do.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

pub struct FastSink {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FastSink {
    pub async fn start() -> anyhow::Result<FastSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let _ = session(socket, counter).await;
                });
            }
        });
        Ok(FastSink { port, accepted, task })
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FastSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(socket: tokio::net::TcpStream, accepted: Arc<AtomicUsize>) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let quickack = |s: &tokio::net::TcpStream| {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(s).set_tcp_quickack(true);
        let _ = s;
    };
    quickack(&socket);
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        quickack(lines.get_ref().as_ref());
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?,
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    quickack(lines.get_ref().as_ref());
                    if line == ".\r\n" {
                        break;
                    }
                }
                accepted.fetch_add(1, Ordering::SeqCst);
                write.write_all(b"250 2.0.0 OK\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 OK\r\n").await?,
        }
    }
}
