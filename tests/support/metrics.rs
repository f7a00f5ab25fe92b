//! Reading `GET /metrics` in the Prometheus text format, for the tests of the metrics.

use std::collections::BTreeMap;

use super::server::TestApp;

/// One sample of the text format: name, labels, value.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of a scrape (comment lines and blank lines skipped). Label values in vpcep's
/// output never hold `"`, `,` or `}` (they come from fixed sets), which keeps this simple; a
/// value that does makes the parse fail loudly.
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
            let value: f64 = value.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), BTreeMap::new()),
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line:?}"));
                    let labels = inner
                        .split(',')
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
                            let v = v
                                .strip_prefix('"')
                                .and_then(|v| v.strip_suffix('"'))
                                .unwrap_or_else(|| panic!("{line:?}"));
                            (k.to_string(), v.to_string())
                        })
                        .collect();
                    (name.to_string(), labels)
                }
            };
            Sample {
                name,
                labels,
                value,
            }
        })
        .collect()
}

/// The value of the one sample with this name and these labels (others may be present).
#[track_caller]
pub fn value(all: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = all
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one sample {name}{labels:?}, found {found:?}"
    );
    found[0].value
}

pub async fn scrape(app: &TestApp, base: &str) -> (String, Vec<Sample>) {
    let r = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status().as_u16(), 200);
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        kind.starts_with("text/plain; version=0.0.4"),
        "content type {kind:?}"
    );
    let text = r.text().await.expect("metrics text");
    let parsed = samples(&text);
    (text, parsed)
}

/// The value of one sample on `app`'s own address once it is at least `at_least` (a counter is
/// added to just after the bytes it counts move), or what it is after a second.
pub async fn value_reaching(
    app: &TestApp,
    name: &str,
    labels: &[(&str, &str)],
    at_least: f64,
) -> f64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let (_, all) = scrape(app, &app.base()).await;
        let v = value(&all, name, labels);
        if v >= at_least || std::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
