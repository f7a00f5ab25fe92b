//! The seed operation's rule is written once, in `domain::seed`, and PostgreSQL also evaluates it
//! inside its one-statement update (for one round trip). This test gives both backends the same
//! inputs (every pair of connection states, plus ids that are not connections of the service) and
//! checks that each writes exactly when `domain::seed::allowed` says so, and answers what
//! `domain::seed::apply` answers.
//!
//! It needs PostgreSQL at `VPCEP_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`),
//! where it creates and drops its own database; without one it fails. scripts/test.sh runs it in
//! its PostgreSQL phase.

use vpcep::domain::{
    seed, Connection, ConnectionStatus, Description, DescriptionUpdate, DomainId, EndpointId,
    NewEndpoint, NewService, Port, ProjectId, ServiceId, Tenant,
};
use vpcep::store::flows::{endpoints, services};
use vpcep::store::{ConnectionFilter, PageRequest, SharedStore, StoreError};

fn tenant() -> Tenant {
    Tenant {
        domain_id: DomainId::stored("d0000000000000000000000000000001"),
        project_id: ProjectId::stored("p0000000000000000000000000000001"),
    }
}

fn new_service() -> NewService {
    NewService {
        name: None,
        port_id: uuid::Uuid::new_v4().to_string(),
        vpc_id: uuid::Uuid::new_v4().to_string(),
        server_type: "VM".into(),
        service_type: "interface".into(),
        approval_enabled: true,
        ip: None,
        tcp_proxy: "close".into(),
        description: String::new(),
        enable_policy: false,
        ip_version: "ipv4".into(),
        ports: vec![Port {
            client_port: 80,
            server_port: 8080,
            protocol: "TCP".into(),
        }],
        tags: Vec::new(),
        delay_ms: 0,
    }
}

fn new_endpoint(service: &ServiceId) -> NewEndpoint {
    NewEndpoint {
        endpoint_service_id: service.clone(),
        vpc_id: uuid::Uuid::new_v4().to_string(),
        subnet_id: Some(uuid::Uuid::new_v4().to_string()),
        port_ip: None,
        enable_dns: false,
        description: String::new(),
        whitelist: Vec::new(),
        enable_whitelist: false,
        tags: Vec::new(),
        routetables: Vec::new(),
        policy_document: None,
        policy_statement: Vec::new(),
        delay_ms: 0,
    }
}

/// Sets a connection's state and description directly in the database.
type SetRow = Box<dyn Fn(&str, ConnectionStatus, &str)>;

async fn connections(store: &SharedStore, service: &ServiceId) -> Vec<Connection> {
    store
        .run(endpoints::ListConnections {
            project: tenant().project_id,
            service: service.clone(),
            filter: ConnectionFilter::default(),
            page: PageRequest {
                limit: 1000,
                ..PageRequest::default()
            },
        })
        .await
        .expect("list")
        .items
}

fn update(id: &str, description: &str) -> DescriptionUpdate {
    DescriptionUpdate {
        id: EndpointId::parse(id).expect("uuid"),
        description: Description::parse(description).expect("description"),
    }
}

async fn check_backend(name: &str, store: SharedStore, set_row: SetRow) {
    let service = store
        .run(services::Create {
            owner: tenant(),
            region: "r".into(),
            new: new_service(),
            quota: 10,
        })
        .await
        .expect("service");
    let service_id = ServiceId::stored(service.id.clone());
    let mut ids = Vec::new();
    for _ in 0..2 {
        let e = store
            .run(endpoints::Create {
                consumer: tenant(),
                new: new_endpoint(&service_id),
                quota: 10,
                addresses: vpcep::domain::AddressRange::AUTO,
            })
            .await
            .expect("endpoint");
        ids.push(e.id);
    }
    let stranger = uuid::Uuid::new_v4().to_string();
    let mut cases = 0;
    for s1 in ConnectionStatus::ALL {
        for s2 in ConnectionStatus::ALL {
            // Two connections (one unchanged), the same with a stranger, and one connection
            // alone, changed and unchanged (PostgreSQL writes one connection with its own
            // statement and falls back to the full one when it writes nothing).
            let lists = [
                vec![update(&ids[0], "a2"), update(&ids[1], "b")],
                vec![
                    update(&ids[0], "a2"),
                    update(&ids[1], "b"),
                    update(&stranger, "c"),
                ],
                vec![update(&ids[0], "a2")],
                vec![update(&ids[0], "a")],
            ];
            for updates in lists {
                set_row(&ids[0], s1, "a");
                set_row(&ids[1], s2, "b");
                let before = connections(&store, &service_id).await;
                let named: Vec<&str> = updates.iter().map(|u| u.id.as_str()).collect();
                let allowed = seed::allowed(&before, &updates);
                // Allowed, and some named text differs from what is stored.
                let changes = allowed
                    && updates.iter().any(|u| {
                        before.iter().any(|c| {
                            c.id == u.id.as_str() && c.description != u.description.as_str()
                        })
                    });
                let expected = seed::apply(before.clone(), &updates, 0);
                let result = store
                    .run(endpoints::UpdateDescriptions {
                        project: tenant().project_id,
                        service: service_id.clone(),
                        updates: updates.clone(),
                    })
                    .await;
                let after = connections(&store, &service_id).await;
                let wrote = after != before;
                assert_eq!(
                    wrote, changes,
                    "{name}: {s1:?}/{s2:?}/{named:?}: wrote {wrote}, allowed {allowed}, changes {changes}"
                );
                match (&result, &expected) {
                    (Ok(got), Ok(want)) => {
                        let got: Vec<(&str, &str)> = got
                            .iter()
                            .map(|c| (c.id.as_str(), c.description.as_str()))
                            .collect();
                        let want: Vec<(&str, &str)> = want
                            .iter()
                            .map(|c| (c.id.as_str(), c.description.as_str()))
                            .collect();
                        assert_eq!(got, want, "{name}: {s1:?}/{s2:?}/{named:?}");
                    }
                    (Err(got), Err(want)) => {
                        let want = StoreError::from(want.clone());
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{want:?}"),
                            "{name}: {s1:?}/{s2:?}/{named:?}"
                        );
                    }
                    _ => panic!("{name}: {s1:?}/{s2:?}/{named:?}: {result:?} vs {expected:?}"),
                }
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 144);
    // A service that is not the caller's is a 404 on both, whatever the ids.
    let other = store
        .run(endpoints::UpdateDescriptions {
            project: ProjectId::stored("someone-else"),
            service: service_id.clone(),
            updates: vec![update(&ids[0], "x")],
        })
        .await;
    assert!(
        matches!(other, Err(StoreError::NotFound)),
        "{name}: {other:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_apply_the_seed_rule_alike() {
    // SQLite: a file in a temp folder, and a direct connection to set states.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rules.db");
    let url = format!("sqlite://{}", path.display());
    let store = vpcep::store::open(&url, &Default::default())
        .await
        .expect("sqlite store");
    let direct = rusqlite::Connection::open(&path).expect("sqlite");
    direct
        .busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy");
    let set_row: SetRow = Box::new(move |id, status, description| {
        direct
            .execute(
                "UPDATE endpoints SET status = ?1, connection_description = ?2 WHERE id = ?3",
                rusqlite::params![status.as_str(), description, id],
            )
            .expect("set row");
    });
    check_backend("sqlite", store, set_row).await;

    // PostgreSQL: a database of our own, dropped at the end.
    let base = std::env::var("VPCEP_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let db = format!("vpcep_rules_{}", uuid::Uuid::new_v4().simple());
    let (admin, conn) = tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("this test needs PostgreSQL at {base} (VPCEP_TEST_POSTGRES): {e}")
        });
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create database");
    let url = format!("{base}/{db}");
    let store = vpcep::store::open(&url, &Default::default())
        .await
        .expect("postgres store");
    let (direct, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let direct = std::sync::Arc::new(direct);
    let handle = tokio::runtime::Handle::current();
    let set_row: SetRow = Box::new(move |id, status, description| {
        let direct = direct.clone();
        let (id, description) = (id.to_owned(), description.to_owned());
        tokio::task::block_in_place(|| {
            handle.block_on(async move {
                direct
                    .execute(
                        "UPDATE endpoints SET status = $1, connection_description = $2 \
                         WHERE id = $3",
                        &[&status.as_str(), &description, &id],
                    )
                    .await
                    .expect("set row");
            })
        });
    });
    check_backend("postgres", store.clone(), set_row).await;
    drop(store);
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
}
