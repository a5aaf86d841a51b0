//! Grafana's unit formats (fieldConfig.defaults.unit) and value-axis ticks.
//!
//! A port of Grafana's `packages/grafana-data/src/valueFormats` (valueFormats.ts, categories.ts,
//! symbolFormatters.ts, arithmeticFormatters.ts, dateTimeFormatters.ts), so that a dashboard
//! imported from Grafana shows the same text. Grafana's output depends on JavaScript's number
//! to string rules (`String(n)`, `toFixed`, `toExponential`, `toString(16)`, `toLocaleString`),
//! so those are reproduced here too.

use std::fmt;
use std::sync::OnceLock;

/// A value formatted in a unit: `prefix` + `text` + `suffix`, as Grafana's FormattedValue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formatted {
    pub prefix: String,
    pub text: String,
    pub suffix: String,
}

impl Formatted {
    fn plain(text: impl Into<String>) -> Self {
        Formatted {
            prefix: String::new(),
            text: text.into(),
            suffix: String::new(),
        }
    }
}

impl fmt::Display for Formatted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.prefix, self.text, self.suffix)
    }
}

/// How a unit formats: one variant for each of Grafana's formatter factories.
#[derive(Clone, Copy, Debug)]
enum Kind<'a> {
    Suffix(&'a str),
    Prefix(&'a str),
    Short,
    Percent(f64),
    Si(&'a str, i32),
    Bin(&'a str, i32),
    Count(&'a str),
    Currency(&'a str, bool),
    Time(&'static [Step]),
    /// toSeconds(value / divisor); its own table because 0 is always "0 s".
    Seconds(f64),
    /// toDuration in the unit at this index of `DURATION`.
    Duration(usize),
    Hms,
    Dhms,
    Clock(f64),
    Hex(bool),
    Sci,
    Locale,
    Str,
    Bool(&'a str, &'a str),
}

/// How a time formatter turns the value into the step's unit. `One` is Grafana's plain
/// `toFixed` branch, the others its `toFixedScaled` (which pluralises) dividing or multiplying.
#[derive(Clone, Copy, Debug)]
enum Scale {
    One,
    Div(f64),
    Mul(f64),
}
use Scale::{Div, Mul, One};

/// (values below this, scale, suffix): one branch of a dateTimeFormatters.ts function.
type Step = (f64, Scale, &'static str);

const INF: f64 = f64::INFINITY;
#[rustfmt::skip]
const NS: &[Step] = &[(1e3, One, " ns"), (1e6, Div(1e3), " µs"), (1e9, Div(1e6), " ms"),
    (6e10, Div(1e9), " s"), (3.6e12, Div(6e10), " min"), (8.64e13, Div(3.6e12), " hour"),
    (INF, Div(8.64e13), " day")];
const US: &[Step] = &[
    (1e3, One, " µs"),
    (1e6, Div(1e3), " ms"),
    (INF, Div(1e6), " s"),
];
#[rustfmt::skip]
const MS: &[Step] = &[(1e3, One, " ms"), (6e4, Div(1e3), " s"), (3.6e6, Div(6e4), " min"),
    (8.64e7, Div(3.6e6), " hour"), (3.1536e10, Div(8.64e7), " day"),
    (INF, Div(3.1536e10), " year")];
#[rustfmt::skip]
const SECONDS: &[Step] = &[(1e-6, Mul(1e9), " ns"), (1e-3, Mul(1e6), " µs"), (1.0, Mul(1e3), " ms"),
    (60.0, One, " s"), (3600.0, Div(60.0), " min"), (86400.0, Div(3600.0), " hour"),
    (604800.0, Div(86400.0), " day"), (31536000.0, Div(604800.0), " week"),
    (INF, Div(3.15569e7), " year")];
#[rustfmt::skip]
const MIN: &[Step] = &[(60.0, One, " min"), (1440.0, Div(60.0), " hour"),
    (10080.0, Div(1440.0), " day"), (604800.0, Div(10080.0), " week"),
    (INF, Div(5.25948e5), " year")];
#[rustfmt::skip]
const HOUR: &[Step] = &[(24.0, One, " hour"), (168.0, Div(24.0), " day"),
    (8760.0, Div(168.0), " week"), (INF, Div(8760.0), " year")];
const DAY: &[Step] = &[
    (7.0, One, " day"),
    (365.0, Div(7.0), " week"),
    (INF, Div(365.0), " year"),
];

#[rustfmt::skip]
const DURATION: [(&str, f64); 8] = [("year", 31536000.0), ("month", 2592000.0), ("week", 604800.0),
    ("day", 86400.0), ("hour", 3600.0), ("minute", 60.0), ("second", 1.0), ("millisecond", 0.001)];

const SHORT: [&str; 9] = [
    "", " K", " Mil", " Bil", " Tri", " Quadr", " Quint", " Sext", " Sept",
];
const COUNT: [&str; 5] = ["", "K", "M", "B", "T"];
const SI: [&str; 14] = [
    "f", "p", "n", "µ", "m", "", "k", "M", "G", "T", "P", "E", "Z", "Y",
];
const SI_BASE: i32 = 5;
const BIN: [&str; 9] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

const MISC: &str = "Misc";
const MONEY: &str = "Currency";
const DATA: &str = "Data";
const RATE: &str = "Data rate";
const TIME: &str = "Time";
const FLOW: &str = "Throughput";
const TEMP: &str = "Temperature";
const LENGTH: &str = "Length";
const ROT: &str = "Rotational Speed";
const BOOL: &str = "Boolean";

/// (id, name, category, formatter) in Grafana's categories.ts order and wording.
#[rustfmt::skip]
static UNITS: &[(&str, &str, &str, Kind<'static>)] = &[
    ("none", "Number", MISC, Kind::Suffix("")),
    ("string", "String", MISC, Kind::Str),
    ("short", "short", MISC, Kind::Short),
    ("sishort", "SI short", MISC, Kind::Si("", 0)),
    ("percent", "Percent (0-100)", MISC, Kind::Percent(1.0)),
    ("percentunit", "Percent (0.0-1.0)", MISC, Kind::Percent(100.0)),
    ("humidity", "Humidity (%H)", MISC, Kind::Suffix("%H")),
    ("dB", "Decibel", MISC, Kind::Suffix("dB")),
    ("candela", "Candela (cd)", MISC, Kind::Si("cd", 0)),
    ("hex0x", "Hexadecimal (0x)", MISC, Kind::Hex(true)),
    ("hex", "Hexadecimal", MISC, Kind::Hex(false)),
    ("sci", "Scientific notation", MISC, Kind::Sci),
    ("locale", "Locale format", MISC, Kind::Locale),
    ("pixel", "Pixels", MISC, Kind::Suffix("px")),
    ("currencyUSD", "Dollars ($)", MONEY, Kind::Currency("$", false)),
    ("currencyGBP", "Pounds (£)", MONEY, Kind::Currency("£", false)),
    ("currencyEUR", "Euro (€)", MONEY, Kind::Currency("€", false)),
    ("currencyJPY", "Yen (¥)", MONEY, Kind::Currency("¥", false)),
    ("currencyRUB", "Rubles (₽)", MONEY, Kind::Currency("₽", false)),
    ("currencyUAH", "Hryvnias (₴)", MONEY, Kind::Currency("₴", false)),
    ("currencyBRL", "Real (R$)", MONEY, Kind::Currency("R$", false)),
    ("currencyDKK", "Danish Krone (kr)", MONEY, Kind::Currency("kr", true)),
    ("currencyISK", "Icelandic Króna (kr)", MONEY, Kind::Currency("kr", true)),
    ("currencyNOK", "Norwegian Krone (kr)", MONEY, Kind::Currency("kr", true)),
    ("currencySEK", "Swedish Krona (kr)", MONEY, Kind::Currency("kr", true)),
    ("currencyCZK", "Czech koruna (czk)", MONEY, Kind::Currency("czk", false)),
    ("currencyCHF", "Swiss franc (CHF)", MONEY, Kind::Currency("CHF", false)),
    ("currencyPLN", "Polish Złoty (PLN)", MONEY, Kind::Currency("PLN", false)),
    ("currencyBTC", "Bitcoin (฿)", MONEY, Kind::Currency("฿", false)),
    ("currencymBTC", "Milli Bitcoin (฿)", MONEY, Kind::Currency("mBTC", false)),
    ("currencyμBTC", "Micro Bitcoin (฿)", MONEY, Kind::Currency("μBTC", false)),
    ("currencyZAR", "South African Rand (R)", MONEY, Kind::Currency("R", false)),
    ("currencyINR", "Indian Rupee (₹)", MONEY, Kind::Currency("₹", false)),
    ("currencyKRW", "South Korean Won (₩)", MONEY, Kind::Currency("₩", false)),
    ("currencyIDR", "Indonesian Rupiah (Rp)", MONEY, Kind::Currency("Rp", false)),
    ("currencyPHP", "Philippine Peso (PHP)", MONEY, Kind::Currency("PHP", false)),
    ("currencyVND", "Vietnamese Dong (VND)", MONEY, Kind::Currency("đ", true)),
    ("currencyTRY", "Turkish Lira (₺)", MONEY, Kind::Currency("₺", true)),
    ("currencyMYR", "Malaysian Ringgit (RM)", MONEY, Kind::Currency("RM", false)),
    ("currencyXPF", "CFP franc (XPF)", MONEY, Kind::Currency("XPF", false)),
    ("currencyBGN", "Bulgarian Lev (BGN)", MONEY, Kind::Currency("BGN", false)),
    ("currencyPYG", "Guaraní (₲)", MONEY, Kind::Currency("₲", false)),
    ("currencyUYU", "Uruguay Peso (UYU)", MONEY, Kind::Currency("UYU", false)),
    ("currencyILS", "Israeli New Shekels (₪)", MONEY, Kind::Currency("₪", false)),
    ("bytes", "bytes(IEC)", DATA, Kind::Bin("B", 0)),
    ("decbytes", "bytes(SI)", DATA, Kind::Si("B", 0)),
    ("bits", "bits(IEC)", DATA, Kind::Bin("b", 0)),
    ("decbits", "bits(SI)", DATA, Kind::Si("b", 0)),
    ("kbytes", "kibibytes", DATA, Kind::Bin("B", 1)),
    ("deckbytes", "kilobytes", DATA, Kind::Si("B", 1)),
    ("mbytes", "mebibytes", DATA, Kind::Bin("B", 2)),
    ("decmbytes", "megabytes", DATA, Kind::Si("B", 2)),
    ("gbytes", "gibibytes", DATA, Kind::Bin("B", 3)),
    ("decgbytes", "gigabytes", DATA, Kind::Si("B", 3)),
    ("tbytes", "tebibytes", DATA, Kind::Bin("B", 4)),
    ("dectbytes", "terabytes", DATA, Kind::Si("B", 4)),
    ("pbytes", "pebibytes", DATA, Kind::Bin("B", 5)),
    ("decpbytes", "petabytes", DATA, Kind::Si("B", 5)),
    ("pps", "packets/sec", RATE, Kind::Si("p/s", 0)),
    ("binBps", "bytes/sec(IEC)", RATE, Kind::Bin("B/s", 0)),
    ("Bps", "bytes/sec(SI)", RATE, Kind::Si("B/s", 0)),
    ("binbps", "bits/sec(IEC)", RATE, Kind::Bin("b/s", 0)),
    ("bps", "bits/sec(SI)", RATE, Kind::Si("b/s", 0)),
    ("KiBs", "kibibytes/sec", RATE, Kind::Bin("B/s", 1)),
    ("Kibits", "kibibits/sec", RATE, Kind::Bin("b/s", 1)),
    ("KBs", "kilobytes/sec", RATE, Kind::Si("B/s", 1)),
    ("Kbits", "kilobits/sec", RATE, Kind::Si("b/s", 1)),
    ("MiBs", "mebibytes/sec", RATE, Kind::Bin("B/s", 2)),
    ("Mibits", "mebibits/sec", RATE, Kind::Bin("b/s", 2)),
    ("MBs", "megabytes/sec", RATE, Kind::Si("B/s", 2)),
    ("Mbits", "megabits/sec", RATE, Kind::Si("b/s", 2)),
    ("GiBs", "gibibytes/sec", RATE, Kind::Bin("B/s", 3)),
    ("Gibits", "gibibits/sec", RATE, Kind::Bin("b/s", 3)),
    ("GBs", "gigabytes/sec", RATE, Kind::Si("B/s", 3)),
    ("Gbits", "gigabits/sec", RATE, Kind::Si("b/s", 3)),
    ("TiBs", "tebibytes/sec", RATE, Kind::Bin("B/s", 4)),
    ("Tibits", "tebibits/sec", RATE, Kind::Bin("b/s", 4)),
    ("TBs", "terabytes/sec", RATE, Kind::Si("B/s", 4)),
    ("Tbits", "terabits/sec", RATE, Kind::Si("b/s", 4)),
    ("PiBs", "pebibytes/sec", RATE, Kind::Bin("B/s", 5)),
    ("Pibits", "pebibits/sec", RATE, Kind::Bin("b/s", 5)),
    ("PBs", "petabytes/sec", RATE, Kind::Si("B/s", 5)),
    ("Pbits", "petabits/sec", RATE, Kind::Si("b/s", 5)),
    ("hertz", "Hertz (1/s)", TIME, Kind::Si("Hz", 0)),
    ("ns", "nanoseconds (ns)", TIME, Kind::Time(NS)),
    ("µs", "microseconds (µs)", TIME, Kind::Time(US)),
    ("ms", "milliseconds (ms)", TIME, Kind::Time(MS)),
    ("s", "seconds (s)", TIME, Kind::Seconds(1.0)),
    ("m", "minutes (m)", TIME, Kind::Time(MIN)),
    ("h", "hours (h)", TIME, Kind::Time(HOUR)),
    ("d", "days (d)", TIME, Kind::Time(DAY)),
    ("dtdurationms", "duration (ms)", TIME, Kind::Duration(7)),
    ("dtdurations", "duration (s)", TIME, Kind::Duration(6)),
    ("dthms", "duration (hh:mm:ss)", TIME, Kind::Hms),
    ("dtdhms", "duration (d hh:mm:ss)", TIME, Kind::Dhms),
    ("timeticks", "Timeticks (s/100)", TIME, Kind::Seconds(100.0)),
    ("clockms", "clock (ms)", TIME, Kind::Clock(1.0)),
    ("clocks", "clock (s)", TIME, Kind::Clock(1000.0)),
    ("cps", "counts/sec (cps)", FLOW, Kind::Count("c/s")),
    ("ops", "ops/sec (ops)", FLOW, Kind::Count("ops/s")),
    ("reqps", "requests/sec (rps)", FLOW, Kind::Count("req/s")),
    ("rps", "reads/sec (rps)", FLOW, Kind::Count("rd/s")),
    ("wps", "writes/sec (wps)", FLOW, Kind::Count("wr/s")),
    ("iops", "I/O ops/sec (iops)", FLOW, Kind::Count("io/s")),
    ("eps", "events/sec (eps)", FLOW, Kind::Count("evt/s")),
    ("mps", "messages/sec (mps)", FLOW, Kind::Count("msg/s")),
    ("recps", "records/sec (rps)", FLOW, Kind::Count("rec/s")),
    ("rowsps", "rows/sec (rps)", FLOW, Kind::Count("rows/s")),
    ("cpm", "counts/min (cpm)", FLOW, Kind::Count("c/m")),
    ("opm", "ops/min (opm)", FLOW, Kind::Count("ops/m")),
    ("reqpm", "requests/min (rpm)", FLOW, Kind::Count("req/m")),
    ("rpm", "reads/min (rpm)", FLOW, Kind::Count("rd/m")),
    ("wpm", "writes/min (wpm)", FLOW, Kind::Count("wr/m")),
    ("epm", "events/min (epm)", FLOW, Kind::Count("evts/m")),
    ("mpm", "messages/min (mpm)", FLOW, Kind::Count("msgs/m")),
    ("recpm", "records/min (rpm)", FLOW, Kind::Count("rec/m")),
    ("rowspm", "rows/min (rpm)", FLOW, Kind::Count("rows/m")),
    ("celsius", "Celsius (°C)", TEMP, Kind::Suffix("°C")),
    ("fahrenheit", "Fahrenheit (°F)", TEMP, Kind::Suffix("°F")),
    ("kelvin", "Kelvin (K)", TEMP, Kind::Suffix("K")),
    ("lengthmm", "millimeter (mm)", LENGTH, Kind::Si("m", -1)),
    ("lengthin", "inch (in)", LENGTH, Kind::Suffix("in")),
    ("lengthft", "feet (ft)", LENGTH, Kind::Suffix("ft")),
    ("lengthm", "meter (m)", LENGTH, Kind::Si("m", 0)),
    ("lengthkm", "kilometer (km)", LENGTH, Kind::Si("m", 1)),
    ("lengthmi", "mile (mi)", LENGTH, Kind::Suffix("mi")),
    ("rotrpm", "Revolutions per minute (rpm)", ROT, Kind::Suffix("rpm")),
    ("rothz", "Hertz (Hz)", ROT, Kind::Si("Hz", 0)),
    ("rotkhz", "Kilohertz (kHz)", ROT, Kind::Si("Hz", 1)),
    ("rotmhz", "Megahertz (MHz)", ROT, Kind::Si("Hz", 2)),
    ("rotghz", "Gigahertz (GHz)", ROT, Kind::Si("Hz", 3)),
    ("rotrads", "Radians per second (rad/s)", ROT, Kind::Suffix("rad/s")),
    ("rotdegs", "Degrees per second (°/s)", ROT, Kind::Suffix("°/s")),
    ("bool", "True / False", BOOL, Kind::Bool("True", "False")),
    ("bool_yes_no", "Yes / No", BOOL, Kind::Bool("Yes", "No")),
    ("bool_on_off", "On / Off", BOOL, Kind::Bool("On", "Off")),
];

/// Formats `value` in Grafana's unit `unit` (the fieldConfig.defaults.unit id) with `decimals`
/// decimals (None: Grafana's automatic decimals). Unknown ids format as a plain number
/// (as Grafana's "none"), never an error. NaN shows "NaN", ±Inf "+Inf"/"-Inf" (no unit).
pub fn format(unit: &str, value: f64, decimals: Option<u32>) -> Formatted {
    format_kind(kind_of(unit), value, decimals)
}

/// True when Meridian knows `unit` (so a UI can say an unknown unit shows plain numbers).
pub fn is_known(unit: &str) -> bool {
    unit.is_empty() || lookup(unit).is_some() || custom(unit).is_some()
}

/// The units a form offers: (id, human name, category), e.g. ("bytes", "bytes(IEC)", "Data").
pub fn catalogue() -> &'static [(&'static str, &'static str, &'static str)] {
    static CATALOGUE: OnceLock<Vec<(&str, &str, &str)>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        UNITS
            .iter()
            .map(|&(id, name, cat, _)| (id, name, cat))
            .collect()
    })
}

fn lookup(id: &str) -> Option<Kind<'static>> {
    // Old or easier-to-type spellings of Grafana's ids ("farenheit" is Grafana's own alias).
    let id = match id {
        "us" | "μs" => "µs",
        "farenheit" => "fahrenheit",
        _ => id,
    };
    UNITS.iter().find(|u| u.0 == id).map(|u| u.3)
}

/// Grafana's custom units, `key:rest` (getValueFormat). `time:` is left out: it needs a zone.
fn custom(id: &str) -> Option<Kind<'_>> {
    let (key, sub) = id.split_once(':')?;
    Some(match key {
        "prefix" => Kind::Prefix(sub),
        "suffix" => Kind::Suffix(sub),
        "count" => Kind::Count(sub),
        "currency" => Kind::Currency(sub, false),
        "si" => si_custom(sub),
        "bool" => {
            let (t, f) = sub.split_once('/').unwrap_or((sub, "-"));
            Kind::Bool(t, f)
        }
        _ => return None,
    })
}

/// `si:<prefix><unit>`: a leading SI prefix letter sets the offset (getOffsetFromSIPrefix,
/// which compares NFKD forms, so the micro sign and Greek mu both mean micro).
fn si_custom(sub: &str) -> Kind<'_> {
    let Some(c) = sub.chars().next() else {
        return Kind::Si(sub, 0);
    };
    let offset = match c {
        'µ' | 'μ' => -2,
        _ => SI
            .iter()
            .position(|p| p.starts_with(c))
            .map_or(0, |i| i as i32 - SI_BASE),
    };
    Kind::Si(
        if offset == 0 {
            sub
        } else {
            &sub[c.len_utf8()..]
        },
        offset,
    )
}

fn kind_of(unit: &str) -> Kind<'_> {
    lookup(unit)
        .or_else(|| custom(unit))
        .unwrap_or(Kind::Suffix(""))
}

fn format_kind(kind: Kind, value: f64, decimals: Option<u32>) -> Formatted {
    if !value.is_finite() {
        return Formatted::plain(non_finite(value));
    }
    if let Some(s) = scaled(kind, value) {
        let text = if s.zero {
            "0".to_string()
        } else {
            to_fixed(s.x, decimals)
        };
        return Formatted {
            prefix: s.prefix,
            text,
            suffix: s.suffix,
        };
    }
    let text = match kind {
        Kind::Hex(with_0x) => hex(value, decimals, with_0x),
        Kind::Sci => to_exponential(value, decimals),
        Kind::Locale => locale(value, decimals),
        Kind::Bool(t, f) => (if value != 0.0 { t } else { f }).to_string(),
        Kind::Duration(unit) => return duration(value, decimals, unit),
        Kind::Hms => return hms(value),
        Kind::Dhms => return dhms(value),
        Kind::Clock(factor) => clock(value * factor, decimals),
        _ => js_string(value),
    };
    Formatted::plain(text)
}

fn non_finite(v: f64) -> &'static str {
    match v {
        _ if v.is_nan() => "NaN",
        _ if v > 0.0 => "+Inf",
        _ => "-Inf",
    }
}

/// A numeric format before `toFixed`: the value in the unit it will be shown in.
struct Scaled {
    prefix: String,
    x: f64,
    suffix: String,
    /// Grafana writes this value as a bare "0" whatever the decimals (toSeconds).
    zero: bool,
}

fn scaled(kind: Kind, v: f64) -> Option<Scaled> {
    let plain = |x: f64, suffix: String| Scaled {
        prefix: String::new(),
        x,
        suffix,
        zero: false,
    };
    Some(match kind {
        Kind::Suffix("") => plain(v, String::new()),
        Kind::Suffix(unit) => plain(v, format!(" {unit}")),
        Kind::Prefix(unit) => Scaled {
            prefix: unit.to_string(),
            ..plain(v, String::new())
        },
        Kind::Percent(times) => plain(times * v, "%".into()),
        Kind::Short => {
            let (x, i) = scale(v, 1000.0, SHORT.len(), 0);
            plain(x, SHORT[i].into())
        }
        Kind::Si(unit, offset) => {
            let (x, i) = scale(v, 1000.0, SI.len(), SI_BASE + offset);
            plain(x, format!(" {}{unit}", SI[i]))
        }
        Kind::Bin(unit, offset) => {
            let (x, i) = scale(v, 1024.0, BIN.len(), offset);
            plain(x, format!(" {}{unit}", BIN[i]))
        }
        Kind::Count(symbol) => {
            let (x, i) = scale(v, 1000.0, COUNT.len(), 0);
            plain(x, format!("{} {symbol}", COUNT[i]))
        }
        Kind::Currency(symbol, after) => currency(v, symbol, after),
        Kind::Time(steps) => time(v, steps),
        Kind::Seconds(div) if v / div == 0.0 => Scaled {
            zero: true,
            ..plain(0.0, " s".into())
        },
        Kind::Seconds(div) => time(v / div, SECONDS),
        _ => return None,
    })
}

/// Grafana's scaledUnits: `v` divided by a power of `factor`, and the index of its unit in a
/// list of `len` units whose unscaled unit sits at `offset`.
fn scale(v: f64, factor: f64, len: usize, offset: i32) -> (f64, usize) {
    let len = len as i32;
    let index = if v == 0.0 {
        0
    } else {
        (v.abs().log10() / factor.log10()).floor() as i32
    };
    let unit = (offset + index).clamp(0, len - 1) as usize;
    let power = index.clamp(-offset, len - offset - 1);
    (v / factor.powf(power as f64), unit)
}

fn currency(v: f64, symbol: &str, after: bool) -> Scaled {
    let (x, i) = scale(v.abs(), 1000.0, COUNT.len(), 0);
    let (mut prefix, mut suffix) = (String::new(), COUNT[i].to_string());
    if after {
        suffix.push_str(symbol);
    } else {
        prefix.push_str(symbol);
    }
    if v < 0.0 {
        prefix.insert(0, '-');
    }
    Scaled {
        prefix,
        x,
        suffix,
        zero: false,
    }
}

fn time(v: f64, steps: &[Step]) -> Scaled {
    let (_, scale, unit) = steps
        .iter()
        .copied()
        .find(|s| v.abs() < s.0)
        .unwrap_or((INF, One, ""));
    let x = match scale {
        One => v,
        Div(d) => v / d,
        Mul(m) => v * m,
    };
    // appendPluralIf (grafana#77337): only toFixedScaled's long units, only above 1.
    let plural = !matches!(scale, One)
        && x.abs() > 1.0
        && matches!(unit, " min" | " hour" | " day" | " week" | " year");
    let suffix = if plural {
        format!("{unit}s")
    } else {
        unit.to_string()
    };
    Scaled {
        prefix: String::new(),
        x,
        suffix,
        zero: false,
    }
}

/// Grafana's toDuration: whole units from the largest that is ≥ 1, then `decimals` more.
fn duration(v: f64, decimals: Option<u32>, unit: usize) -> Formatted {
    let (name, seconds) = DURATION[unit.min(DURATION.len() - 1)];
    if v == 0.0 {
        return Formatted {
            suffix: format!(" {name}s"),
            ..Formatted::plain("0")
        };
    }
    if v < 0.0 {
        return ago(duration(-v, decimals, unit));
    }
    let mut size = v * (seconds * 1000.0);
    let mut left = i64::from(decimals.unwrap_or(0));
    let mut parts = Vec::new();
    for (name, seconds) in DURATION {
        let interval = seconds * 1000.0;
        let value = size / interval;
        if left < 0 {
            break;
        }
        if parts.is_empty() && (value < 1.0 || value.is_nan()) {
            continue;
        }
        let whole = value.floor();
        let plural = if whole != 1.0 { "s" } else { "" };
        parts.push(format!("{} {name}{plural}", js_string(whole)));
        size %= interval;
        left -= 1;
    }
    Formatted::plain(parts.join(", "))
}

fn ago(mut f: Formatted) -> Formatted {
    f.suffix.push_str(" ago");
    f
}

fn hms(v: f64) -> Formatted {
    if v < 0.0 {
        return ago(hms(-v));
    }
    let fields = [
        (v / 3600.0).floor(),
        ((v % 3600.0) / 60.0).floor(),
        (v % 3600.0 % 60.0).floor(),
    ];
    let two = |n: f64| {
        if n > 9.0 {
            js_string(n)
        } else {
            format!("0{}", js_string(n))
        }
    };
    Formatted::plain(fields.map(two).join(":"))
}

fn dhms(v: f64) -> Formatted {
    if v < 0.0 {
        return ago(dhms(-v));
    }
    let days = (v / 86400.0).floor();
    let day = if days > 0.0 {
        format!("{} d ", js_string(days))
    } else {
        String::new()
    };
    Formatted::plain(day + &hms(v - days * 86400.0).text)
}

/// Grafana's toClock, including its two-digit hours ("0" + h).slice(-2).
fn clock(size: f64, decimals: Option<u32>) -> String {
    let fields = match decimals {
        _ if size < 1e3 => "S",
        Some(0) if size < 6e4 => "s",
        _ if size < 6e4 => "sS",
        Some(0) if size < 3.6e6 => "m",
        Some(1) if size < 3.6e6 => "ms",
        _ if size < 3.6e6 => "msS",
        Some(0) => "",
        Some(1) => "m",
        Some(2) => "ms",
        _ => "msS",
    };
    let clock = utc_fields(size, fields);
    if size < 3.6e6 {
        return clock;
    }
    let hours = format!("0{}", js_string((size / 3.6e6).floor()));
    let hours = &hours[hours.len() - 2..];
    if fields.is_empty() {
        format!("{hours}h")
    } else {
        format!("{hours}h:{clock}")
    }
}

/// moment.utc(t).format of minutes (m), seconds (s) and milliseconds (S), ':'-joined.
fn utc_fields(t: f64, fields: &str) -> String {
    if t.is_nan() || t.abs() > 8.64e15 {
        return "Invalid date".into();
    }
    let t = t.trunc() as i64;
    let part = |c| match c {
        'm' => format!("{:02}m", t.div_euclid(60_000).rem_euclid(60)),
        's' => format!("{:02}s", t.div_euclid(1000).rem_euclid(60)),
        _ => format!("{:03}ms", t.rem_euclid(1000)),
    };
    fields.chars().map(part).collect::<Vec<_>>().join(":")
}

/// Grafana's toFixed: JavaScript's `String(Math.round(v * 10^d) / 10^d)`, padded to `d`.
fn to_fixed(value: f64, decimals: Option<u32>) -> String {
    if !value.is_finite() {
        return non_finite(value).into();
    }
    let dec = decimals
        .map_or_else(|| auto_decimals(value), |d| d.min(100) as i32)
        .max(0);
    let padded = |s: String, precision: usize| match (dec as usize).checked_sub(precision) {
        Some(n) if n > 0 => format!(
            "{s}{}{}",
            if precision == 0 { "." } else { "" },
            "0".repeat(n)
        ),
        _ => s,
    };
    if value == 0.0 {
        return padded("0".into(), 0);
    }
    let factor = if dec > 0 { 10f64.powf(dec as f64) } else { 1.0 };
    let rounded = value * factor;
    // Grafana prints "Infinity…" when v·10^d overflows; such a value has no decimals to round.
    let formatted = if rounded.is_finite() {
        js_string(js_round(rounded) / factor)
    } else {
        js_string(value)
    };
    if formatted.contains('e') {
        return formatted;
    }
    let precision = formatted.find('.').map_or(0, |p| formatted.len() - p - 1);
    padded(formatted, precision)
}

/// Grafana's getDecimalsForValue.
fn auto_decimals(value: f64) -> i32 {
    let abs = value.abs();
    let log10 = (abs.ln() / std::f64::consts::LN_10).floor();
    let mut dec = -log10 + 1.0;
    if abs / 10f64.powf(-dec) > 2.25 {
        dec += 1.0;
    }
    if value % 1.0 == 0.0 {
        dec = 0.0;
    }
    dec.max(0.0) as i32
}

/// JavaScript's Math.round: halves go up.
fn js_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// The shortest digits that read back as |x|, and n with |x| = 0.d₁d₂… × 10ⁿ.
fn shortest_digits(x: f64) -> (Vec<u8>, i32) {
    let x = x.abs();
    let (digits, n) = digits_of(&format!("{x:e}"));
    // Between two shortest candidates equally near x, Rust takes the upper, JavaScript (and
    // ICU) the even one: 1867633581161499.25 is "…499.2" in JavaScript.
    let (exact, exact_n) = digits_of(&format!("{x:.*e}", digits.len() + 24));
    let k = digits.len();
    if exact.len() != k + 1 || exact[k] != b'5' {
        return (digits, n);
    }
    let (down, (up, carry)) = (exact[..k].to_vec(), round_half_up(exact.clone(), k));
    let even = if down[k - 1] % 2 == 0 {
        (down, exact_n)
    } else {
        (up, exact_n + i32::from(carry))
    };
    let back = format!("0.{}e{}", ascii(&even.0), even.1).parse::<f64>();
    if back == Ok(x) {
        even
    } else {
        (digits, n)
    }
}

/// The exact decimal digits of |x| (no f64 has more than 767), as `shortest_digits`.
fn exact_digits(x: f64) -> (Vec<u8>, i32) {
    digits_of(&format!("{:.800e}", x.abs()))
}

fn digits_of(sci: &str) -> (Vec<u8>, i32) {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, exp.parse::<i32>().unwrap_or(0) + 1)
}

/// Cuts `digits` to `keep`, rounding half up; true when that carried into a new first digit.
fn round_half_up(mut digits: Vec<u8>, keep: usize) -> (Vec<u8>, bool) {
    let up = digits.get(keep).is_some_and(|&d| d >= b'5');
    digits.truncate(keep);
    if !up {
        return (digits, false);
    }
    for d in digits.iter_mut().rev() {
        if *d < b'9' {
            *d += 1;
            return (digits, false);
        }
        *d = b'0';
    }
    digits.insert(0, b'1');
    (digits, true)
}

fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or("")
}

/// JavaScript's `String(x)` for a number.
fn js_string(x: f64) -> String {
    if x.is_nan() || x == 0.0 {
        return (if x == 0.0 { "0" } else { "NaN" }).into();
    }
    if x.is_infinite() {
        return format!("{}Infinity", sign(x));
    }
    let (d, n) = shortest_digits(x);
    let (s, k) = (ascii(&d), d.len() as i32);
    let body = if k <= n && n <= 21 {
        format!("{s}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &s[..n as usize], &s[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{s}", "0".repeat(-n as usize))
    } else {
        exponential(&d, n)
    };
    format!("{}{body}", sign(x))
}

fn sign(x: f64) -> &'static str {
    if x < 0.0 {
        "-"
    } else {
        ""
    }
}

/// d₁.d₂…e±x, JavaScript's exponential notation of 0.d₁d₂… × 10ⁿ.
fn exponential(digits: &[u8], n: i32) -> String {
    let s = ascii(digits);
    let mantissa = if s.len() > 1 {
        format!("{}.{}", &s[..1], &s[1..])
    } else {
        s.to_string()
    };
    format!("{mantissa}e{}{}", if n > 0 { "+" } else { "" }, n - 1)
}

/// JavaScript's `toExponential(decimals)` (sci).
fn to_exponential(v: f64, decimals: Option<u32>) -> String {
    let (digits, n) = match decimals.map(|d| d.min(100) as usize + 1) {
        Some(keep) if v == 0.0 => (vec![b'0'; keep], 1),
        None => shortest_digits(v),
        Some(keep) => {
            let (digits, n) = exact_digits(v);
            let (mut digits, carry) = round_half_up(digits, keep);
            digits.resize(keep, b'0');
            (digits, n + i32::from(carry))
        }
    };
    format!("{}{}", sign(v), exponential(&digits, n))
}

/// `toLocaleString(undefined, { maximumFractionDigits })` in en-US, as ICU does it: from the
/// shortest digits, halves away from zero, grouped by thousands, trailing zeros dropped.
fn locale(v: f64, decimals: Option<u32>) -> String {
    let frac = decimals.map_or(3, |d| d.min(100)) as usize;
    let (digits, n) = shortest_digits(v);
    let lead = (1 - n).max(0) as usize;
    let mut all = vec![b'0'; lead];
    all.extend(digits);
    let mut point = (n + lead as i32) as usize;
    if all.len() < point {
        all.resize(point, b'0');
    }
    let (all, carry) = round_half_up(all, point + frac);
    point += usize::from(carry);
    let int = ascii(&all[..point]).trim_start_matches('0');
    let fraction = ascii(&all[point..]).trim_end_matches('0');
    let mut out = String::from(if v.is_sign_negative() { "-" } else { "" });
    let int = if int.is_empty() { "0" } else { int };
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out = format!("{out}.{fraction}");
    }
    out
}

/// Grafana's toHex/toHex0x: `parseFloat(toFixed(v, d)).toString(16).toUpperCase()`.
fn hex(v: f64, decimals: Option<u32>, with_0x: bool) -> String {
    let text = radix16(to_fixed(v, decimals).parse().unwrap_or(v));
    match (with_0x, text.strip_prefix('-')) {
        (false, _) => text,
        (true, Some(rest)) => format!("-0x{rest}"),
        (true, None) => format!("0x{text}"),
    }
}

/// V8's DoubleToRadixCString for radix 16: fraction digits only as far as the double is exact.
fn radix16(value: f64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let magnitude = value.abs();
    let mut integer = magnitude.floor();
    let mut fraction = magnitude - integer;
    let mut delta = (0.5 * (magnitude.next_up() - magnitude)).max(0f64.next_up());
    let mut frac = Vec::new();
    while fraction >= delta {
        fraction *= 16.0;
        delta *= 16.0;
        let digit = fraction as u8;
        frac.push(digit);
        fraction -= f64::from(digit);
        if (fraction > 0.5 || (fraction == 0.5 && digit & 1 == 1)) && fraction + delta > 1.0 {
            loop {
                match frac.pop() {
                    None => integer += 1.0,
                    Some(d) if d < 15 => frac.push(d + 1),
                    Some(_) => continue,
                }
                break;
            }
            break;
        }
    }
    let mut int = Vec::new();
    while integer / 16.0 >= 9007199254740992.0 {
        integer /= 16.0;
        int.push(b'0');
    }
    loop {
        let rem = integer % 16.0;
        int.push(DIGITS[rem as usize & 15]);
        integer = (integer - rem) / 16.0;
        if integer <= 0.0 {
            break;
        }
    }
    if value < 0.0 {
        int.push(b'-');
    }
    int.reverse();
    let mut out = String::from_utf8_lossy(&int).into_owned();
    if !frac.is_empty() {
        out.push('.');
        out.extend(frac.iter().map(|&d| DIGITS[usize::from(d & 15)] as char));
    }
    out
}

/// Value-axis ticks between `lo` and `hi`: multiples of a 1-2-5 step (1, 2, 5 × 10^k) chosen so
/// that there are at most `max_ticks` ticks (and as many as possible up to that). Returns the
/// ticks inside [lo, hi] in increasing order and the step. lo == hi or non-finite input gives
/// a sensible result (never a panic, never an endless loop, at most max_ticks+1 ticks).
pub fn value_ticks(lo: f64, hi: f64, max_ticks: usize) -> (Vec<f64>, f64) {
    let (lo, hi) = match (lo.is_finite(), hi.is_finite()) {
        (true, true) => (lo.min(hi), lo.max(hi)),
        (true, false) => (lo, lo),
        (false, true) => (hi, hi),
        (false, false) => return (Vec::new(), 1.0),
    };
    let max = max_ticks.max(1);
    // Halves, so that a span of ±f64::MAX does not overflow.
    let half_span = hi / 2.0 - lo / 2.0;
    let raw = half_span / (max as f64 + 1.0) * 2.0;
    let (mut ticks, step) = if raw >= 1e-300 {
        nice_ticks(lo, hi, max, raw.log10().floor() as i32 - 1, half_span)
    } else {
        let k = if lo == 0.0 {
            0.0
        } else {
            lo.abs().log10().floor().clamp(-300.0, 300.0)
        };
        (vec![lo], decimal(1.0, k as i32))
    };
    ticks.truncate(max_ticks);
    (ticks, step)
}

const NICE: [f64; 3] = [1.0, 2.0, 5.0];

/// Tries 1-2-5 steps upwards from 10^k and keeps the first with the most ticks (at most `max`);
/// stops once a step is too coarse to beat it.
fn nice_ticks(lo: f64, hi: f64, max: usize, k: i32, half_span: f64) -> (Vec<f64>, f64) {
    let mut best: Option<(Vec<f64>, f64)> = None;
    let mut coarsest = decimal(1.0, k);
    for i in 0..64 {
        let (m, k) = (NICE[i % 3], k + (i / 3) as i32);
        let step = decimal(m, k);
        if !step.is_finite() {
            break;
        }
        coarsest = step;
        if best
            .as_ref()
            .is_some_and(|(t, _)| half_span / step * 2.0 + 1.0 <= t.len() as f64)
        {
            break;
        }
        let Some(ticks) = multiples(lo, hi, m, k, max) else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| ticks.len() > b.len()) {
            best = Some((ticks, step));
        }
    }
    // Only for spans near f64::MAX, where no 1-2-5 step up to 1e308 is coarse enough.
    let zero = if lo <= 0.0 && 0.0 <= hi {
        vec![0.0]
    } else {
        Vec::new()
    };
    best.unwrap_or((zero, coarsest))
}

/// The multiples of m × 10^k inside [lo, hi], or None when there are more than `max`.
fn multiples(lo: f64, hi: f64, m: f64, k: i32, max: usize) -> Option<Vec<f64>> {
    let step = decimal(m, k);
    let (first, last) = ((lo / step).ceil() - 1.0, (hi / step).floor() + 1.0);
    let span = last - first;
    if span.is_nan() || span > max as f64 + 3.0 {
        return None;
    }
    let mut out: Vec<f64> = Vec::with_capacity(max);
    for j in 0..=span as usize {
        // i·m / 10^-k is the double nearest the decimal tick: 0.6, never 0.6000000000000001.
        let t = decimal((first + j as f64) * m, k) + 0.0;
        if lo <= t && t <= hi && out.last().is_none_or(|&p| t > p) {
            if out.len() == max {
                return None;
            }
            out.push(t);
        }
    }
    Some(out)
}

/// n × 10^k, dividing for negative k so that the result is the double nearest the decimal.
fn decimal(n: f64, k: i32) -> f64 {
    if k >= 0 {
        n * 10f64.powf(k as f64)
    } else {
        n / 10f64.powf(-k as f64)
    }
}

/// An axis tick label: `value` in `unit`, with just enough decimals that ticks `step` apart read
/// differently (after the unit's scaling: ticks 0.2 s apart show "200 ms", "400 ms";
/// 0.5 GiB apart "512 MiB", "1 GiB", "1.5 GiB"). No floating-point noise
/// ("0.30000000000000004" never appears); 0 shows as "0" plus the unit's suffix where Grafana
/// shows one ("0 s", "0 B", "0%").
pub fn format_tick(unit: &str, value: f64, step: f64) -> String {
    let kind = kind_of(unit);
    if !value.is_finite() {
        return format_kind(kind, value, None).to_string();
    }
    if let Some(s) = scaled(kind, value) {
        let ratio = if value == 0.0 {
            1.0
        } else {
            (s.x / value).abs()
        };
        let text = to_fixed(s.x, Some(tick_decimals(step.abs() * ratio)));
        let text = match text.contains('.') && !text.contains('e') {
            _ if s.zero => "0",
            true => text.trim_end_matches('0').trim_end_matches('.'),
            false => &text,
        };
        return format!("{}{text}{}", s.prefix, s.suffix);
    }
    // Not a number in a unit (hex, sci, durations, clocks…): the fewest decimals that tell the
    // tick from its neighbours.
    let label = |v: f64, d| format_kind(kind, v, d).to_string();
    let differs = |d: &u32| {
        let here = label(value, Some(*d));
        [value - step, value + step]
            .iter()
            .all(|&n| label(n, Some(*d)) != here)
    };
    label(value, (0..=6).find(differs))
}

/// The fewest decimals that show multiples of `step` exactly (up to two past the first
/// significant digit, so 0.25 gets 2), or at least tell them apart.
fn tick_decimals(step: f64) -> u32 {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    let least = (-step.log10() - 1e-9).ceil().clamp(0.0, 20.0) as u32;
    let exact = |d: &u32| {
        let x = step * 10f64.powi(*d as i32);
        (x - x.round()).abs() <= 1e-6 * x
    };
    (least..least + 3).find(exact).unwrap_or(least)
}

#[cfg(test)]
#[rustfmt::skip] // the case tables read better one row per line than one value per line
mod tests {
    use super::*;

    fn f(unit: &str, value: f64, decimals: Option<u32>) -> String {
        format(unit, value, decimals).to_string()
    }

    fn parts(kind: Kind, value: f64) -> (String, String, String) {
        let r = format_kind(kind, value, None);
        (r.prefix, r.text, r.suffix)
    }

    #[test]
    #[allow(clippy::approx_constant)] // the brief's own example value
    fn brief_examples() {
        assert_eq!(f("s", 0.4, None), "400 ms");
        assert_eq!(f("ms", 1500.0, None), "1.50 s");
        assert_eq!(f("bytes", 1536.0, None), "1.50 KiB");
        assert_eq!(f("decbytes", 1500.0, None), "1.50 kB");
        assert_eq!(f("percentunit", 0.4213, Some(1)), "42.1%");
        assert_eq!(f("percent", 99.95, Some(2)), "99.95%");
        assert_eq!(f("percent", 42.0, None), "42%");
        assert_eq!(f("percentunit", 0.42, None), "42%");
        assert_eq!(f("reqps", 1234.0, None), "1.23K req/s");
        assert_eq!(f("short", 1_500_000.0, None), "1.50 Mil");
        assert_eq!(f("no-such-unit", 3.14159, None), "3.14");
        assert_eq!(f("none", 3.14159, None), "3.14");
        assert_eq!(f("", 3.14159, None), "3.14");
        let bytes = format("bytes", 1536.0, None);
        let split = (bytes.prefix.as_str(), bytes.text.as_str(), bytes.suffix.as_str());
        assert_eq!(split, ("", "1.50", " KiB"));
    }

    // Grafana: packages/grafana-data/src/valueFormats/valueFormats.test.ts (and kbn.test.ts).
    #[test]
    fn grafana_value_formats_test() {
        let cases: &[(&str, Option<u32>, f64, &str)] = &[
            ("currencyUSD", Some(2), 1532.82, "$1.53K"),
            ("currencyKRW", Some(2), 1532.82, "₩1.53K"),
            ("currencyIDR", Some(2), 1532.82, "Rp1.53K"),
            ("ms", Some(4), 0.0024, "0.0024 ms"),
            ("ms", Some(0), 100.0, "100 ms"),
            ("ms", Some(2), 1250.0, "1.25 s"),
            // "2.8 hour" before Grafana pluralised scaled time units (grafana#77337).
            ("ms", Some(1), 10000086.123, "2.8 hours"),
            ("ms", Some(0), 1200.0, "1 s"),
            ("short", Some(0), 98765.0, "99 K"),
            ("short", Some(0), 9876543.0, "10 Mil"),
            ("kbytes", Some(3), 10000000.0, "9.537 GiB"),
            ("deckbytes", Some(3), 10000000.0, "10.000 GB"),
            ("prefix:b", None, 1532.82, "b1533"),
            ("suffix:d", None, 1532.82, "1533 d"),
            ("si:µF", Some(2), 1234.0, "1.23 mF"),
            ("si:µF", Some(2), 1234000000.0, "1.23 kF"),
            ("si:µF", Some(2), 1234000000000000.0, "1.23 GF"),
            ("count:xpm", Some(2), 1234567.0, "1.23M xpm"),
            ("count:x/min", Some(2), 1234.0, "1.23K x/min"),
            ("currency:@", Some(2), 1234567.0, "@1.23M"),
            ("currency:@", Some(2), 1234.0, "@1.23K"),
            // Grafana suffixes an unknown id ("1533 a"); Meridian shows the plain number.
            ("a", Some(0), 1532.82, "1533"),
        ];
        for &(unit, decimals, value, want) in cases {
            assert_eq!(f(unit, value, decimals), want, "{unit} {value} {decimals:?}");
        }
        // The energy units of the same test, which the catalogue leaves out.
        let si: &[(&str, i32, &str)] = &[
            ("W", 2, "1.000 GW"), ("Ω", 1, "1.000 MΩ"), ("Ω", 2, "1.000 GΩ"),
            ("F", 0, "1.000 kF"), ("F", -2, "1.000 mF"), ("F", -3, "1.000 µF"),
            ("F", -4, "1.000 nF"), ("F", -5, "1.000 pF"), ("H", 0, "1.000 kH"),
            ("H", -1, "1.000 H"), ("H", -2, "1.000 mH"),
        ];
        for &(unit, offset, want) in si {
            assert_eq!(format_kind(Kind::Si(unit, offset), 1000.0, Some(3)).to_string(), want);
        }
        for (value, decimals, want) in [
            (100.0, None, "100"), (100.4, None, "100"), (100.5, None, "101"),
            (100.0, Some(1), "100.0"), (100.37, Some(1), "100.4"), (100.63, Some(1), "100.6"),
            (100.4, Some(2), "100.40"), (100.5, Some(2), "100.50"), (f64::NAN, None, "NaN"),
        ] {
            assert_eq!(to_fixed(value, decimals), want);
        }
        assert_eq!(f("farenheit", 20.0, None), "20 °F");
    }

    // Grafana: packages/grafana-data/src/valueFormats/symbolFormatters.test.ts.
    #[test]
    fn grafana_symbol_formatters_test() {
        let rows: &[(f64, &str, &str, &str)] = &[
            (0.0, "", "0", ""), (999.0, "", "999", ""), (1e3, "", "1", "K"), (1e6, "", "1", "M"),
            (1e9, "", "1", "B"), (1e12, "", "1", "T"), (1e15, "", "1000", "T"),
            (-1e12, "-", "1", "T"), (-1e9, "-", "1", "B"), (-1e6, "-", "1", "M"),
            (-1e3, "-", "1", "K"), (-999.0, "-", "999", ""),
        ];
        for &(v, sign, text, scale) in rows {
            let before = (format!("{sign}@"), text.to_string(), scale.to_string());
            assert_eq!(parts(Kind::Currency("@", false), v), before);
            let after = (sign.to_string(), text.to_string(), format!("{scale}@"));
            assert_eq!(parts(Kind::Currency("@", true), v), after);
        }
        let rows: &[(f64, &str, &str)] = &[
            (0.0, " V", "0"), (999.0, " V", "999"), (1e3, " kV", "1"), (1e6, " MV", "1"),
            (1e9, " GV", "1"), (1e12, " TV", "1"), (1e15, " PV", "1"), (-1e12, " TV", "-1"),
            (-1e9, " GV", "-1"), (-1e6, " MV", "-1"), (-1e3, " kV", "-1"), (-999.0, " V", "-999"),
        ];
        for &(v, suffix, text) in rows {
            assert_eq!(parts(Kind::Si("V", 0), v), (String::new(), text.into(), suffix.into()));
        }
    }

    // Grafana: packages/grafana-data/src/valueFormats/arithmeticFormatters.test.ts.
    #[test]
    fn grafana_arithmetic_formatters_test() {
        let cases: &[(&str, f64, u32, &str)] = &[
            ("sci", 1000.0, 0, "1e+3"), ("sci", -1000.0, 0, "-1e+3"), ("sci", 1000.0, 2, "1.00e+3"),
            ("hex", 100.0, 0, "64"), ("hex", -100.0, 0, "-64"), ("hex", 50.52, 1, "32.8"),
            ("hex", -50.333, 2, "-32.547AE147AE14"), ("hex0x", 7999.0, 0, "0x1F3F"),
            ("hex0x", -584.0, 0, "-0x248"), ("hex0x", 74.443, 3, "0x4A.716872B020C4"),
            ("hex0x", -65.458, 1, "-0x41.8"), ("percent", 33.33333, 2, "33.33%"),
            ("percentunit", 33.33333, 2, "3333.33%"),
        ];
        for &(unit, value, decimals, want) in cases {
            assert_eq!(f(unit, value, Some(decimals)), want, "{unit} {value}");
        }
        assert_eq!(f("sci", 0.00012, None), "1.2e-4");
        assert_eq!(f("sci", 2.5, Some(0)), "3e+0");
        assert_eq!(f("locale", 1234567.891, None), "1,234,567.891");
        assert_eq!(f("locale", 1234.5678, Some(2)), "1,234.57");
        assert_eq!(f("locale", -0.0004, None), "-0");
        assert_eq!(f("string", 0.1 + 0.2, None), "0.30000000000000004");
        assert_eq!(f("string", 1e21, None), "1e+21");
        assert_eq!(f("string", 1867633581161499.2, None), "1867633581161499.2");
        assert_eq!(f("string", 1.5e-7, None), "1.5e-7");
        assert_eq!(f("bool", 1.0, None), "True");
        assert_eq!(f("bool:up/down", 0.0, None), "down");
    }

    // Grafana: packages/grafana-data/src/valueFormats/dateTimeFormatters.test.ts.
    #[test]
    fn grafana_date_time_formatters_test() {
        let (ms, s) = (7, 6);
        let durations: &[(f64, u32, usize, &str)] = &[
            (0.0, 0, ms, "0 milliseconds"), (1.0, 0, ms, "1 millisecond"),
            (-1.0, 0, ms, "1 millisecond ago"), (1.0, 0, s, "1 second"), (1.0, 0, 5, "1 minute"),
            (1.0, 0, 4, "1 hour"), (1.0, 0, 3, "1 day"), (1.0, 0, 2, "1 week"),
            (1.0, 0, 1, "1 month"), (1.0, 0, 0, "1 year"),
            (1.5, 2, 3, "1 day, 12 hours, 0 minutes"),
            (1.5, 3, 1, "1 month, 2 weeks, 1 day, 0 hours"), (38898367008.0, 0, ms, "1 year"),
            (38898367008.0, 1, ms, "1 year, 2 months"),
            (38898367008.0, 20, ms, "1 year, 2 months, 3 weeks, 4 days, 5 hours, 6 minutes, \
                7 seconds, 8 milliseconds"),
            (36993906007.0, 8, ms, "1 year, 2 months, 0 weeks, 3 days, 4 hours, 5 minutes, \
                6 seconds, 7 milliseconds"),
        ];
        for &(v, decimals, unit, want) in durations {
            assert_eq!(duration(v, Some(decimals), unit).to_string(), want);
        }
        assert_eq!(f("dtdurations", 3725.0, Some(1)), "1 hour, 2 minutes");
        for (unit, v, want) in [
            ("dthms", 1.0, "00:00:01"), ("dthms", -1.0, "00:00:01 ago"), ("dthms", 0.0, "00:00:00"),
            ("dtdhms", 86399.0, "23:59:59"), ("dtdhms", 86400.0, "1 d 00:00:00"),
            ("dtdhms", 360000.0, "4 d 04:00:00"), ("dtdhms", 1179811.0, "13 d 15:43:31"),
            ("dtdhms", -1179811.0, "13 d 15:43:31 ago"), ("dtdhms", 116876364.0, "1352 d 17:39:24"),
        ] {
            assert_eq!(f(unit, v, None), want);
        }
        for (v, decimals, want) in [
            (999.0, Some(0), "999ms"), (59999.0, None, "59s:999ms"), (59999.0, Some(0), "59s"),
            (3599999.0, None, "59m:59s:999ms"), (3599999.0, Some(0), "59m"),
            (3599999.0, Some(1), "59m:59s"), (7199999.0, None, "01h:59m:59s:999ms"),
            (7199999.0, Some(0), "01h"), (7199999.0, Some(1), "01h:59m"),
            (7199999.0, Some(2), "01h:59m:59s"), (89999999.0, None, "24h:59m:59s:999ms"),
            (89999999.0, Some(0), "24h"), (89999999.0, Some(1), "24h:59m"),
            (89999999.0, Some(2), "24h:59m:59s"),
        ] {
            assert_eq!(f("clockms", v, decimals), want);
        }
        assert_eq!(f("clocks", 59.999, None), "59s:999ms");
        // Suffixes pluralised since grafana#77337 (the test predates it: " min", " hour", " day").
        for (v, text, suffix) in [
            (10.0, "10", " ns"), (3000.0, "3", " µs"), (4e6, "4", " ms"), (5e9, "5", " s"),
            (4.8e11, "8", " mins"), (3.24e13, "9", " hours"), (8.64e14, "10", " days"),
        ] {
            assert_eq!(parts(Kind::Time(NS), v), (String::new(), text.into(), suffix.into()));
        }
        assert_eq!(parts(Kind::Seconds(1.0), 0.0), (String::new(), "0".into(), " s".into()));
        assert_eq!(f("s", 0.0, Some(2)), "0 s");
        assert_eq!(f("s", 90.0, None), "1.50 mins");
        assert_eq!(f("s", 60.0, None), "1 min");
        assert_eq!(f("m", 30.0, None), "30 min");
        assert_eq!(f("us", 1500.0, None), "1.50 ms");
        assert_eq!(f("timeticks", 150.0, None), "1.50 s");
    }

    #[test]
    fn custom_units_and_catalogue() {
        assert_eq!(f("si:mF", 0.5, None), "500 µF");
        assert_eq!(f("si:kg", 2500.0, None), "2.50 Mg");
        assert_eq!(f("si:F", 2500.0, None), "2.50 kF");
        assert_eq!(f("currency:€", -1234.0, Some(1)), "-€1.2K");
        assert_eq!(f("suffix:", 2.0, None), "2");
        assert!(is_known("bytes") && is_known("us") && is_known("suffix:req") && is_known(""));
        assert!(!is_known("no-such-unit") && !is_known("time:YYYY") && !is_known(":x"));
        let cat = catalogue();
        assert!(cat.contains(&("bytes", "bytes(IEC)", "Data")));
        for (i, (id, ..)) in cat.iter().enumerate() {
            assert!(is_known(id), "{id}");
            assert!(cat[..i].iter().all(|c| c.0 != *id), "duplicate {id}");
        }
    }

    #[test]
    fn never_panics() {
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, f64::MAX, f64::MIN,
            f64::MIN_POSITIVE, -f64::MIN_POSITIVE, 5e-324, 1e21, 1e-7, 0.5, -1.5, 123456.789];
        let customs = ["si:µF", "count:x", "currency:@", "prefix:$", "suffix:x", "bool:a/b", "?"];
        let ids = catalogue().iter().map(|c| c.0).chain(customs);
        for id in ids {
            for &v in &specials {
                for d in [None, Some(0), Some(3), Some(u32::MAX)] {
                    let _ = format(id, v, d);
                }
                for step in [0.0, 1.0, 1e-9, f64::NAN, f64::INFINITY] {
                    let _ = format_tick(id, v, step);
                }
            }
        }
        assert_eq!(f("bytes", f64::NAN, None), "NaN");
        assert_eq!(f("ms", f64::INFINITY, None), "+Inf");
        assert_eq!(f("currencyUSD", f64::NEG_INFINITY, None), "-Inf");
        assert_eq!(f("bytes", -0.0, None), "0 B");
        assert_eq!(f("none", f64::MAX, None), "1.7976931348623157e+308");
        assert_eq!(f("none", f64::MIN_POSITIVE, None), "2.2250738585072014e-308");
        assert_eq!(f("none", 1e300, Some(10)), "1e+300");
        for &a in &specials {
            for &b in &specials {
                for max in [0, 1, 5] {
                    let (ticks, step) = value_ticks(a, b, max);
                    assert!(ticks.len() <= max.max(1) && step > 0.0 && step.is_finite(), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn ticks_examples() {
        assert_eq!(value_ticks(0.0, 1.0, 6), (vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 0.2));
        assert_eq!(value_ticks(-3.0, 97.0, 5), (vec![0.0, 20.0, 40.0, 60.0, 80.0], 20.0));
        assert_eq!(value_ticks(97.0, -3.0, 5), (vec![0.0, 20.0, 40.0, 60.0, 80.0], 20.0));
        assert_eq!(value_ticks(0.0, 1e-9, 5), (vec![0.0, 5e-10, 1e-9], 5e-10));
        assert_eq!(value_ticks(0.0, 1e12, 5), (vec![0.0, 5e11, 1e12], 5e11));
        assert_eq!(value_ticks(0.0, 1e12, 11), (vec![0.0, 1e11, 2e11, 3e11, 4e11, 5e11, 6e11,
            7e11, 8e11, 9e11, 1e12], 1e11));
        assert_eq!(value_ticks(1e-9, 3e-9, 3), (vec![1e-9, 2e-9, 3e-9], 1e-9));
        assert_eq!(value_ticks(5.0, 5.0, 6), (vec![5.0], 1.0));
        assert_eq!(value_ticks(0.0, 0.0, 6), (vec![0.0], 1.0));
        assert_eq!(value_ticks(f64::NAN, 3.0, 6), (vec![3.0], 1.0));
        assert_eq!(value_ticks(0.0, 1.0, 0).0, Vec::<f64>::new());
        assert_eq!(value_ticks(-f64::MAX, f64::MAX, 3).0, vec![-1e308, 0.0, 1e308]);
    }

    /// Checks the ticks' promises for (lo, hi, max) drawn from a fixed pseudo-random sequence.
    #[test]
    fn ticks_properties() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..20_000 {
            let scale = 10f64.powf(next() * 40.0 - 20.0);
            let lo = (next() - 0.5) * scale * if next() < 0.3 { 1e3 } else { 1.0 };
            let hi = lo + next() * scale;
            let max = 1 + (next() * 12.0) as usize;
            let (ticks, step) = value_ticks(lo, hi, max);
            let at = format!("{lo} {hi} {max}: {ticks:?} {step}");
            assert!(ticks.len() <= max, "{at}");
            assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{at}");
            assert!(ticks.iter().all(|t| lo <= *t && *t <= hi), "{at}");
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{at}");
            for t in &ticks {
                let i = t / step;
                assert!((i - i.round()).abs() < 1e-6 * i.abs().max(1.0), "{at}");
            }
            // A step below would break the bound: the chosen step is as fine as it may be.
            if hi - lo > step * 1e-6 && (hi / step).abs() < 1e12 {
                let finer = if (mantissa - 5.0).abs() < 1e-9 { step / 2.5 } else { step / 2.0 };
                let count = (hi / finer + 1e-9).floor() - (lo / finer - 1e-9).ceil() + 1.0;
                assert!(count >= ticks.len() as f64, "{at}");
            }
            if max >= 2 && hi > lo {
                assert!(!ticks.is_empty(), "{at}");
            }
        }
    }

    #[test]
    fn tick_labels() {
        let ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2];
        let s: Vec<_> = ticks.iter().map(|&v| format_tick("s", v, 0.2)).collect();
        assert_eq!(s, ["0 s", "200 ms", "400 ms", "600 ms", "800 ms", "1 s", "1.2 s"]);
        let gib = 1073741824.0;
        let halves = [0.0, 0.5, 1.0, 1.5];
        let b: Vec<_> = halves.iter().map(|&v| format_tick("bytes", v * gib, gib / 2.0)).collect();
        assert_eq!(b, ["0 B", "512 MiB", "1 GiB", "1.5 GiB"]);
        assert_eq!(format_tick("percent", 0.0, 20.0), "0%");
        assert_eq!(format_tick("percentunit", 0.3, 0.1), "30%");
        assert_eq!(format_tick("none", 0.1 + 0.2, 0.1), "0.3");
        assert_eq!(format_tick("none", 0.30000000000000004, 0.05), "0.3");
        assert_eq!(format_tick("none", 0.25, 0.05), "0.25");
        assert_eq!(format_tick("none", -3.0, 1.0), "-3");
        assert_eq!(format_tick("short", 2_500_000.0, 500_000.0), "2.5 Mil");
        assert_eq!(format_tick("currencyUSD", -2000.0, 1000.0), "-$2K");
        assert_eq!(format_tick("ms", 60_000.0, 10_000.0), "1 min");
        assert_eq!(format_tick("ms", 70_000.0, 10_000.0), "1.2 mins");
        assert_eq!(format_tick("dthms", 3600.0, 600.0), "01:00:00");
        assert_eq!(format_tick("sci", 1500.0, 100.0), "1.5e+3");
        assert_eq!(format_tick("hex", 255.0, 1.0), "FF");
        assert_eq!(format_tick("bytes", f64::NAN, 1.0), "NaN");
        for v in value_ticks(0.0, 1.0, 11).0 {
            assert!(format_tick("none", v, 0.1).len() <= 3);
        }
    }
}
