//! The commands: `serve` and `credentials create|list|delete` (docs/api.md §4).

use std::io::Write;

use serde_json::json;

use crate::api::render_for_cli;
use crate::auth;
use crate::config::{
    BackendsCommand, CredentialFormat, CredentialsCommand, DatabaseArg, InjectCommand,
    PublicServicesCommand, ServeArgs,
};
use crate::domain::catalogue::{self, PublicEntry};
use crate::domain::credential::GivenCredential;
use crate::domain::Port;
use crate::domain::{
    ids::new_hex_id, parse_path_id, time, EndpointId, ProjectId, QueryError, ServiceError,
    ServiceId,
};
use crate::server::{shutdown_signal, App};
use crate::store::StoreError;
use crate::store::{flows, SharedStore};

/// Prints one line on stdout and flushes it, so a supervising process sees it at once.
fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn issued_json(issued: &auth::Issued) -> String {
    let c = &issued.credential;
    json!({
        "name": c.name,
        "domain_id": c.domain_id,
        "project_id": c.project_id,
        "access_key": c.access_key,
        "secret_key": c.secret_key,
        "token": issued.token,
    })
    .to_string()
}

/// `export NAME='value'` lines of a new credential, for `eval` in a shell.
fn issued_env(issued: &auth::Issued) -> String {
    let c = &issued.credential;
    let quote = |v: &str| format!("'{}'", v.replace('\'', r"'\''"));
    [
        ("VPCEP_CREDENTIAL_NAME", c.name.as_str()),
        ("VPCEP_DOMAIN_ID", c.domain_id.as_str()),
        ("VPCEP_PROJECT_ID", c.project_id.as_str()),
        ("VPCEP_ACCESS_KEY", c.access_key.as_str()),
        ("VPCEP_SECRET_KEY", c.secret_key.as_str()),
        ("VPCEP_TOKEN", issued.token.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("export {k}={}", quote(v)))
    .collect::<Vec<_>>()
    .join("\n")
}

/// The account a project belongs to already, if any: a known project keeps its account.
async fn account_of(store: &SharedStore, project_id: &str) -> anyhow::Result<Option<String>> {
    Ok(store
        .run(flows::credentials::List)
        .await?
        .into_iter()
        .find(|c| c.project_id == project_id)
        .map(|c| c.domain_id))
}

/// `serve --bootstrap-credential`: creates the given credential unless the database holds it;
/// one it holds must be the same (secret key, and project and account where given). Returns
/// the credential when it was created now.
async fn ensure_given(
    store: &SharedStore,
    given: &GivenCredential,
) -> anyhow::Result<Option<auth::Issued>> {
    let ak = &given.access_key;
    let matches = |c: &crate::domain::Credential| {
        c.secret_key == given.secret_key
            && given.project_id.as_ref().is_none_or(|p| *p == c.project_id)
            && given.domain_id.as_ref().is_none_or(|d| *d == c.domain_id)
    };
    let differs = || {
        anyhow::anyhow!(
            "the database already holds access key {ak} with another secret key, project or \
             account than --bootstrap-credential gives: delete it first (`vpcep credentials \
             delete --access-key {ak}`) or choose another access key"
        )
    };
    let by_key = || flows::credentials::ByAccessKey {
        access_key: ak.clone(),
    };
    if let Some(existing) = store.run(by_key()).await? {
        return if matches(&existing) {
            Ok(None)
        } else {
            Err(differs())
        };
    }
    let project_id = given.project_id.clone().unwrap_or_else(new_hex_id);
    let domain_id = match &given.domain_id {
        Some(d) => d.clone(),
        None => account_of(store, &project_id)
            .await?
            .unwrap_or_else(new_hex_id),
    };
    let issued = auth::issue_with_keys(
        "bootstrap".into(),
        domain_id,
        project_id,
        ak.clone(),
        given.secret_key.clone(),
    );
    let create = flows::credentials::Create {
        token_sha256: auth::hash_token(&issued.token),
        credential: issued.credential.clone(),
    };
    match store.run(create).await {
        Ok(()) => Ok(Some(issued)),
        // Another node, started with the same flag, created it first.
        Err(StoreError::DuplicateAccessKey) => match store.run(by_key()).await? {
            Some(existing) if matches(&existing) => Ok(None),
            _ => Err(differs()),
        },
        Err(StoreError::ProjectOfAnotherDomain(p)) => {
            anyhow::bail!("--bootstrap-credential: project {p} already belongs to another account")
        }
        Err(e) => Err(e.into()),
    }
}

/// `vpcep reset --yes`: what `POST /_vpcep/reset` does, with database access.
pub async fn reset(db: DatabaseArg, yes: bool) -> anyhow::Result<()> {
    eprintln!("vpcep: database {}", db.describe());
    if !yes {
        anyhow::bail!(
            "reset removes every endpoint service, endpoint and whitelist entry of every tenant \
             (credentials stay): pass --yes to do it"
        );
    }
    let store = db.open_existing().await?;
    let n = store.run(flows::lifecycle::Reset).await?;
    print_line(&render_for_cli::reset(n).to_string())
}

/// `vpcep serve`
pub async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    // Before the store opens: what it registers (flow timings, the writer's) counts from the start.
    crate::metrics::install();
    if args.max_buffered_body_bytes < args.max_body_bytes {
        anyhow::bail!(
            "--max-buffered-body-bytes ({}) must be at least --max-body-bytes ({}): a body of the \
             largest size could never be received",
            args.max_buffered_body_bytes,
            args.max_body_bytes
        );
    }
    let given = args.bootstrap_credential()?;
    // --ephemeral: a database in a folder that is removed when this function returns (a stop by
    // SIGINT or SIGTERM; a SIGKILL leaves it to the system's temporary-file cleaning).
    let _ephemeral = if args.ephemeral {
        let dir = tempfile::Builder::new()
            .prefix("vpcep-ephemeral-")
            .tempdir()
            .map_err(|e| anyhow::anyhow!("cannot create a temporary folder: {e}"))?;
        args.db.database = format!("sqlite://{}", dir.path().join("vpcep.db").display());
        tracing::info!(folder = %dir.path().display(), "ephemeral database: removed when the server stops");
        Some(dir)
    } else {
        None
    };
    let store = args.db.open().await?;
    if !args.no_default_public_services {
        let added = store
            .run(flows::services::EnsureCatalogue {
                region: args.region.clone(),
                entries: catalogue::defaults(),
            })
            .await?;
        if added > 0 {
            tracing::info!(added, region = %args.region, "public services added to the catalogue");
        }
    }
    let created = match &given {
        Some(given) => ensure_given(&store, given).await?,
        None => {
            // A fresh database gets one credential, printed once, so the server is usable at once.
            let first = auth::issue("default".into(), new_hex_id(), new_hex_id());
            let token_hash = auth::hash_token(&first.token);
            store
                .run(flows::credentials::Bootstrap {
                    credential: first.credential.clone(),
                    token_sha256: token_hash,
                })
                .await?
                .then_some(first)
        }
    };
    match created {
        Some(issued) => {
            print_line(&issued_json(&issued))?;
            tracing::info!(
                access_key = %issued.credential.access_key,
                project_id = %issued.credential.project_id,
                "created a credential (its secrets are printed on stdout only)"
            );
        }
        None => {
            let count = store.run(flows::credentials::List).await?.len();
            tracing::info!(
                "the database holds {count} credential(s); `vpcep credentials list --database \
                 {}` shows them, without secrets",
                crate::store::redact_url(&args.db.database)
            );
        }
    }
    let reconciler = tokio::spawn(reconcile(store.clone(), args.transition_delay));
    let data_plane = args.data_plane.then(|| {
        tracing::info!(block = %args.data_plane_cidr.block(), "data plane on: endpoints get addresses of this block, and accepted connections listen on them");
        tokio::spawn(crate::dataplane::run(store.clone()))
    });
    let app = App::build(&args, store).await?;
    let shutdown = shutdown_signal()?;
    let addr = app.local_addr()?;
    print_line(&format!("vpcep listening on http://{addr}"))?;
    if let Some(metrics) = app.metrics_addr() {
        print_line(&format!("vpcep metrics on http://{}/metrics", metrics?))?;
    }
    tracing::info!(%addr, database = %crate::store::redact_url(&args.db.database), region = %args.region, "serving");
    tracing::info!("the console: http://{addr}/console/ (sign in with a credential's JSON line, as printed at the first start)");
    app.serve(shutdown).await;
    reconciler.abort();
    if let Some(d) = data_plane {
        d.abort();
    }
    Ok(())
}

/// Carries out pending transitions (`--transition-delay`) when they are due. The work is in the
/// database, so a restart picks it up, and with several nodes each transition happens once.
async fn reconcile(store: crate::store::SharedStore, delay: std::time::Duration) {
    // Without a delay, only transitions left by an earlier run with one can be pending (or made
    // through another node): looking twice a second is enough, and saves the database 18 of
    // every 20 looks.
    let tick = if delay.is_zero() {
        std::time::Duration::from_millis(500)
    } else {
        (delay / 5).clamp(
            std::time::Duration::from_millis(50),
            std::time::Duration::from_millis(500),
        )
    };
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let due = flows::lifecycle::SettleDue {
            now_ms: time::now_ms(),
        };
        match store.run(due).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(transitions = n, "settled pending transitions"),
            Err(e) => tracing::warn!(error = %e, "pending transitions could not be settled"),
        }
    }
}

/// `vpcep inject ...`: faults for tests of clients, written straight to the database.
pub async fn inject(cmd: InjectCommand) -> anyhow::Result<()> {
    let not_found = |what: &str, id: &str| anyhow::anyhow!("no {what} {id} in that project");
    match cmd {
        InjectCommand::EndpointFailed {
            db,
            project_id,
            id,
            error,
        } => {
            let store = db.open_existing().await?;
            let error = QueryError {
                error_code: error.error_code,
                error_message: error.error_message,
            };
            let fail = flows::endpoints::Fail {
                project: ProjectId::stored(project_id.to_ascii_lowercase()),
                id: EndpointId::stored(id.to_ascii_lowercase()),
                error,
            };
            match store.run(fail).await {
                Ok(e) => print_line(&render_for_cli::endpoint(&e).to_string()),
                Err(StoreError::NotFound) => Err(not_found("endpoint", &id)),
                Err(e) => Err(e.into()),
            }
        }
        InjectCommand::ServiceFailed {
            db,
            project_id,
            id,
            error,
        } => {
            let store = db.open_existing().await?;
            let error = ServiceError {
                code: error.error_code,
                message: error.error_message,
            };
            let fail = flows::services::Fail {
                project: ProjectId::stored(project_id.to_ascii_lowercase()),
                id: ServiceId::stored(id.to_ascii_lowercase()),
                error,
            };
            match store.run(fail).await {
                Ok(s) => print_line(&render_for_cli::service(&s).to_string()),
                Err(StoreError::NotFound) => Err(not_found("endpoint service", &id)),
                Err(e) => Err(e.into()),
            }
        }
        InjectCommand::FailNextCreations {
            db,
            project_id,
            count,
            error,
        } => {
            let store = db.open_existing().await?;
            let error = QueryError {
                error_code: error.error_code,
                error_message: error.error_message,
            };
            store
                .run(flows::lifecycle::PlanFailures {
                    project: ProjectId::stored(project_id.to_ascii_lowercase()),
                    count,
                    error,
                })
                .await?;
            print_line(&json!({"project_id": project_id, "fail_next_creations": count}).to_string())
        }
    }
}

fn parse_id(flag: &str, value: &str) -> anyhow::Result<String> {
    parse_path_id(value)
        .ok_or_else(|| anyhow::anyhow!("{flag} must be 1..64 letters, digits or '-'"))
}

/// `vpcep credentials ...`
pub async fn credentials(cmd: CredentialsCommand) -> anyhow::Result<()> {
    match cmd {
        CredentialsCommand::Create {
            db,
            name,
            domain_id,
            project_id,
            format,
        } => {
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open().await?;
            let project_id = project_id
                .map(|p| parse_id("--project-id", &p))
                .transpose()?;
            let domain_id = match domain_id {
                Some(d) => parse_id("--domain-id", &d)?,
                // A known project keeps its account; anything else is a new account.
                None => match &project_id {
                    Some(p) => account_of(&store, p).await?.unwrap_or_else(new_hex_id),
                    None => new_hex_id(),
                },
            };
            let project_id = project_id.unwrap_or_else(new_hex_id);
            let issued = auth::issue(name, domain_id, project_id);
            let create = flows::credentials::Create {
                token_sha256: auth::hash_token(&issued.token),
                credential: issued.credential.clone(),
            };
            match store.run(create).await {
                Ok(()) => print_line(&match format {
                    CredentialFormat::Json => issued_json(&issued),
                    CredentialFormat::Env => issued_env(&issued),
                }),
                Err(StoreError::ProjectOfAnotherDomain(p)) => {
                    anyhow::bail!("project {p} already belongs to another account")
                }
                Err(e) => Err(e.into()),
            }
        }
        CredentialsCommand::List { db } => {
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open_existing().await?;
            let list: Vec<_> = store
                .run(flows::credentials::List)
                .await?
                .into_iter()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "domain_id": c.domain_id,
                        "project_id": c.project_id,
                        "access_key": c.access_key,
                        "created_at": time::format(c.created_at),
                    })
                })
                .collect();
            print_line(&serde_json::to_string_pretty(&list)?)
        }
        CredentialsCommand::Delete { db, access_key } => {
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open_existing().await?;
            let delete = flows::credentials::Delete {
                access_key: access_key.clone(),
            };
            if store.run(delete).await? {
                print_line(&json!({"deleted": access_key}).to_string())
            } else {
                anyhow::bail!("no credential has the access key {access_key}")
            }
        }
    }
}

/// `vpcep public-services add|list`.
pub async fn public_services(cmd: PublicServicesCommand) -> anyhow::Result<()> {
    match cmd {
        PublicServicesCommand::Add {
            db,
            region,
            name,
            service_type,
            owner,
            enable_policy,
            charge,
            ports,
        } => {
            if !catalogue::valid_name(&name) {
                anyhow::bail!("--name {name:?}: give 1..64 of [A-Za-z0-9_.-], not starting or ending with a dot");
            }
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open().await?;
            let entry = PublicEntry {
                name: name.clone(),
                service_type,
                owner,
                enable_policy,
                is_charge: charge,
                ports: ports
                    .into_iter()
                    .map(|(client_port, server_port)| Port {
                        client_port,
                        server_port,
                        protocol: "TCP".into(),
                    })
                    .collect(),
            };
            let added = store
                .run(flows::services::EnsureCatalogue {
                    region: region.clone(),
                    entries: vec![entry],
                })
                .await?;
            print_line(
                &json!({
                    "id": catalogue::service_id(&region, &name),
                    "service_name": format!("{region}.{name}"),
                    "added": added == 1,
                })
                .to_string(),
            )
        }
        PublicServicesCommand::List { db } => {
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open_existing().await?;
            let page = store
                .run(flows::services::ListPublic {
                    filter: Default::default(),
                    page: crate::store::PageRequest {
                        limit: 1000,
                        ..Default::default()
                    },
                })
                .await?;
            let list: Vec<_> = page
                .items
                .iter()
                .map(render_for_cli::public_service)
                .collect();
            print_line(&serde_json::to_string_pretty(&list)?)
        }
    }
}

/// `vpcep backends set|list|delete`: the data plane's backend registry (also under
/// `/_vpcep/v1/{project_id}/backends`).
pub async fn backends(cmd: BackendsCommand) -> anyhow::Result<()> {
    match cmd {
        BackendsCommand::Set {
            db,
            port_id,
            address,
            project_id,
        } => {
            if parse_path_id(&port_id).is_none() {
                anyhow::bail!("--port-id {port_id:?}: give 1..64 of [0-9A-Za-z-]");
            }
            if !crate::domain::address::ip_or_domain(&address) {
                anyhow::bail!("--address {address:?}: give an IPv4 address or a host name");
            }
            let project_id = match project_id {
                Some(p) => ProjectId::from_path(&p)
                    .ok_or_else(|| anyhow::anyhow!("--project-id {p:?} is not a project id"))?
                    .as_str()
                    .to_owned(),
                None => String::new(),
            };
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open().await?;
            let backend = store
                .run(flows::backends::Set {
                    backend: crate::domain::route::Backend {
                        project_id,
                        port_id,
                        address,
                        updated_at: time::now(),
                    },
                })
                .await?;
            print_line(&crate::api::render_for_cli::backend(&backend).to_string())
        }
        BackendsCommand::List { db } => {
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open_existing().await?;
            let list = store
                .run(flows::backends::List { project_id: None })
                .await?;
            for b in &list {
                print_line(&crate::api::render_for_cli::backend(b).to_string())?;
            }
            Ok(())
        }
        BackendsCommand::Delete {
            db,
            port_id,
            project_id,
        } => {
            let project_id = project_id.unwrap_or_default().to_ascii_lowercase();
            eprintln!("vpcep: database {}", db.describe());
            let store = db.open_existing().await?;
            match store
                .run(flows::backends::Delete {
                    project_id,
                    port_id: port_id.clone(),
                })
                .await
            {
                Ok(()) => Ok(()),
                Err(StoreError::NotFound) => {
                    anyhow::bail!("no registration of port {port_id:?} for that project")
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
