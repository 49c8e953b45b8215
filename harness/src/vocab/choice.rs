//! The `choice!` macro: a closed set declared once as `Variant = "name"` pairs.

/// Declares a `Copy` enum whose variants each carry one stable name, and derives from that
/// table: `ALL`, `as_str`, `Display`, `FromStr`, serde (as the name), clap's `ValueEnum`, a
/// JSON Schema (an enum of the names) and, with `default = Variant`, `Default`.
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal $(, default = $default:ident)?) {
            $( $(#[doc = $doc:literal])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize)]
        $vis enum $name {
            $( $(#[doc = $doc])* #[serde(rename = $text)] $variant ),+
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's one name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The names, for error messages: `a, b or c`.
            pub fn names() -> String {
                $crate::vocab::choice::join_names(&[$($text),+])
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} `{s}` (expected {})", $what, Self::names()))
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }

        impl ::clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                Self::ALL
            }
            fn to_possible_value(&self) -> Option<::clap::builder::PossibleValue> {
                let help: &[&str] = match self {
                    $($name::$variant => &[$($doc),*]),+
                };
                let help = help.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
                Some(::clap::builder::PossibleValue::new(self.as_str()).help(help))
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({ "type": "string", "enum": [$($text),+] })
            }
        }
    };
}

/// `a`, `a or b`, `a, b or c`.
pub fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    crate::choice! {
        /// A test set.
        enum Fruit ("fruit") {
            /// Red.
            Apple = "apple",
            Pear = "pear",
            Dotted = "1.2",
        }
    }

    #[test]
    fn names_round_trip_through_every_spelling() {
        for f in Fruit::ALL {
            assert_eq!(f.as_str().parse::<Fruit>(), Ok(*f));
            let json = serde_json::to_string(f).expect("serialize");
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(
                serde_json::from_str::<Fruit>(&json).expect("deserialize"),
                *f
            );
            let pv = clap::ValueEnum::to_possible_value(f).expect("possible value");
            assert_eq!(pv.get_name(), f.as_str());
        }
        assert_eq!(
            "Apple".parse::<Fruit>(),
            Err("unknown fruit `Apple` (expected apple, pear or 1.2)".to_string())
        );
        assert!(serde_json::from_str::<Fruit>("\"kiwi\"").is_err());
    }
}
