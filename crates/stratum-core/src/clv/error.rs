use thiserror::Error;

/// What can go wrong preparing or fitting the lifetime-value models.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClvError {
    /// A period name that is not day, week or month.
    #[error("unknown period `{0}`; expected day, week or month")]
    Period(String),
    /// A model name that is not one of the four.
    #[error("unknown model `{0}`; expected mbgnbd, bgnbd, paretonbd or bgbb")]
    Model(String),
    /// A parameter out of its range.
    #[error("{name} must be {expected}, got {value}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The allowed range.
        expected: &'static str,
    },
    /// A summary the models cannot take.
    #[error("invalid summary x = {frequency}, t_x = {recency}, T = {t}: need 0 ≤ t_x ≤ T")]
    Summary {
        /// Repeat purchases.
        frequency: u32,
        /// Time of the last purchase.
        recency: f64,
        /// Age.
        t: f64,
    },
    /// BG/BB needs whole numbers of opportunities.
    #[error(
        "BG/BB needs whole opportunities with x ≤ t_x ≤ n, got x = {frequency}, t_x = {recency}, n = {n}"
    )]
    Discrete {
        /// Transactions.
        frequency: u32,
        /// Opportunity of the last transaction.
        recency: f64,
        /// Opportunities.
        n: f64,
    },
    /// Too few customers with repeat purchases for the model to mean anything.
    #[error(
        "cannot fit {model}: only {found} of {customers} customers have a repeat purchase{what}, \
         at least {needed} are needed"
    )]
    TooFewRepeat {
        /// The model.
        model: &'static str,
        /// Customers with repeat purchases.
        found: usize,
        /// All customers.
        customers: usize,
        /// The minimum.
        needed: usize,
        /// What else was required of them.
        what: &'static str,
    },
    /// The optimiser found no proper maximum.
    #[error("cannot fit {model}: {reason}")]
    Degenerate {
        /// The model.
        model: &'static str,
        /// What happened.
        reason: String,
    },
}
