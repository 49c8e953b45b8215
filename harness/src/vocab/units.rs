//! The one formatter of every number a reader sees: bytes, µs, counts, rates, percentages, `n/a`.

/// How every output shows a figure that was not measured.
pub const NOT_MEASURED: &str = "n/a";

/// `f(v)`, or [`NOT_MEASURED`].
pub fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| NOT_MEASURED.to_string(), f)
}

/// Bytes as [`bytes`] writes them, or [`NOT_MEASURED`].
pub fn opt_bytes(b: Option<u64>) -> String {
    opt(b.map(|b| b as f64), bytes)
}

/// A share as a percentage with three significant digits: `0.0123` → `1.23 %`.
pub fn percent(share: f64) -> String {
    format!("{} %", sig3(share * 100.0))
}

/// Seconds with three significant digits: `2.5 s`.
pub fn seconds(s: f64) -> String {
    format!("{} s", sig3(s))
}

/// Formats `v` with about three significant digits and no trailing zeros (`4.1`, `12.3`, `234`).
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    trim_zeros(s)
}

/// A share per request: three decimals below 1 (`0.005`, `0.56`), else [`sig3`], so that one
/// connection in 200 does not round to one in 100.
pub fn per_request(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        trim_zeros(format!("{v:.3}"))
    } else {
        sig3(v)
    }
}

/// Drops trailing fractional zeros (and a dangling point) so tick labels stay short.
fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The binary unit (and its size) that suits values up to `max` bytes.
pub fn byte_unit(max: f64) -> (f64, &'static str) {
    [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")]
        .into_iter()
        .find(|&(size, _)| max.abs() >= size)
        .unwrap_or((1.0, "B"))
}

/// `4150.0` → `4.05 KiB`.
pub fn bytes(v: f64) -> String {
    let (div, unit) = byte_unit(v);
    format!("{} {unit}", sig3(v / div))
}

/// Microseconds in the unit a reader expects: `850 µs`, `1.2 ms`, `3.4 s`.
pub fn micros(us: f64) -> String {
    let (size, unit) = [(1e6, "s"), (1e3, "ms")]
        .into_iter()
        .find(|&(size, _)| us.abs() >= size)
        .unwrap_or((1.0, "µs"));
    format!("{} {unit}", sig3(us / size))
}

/// A fixed span of time, as [`micros`] writes it: `2 ms`, `5 s`.
pub fn span(d: std::time::Duration) -> String {
    micros(d.as_secs_f64() * 1e6)
}

/// An exact count with thousands separators: `60000` → `60,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A short count for axis ticks and bar labels: `250`, `1.5k`, `60k`, `2.1M`.
pub fn count_short(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000_000.0 {
        format!("{}M", sig3(v / 1_000_000.0))
    } else if a >= 10_000.0 {
        format!("{}k", sig3(v / 1_000.0))
    } else if v.fract() == 0.0 {
        count(a as u64)
    } else {
        sig3(v)
    }
}

/// A plain axis tick in an already-scaled unit (`0.5`, `12`, `250`).
pub fn tick(v: f64) -> String {
    sig3(v)
}

/// A planned duration for titles: `30 s`, `10 min`, `1 min 30 s`, `2 h`.
pub fn duration(s: f64) -> String {
    if s < 120.0 {
        return format!("{} s", sig3(s));
    }
    let whole = s.round() as u64;
    if whole.is_multiple_of(3600) {
        return format!("{} h", whole / 3600);
    }
    let (m, rest) = (whole / 60, whole % 60);
    if rest == 0 {
        format!("{m} min")
    } else {
        format!("{m} min {rest} s")
    }
}

/// A retention the way `--retention` spells it: `10m`, `90s`, `1h`, `0`.
pub fn retention(s: f64) -> String {
    if s <= 0.0 {
        return "0".to_string();
    }
    let whole = s.round() as u64;
    if (s - whole as f64).abs() > 1e-9 {
        format!("{}s", sig3(s))
    } else if whole.is_multiple_of(3600) {
        format!("{}h", whole / 3600)
    } else if whole.is_multiple_of(60) {
        format!("{}m", whole / 60)
    } else {
        format!("{whole}s")
    }
}

/// `100.0` → `100 req/s`.
pub fn rate(r: f64) -> String {
    format!("{} req/s", sig3(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_per_request_keeps_one_in_two_hundred_apart_from_one_in_a_hundred() {
        assert_eq!(per_request(1.0 / 200.0), "0.005");
        assert_eq!(per_request(2.0 / 200.0), "0.01");
        assert_eq!(per_request(111.0 / 200.0), "0.555");
        assert_eq!(per_request(1.0), "1");
        assert_eq!(per_request(0.0), "0");
    }

    #[test]
    fn bytes_use_binary_units_with_three_digits() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(4150.0), "4.05 KiB");
        assert_eq!(bytes(234.0 * MIB), "234 MiB");
        assert_eq!(bytes(1.5 * GIB), "1.5 GiB");
        assert_eq!(bytes(0.0), "0 B");
    }

    #[test]
    fn micros_switch_units() {
        assert_eq!(micros(850.0), "850 µs");
        assert_eq!(micros(1200.0), "1.2 ms");
        assert_eq!(micros(1000.0), "1 ms");
        assert_eq!(micros(3_400_000.0), "3.4 s");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(60000), "60,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count_short(60000.0), "60k");
        assert_eq!(count_short(2500.0), "2,500");
        assert_eq!(count_short(2_100_000.0), "2.1M");
    }

    #[test]
    fn durations_read_like_the_cli() {
        assert_eq!(duration(30.0), "30 s");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(duration(150.0), "2 min 30 s");
        assert_eq!(retention(600.0), "10m");
        assert_eq!(retention(90.0), "90s");
        assert_eq!(retention(3600.0), "1h");
        assert_eq!(retention(0.0), "0");
        assert_eq!(rate(100.0), "100 req/s");
        assert_eq!(rate(12.5), "12.5 req/s");
    }
}
