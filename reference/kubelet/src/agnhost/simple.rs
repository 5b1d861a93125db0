//! The small agnhost workloads: `pause`, `serve-hostname`, `liveness`, `logs-generator`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use super::{AgnhostError, hostname};

/// Sleeps until SIGTERM or SIGINT and exits 0, as the pause container does.
pub async fn pause() -> Result<i32, AgnhostError> {
    let mut term = signal(SignalKind::terminate()).map_err(AgnhostError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AgnhostError::Signal)?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(0)
}

async fn serve(
    router: Router,
    ip: IpAddr,
    port: u16,
    what: &'static str,
) -> Result<i32, AgnhostError> {
    let addr = SocketAddr::new(ip, port);
    let err = |source| AgnhostError::Serve {
        what,
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(err)?;
    println!("Serving {what} on {addr}");
    axum::serve(listener, router).await.map_err(err)?;
    Ok(0)
}

/// Answers every HTTP request with the hostname (the pod name).
pub async fn serve_hostname(ip: IpAddr, port: u16) -> Result<i32, AgnhostError> {
    let router = Router::new().fallback(get(|| async { hostname() }));
    serve(router, ip, port, "hostname").await
}

/// `/healthz` answers 200 for `healthy_for` after start, then 500 (upstream: 10 s).
pub async fn liveness(ip: IpAddr, port: u16, healthy_for: Duration) -> Result<i32, AgnhostError> {
    let started = Instant::now();
    let router = Router::new().route(
        "/healthz",
        get(move || async move {
            let elapsed = started.elapsed();
            if elapsed < healthy_for {
                (StatusCode::OK, "ok".to_string())
            } else {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("error: {:.1}", elapsed.as_secs_f64()),
                )
            }
        }),
    );
    serve(router, ip, port, "liveness").await
}

/// One TCP connection attempt to `dest`, reporting the failure kind like upstream.
pub async fn connect(dest: &str, timeout: Duration) -> Result<i32, AgnhostError> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(dest)).await {
        Ok(Ok(_)) => Ok(0),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            eprintln!("REFUSED");
            Ok(1)
        }
        Ok(Err(e)) => {
            eprintln!("OTHER: {e}");
            Ok(1)
        }
        Err(_) => {
            eprintln!("TIMEOUT");
            Ok(1)
        }
    }
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const RESOURCES: [&str; 4] = ["pods", "services", "nodes", "endpoints"];

/// Line `n` of the generator's output: `<n> <METHOD> /api/v1/namespaces/<ns>/<res>/<name> <code>`.
pub fn generated_line(n: u64) -> String {
    let method = METHODS[(n % 4) as usize];
    let resource = RESOURCES[((n / 4) % 4) as usize];
    let code = [200, 201, 404, 500][((n * 7) % 4) as usize];
    format!(
        "{n} {method} /api/v1/namespaces/ns{}/{resource}/obj{} {code}",
        n % 3,
        n * 31 % 997
    )
}

/// Prints `lines` numbered lines spread evenly over `duration`, then exits 0.
pub async fn logs_generator(lines: u64, duration: Duration) -> Result<i32, AgnhostError> {
    let step = if lines == 0 {
        Duration::ZERO
    } else {
        duration / u32::try_from(lines).unwrap_or(u32::MAX)
    };
    let start = Instant::now();
    for n in 0..lines {
        tokio::time::sleep_until(start + step * u32::try_from(n).unwrap_or(u32::MAX)).await;
        println!("{}", generated_line(n));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_lines_are_numbered() {
        assert!(generated_line(0).starts_with("0 GET /api/v1/namespaces/ns0/pods/"));
        assert!(generated_line(41).starts_with("41 POST "));
    }
}
