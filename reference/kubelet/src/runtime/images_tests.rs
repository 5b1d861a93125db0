//! Tests of [`super`]: image names (tags, digests, registries) and what each image runs.

use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn web(server: &str) -> Workload {
    Workload::Agnhost(s(&["web-server", server]))
}

fn hosted(program: &str, args: &[&str]) -> Workload {
    Workload::Host {
        program: program.into(),
        args: s(args),
    }
}

#[test]
fn repositories_drop_tags_and_digests_but_not_registry_ports() {
    assert_eq!(repository("busybox:1.36"), "busybox");
    assert_eq!(
        repository("localhost:5000/busybox"),
        "localhost:5000/busybox"
    );
    assert_eq!(
        repository("registry.k8s.io/pause@sha256:abc"),
        "registry.k8s.io/pause"
    );
    assert_eq!(repository("nginx:1.27@sha256:abc"), "nginx");
}

#[test]
fn agnhost_args_run_agnhost_and_its_entrypoint_is_dropped() {
    let img = "registry.k8s.io/e2e-test-images/agnhost:2.53";
    assert_eq!(
        resolve(img, &[], &s(&["netexec", "--http-port=8080"])),
        Ok(Workload::Agnhost(s(&["netexec", "--http-port=8080"])))
    );
    assert_eq!(
        resolve(img, &s(&["/agnhost", "serve-hostname"]), &[]),
        Ok(Workload::Agnhost(s(&["serve-hostname"])))
    );
    assert_eq!(
        resolve(img, &s(&["/bin/sh", "-c"]), &s(&["exit 1"])),
        Ok(hosted("/bin/sh", &["-c", "exit 1"]))
    );
}

#[test]
fn the_kubectl_image_runs_kubectl_with_the_containers_args() {
    let img = "registry.k8s.io/kubectl:v1.33.0";
    assert_eq!(
        resolve(img, &[], &s(&["auth", "whoami"])),
        Ok(hosted("kubectl", &["auth", "whoami"]))
    );
    assert_eq!(
        resolve(img, &s(&["sh", "-c"]), &s(&["true"])),
        Ok(hosted("sh", &["-c", "true"]))
    );
    assert!(is_available(img));
}

#[test]
fn busybox_and_alpine_run_host_programs_and_default_to_sh() {
    for img in [
        "busybox",
        "docker.io/library/busybox:1.36",
        "alpine",
        "alpine:3.20",
        "docker.io/library/alpine:latest",
        "alpine@sha256:beefdead",
    ] {
        assert_eq!(
            resolve(img, &s(&["sh", "-c", "exit 3"]), &[]),
            Ok(hosted("sh", &["-c", "exit 3"])),
            "{img}"
        );
        assert_eq!(resolve(img, &[], &[]), Ok(hosted("sh", &[])), "{img}");
    }
}

#[test]
fn nginx_and_httpd_under_their_hub_and_e2e_names_serve_their_page() {
    for img in [
        "nginx",
        "nginx:1.27",
        "nginx:alpine",
        "docker.io/nginx",
        "docker.io/library/nginx:1.27.5",
        "nginx@sha256:0123abcd",
        "mirror.gcr.io/library/nginx:1.27",
        "public.ecr.aws/docker/library/nginx:1.27",
        "localhost:5000/nginx:1.27",
        "registry.k8s.io/e2e-test-images/nginx:1.14-4",
        "k8s.gcr.io/e2e-test-images/nginx:1.15-1",
    ] {
        assert!(is_available(img), "{img}");
        assert_eq!(resolve(img, &[], &[]), Ok(web("nginx")), "{img}");
    }
    for img in [
        "httpd",
        "httpd:2.4",
        "docker.io/library/httpd:2.4.63-alpine",
        "registry.k8s.io/e2e-test-images/httpd:2.4.38-4",
    ] {
        assert_eq!(resolve(img, &[], &[]), Ok(web("httpd")), "{img}");
    }
}

#[test]
fn the_images_own_commands_serve_and_other_commands_run_on_the_machine() {
    let nginx = |argv: &[&str]| resolve("nginx:1.27", &s(argv), &[]);
    assert_eq!(nginx(&["nginx", "-g", "daemon off;"]), Ok(web("nginx")));
    assert_eq!(
        nginx(&["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]),
        Ok(web("nginx"))
    );
    assert_eq!(
        resolve("nginx", &[], &s(&["/usr/sbin/nginx", "-g", "daemon off;"])),
        Ok(web("nginx"))
    );
    assert_eq!(
        nginx(&["sh", "-c", "echo hi"]),
        Ok(hosted("sh", &["-c", "echo hi"]))
    );
    // A flag the stand-in does not honour is not the default server.
    assert_eq!(
        nginx(&["nginx", "-c", "/etc/my.conf"]),
        Ok(hosted("nginx", &["-c", "/etc/my.conf"]))
    );
    let httpd = |argv: &[&str]| resolve("httpd:2.4", &s(argv), &[]);
    assert_eq!(httpd(&["httpd-foreground"]), Ok(web("httpd")));
    assert_eq!(httpd(&["httpd", "-DFOREGROUND"]), Ok(web("httpd")));
    assert_eq!(
        httpd(&["/usr/local/apache2/bin/httpd", "-D", "FOREGROUND"]),
        Ok(web("httpd"))
    );
    assert_eq!(httpd(&["sleep", "10"]), Ok(hosted("sleep", &["10"])));
}

#[test]
fn the_web_server_workload_is_an_agnhost_subcommand() {
    let Ok(Workload::Agnhost(args)) = resolve("nginx", &[], &[]) else {
        panic!("nginx is not an agnhost workload");
    };
    let cli = crate::agnhost::parse(std::iter::once("agnhost".to_string()).chain(args)).unwrap();
    assert_eq!(
        cli.command,
        crate::agnhost::Command::WebServer {
            server: WebServer::Nginx,
            port: 80
        }
    );
}

#[test]
fn python_runs_the_machines_python3() {
    for img in [
        "python",
        "python:3.12",
        "python:3.13-slim",
        "docker.io/library/python:3.12-alpine",
    ] {
        assert_eq!(
            resolve(img, &s(&["python", "-m", "http.server", "8000"]), &[]),
            Ok(hosted("python3", &["-m", "http.server", "8000"])),
            "{img}"
        );
        assert_eq!(resolve(img, &[], &[]), Ok(hosted("python3", &[])), "{img}");
    }
    let py = |argv: &[&str]| resolve("python:3.12", &s(argv), &[]);
    assert_eq!(
        py(&["python3", "-c", "print(1)"]),
        Ok(hosted("python3", &["-c", "print(1)"]))
    );
    assert_eq!(
        py(&["/usr/local/bin/python3.12", "app.py"]),
        Ok(hosted("python3", &["app.py"]))
    );
    assert_eq!(
        resolve("python:3.12", &[], &s(&["python", "-c", "print(2)"])),
        Ok(hosted("python3", &["-c", "print(2)"]))
    );
    assert_eq!(
        py(&["sh", "-c", "python3 -V"]),
        Ok(hosted("sh", &["-c", "python3 -V"]))
    );
    assert_eq!(py(&["python3x"]), Ok(hosted("python3x", &[])));
}

#[test]
fn pause_sleeps_and_other_images_fail_to_pull_naming_the_supported_ones() {
    assert_eq!(
        resolve("registry.k8s.io/pause:3.10", &[], &[]),
        Ok(Workload::Agnhost(s(&["pause"])))
    );
    for img in [
        "redis:7",
        "bitnami/nginx:1.27",
        "nginxinc/nginx-unprivileged",
        "quay.io/someone/python:3",
        "nginx-ingress",
    ] {
        assert!(!is_available(img), "{img}");
        let err = resolve(img, &[], &[]).unwrap_err();
        assert!(
            err.starts_with(&format!("failed to pull and unpack image \"{img}\": ")),
            "{err}"
        );
        for name in ["nginx", "httpd", "python", "alpine", "busybox"] {
            assert!(err.contains(name), "{err}");
        }
    }
}
