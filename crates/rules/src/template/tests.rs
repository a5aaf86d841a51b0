//! Prometheus' own template cases (template/template_test.go, v2.42–v3, Apache-2.0), with the
//! same inputs and expected outputs. Errors are checked by the part of the message that
//! Prometheus' functions produce; Go's template-position prefix is worded by `gotmpl`.
//! Cases for what is left out (HTML expansion, `safeHtml`, `tmpl`, `toTime`, `pathPrefix`)
//! are not here; `graphLink`/`tableLink` are checked against Meridian's Explore links.

use super::*;

const URL: &str = "http://testhost:9090/path/prefix";

fn floats(values: &[f64]) -> Value {
    Value::List(values.iter().map(|v| Value::Float(*v)).collect())
}

fn ints(values: &[i64]) -> Value {
    Value::List(values.iter().map(|v| Value::Int(*v)).collect())
}

fn uints(values: &[u64]) -> Value {
    Value::List(values.iter().map(|v| Value::Uint(*v)).collect())
}

fn strings(values: &[&str]) -> Value {
    Value::List(values.iter().map(|v| Value::String((*v).into())).collect())
}

fn series(pairs: &[(&str, &str)], value: f64) -> (Labels, f64) {
    let labels = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (labels, value)
}

fn run(text: &str, input: Value, result: Vec<(Labels, f64)>) -> Result<String, String> {
    let query: QueryFn = Arc::new(move |_| Ok(result.clone()));
    execute("test", text, &input, Some(query), URL)
}

fn ok(text: &str, input: Value, output: &str) {
    assert_eq!(run(text, input, vec![]).as_deref(), Ok(output), "{text}");
}

fn ok_query(text: &str, result: Vec<(Labels, f64)>, output: &str) {
    assert_eq!(
        run(text, Value::Nil, result).as_deref(),
        Ok(output),
        "{text}"
    );
}

fn fails(text: &str, input: Value, message: &str) {
    match run(text, input, vec![]) {
        Ok(out) => panic!("{text} gave {out:?}, not an error"),
        Err(e) => assert!(e.contains(message), "{text}: {e} does not say {message:?}"),
    }
}

#[test]
fn plain_values_and_parsing() {
    ok("plain text", Value::Nil, "plain text");
    ok("{{ 1 }}", Value::Nil, "1");
    ok("{{ \"<b>\" }}", Value::Nil, "<b>");
    fails("{{\u{a0}}}", Value::Nil, "error parsing template test");
    fails("{{", Value::Nil, "unclosed action");
    ok(
        "{{define \"x\"}}{{.arg0}} {{.arg1}}{{end}}{{template \"x\" (args 1 \"2\")}}",
        Value::Nil,
        "1 2",
    );
    // A missing label prints as "" (Prometheus' labels are `map[string]string`).
    ok(
        "{{ .Labels.foo }}|{{ .Labels.foo | toUpper }}",
        map([("Labels", map([]))]),
        "|",
    );
}

#[test]
fn queries() {
    let a = || vec![series(&[("__name__", "metric"), ("instance", "a")], 11.0)];
    ok_query(
        "{{ query \"1.5\" | first | value }}",
        vec![series(&[], 1.5)],
        "1.5",
    );
    ok_query(
        "{{ query \"metric{instance='a'}\" | first | value }}",
        a(),
        "11",
    );
    ok_query(
        "{{ query \"metric{instance='a'}\" | first | label \"instance\" }}",
        a(),
        "a",
    );
    ok_query(
        "{{ query \"metric{__value__='a'}\" | first | strvalue }}",
        vec![series(&[("__name__", "metric"), ("__value__", "a")], 11.0)],
        "a",
    );
    ok_query(
        "{{ query \"metric{instance='a'}\" | first | label \"foo\" }}",
        a(),
        "",
    );
    ok_query(
        "{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}",
        a(),
        "",
    );
    ok_query(
        "{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: {{end}}",
        vec![
            series(&[("__name__", "metric"), ("instance", "b")], 21.0),
            series(&[("__name__", "metric"), ("instance", "a")], 11.0),
        ],
        "a:11: b:21: ",
    );
    fails(
        "{{ query \"missing\" | first }}",
        Value::Nil,
        "first() called on vector with no elements",
    );
    fails("{{ (query \"missing\").banana }}", Value::Nil, "banana");
}

#[test]
fn hosts() {
    for (input, port, domain) in [
        ("foo.example.com", "foo.example.com", "foo"),
        ("foo.example.com:12345", "foo.example.com", "foo:12345"),
        ("192.0.2.1", "192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1", "2001:0DB8::1"),
        (
            "[2001:0DB8::1]:12345",
            "2001:0DB8::1",
            "[2001:0DB8::1]:12345",
        ),
        (
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
            "[2001:0DB8::1]::12345",
        ),
    ] {
        ok(
            &format!("{{{{ {input:?} | stripPort }}}}"),
            Value::Nil,
            port,
        );
        ok(
            &format!("{{{{ {input:?} | stripDomain }}}}"),
            Value::Nil,
            domain,
        );
    }
}

#[test]
fn humanize_cases() {
    let each = |f: &str| format!("{{{{ range . }}}}{{{{ {f} . }}}}:{{{{ end }}}}");
    ok(
        &each("humanize"),
        floats(&[0.0, 1.0, 1234567.0, 0.12]),
        "0:1:1.235M:120m:",
    );
    ok(
        &each("humanize"),
        strings(&["0.0", "1.0", "1234567.0", ".12"]),
        "0:1:1.235M:120m:",
    );
    fails(
        "{{ humanize \"one\" }}",
        Value::Nil,
        "strconv.ParseFloat: parsing \"one\": invalid syntax",
    );
    ok(
        &each("humanize"),
        ints(&[0, -1, 1, 1234567, i64::MAX]),
        "0:-1:1:1.235M:9.223E:",
    );
    ok(
        &each("humanize"),
        uints(&[0, 1, 1234567, u64::MAX]),
        "0:1:1.235M:18.45E:",
    );

    ok(
        &each("humanize1024"),
        floats(&[0.0, 1.0, 1048576.0, 0.12]),
        "0:1:1Mi:0.12:",
    );
    ok(
        &each("humanize1024"),
        strings(&["0.0", "1.0", "1048576.0", ".12"]),
        "0:1:1Mi:0.12:",
    );
    fails(
        "{{ humanize1024 \"one\" }}",
        Value::Nil,
        "strconv.ParseFloat: parsing \"one\"",
    );
    ok(
        &each("humanize1024"),
        ints(&[0, -1, 1, 1234567, i64::MAX]),
        "0:-1:1:1.177Mi:8Ei:",
    );
    ok(
        &each("humanize1024"),
        uints(&[0, 1, 1234567, u64::MAX]),
        "0:1:1.177Mi:16Ei:",
    );
}

#[test]
fn humanize_duration_cases() {
    let each = "{{ range . }}{{ humanizeDuration . }}:{{ end }}";
    ok(
        each,
        floats(&[
            0.0,
            1.0,
            60.0,
            3600.0,
            86400.0,
            86400.0 + 3600.0,
            -(86400.0 * 2.0 + 3600.0 * 3.0 + 60.0 * 4.0 + 5.0),
            899.99,
        ]),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:",
    );
    ok(
        each,
        strings(&["0", "1", "60", "3600", "86400"]),
        "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:",
    );
    let fractions = "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:";
    ok(
        each,
        floats(&[0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]),
        fractions,
    );
    ok(
        each,
        strings(&[".1", ".0001", ".12345", "60.1", "60.5", "1.2345", "12.345"]),
        fractions,
    );
    fails(
        "{{ humanizeDuration \"one\" }}",
        Value::Nil,
        "parsing \"one\": invalid syntax",
    );
    ok(each, ints(&[0, -1, 1, 1234567]), "0s:-1s:1s:14d 6h 56m 7s:");
    ok(each, uints(&[0, 1, 1234567]), "0s:1s:14d 6h 56m 7s:");
}

#[test]
fn infinities_and_nan() {
    let text = "{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}";
    let output = "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:";
    ok(
        text,
        floats(&[f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
        output,
    );
    ok(text, strings(&["+Inf", "-Inf", "NaN"]), output);
}

#[test]
fn percentages() {
    ok(
        "{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
        Value::Nil,
        "-22.22%:0%:12.35%:123.5%",
    );
    let each = "{{ range . }}{{ humanizePercentage . }}:{{ end }}";
    ok(
        each,
        ints(&[0, -1, 1, 1234567, i64::MAX]),
        "0%:-100%:100%:1.235e+08%:9.223e+20%:",
    );
    ok(
        each,
        uints(&[0, 1, 1234567, u64::MAX]),
        "0%:100%:1.235e+08%:1.845e+21%:",
    );
    ok(
        "{{ \"-0.22222\" | humanizePercentage }}:{{ \"0.0\" | humanizePercentage }}:{{ \"0.1234567\" | humanizePercentage }}:{{ \"1.23456\" | humanizePercentage }}",
        Value::Nil,
        "-22.22%:0%:12.35%:123.5%",
    );
    fails(
        "{{ \"one\" | humanizePercentage }}",
        Value::Nil,
        "parsing \"one\": invalid syntax",
    );
}

#[test]
fn timestamps() {
    let each = "{{ range . }}{{ humanizeTimestamp . }}:{{ end }}";
    ok(
        each,
        ints(&[0, -1, 1, 1234567, 9223372036]),
        "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:",
    );
    ok(
        each,
        uints(&[0, 1, 1234567, 9223372036]),
        "1970-01-01 00:00:00 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:",
    );
    fails(
        each,
        ints(&[i64::MIN, i64::MAX]),
        "-9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
    fails(
        each,
        uints(&[u64::MAX]),
        "1.8446744073709552e+19 cannot be represented as a nanoseconds timestamp since it overflows int64",
    );
    ok(
        "{{ 1435065584.128 | humanizeTimestamp }}",
        Value::Nil,
        "2015-06-23 13:19:44.128 +0000 UTC",
    );
    ok(
        "{{ \"1435065584.128\" | humanizeTimestamp }}",
        Value::Nil,
        "2015-06-23 13:19:44.128 +0000 UTC",
    );
    ok(
        "{{ 1657155181 | humanizeTimestamp }}",
        Value::Nil,
        "2022-07-07 00:53:01 +0000 UTC",
    );
}

#[test]
fn strings_and_regexes() {
    ok("{{ \"aa bb CC\" | title }}", Value::Nil, "Aa Bb CC");
    ok("{{ \"aa bb CC\" | toUpper }}", Value::Nil, "AA BB CC");
    ok("{{ \"aA bB CC\" | toLower }}", Value::Nil, "aa bb cc");
    ok(
        "{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}",
        Value::Nil,
        "true false",
    );
    ok(
        "{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}",
        Value::Nil,
        "xa",
    );
    ok(
        "{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}",
        Value::Nil,
        "3720.01",
    );
    ok("{{ externalURL }}", Value::Nil, URL);
    ok(
        "{{ graphLink \"rate(x[5m])\" }}",
        Value::Nil,
        "http://testhost:9090/path/prefix/explore?expr=rate%28x%5B5m%5D%29&view=graph",
    );
}

#[test]
fn rule_templates() {
    let labels = vec![
        ("alertname".to_string(), "InstanceDown".to_string()),
        ("instance".to_string(), "localhost:9090".to_string()),
        ("job".to_string(), "prometheus".to_string()),
    ];
    let external = vec![("cluster".to_string(), "eu-1".to_string())];
    let data = Data {
        labels: &labels,
        external_labels: &external,
        external_url: URL,
        value: 1234567.0,
        query: None,
    };
    assert_eq!(
        expand(
            "InstanceDown",
            "{{ $labels.instance }} of job {{ $labels.job }} in {{ $externalLabels.cluster }}",
            &data
        ),
        "localhost:9090 of job prometheus in eu-1"
    );
    // A float printed as it is takes Rust's shortest form (Go writes 1.234567e+06): the one
    // difference from Prometheus, listed in the module's notes.
    assert_eq!(
        expand("x", "{{ $value }} = {{ $value | humanize }}", &data),
        "1234567 = 1.235M"
    );
    assert_eq!(expand("x", "no template", &data), "no template");
    assert!(expand("x", "{{ $labels.instance", &data).starts_with("<error expanding template: "));
    assert!(check("{{ $labels.instance }}").is_ok());
    assert!(check("{{ unknownFunction 1 }}").is_err());
}

#[test]
fn go_number_formats() {
    assert_eq!(go_g(1234567.0, 4), "1.235e+06");
    assert_eq!(go_g(0.00001234, 4), "1.234e-05");
    assert_eq!(go_g(100.0, 4), "100");
    assert_eq!(go_g(0.5, 4), "0.5");
    assert_eq!(go_v(1e6), "1e+06");
    assert_eq!(go_v(123456.0), "123456");
    assert_eq!(go_v(0.0001), "0.0001");
    assert_eq!(go_v(0.00001), "1e-05");
}
