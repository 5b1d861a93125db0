//! The UDP side of the userspace proxy: datagrams from each client go to one endpoint
//! through a socket connected to it; replies are relayed back until the client "session"
//! has been idle in both directions for the UDP timeout (upstream's `udpProxySocket`).
//! Entry point: [`serve`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::balancer::Balancer;

/// One client's path to its endpoint.
struct Session {
    upstream: UdpSocket,
    last_sent: Mutex<Instant>,
}

impl Session {
    fn touch(&self) {
        *self.last_sent.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
    fn idle_for(&self) -> Duration {
        self.last_sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

type Sessions = Arc<Mutex<HashMap<SocketAddr, Arc<Session>>>>;

/// Relay datagrams forever.
pub async fn serve(socket: UdpSocket, balancer: Arc<Mutex<Balancer>>, idle_timeout: Duration) {
    let socket = Arc::new(socket);
    let sessions: Sessions = Arc::default();
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, client) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        let existing = sessions.lock().ok().and_then(|s| s.get(&client).cloned());
        let session = match existing {
            Some(s) => s,
            // No endpoints: the datagram is dropped, as a REJECTed one would be.
            None => match open(&balancer, client).await {
                None => continue,
                Some(upstream) => {
                    let s = Arc::new(Session {
                        upstream,
                        last_sent: Mutex::new(Instant::now()),
                    });
                    if let Ok(mut map) = sessions.lock() {
                        map.insert(client, s.clone());
                    }
                    let relay = relay_replies(
                        socket.clone(),
                        s.clone(),
                        client,
                        sessions.clone(),
                        idle_timeout,
                    );
                    tokio::spawn(relay);
                    s
                }
            },
        };
        session.touch();
        if let Err(e) = session.upstream.send(&buf[..n]).await {
            tracing::debug!(%client, error = %e, "udp send to endpoint failed");
        }
    }
}

async fn open(balancer: &Mutex<Balancer>, client: SocketAddr) -> Option<UdpSocket> {
    let endpoint = balancer
        .lock()
        .ok()?
        .next(client.ip(), Instant::now(), false)?;
    let local: IpAddr = if endpoint.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let sock = UdpSocket::bind(SocketAddr::new(local, 0)).await.ok()?;
    sock.connect(endpoint).await.ok()?;
    Some(sock)
}

async fn relay_replies(
    listener: Arc<UdpSocket>,
    session: Arc<Session>,
    client: SocketAddr,
    sessions: Sessions,
    idle: Duration,
) {
    let mut buf = vec![0u8; 65535];
    loop {
        match tokio::time::timeout(idle, session.upstream.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                if listener.send_to(&buf[..n], client).await.is_err() {
                    break;
                }
            }
            Ok(Err(_)) => break,
            // The endpoint was silent; the session lives on while the client still sends.
            Err(_) if session.idle_for() < idle => {}
            Err(_) => break,
        }
    }
    if let Ok(mut map) = sessions.lock() {
        map.remove(&client);
    }
}
