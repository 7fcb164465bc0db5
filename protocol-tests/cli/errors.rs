//! Errors people hit: an unknown topic, a broker that is not there, bad flags; and the
//! WEIR_BOOTSTRAP variable.

use super::{broker, weir, weir_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_a_clear_error_naming_the_broker() {
    let broker = broker().await;
    let b = broker.bootstrap();
    let want = format!("error: unknown topic \"nope\" (broker {b})");
    for args in [
        &["topic", "describe", "nope"][..],
        &["consume", "nope", "-e"][..],
        &["topic", "add-partitions", "nope", "--num", "1"][..],
        &["topic", "alter-config", "nope", "--set", "retention.ms=1"][..],
        &["group", "seek", "g", "-t", "nope", "--to-earliest"][..],
    ] {
        let out = weir(&b, args, None).await;
        assert_eq!(out.failed().trim_end(), want, "{}", out.command);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "{out}");
    }
    let out = weir(&b, &["produce", "nope"], Some("x\n")).await;
    assert_eq!(out.failed().trim_end(), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bootstrap_names_the_address() {
    // A port nobody listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    for args in [
        &["topic", "list"][..],
        &["cluster", "info"][..],
        &["group", "list"][..],
    ] {
        let out = weir(&addr, args, None).await;
        let stderr = out.failed();
        assert!(
            stderr.starts_with(&format!("error: cannot connect to {addr}: ")),
            "{}: {out}",
            out.command
        );
        assert_eq!(out.status.code(), Some(1));
    }
    let out = weir(&addr, &["produce", "t"], Some("x\n")).await;
    assert!(
        out.failed().contains(&format!("cannot connect to {addr}")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_bootstrap_variable_and_usage_errors() {
    let broker = broker().await;
    let b = broker.bootstrap();
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let out = weir_env(
        args(&["topic", "create", "viaenv"]),
        None,
        &[("WEIR_BOOTSTRAP", &b)],
    )
    .await;
    assert_eq!(out.ok(), "Created topic viaenv (3 partitions)\n");
    let out = weir_env(args(&["topic", "list"]), None, &[("WEIR_BOOTSTRAP", &b)]).await;
    assert!(out.ok().contains("viaenv"), "{out}");
    // The flag wins over the variable.
    let out = weir_env(
        args(&["topic", "list", "--bootstrap", &b]),
        None,
        &[("WEIR_BOOTSTRAP", "127.0.0.1:1")],
    )
    .await;
    assert!(out.ok().contains("viaenv"), "{out}");

    let out = weir(&b, &["group", "seek", "g", "-t", "viaenv"], None).await;
    assert_eq!(out.status.code(), Some(2), "a seek needs a target: {out}");
    let out = weir(&b, &["topic", "alter-config", "viaenv"], None).await;
    assert!(out.failed().contains("at least one --set"), "{out}");
    assert_eq!(out.status.code(), Some(2));
    let out = weir(
        &b,
        &[
            "group",
            "seek",
            "g",
            "-t",
            "viaenv",
            "--to-datetime",
            "someday",
        ],
        None,
    )
    .await;
    assert!(out.failed().contains("--to-datetime \"someday\""), "{out}");
}
