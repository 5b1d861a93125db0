//! The UDP side of the userspace proxy: datagrams from each client go to one endpoint
//! through a socket connected to it; replies are relayed back until the client has been
//! idle for the UDP timeout (upstream's `udpProxySocket`). Entry point: [`serve`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::balancer::Balancer;

type Clients = Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>;

/// Relay datagrams forever.
pub async fn serve(socket: UdpSocket, balancer: Arc<Mutex<Balancer>>, idle_timeout: Duration) {
    let socket = Arc::new(socket);
    let clients: Clients = Arc::default();
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, client) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        let existing = clients.lock().ok().and_then(|c| c.get(&client).cloned());
        let upstream = match existing {
            Some(s) => s,
            None => match open(&balancer, client).await {
                // No endpoints: the datagram is dropped, as a REJECTed one would be.
                None => continue,
                Some(s) => {
                    let s = Arc::new(s);
                    if let Ok(mut c) = clients.lock() {
                        c.insert(client, s.clone());
                    }
                    tokio::spawn(relay_replies(
                        socket.clone(),
                        s.clone(),
                        client,
                        clients.clone(),
                        idle_timeout,
                    ));
                    s
                }
            },
        };
        if let Err(e) = upstream.send(&buf[..n]).await {
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
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    clients: Clients,
    idle: Duration,
) {
    let mut buf = vec![0u8; 65535];
    // Ends when the endpoint stays silent for `idle`, or a socket fails.
    while let Ok(Ok(n)) = tokio::time::timeout(idle, upstream.recv(&mut buf)).await {
        if listener.send_to(&buf[..n], client).await.is_err() {
            break;
        }
    }
    if let Ok(mut c) = clients.lock() {
        c.remove(&client);
    }
}
