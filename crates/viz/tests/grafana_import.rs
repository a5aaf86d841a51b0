//! Every Grafana dashboard in `tests/dashboards/` (real ones, of every classic generation; their
//! licences beside them) imports: no panel lost, old types converted, the report names what
//! Meridian does not do, the v16 layout as Grafana computes it, and export → import gives back
//! the same model.

use std::collections::BTreeMap;

use serde_json::Value;
use viz::{import::import, model::Dashboard};

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/dashboards/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Panel types in the source, rows' panels included (row panels themselves not counted).
fn source_types(value: &Value) -> BTreeMap<String, usize> {
    let mut types = BTreeMap::new();
    let mut add = |p: &Value| {
        let kind = p["type"].as_str().unwrap_or("").to_string();
        if kind != "row" {
            *types.entry(kind).or_insert(0) += 1;
        }
    };
    for row in value["rows"].as_array().into_iter().flatten() {
        row["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .for_each(&mut add);
    }
    for panel in value["panels"].as_array().into_iter().flatten() {
        add(panel);
        panel["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .for_each(&mut add);
    }
    types
}

fn imported_types(model: &Dashboard) -> BTreeMap<String, usize> {
    let mut types = BTreeMap::new();
    for p in model
        .panels
        .iter()
        .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
    {
        if p.kind != "row" {
            *types.entry(p.kind.clone()).or_insert(0) += 1;
        }
    }
    types
}

/// What each old type becomes.
fn converted(kind: &str) -> &str {
    match kind {
        "graph" => "timeseries",
        "singlestat" => "stat",
        other => other,
    }
}

#[test]
fn every_test_dashboard_imports_with_its_panels_and_a_report() {
    let files = [
        "dockprom/docker_containers.json",
        "dotdc/k8s-system-coredns.json",
        "kube-prometheus/namespace-by-workload.json",
        "kube-prometheus/nodes.json",
        "kube-prometheus/prometheus.json",
        "rfmoz/node-exporter-full.json",
    ];
    for file in files {
        let source = load(file);
        let (model, report) = import(&source).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut expected: BTreeMap<String, usize> = BTreeMap::new();
        for (kind, n) in source_types(&source) {
            *expected.entry(converted(&kind).to_string()).or_insert(0) += n;
        }
        let got = imported_types(&model);
        // Singlestats that showed a gauge became gauges.
        if let Some(gauges) = got.get("gauge").copied() {
            let before = expected.get("gauge").copied().unwrap_or(0);
            if gauges > before {
                *expected.entry("stat".into()).or_insert(0) -= gauges - before;
                expected.insert("gauge".into(), gauges);
            }
        }
        expected.retain(|_, n| *n > 0);
        assert_eq!(
            got, expected,
            "{file}: every panel kept, old types converted"
        );
        assert!(model.schema_version >= 39, "{file}");
        for panel in model
            .panels
            .iter()
            .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
        {
            assert!(
                panel.grid_pos.x + panel.grid_pos.w <= 24,
                "{file}: panel {} fits the grid",
                panel.id
            );
            assert!(
                panel.datasource.is_none(),
                "{file}: Prometheus data sources are Meridian's"
            );
        }
        // Export, then import again: the same model.
        let exported = serde_json::to_value(&model).unwrap();
        let (again, _) = import(&exported).unwrap();
        assert_eq!(again, model, "{file}: import(export(d)) = d");
        println!(
            "{file}: {} panels; report: {}",
            imported_types(&model).values().sum::<usize>(),
            serde_json::to_string(&report).unwrap()
        );
    }
}

#[test]
fn the_reports_name_what_is_not_carried_over() {
    let (_, report) = import(&load("dockprom/docker_containers.json")).unwrap();
    // Its singlestats show their values over the last 10 s, which Meridian does not do.
    let relative: Vec<u32> = report
        .panels
        .iter()
        .filter(|p| {
            p.notes
                .iter()
                .any(|n| n.contains("relative time of its own (10s)"))
        })
        .map(|p| p.id)
        .collect();
    assert!(!relative.is_empty(), "{report:?}");

    let (_, report) = import(&load("dotdc/k8s-system-coredns.json")).unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("$datasource (a data source choice)")),
        "{report:?}"
    );

    let (model, report) = import(&load("kube-prometheus/namespace-by-workload.json")).unwrap();
    let table = model
        .panels
        .iter()
        .flat_map(|p| std::iter::once(p).chain(p.panels.iter()))
        .find(|p| p.kind == "table")
        .unwrap();
    assert!(
        table.extra.get("styles").is_none(),
        "the old table's styles became overrides"
    );
    assert!(
        report.notes.iter().all(|n| !n.contains("panels of type")),
        "{report:?}"
    );
}

#[test]
fn the_legacy_rows_layout_is_grafanas() {
    // docker_containers.json: rows of 150, 150, 250, 250 and 250 px; spans 2×6, 4×3, 12, 12×2, 12×2.
    let (model, _) = import(&load("dockprom/docker_containers.json")).unwrap();
    let got: Vec<(u32, u32, u32, u32)> = model
        .panels
        .iter()
        .map(|p| (p.grid_pos.x, p.grid_pos.y, p.grid_pos.w, p.grid_pos.h))
        .collect();
    let mut expected: Vec<(u32, u32, u32, u32)> = (0..6).map(|i| (i * 4, 0, 4, 4)).collect();
    expected.extend((0..3).map(|i| (i * 8, 4, 8, 4)));
    expected.extend([
        (0, 8, 24, 7),
        (0, 15, 24, 7),
        (0, 22, 24, 7),
        (0, 29, 24, 7),
        (0, 36, 24, 7),
    ]);
    assert_eq!(got, expected);
}
