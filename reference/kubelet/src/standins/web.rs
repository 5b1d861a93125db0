//! The `nginx` and `httpd` stand-in: serves the image's default page on port 80, as the
//! image does with its default configuration, writes the image's access log lines to
//! stdout and stops on SIGTERM (and the images' own stop signals, SIGQUIT for nginx and
//! SIGWINCH for httpd) with exit code 0. Entry point: [`serve`].

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::agnhost::AgnhostError;

/// Which image's server to stand in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WebServer {
    /// `nginx`: "Welcome to nginx!".
    Nginx,
    /// `httpd` (Apache): "It works!".
    Httpd,
}

/// `/usr/share/nginx/html/index.html` of the nginx image (615 bytes).
const NGINX_INDEX: &str = r#"<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"#;

/// `/usr/local/apache2/htdocs/index.html` of the httpd image.
const HTTPD_INDEX: &str = "<html><body><h1>It works!</h1></body></html>\n";

const NGINX_VERSION: &str = "nginx/1.27.5";
const HTTPD_VERSION: &str = "Apache/2.4.63 (Unix)";

impl WebServer {
    fn index(self) -> &'static str {
        match self {
            WebServer::Nginx => NGINX_INDEX,
            WebServer::Httpd => HTTPD_INDEX,
        }
    }

    fn server_header(self) -> &'static str {
        match self {
            WebServer::Nginx => NGINX_VERSION,
            WebServer::Httpd => HTTPD_VERSION,
        }
    }

    /// The image's page for an error status.
    fn error_page(self, status: StatusCode) -> String {
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        match self {
            WebServer::Nginx => format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>{NGINX_VERSION}</center>\r\n</body>\r\n</html>\r\n"
            ),
            WebServer::Httpd => format!(
                "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{code} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n"
            ),
        }
    }

    /// The access log line the image writes to stdout for one request: nginx's
    /// `combined` format with `$http_x_forwarded_for`, httpd's `common` format.
    fn access_line(
        self,
        peer: SocketAddr,
        request: &str,
        status: u16,
        bytes: usize,
        headers: &HeaderMap,
    ) -> String {
        let time = chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S %z");
        let ip = peer.ip();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        match self {
            WebServer::Nginx => format!(
                "{ip} - - [{time}] \"{request}\" {status} {bytes} \"{}\" \"{}\" \"{}\"",
                header("referer"),
                header("user-agent"),
                header("x-forwarded-for")
            ),
            WebServer::Httpd => format!("{ip} - - [{time}] \"{request}\" {status} {bytes}"),
        }
    }
}

fn version_text(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The answer to one request: the default page at `/` and `/index.html` (both images'
/// `index` directive), 404 elsewhere, 405 for methods a static site does not take.
fn answer(server: WebServer, method: &Method, path: &str) -> (StatusCode, String) {
    let static_method = method == Method::GET || method == Method::HEAD;
    match path {
        "/" | "/index.html" if static_method => (StatusCode::OK, server.index().to_string()),
        "/" | "/index.html" => (
            StatusCode::METHOD_NOT_ALLOWED,
            server.error_page(StatusCode::METHOD_NOT_ALLOWED),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            server.error_page(StatusCode::NOT_FOUND),
        ),
    }
}

async fn handle(
    State(server): State<WebServer>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
) -> Response {
    let (status, body) = answer(server, &method, uri.path());
    let request = format!(
        "{method} {} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
        version_text(version)
    );
    let bytes = if method == Method::HEAD {
        0
    } else {
        body.len()
    };
    println!(
        "{}",
        server.access_line(peer, &request, status.as_u16(), bytes, &headers)
    );
    let mut response = (status, [(header::CONTENT_TYPE, "text/html")], body).into_response();
    response.headers_mut().insert(
        header::SERVER,
        HeaderValue::from_static(server.server_header()),
    );
    response
}

/// What the image prints when it cannot listen (nginx's `[emerg]` line, httpd's
/// `make_sock` error).
fn bind_failure(server: WebServer, addr: SocketAddr, e: &std::io::Error) -> String {
    let (code, desc) = match e.raw_os_error() {
        Some(code) => (code, nix::errno::Errno::from_raw(code).desc().to_string()),
        None => (0, e.to_string()),
    };
    match server {
        WebServer::Nginx => format!("nginx: [emerg] bind() to {addr} failed ({code}: {desc})"),
        WebServer::Httpd => format!(
            "({code}){desc}: AH00072: make_sock: could not bind to address {addr}\nno listening sockets available, shutting down"
        ),
    }
}

/// Waits for a stop signal and names it, as nginx's notice does.
async fn stopped() -> Result<&'static str, AgnhostError> {
    let mut term = signal(SignalKind::terminate()).map_err(AgnhostError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(AgnhostError::Signal)?;
    let mut quit = signal(SignalKind::quit()).map_err(AgnhostError::Signal)?;
    let mut winch = signal(SignalKind::window_change()).map_err(AgnhostError::Signal)?;
    Ok(tokio::select! {
        _ = term.recv() => "signal 15 (SIGTERM)",
        _ = int.recv() => "signal 2 (SIGINT)",
        _ = quit.recv() => "signal 3 (SIGQUIT)",
        _ = winch.recv() => "signal 28 (SIGWINCH)",
    })
}

/// Serves `server`'s default page on `ip:port` until a stop signal (exit code 0); exit
/// code 1 if it cannot listen, as the image's server does.
pub async fn serve(server: WebServer, ip: IpAddr, port: u16) -> Result<i32, AgnhostError> {
    let addr = SocketAddr::new(ip, port);
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}", bind_failure(server, addr, &e));
            return Ok(1);
        }
    };
    let pid = std::process::id();
    match server {
        WebServer::Nginx => {
            println!("/docker-entrypoint.sh: Configuration complete; ready for start up");
            eprintln!(
                "{} [notice] {pid}#{pid}: start worker processes",
                log_time()
            );
        }
        WebServer::Httpd => eprintln!(
            "[{}] [mpm_event:notice] [pid {pid}:tid {pid}] AH00489: {HTTPD_VERSION} configured -- resuming normal operations",
            chrono::Utc::now().format("%a %b %d %H:%M:%S%.6f %Y")
        ),
    }
    let app = Router::new()
        .fallback(handle)
        .with_state(server)
        .into_make_service_with_connect_info::<SocketAddr>();
    let serve_err = |source| AgnhostError::Serve {
        what: "http",
        addr: addr.to_string(),
        source,
    };
    // Both images' stop on SIGTERM is a fast shutdown: open connections are dropped.
    tokio::select! {
        served = axum::serve(listener, app) => served.map(|()| 0).map_err(serve_err),
        signal = stopped() => {
            if server == WebServer::Nginx {
                eprintln!("{} [notice] {pid}#{pid}: {}, exiting", log_time(), signal?);
            }
            Ok(0)
        }
    }
}

fn log_time() -> String {
    chrono::Utc::now().format("%Y/%m/%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pages_are_the_images_own() {
        assert_eq!(NGINX_INDEX.len(), 615);
        let (status, body) = answer(WebServer::Nginx, &Method::GET, "/");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<title>Welcome to nginx!</title>"));
        assert_eq!(
            answer(WebServer::Httpd, &Method::GET, "/index.html"),
            (StatusCode::OK, HTTPD_INDEX.to_string())
        );
    }

    #[test]
    fn other_paths_are_not_found_and_other_methods_not_allowed() {
        let (status, body) = answer(WebServer::Nginx, &Method::GET, "/missing");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            body.contains("<center><h1>404 Not Found</h1></center>"),
            "{body}"
        );
        let (status, _) = answer(WebServer::Httpd, &Method::POST, "/");
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn a_failed_bind_is_reported_as_the_image_would() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(
            bind_failure(WebServer::Nginx, addr, &e),
            "nginx: [emerg] bind() to 127.0.0.1:80 failed (13: Permission denied)"
        );
    }
}
