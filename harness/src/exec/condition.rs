//! `--fail-if`: a condition over one numeric figure of the exec summary, a check's CI guard.

use std::fmt;
use std::str::FromStr;

use crate::contract::exec::ConditionResult;

crate::choice! {
    /// A comparison.
    pub enum Op ("operator") {
        Ge = ">=",
        Le = "<=",
        Eq = "==",
        Ne = "!=",
        Gt = ">",
        Lt = "<",
    }
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// `field op number`, for example `new_connections_per_request > 0.1`; `field` is a numeric
/// field of [`ExecSummary`](crate::contract::exec::ExecSummary), read off its JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: f64,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.field, self.op, self.value)
    }
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not `FIELD OP NUMBER` (OP one of {})", Op::names());
        // Two-character operators first, so `>=` is not read as `>` followed by `=…`.
        let (at, op) = Op::ALL
            .iter()
            .filter_map(|op| s.find(op.as_str()).map(|i| (i, *op)))
            .min_by_key(|(i, op)| (*i, std::cmp::Reverse(op.as_str().len())))
            .ok_or_else(bad)?;
        let field = s[..at].trim();
        let number = s[at + op.as_str().len()..].trim();
        if field.is_empty() || number.is_empty() {
            return Err(bad());
        }
        let fields = crate::contract::exec::numeric_fields();
        if !fields.iter().any(|f| f == field) {
            return Err(format!(
                "`{field}` is not a numeric field of the exec summary (one of: {})",
                fields.join(", ")
            ));
        }
        let value: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| format!("`{number}` in `{s}` is not a number"))?;
        Ok(Condition {
            field: field.to_string(),
            op,
            value,
        })
    }
}

impl Condition {
    /// Checks the condition against the summary's JSON; a null figure fails it, with the reason
    /// from `unmeasured`.
    pub fn check(&self, summary: &serde_json::Value) -> ConditionResult {
        let value = summary[&self.field].as_f64();
        let unmeasured = value.is_none().then(|| {
            let why = summary["unmeasured"][&self.field].as_str();
            why.unwrap_or("not measured").to_string()
        });
        ConditionResult {
            condition: self.to_string(),
            value,
            failed: value.is_none_or(|v| self.op.holds(v, self.value)),
            unmeasured,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let c: Condition = "new_connections_per_request > 0.1".parse().expect("parses");
        assert_eq!(
            (c.field.as_str(), c.op, c.value),
            ("new_connections_per_request", Op::Gt, 0.1)
        );
        let c2: Condition = "connections_open_at_exit>=1".parse().expect("no spaces");
        assert_eq!(c2.op, Op::Ge);
        let v = serde_json::json!({
            "new_connections_per_request": 1.0,
            "connections_open_at_exit": null,
            "unmeasured": {"connections_open_at_exit": "witness lost: killed"}
        });
        assert!(c.check(&v).failed);
        let quiet = serde_json::json!({"new_connections_per_request": 0.02});
        assert!(!c.check(&quiet).failed);
        let missing = c2.check(&v);
        assert!(
            missing.failed && missing.value.is_none(),
            "unmeasured fails the guard"
        );
        assert_eq!(missing.unmeasured.as_deref(), Some("witness lost: killed"));
        assert_eq!(c.check(&v).unmeasured, None);
    }

    #[test]
    fn refuses_bad_expressions_in_one_line() {
        for bad in [
            "new_connections_per_request",
            "> 1",
            "requests >",
            "no_such_field > 1",
            "requests > many",
            "requests > inf",
            "command > 1",
        ] {
            let e = bad.parse::<Condition>().expect_err(bad);
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let e = "bogus > 1".parse::<Condition>().expect_err("unknown");
        assert!(
            e.contains("new_connections_per_request"),
            "lists the fields: {e}"
        );
    }
}
