//! Errors of tier schemes and their rules.

use sqlparser::tokenizer::Location;

/// A rule that cannot be compiled, with where in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {}{}", where_(*line, *position), hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
pub struct RuleError {
    /// Line inside the expression, from 1.
    pub line: u32,
    /// Character position inside that line, from 1.
    pub position: u32,
    /// What is wrong (`unknown column "anual_revenue"`).
    pub message: String,
    /// How to fix it, when known (`did you mean "annual_revenue"?`).
    pub hint: Option<String>,
    /// What kind of mistake it is, for callers to branch on (never on the message); boxed to
    /// keep the error small.
    pub kind: Box<RuleErrorKind>,
}

/// The kinds of [`RuleError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleErrorKind {
    /// The text is not an expression (the parser's message says why).
    Syntax,
    /// A column name no column has.
    UnknownColumn {
        /// The name as written.
        name: String,
        /// A known column with a close name, offered as a fix.
        suggestion: Option<String>,
    },
    /// A literal compared with a column of known values that is none of them: such a
    /// comparison is never true (or always true), which is a typo, not a rule.
    UnknownValue {
        /// The column.
        column: String,
        /// The literal.
        value: String,
        /// A known value close to it, offered as a fix.
        suggestion: Option<String>,
    },
    /// A number that is not finite (`nan`, `inf`, a literal beyond the range of numbers).
    NotFinite,
    /// An expression nested deeper than the limit.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// Anything else: types that do not fit, a kind of expression rules do not support.
    Invalid,
}

fn where_(line: u32, position: u32) -> String {
    if line > 1 {
        format!("line {line}, position {position}")
    } else {
        format!("position {position}")
    }
}

impl RuleError {
    pub(crate) fn at(location: Location, message: impl Into<String>) -> Self {
        RuleError {
            line: u32::try_from(location.line.max(1)).unwrap_or(u32::MAX),
            position: u32::try_from(location.column.max(1)).unwrap_or(u32::MAX),
            message: message.into(),
            hint: None,
            kind: Box::new(RuleErrorKind::Invalid),
        }
    }

    pub(crate) fn kind(mut self, kind: RuleErrorKind) -> Self {
        self.kind = Box::new(kind);
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A scheme file that cannot be used, with the line in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    /// The file is not valid TOML, or has an unknown or mistyped key.
    #[error("line {line}: {message}")]
    Toml {
        /// Line in the file.
        line: usize,
        /// The TOML reader's message.
        message: String,
    },
    /// A rule that does not compile.
    #[error(
        "line {line}: {} at rule {tier}, position {}{}",
        error.message,
        error.position,
        error.hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
    )]
    Rule {
        /// Line in the file.
        line: usize,
        /// The dimension of the rule.
        dimension: String,
        /// The tier of the rule.
        tier: String,
        /// What is wrong, and where in the rule.
        error: RuleError,
    },
    /// A name, default or reference that does not fit.
    #[error("line {line}: {message}")]
    Invalid {
        /// Line in the file.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
