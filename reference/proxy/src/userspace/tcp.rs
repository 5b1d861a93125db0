//! The TCP side of the userspace proxy: accept on the service address, pick an endpoint,
//! dial it (trying others when a dial fails, as upstream's `tryConnectTCP`), and copy bytes
//! both ways. Entry point: [`serve`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

use super::balancer::Balancer;

/// Upstream tries at most four endpoints per connection.
const MAX_DIAL_ATTEMPTS: usize = 4;

/// Accept connections forever; each is proxied on its own task.
pub async fn serve(listener: TcpListener, balancer: Arc<Mutex<Balancer>>, dial_timeout: Duration) {
    loop {
        match listener.accept().await {
            Ok((conn, peer)) => {
                let balancer = balancer.clone();
                tokio::spawn(
                    async move { proxy_connection(conn, peer, balancer, dial_timeout).await },
                );
            }
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn pick(balancer: &Mutex<Balancer>, peer: SocketAddr, reset: bool) -> Option<SocketAddr> {
    match balancer.lock() {
        Ok(mut b) => b.next(peer.ip(), Instant::now(), reset),
        Err(poisoned) => poisoned.into_inner().next(peer.ip(), Instant::now(), reset),
    }
}

async fn dial(
    balancer: &Mutex<Balancer>,
    peer: SocketAddr,
    timeout: Duration,
) -> Option<TcpStream> {
    let mut reset = false;
    for _ in 0..MAX_DIAL_ATTEMPTS {
        let endpoint = pick(balancer, peer, reset)?;
        match tokio::time::timeout(timeout, TcpStream::connect(endpoint)).await {
            Ok(Ok(stream)) => return Some(stream),
            Ok(Err(e)) => tracing::debug!(%endpoint, error = %e, "dial to endpoint failed"),
            Err(_) => tracing::debug!(%endpoint, "dial to endpoint timed out"),
        }
        reset = true;
    }
    None
}

async fn proxy_connection(
    mut inbound: TcpStream,
    peer: SocketAddr,
    balancer: Arc<Mutex<Balancer>>,
    timeout: Duration,
) {
    let Some(mut outbound) = dial(&balancer, peer, timeout).await else {
        // No endpoints (or none reachable): reset the client at once, as iptables mode's
        // REJECT would, rather than leave it hanging.
        let _ = inbound.set_zero_linger();
        return;
    };
    if let Err(e) = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await {
        tracing::debug!(%peer, error = %e, "proxied connection ended with an error");
    }
}
