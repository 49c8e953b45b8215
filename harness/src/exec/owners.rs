//! The exec owner table (`--heap valgrind --breakdown`) on the terminal and the page.

use crate::contract::exec::{ExecSummary, HeapBytes, HeapOwner};
use crate::report::grid::widest;
use crate::report::html::esc;
use crate::vocab::owner::Owner;
use crate::vocab::units;

/// The owner table's title, as the terminal and the page show it.
pub const HEAP_OWNERS_TITLE: &str = "Heap by owner (--heap valgrind --breakdown)";

/// The owner table's column headers; each cell reads `allocated / at peaks / at exits`.
pub const HEAP_OWNERS_HEADER: [&str; 4] = [
    "owner",
    "in all (allocated / at peaks / at exits)",
    "per connection (derived)",
    "per request (derived)",
];

/// One row per owner, `other` (the unattributed remainder) last, then the total, which is the
/// heap sums (`None`: no breakdown).
pub fn heap_owner_rows(s: &ExecSummary) -> Option<Vec<[String; 4]>> {
    let owners = s.heap_breakdown.as_ref()?;
    let three = |b: HeapBytes<f64>| [b.allocated, b.at_peaks, b.at_exits];
    let whole = |b: HeapBytes<u64>| [b.allocated, b.at_peaks, b.at_exits].map(|v| v as f64);
    // The three columns of figures: in all, per connection, per request.
    let columns = |o: &HeapOwner| {
        [
            Some(whole(o.bytes)),
            o.per_connection.map(three),
            o.per_request.map(three),
        ]
    };
    let cell = |b: Option<[f64; 3]>| units::opt(b, |b| b.map(units::bytes).join(" / "));
    let mut rows: Vec<[String; 4]> = owners
        .iter()
        .map(|o| {
            let name = match o.owner {
                Owner::Other => "other (no rule: unattributed)".to_string(),
                owner => owner.as_str().to_string(),
            };
            let [a, b, c] = columns(o).map(cell);
            [name, a, b, c]
        })
        .collect();
    // A column's total is null when any owner's figure is.
    let totals: [Option<[f64; 3]>; 3] = std::array::from_fn(|i| {
        let each: Option<Vec<[f64; 3]>> = owners.iter().map(|o| columns(o)[i]).collect();
        each.map(|e| std::array::from_fn(|j| e.iter().map(|v| v[j]).sum()))
    });
    let [a, b, c] = totals.map(cell);
    rows.push(["all owners (= the heap sums)".into(), a, b, c]);
    Some(rows)
}

/// The table under the terminal's figures (empty without a breakdown).
pub fn terminal(s: &ExecSummary) -> String {
    let Some(rows) = heap_owner_rows(s) else {
        return String::new();
    };
    let header = HEAP_OWNERS_HEADER.map(String::from);
    let [w0, w1, w2, w3]: [usize; 4] =
        std::array::from_fn(|i| widest(rows.iter().chain([&header]).map(|r| r[i].as_str())));
    let mut out = format!("\n{HEAP_OWNERS_TITLE}\n");
    for r in std::iter::once(&header).chain(&rows) {
        let [a, b, c, d] = r;
        out.push_str(&format!("  {a:<w0$}  {b:>w1$}  {c:>w2$}  {d:>w3$}\n"));
    }
    out
}

/// The table under the page's figures (empty without a breakdown).
pub fn html(s: &ExecSummary) -> String {
    let Some(rows) = heap_owner_rows(s) else {
        return String::new();
    };
    let mut h = format!(
        "<h2>{}</h2>\n<div class=\"scroll\"><table class=\"modes\">\n<thead><tr>",
        esc(HEAP_OWNERS_TITLE)
    );
    for c in HEAP_OWNERS_HEADER {
        h.push_str(&format!("<th scope=\"col\">{}</th>", esc(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in &rows {
        let [a, b, c, d] = r.each_ref().map(|c| esc(c));
        h.push_str(&format!(
            "<tr><th scope=\"row\">{a}</th><td>{b}</td><td>{c}</td><td>{d}</td></tr>\n"
        ));
    }
    h.push_str("</tbody>\n</table></div>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::report::table;

    /// The owner table, on the terminal as on the page: one row per owner, `other` named as
    /// the unattributed remainder, and a total that is the heap sums; none without a breakdown.
    #[test]
    fn the_heap_owner_table_lists_every_owner_and_their_sum() {
        use crate::contract::exec::{HeapBytes, HeapOwner};
        use crate::vocab::owner::Owner;
        let mut s = crate::exec::summary::assemble(&crate::exec::summary::Observed::default());
        assert_eq!(heap_owner_rows(&s), None);
        assert!(!table(&s).contains(HEAP_OWNERS_TITLE) && html(&s).is_empty());
        let owner = |owner, bytes: u64| HeapOwner {
            owner,
            sites: 1,
            bytes: HeapBytes {
                allocated: bytes * 4,
                at_peaks: bytes * 2,
                at_exits: bytes,
            },
            per_connection: Some(HeapBytes {
                allocated: bytes as f64 * 2.0,
                at_peaks: bytes as f64,
                at_exits: bytes as f64 / 2.0,
            }),
            per_request: None,
        };
        s.heap_breakdown = Some(vec![owner(Owner::OpenSsl, 1024), owner(Owner::Other, 512)]);
        let rows = heap_owner_rows(&s).expect("rows");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "openssl");
        assert_eq!(rows[0][1], "4 KiB / 2 KiB / 1 KiB");
        assert_eq!(rows[1][0], "other (no rule: unattributed)");
        assert_eq!(rows[2][1], "6 KiB / 3 KiB / 1.5 KiB", "the sum");
        assert_eq!(rows[2][2], "3 KiB / 1.5 KiB / 768 B");
        assert_eq!(rows[2][3], "n/a", "unmeasured stays n/a, never 0");
        let t = table(&s);
        assert!(html(&s).contains("<h2>Heap by owner") && html(&s).contains("openssl"));
        assert!(
            t.contains(HEAP_OWNERS_TITLE) && t.contains("all owners (= the heap sums)"),
            "{t}"
        );
        assert!(t.find(HEAP_OWNERS_TITLE) < t.find("Verdict"), "{t}");
    }
}
