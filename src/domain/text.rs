//! Free-text fields.
//!
//! docs/api.md §1: a connection description is 0..512 characters counted as Unicode scalar
//! values, with no `<`, `>` or control characters (U+0000..U+001F, U+007F). docs/api.md §3
//! applies the same rules to the descriptions of services and endpoints.

use std::fmt;

pub const MAX_DESCRIPTION_CHARS: usize = 512;

/// Why a text field was refused; rendered after the field's path, e.g.
/// `connections[1].description contains '<'.`
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    TooLong { max: usize, actual: usize },
    Forbidden(char),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::TooLong { max, actual } => {
                write!(f, "is longer than {max} characters ({actual})")
            }
            TextError::Forbidden(c) if c.is_control() => {
                write!(f, "contains a control character (U+{:04X})", *c as u32)
            }
            TextError::Forbidden(c) => write!(f, "contains '{c}'"),
        }
    }
}

/// Checks the description rules on `s` with a given maximum length.
pub fn check_text(s: &str, max: usize) -> Result<(), TextError> {
    let mut count = 0usize;
    for c in s.chars() {
        if c == '<' || c == '>' || (c as u32) < 0x20 || c == '\u{7f}' {
            return Err(TextError::Forbidden(c));
        }
        count += 1;
    }
    if count > max {
        return Err(TextError::TooLong { max, actual: count });
    }
    Ok(())
}

/// A description of a connection, a service or an endpoint that satisfies the rules above.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(s: &str) -> Result<Self, TextError> {
        check_text(s, MAX_DESCRIPTION_CHARS).map(|()| Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_unicode_scalar_values() {
        assert!(Description::parse(&"中".repeat(512)).is_ok());
        assert!(Description::parse(&"😀".repeat(512)).is_ok());
        assert_eq!(
            Description::parse(&"a".repeat(513)),
            Err(TextError::TooLong {
                max: 512,
                actual: 513
            })
        );
        assert!(Description::parse("").is_ok());
    }

    #[test]
    fn angle_brackets_and_controls_are_refused() {
        assert_eq!(Description::parse("a<b"), Err(TextError::Forbidden('<')));
        assert_eq!(Description::parse("a>b"), Err(TextError::Forbidden('>')));
        for c in ['\u{0}', '\u{1}', '\n', '\t', '\u{1f}', '\u{7f}'] {
            assert_eq!(
                Description::parse(&format!("x{c}")),
                Err(TextError::Forbidden(c))
            );
        }
        // U+0080..U+009F are C1 controls but outside the contract's ranges: allowed.
        assert!(Description::parse("x\u{85}").is_ok());
        assert!(Description::parse("tab-free text, 中文, émoji 😀 & \"quotes\"").is_ok());
    }

    #[test]
    fn errors_render_as_message_fragments() {
        assert_eq!(TextError::Forbidden('<').to_string(), "contains '<'");
        assert_eq!(
            TextError::Forbidden('\u{1}').to_string(),
            "contains a control character (U+0001)"
        );
        assert_eq!(
            TextError::TooLong {
                max: 512,
                actual: 513
            }
            .to_string(),
            "is longer than 512 characters (513)"
        );
    }
}
