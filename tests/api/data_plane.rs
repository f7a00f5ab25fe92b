//! The data plane (`serve --data-plane`) with real sockets: a backend in the test reads the Proxy
//! Protocol v2 header byte for byte and echoes; connects go through the endpoint's address.
//! Each server gets a /24 of its own inside 127.16.0.0/12, so that tests running at once never
//! listen on the same address.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::assert::{str_of, uuid};
use crate::support::data_plane::*;
use crate::support::metrics::{scrape, value, value_reaching};
use crate::support::TestApp;

fn data_plane_app(block: &str) -> TestApp {
    TestApp::with_args(&["--data-plane", "--data-plane-cidr", block])
}

fn service(client_port: u16, backend_port: u16, tcp_proxy: &str) -> Value {
    json!({
        "port_id": uuid(),
        "vpc_id": uuid(),
        "server_type": "VM",
        "ip": "127.0.0.1",
        "tcp_proxy": tcp_proxy,
        "approval_enabled": true,
        "ports": [{"client_port": client_port, "server_port": backend_port, "protocol": "TCP"}],
    })
}

async fn endpoint_address(app: &TestApp, eid: &str, port: u16) -> SocketAddrV4 {
    let ip = str_of(&app.get_endpoint(eid).await.ok()["ip"]);
    SocketAddrV4::new(ip.parse().expect("an IPv4 address"), port)
}

fn action(action: &str, eid: &str) -> Value {
    json!({"action": action, "endpoints": [eid]})
}

#[tokio::test]
async fn an_accepted_connection_forwards_with_the_proxy_protocol_header_until_rejected() {
    let (block, port) = block_and_port();
    let app = data_plane_app(&block);
    let (backend_port, mut seen) = backend(true).await;
    let sid = str_of(
        &app.create_service(&service(port, backend_port, "proxy_open"))
            .await
            .ok()["id"],
    );
    let ep = app.new_endpoint(&sid).await;
    let eid = str_of(&ep["id"]);
    let marker = ep["marker_id"].as_i64().expect("marker_id");
    assert_eq!(ep["status"], "pendingAcceptance");
    // Not accepted yet: nothing listens on the address it will have (the first of the block).
    let net: Ipv4Addr = block.trim_end_matches("/24").parse().expect("block");
    let first = SocketAddrV4::new(Ipv4Addr::from(u32::from(net) + 2), port);
    tokio::time::sleep(Duration::from_millis(600)).await;
    refused_within(first, Duration::from_millis(1)).await;

    app.accept_or_reject(&sid, &action("receive", &eid))
        .await
        .ok();
    let addr = endpoint_address(&app, &eid, port).await;
    assert_eq!(
        addr, first,
        "the endpoint's ip is the block's first address"
    );
    let mut open = open_within(addr, Duration::from_secs(1)).await;
    let local = match open.local_addr().expect("local") {
        SocketAddr::V4(a) => a,
        other => panic!("{other}"),
    };
    let h = tokio::time::timeout(Duration::from_secs(2), seen.recv())
        .await
        .expect("the backend saw the connection")
        .expect("seen")
        .header;
    // The header, byte for byte.
    let mut want = vec![
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11,
    ];
    let marker_text = marker.to_string();
    want.extend_from_slice(&((12 + 3 + marker_text.len() + 3 + 36) as u16).to_be_bytes());
    want.extend_from_slice(&local.ip().octets());
    want.extend_from_slice(&addr.ip().octets());
    want.extend_from_slice(&local.port().to_be_bytes());
    want.extend_from_slice(&port.to_be_bytes());
    want.push(0xE1);
    want.extend_from_slice(&(marker_text.len() as u16).to_be_bytes());
    want.extend_from_slice(marker_text.as_bytes());
    want.push(0xE2);
    want.extend_from_slice(&36u16.to_be_bytes());
    want.extend_from_slice(eid.as_bytes());
    assert_eq!(h, want, "the Proxy Protocol v2 header");

    // Reject: the open connection closes within a second, and new connects are refused.
    app.accept_or_reject(&sid, &action("reject", &eid))
        .await
        .ok();
    let rejected = Instant::now();
    assert!(
        closed_within(&mut open, Duration::from_secs(1)).await,
        "the open connection outlived the reject by a second"
    );
    refused_within(
        addr,
        Duration::from_secs(1).saturating_sub(rejected.elapsed()),
    )
    .await;

    // Accept again: it forwards again.
    app.accept_or_reject(&sid, &action("receive", &eid))
        .await
        .ok();
    let again = open_within(addr, Duration::from_secs(1)).await;
    // 4 MiB both ways arrive intact (the forwarding moves them inside the kernel on Linux).
    let data: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (mut rd, mut wr) = again.into_split();
    let sent = data.clone();
    let writer = tokio::spawn(async move { wr.write_all(&sent).await.map(|()| wr) });
    let mut back = vec![0u8; data.len()];
    tokio::time::timeout(Duration::from_secs(10), rd.read_exact(&mut back))
        .await
        .expect("the echo of 4 MiB within 10 s")
        .expect("read the echo");
    let _wr = writer.await.expect("writer").expect("write 4 MiB");
    assert!(back == data, "the 4 MiB came back changed");
    // /metrics counts them, for the node (no endpoint id in a label).
    let four = f64::from(4u32 << 20);
    for direction in ["to_backend", "to_consumer"] {
        let moved = value_reaching(
            &app,
            "vpcep_dataplane_bytes_total",
            &[("direction", direction)],
            four,
        )
        .await;
        assert!(moved >= four, "{direction}: {moved} bytes counted");
    }
    let (_, all) = scrape(&app, &app.base()).await;
    assert!(value(&all, "vpcep_dataplane_connections_forwarded_total", &[]) >= 2.0);
    assert_eq!(value(&all, "vpcep_dataplane_connections_open", &[]), 1.0);
    assert!(value(&all, "vpcep_dataplane_listeners", &[]) >= 1.0);

    // Delete: refused.
    app.delete_endpoint(&eid).await.assert_status(204);
    refused_within(addr, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_endpoint_whitelist_closes_sources_it_does_not_name() {
    let (block, port) = block_and_port();
    let app = data_plane_app(&block);
    let (backend_port, mut seen) = backend(false).await;
    let mut body = service(port, backend_port, "close");
    body["approval_enabled"] = json!(false);
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let eid = str_of(
        &app.create_endpoint(&json!({
            "endpoint_service_id": sid, "vpc_id": uuid(), "subnet_id": uuid(),
            "enable_whitelist": true, "whitelist": ["127.0.0.1/32"],
        }))
        .await
        .ok()["id"],
    );
    let addr = endpoint_address(&app, &eid, port).await;
    // 127.0.0.1 is named: forwarded, and `close` sends no header (the echo is the first data).
    let _named = open_within(addr, Duration::from_secs(1)).await;
    assert!(seen.recv().await.expect("seen").header.is_empty());
    // 127.0.0.2 is not: closed at once, and the backend never sees it.
    let mut other = connect_from(Ipv4Addr::new(127, 0, 0, 2), addr)
        .await
        .expect("the listener accepts, then closes");
    let _ = other.write_all(b"hello").await;
    assert!(
        closed_within(&mut other, Duration::from_secs(1)).await,
        "a source outside the whitelist was not closed"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        seen.try_recv().is_err(),
        "the backend saw a source outside the whitelist"
    );
    let refused = value_reaching(
        &app,
        "vpcep_dataplane_connections_refused_total",
        &[("reason", "whitelist")],
        1.0,
    )
    .await;
    assert_eq!(refused, 1.0);
    // UpdateEndpointWhite: once 127.0.0.2 is named too, it is forwarded.
    app.update_endpoint_white(
        &eid,
        &json!({"whitelist": ["127.0.0.1/32", "127.0.0.2"], "enable_whitelist": true}),
    )
    .await
    .ok();
    let start = Instant::now();
    loop {
        if let Ok(mut s) = connect_from(Ipv4Addr::new(127, 0, 0, 2), addr).await {
            if echo(&mut s, b"now\n").await.is_ok() {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the new whitelist was not applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn addresses_come_from_the_block_and_a_restart_keeps_serving() {
    let (block, port) = block_and_port();
    let mut app = data_plane_app(&block);
    let (backend_port, _seen) = backend(false).await;
    let mut body = service(port, backend_port, "close");
    body["approval_enabled"] = json!(false);
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let net: Ipv4Addr = block.trim_end_matches("/24").parse().expect("block");
    // A requested address outside the block is refused with the block in the message.
    let r = app
        .create_endpoint(&json!({
            "endpoint_service_id": sid, "vpc_id": uuid(), "subnet_id": uuid(),
            "port_ip": "10.0.0.5",
        }))
        .await;
    r.assert_error(400, "EndPoint.2041");
    assert!(r.text.contains(&block), "{}", r.text);
    // One inside is given; the next automatic one, in another VPC, is not the same address.
    let chosen = Ipv4Addr::from(u32::from(net) + 100).to_string();
    let a = app
        .create_endpoint(&json!({
            "endpoint_service_id": sid, "vpc_id": uuid(), "subnet_id": uuid(),
            "port_ip": chosen,
        }))
        .await
        .ok()
        .clone();
    let b = app.new_endpoint(&sid).await;
    let c = app.new_endpoint(&sid).await;
    let ids = [str_of(&a["id"]), str_of(&b["id"]), str_of(&c["id"])];
    let mut addrs = Vec::new();
    for id in &ids {
        addrs.push(endpoint_address(&app, id, port).await);
    }
    assert_eq!(addrs[0].ip().to_string(), chosen);
    assert_ne!(
        addrs[1], addrs[2],
        "two VPCs got the same data-plane address"
    );
    // The same address again, even in another VPC, is in use.
    app.create_endpoint(&json!({
        "endpoint_service_id": sid, "vpc_id": uuid(), "subnet_id": uuid(), "port_ip": chosen,
    }))
    .await
    .assert_error(400, "EndPoint.2042");
    for addr in &addrs {
        let _ = open_within(*addr, Duration::from_secs(1)).await;
    }
    app.restart();
    for addr in &addrs {
        let _ = open_within(*addr, Duration::from_secs(2)).await;
    }
}

/// A `/_vpcep/v1/{project}/backends...` request as the owner.
async fn backends_call(
    app: &TestApp,
    method: reqwest::Method,
    rest: &str,
    body: Option<&Value>,
) -> crate::support::Resp {
    let url = app.url(&format!("/_vpcep/v1/{}/backends{rest}", app.project_id()));
    let mut rb = reqwest::Client::new()
        .request(method, url)
        .header("X-Auth-Token", app.token());
    if let Some(body) = body {
        rb = rb.json(body);
    }
    crate::support::Resp::from_reqwest(rb.send().await.expect("send")).await
}

#[tokio::test]
async fn a_service_without_ip_forwards_to_the_backend_registered_for_its_port() {
    let (block, port) = block_and_port();
    let app = data_plane_app(&block);
    let (backend_port, _seen) = backend(false).await;
    let mut body = service(port, backend_port, "close");
    body["approval_enabled"] = json!(false);
    body.as_object_mut().expect("object").remove("ip");
    let port_id = str_of(&body["port_id"]);
    let sid = str_of(&app.create_service(&body).await.ok()["id"]);
    let eid = str_of(&app.new_endpoint(&sid).await["id"]);
    let addr = endpoint_address(&app, &eid, port).await;
    // No ip and nothing registered: nothing listens.
    tokio::time::sleep(Duration::from_millis(600)).await;
    refused_within(addr, Duration::from_millis(1)).await;

    // The project registers its port: forwarded.
    let put = reqwest::Method::PUT;
    backends_call(
        &app,
        put.clone(),
        &format!("/{port_id}"),
        Some(&json!({"address": "-bad-"})),
    )
    .await
    .assert_error(400, "EndPoint.0002");
    let r = backends_call(
        &app,
        put.clone(),
        &format!("/{port_id}"),
        Some(&json!({"address": "127.0.0.1"})),
    )
    .await;
    assert_eq!(r.ok()["address"], "127.0.0.1");
    assert_eq!(r.ok()["project_id"], app.project_id());
    let _open = open_within(addr, Duration::from_secs(1)).await;
    let list = backends_call(&app, reqwest::Method::GET, "", None).await;
    assert_eq!(list.ok()["backends"][0]["port_id"], port_id.as_str());

    // Another project's registration of the same port does not serve this project's service.
    let stranger = app.new_account();
    let url = app.url(&format!(
        "/_vpcep/v1/{}/backends/{port_id}",
        stranger.project_id
    ));
    let r = reqwest::Client::new()
        .put(url)
        .header("X-Auth-Token", &stranger.token)
        .json(&json!({"address": "127.0.0.9"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);

    // Deleted: no longer forwarded; deleting again is a 404.
    backends_call(&app, reqwest::Method::DELETE, &format!("/{port_id}"), None)
        .await
        .assert_status(204);
    refused_within(addr, Duration::from_secs(1)).await;
    backends_call(&app, reqwest::Method::DELETE, &format!("/{port_id}"), None)
        .await
        .assert_error(404, "EndPoint.0005");

    // The command line registers for every project.
    let out = crate::support::vpcep_command()
        .args([
            "backends",
            "set",
            "--database",
            &app.db_url,
            "--port-id",
            &port_id,
            "--address",
            "127.0.0.1",
        ])
        .output()
        .expect("run vpcep");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _again = open_within(addr, Duration::from_secs(1)).await;
}
