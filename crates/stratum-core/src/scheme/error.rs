//! Errors of tier schemes and their rules.

use sqlparser::tokenizer::Location;

/// A rule that cannot be compiled, with where in the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {}{}", where_(*line, *position), hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
pub struct RuleError {
    /// Line inside the expression, from 1.
    pub line: u64,
    /// Character position inside that line, from 1.
    pub position: u64,
    /// What is wrong (`unknown column "anual_revenue"`).
    pub message: String,
    /// How to fix it, when known (`did you mean "annual_revenue"?`).
    pub hint: Option<String>,
}

fn where_(line: u64, position: u64) -> String {
    if line > 1 {
        format!("line {line}, position {position}")
    } else {
        format!("position {position}")
    }
}

impl RuleError {
    pub(crate) fn at(location: Location, message: impl Into<String>) -> Self {
        RuleError {
            line: location.line.max(1),
            position: location.column.max(1),
            message: message.into(),
            hint: None,
        }
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
