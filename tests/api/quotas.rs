//! ListQuotaDetails, and the quotas it shows enforced on CreateEndpointService and
//! CreateEndpoint, also when creates race.

use serde_json::Value;

use crate::support::*;

fn figures(body: &Value) -> Vec<(String, u64, u64)> {
    body["quotas"]["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no quotas.resources in {body}"))
        .iter()
        .map(|r| {
            (
                str_of(&r["type"]),
                r["used"].as_u64().expect("used"),
                r["quota"].as_u64().expect("quota"),
            )
        })
        .collect()
}

#[tokio::test]
async fn quotas_count_what_the_project_holds() {
    let app = TestApp::spawn();
    let r = app.quotas("").await;
    assert_eq!(
        figures(r.ok()),
        [
            ("endpoint".to_owned(), 0, 150),
            ("endpoint_service".to_owned(), 0, 100)
        ]
    );
    let sid = app.new_service(false).await;
    app.new_service(true).await;
    app.new_endpoint(&sid).await;
    let other = app.as_(&app.new_account());
    other.new_service(false).await;
    assert_eq!(
        figures(app.quotas("").await.ok()),
        [
            ("endpoint".to_owned(), 1, 150),
            ("endpoint_service".to_owned(), 2, 100)
        ]
    );
    assert_eq!(
        figures(app.quotas("type=endpoint_service").await.ok()),
        [("endpoint_service".to_owned(), 2, 100)]
    );
    assert_eq!(
        figures(other.quotas("type=endpoint").await.ok()),
        [("endpoint".to_owned(), 0, 150)]
    );
    assert_eq!(figures(app.quotas("type=").await.ok()).len(), 2);
    app.quotas("type=vpc")
        .await
        .assert_error(400, "EndPoint.0002");
}

#[tokio::test]
async fn a_create_past_the_quota_is_refused_even_when_creates_race() {
    let app = TestApp::with_args(&["--quota-endpoints", "3", "--quota-endpoint-services", "2"]);
    let sid = app.new_service(false).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let caller = app.as_(&app.owner);
        let body = endpoint_body(&sid);
        tasks.push(tokio::spawn(
            async move { caller.create_endpoint(&body).await },
        ));
    }
    let mut created = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            200 => created += 1,
            _ => {
                r.assert_error(400, "EndPoint.1018");
            }
        }
    }
    assert_eq!(created, 3);
    assert_eq!(
        figures(app.quotas("type=endpoint").await.ok()),
        [("endpoint".to_owned(), 3, 3)]
    );
    // Services: one more fits, the next does not; a delete makes room again.
    let second = app.new_service(false).await;
    app.create_service(&service_body(false))
        .await
        .assert_error(400, "EndPoint.1018");
    app.delete_service(&second).await.assert_status(204);
    app.create_service(&service_body(false))
        .await
        .assert_status(200);
    // Another project has quotas of its own.
    let other = app.as_(&app.new_project_in_owner_account());
    other
        .create_endpoint(&endpoint_body(&sid))
        .await
        .assert_status(200);
}
