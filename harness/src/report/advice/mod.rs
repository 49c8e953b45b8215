//! The "What to do" block printed under the table and in the HTML report.
//!
//! Every figure it quotes is one the run measured, or is derived from measured figures and
//! says so; every line names the figures it comes from. A figure the run did not measure drops
//! its clause: no configured setting (such as `--rate`) stands in for it, and nothing is
//! quoted as 0.
//!
//! One module per kind of line, each with its tests: `share` (fresh vs shared), `build`
//! (building sessions), `retention` (what a fresh session holds), `knob` (the cheapest setting
//! measured), `owner` (where b goes, `--breakdown`) and `leak` (never invalidating).
//! `advice_for` calls them in that order for one client, the owner line of the leak leg last;
//! `fixtures` holds the test fixtures they share.

mod build;
#[cfg(test)]
mod fixtures;
mod knob;
mod leak;
mod owner;
mod retention;
mod share;

use crate::contract::summary::Summary;
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;
use build::build_line;
use knob::knob_line;
use leak::leak_line;
use owner::owner_line;
use retention::retention_line;
use share::share_line;

/// The advice lines, each tagged `[client] ` when the run measured more than one client.
pub fn advice(summary: &Summary) -> Vec<String> {
    let mut clients: Vec<ClientKind> = Vec::new();
    for m in &summary.modes {
        if !clients.contains(&m.client) {
            clients.push(m.client);
        }
    }
    let many = clients.len() > 1;
    let mut out = Vec::new();
    for client in clients {
        let tag = if many {
            format!("[{client}] ")
        } else {
            String::new()
        };
        out.extend(
            advice_for(summary, client)
                .into_iter()
                .map(|l| format!("{tag}{l}")),
        );
    }
    out
}

fn advice_for(summary: &Summary, client: ClientKind) -> Vec<String> {
    let find = |mode: Mode| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == mode && m.client == client)
    };
    let (fresh, shared) = (find(Mode::Fresh), find(Mode::Shared));
    let mut out = Vec::new();
    if let (Some(f), Some(s)) = (fresh, shared) {
        out.extend(share_line(f, s));
    }
    if let Some(f) = fresh {
        out.extend(build_line(f, shared));
        out.extend(retention_line(f));
        out.extend(knob_line(f));
        out.extend(owner_line(f, f));
    }
    if let Some(l) = find(Mode::Leak) {
        out.extend(leak_line(summary, l));
        out.extend(owner_line(l, fresh.unwrap_or(l)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::advice::fixtures::{fresh, leak, shared, summary};

    #[test]
    fn no_figure_comes_from_the_configured_rate() {
        let modes = vec![fresh("hyper"), shared("hyper"), leak("hyper")];
        let mut s = summary(modes);
        let at_100 = advice(&s);
        assert_eq!(at_100.len(), 5, "{at_100:#?}");
        s.scenario.rate = 12_345.0;
        let at_other = advice(&s);
        assert_eq!(at_100, at_other);
        assert!(at_other.iter().all(|l| !l.contains("12345")));
    }

    #[test]
    fn several_clients_are_tagged() {
        let s = summary(vec![leak("hyper"), leak("reqwest")]);
        let lines = advice(&s);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("[hyper] Never invalidating"));
        assert!(lines[1].starts_with("[reqwest] Never invalidating"));
        let one = advice(&summary(vec![leak("hyper")]));
        assert!(one[0].starts_with("Never invalidating"));
    }
}
