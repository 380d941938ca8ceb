//! Rule expressions: SQL boolean expressions over a customer's features and attributes,
//! parsed once with `sqlparser`, type-checked against the columns available, and evaluated
//! natively for every customer.
//!
//! Supported: `AND`, `OR`, `NOT`, parentheses; `=`, `<>`/`!=`, `<`, `<=`, `>`, `>=`;
//! `+ - * /` on numbers; `[NOT] IN (…)`, `[NOT] BETWEEN … AND …`, `IS [NOT] NULL`,
//! `[NOT] LIKE` / `ILIKE` with `%` and `_`; number, string, `TRUE`/`FALSE` and `NULL`
//! literals. Column names are matched without regard to ASCII case; names that are not plain
//! identifiers are written in double quotes (`"客户经理" = '张伟'` works unquoted too, as
//! Chinese letters are letters).
//!
//! Long rules are fine: a chain of one operator (`a OR b OR c …`, as generated rules are, tens of
//! thousands of terms) is compiled into one node with a list of operands, and compiling,
//! evaluating, explaining and dropping it never recurse per term. Nesting is limited: the
//! parser refuses parentheses nested deeper than [`MAX_NESTING`], and an expression nested
//! deeper than [`MAX_DEPTH`] operators (counting a chain of `AND` or `OR` as one) is refused
//! with [`RuleErrorKind::TooDeep`](super::RuleErrorKind::TooDeep).
//!
//! `COALESCE(a, b, …)` takes the first of its values that is not empty. The same language
//! computes numbers ([`Formula`], e.g. a line amount `Quantity * Price`).
//!
//! A catalog may hold *untyped* columns (the columns of an input file, see
//! [`Catalog::push_untyped`]): such a column is what its first use makes it (a number in
//! arithmetic or compared with a number, text compared with text or in `LIKE`), and
//! [`Rule::columns`] says what each column is read as.
//!
//! Logic is SQL's three-valued logic: a comparison with an empty value (`NULL`) is unknown,
//! and a rule matches only when it is true, so a customer with no NPS answer never matches
//! `last_nps < 7`.

use std::cell::RefCell;

use sqlparser::ast::{self, BinaryOperator, Expr, UnaryOperator, Value as SqlValue};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Location;

use super::error::{RuleError, RuleErrorKind};

/// The deepest parentheses (and other nested parts) a rule may have, as the parser counts them.
pub const MAX_NESTING: usize = 50;

/// The deepest a rule's expression may be, counting each operator on the way down from the top
/// and a whole chain of `AND` (or of `OR`) as one.
pub const MAX_DEPTH: usize = 200;

/// What a column or an expression holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Numbers (amounts, counts, days, rates, scores).
    Number,
    /// Text (classes, tier names, attributes such as industry or region).
    Text,
}

impl ColumnType {
    /// `number` or `text`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Number => "number",
            ColumnType::Text => "text",
        }
    }
}

/// The values a text column can hold, when they are known before the data are (codes of
/// classes, stages and tiers): a rule comparing such a column with anything else is a typo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownValues {
    /// One of these codes.
    OneOf(Vec<String>),
    /// Codes joined by `separator`, each one of `parts` (a cluster's code such as
    /// `high_value+recent`).
    Joined {
        /// The codes that can be joined.
        parts: Vec<String>,
        /// What joins them.
        separator: char,
    },
}

impl KnownValues {
    /// Whether `value` is one of the known values.
    pub fn contains(&self, value: &str) -> bool {
        match self {
            KnownValues::OneOf(v) => v.iter().any(|x| x == value),
            KnownValues::Joined { parts, separator } => {
                // whether value[start..] is parts joined by the separator (a part may hold the
                // separator itself, as a feature named `a+b` does)
                let mut joins = vec![false; value.len() + 1];
                joins[value.len()] = true;
                for start in (0..value.len()).rev() {
                    if !value.is_char_boundary(start) {
                        continue;
                    }
                    joins[start] = parts.iter().any(|p| {
                        let end = start + p.len();
                        value[start..].starts_with(p.as_str())
                            && (end == value.len()
                                || (value[end..].starts_with(*separator)
                                    && end + separator.len_utf8() < value.len()
                                    && joins[end + separator.len_utf8()]))
                    });
                }
                !value.is_empty() && joins[0]
            }
        }
    }

    /// The known value closest to `value`, if it is close enough to be a likely typo.
    pub fn suggest(&self, value: &str) -> Option<String> {
        let closest = |v: &str, among: &[String]| -> Option<String> {
            let lower = v.to_lowercase();
            among
                .iter()
                .map(|n| (edit_distance(&lower, &n.to_lowercase()), n))
                .filter(|(d, n)| *d <= 2.max(n.chars().count() / 4))
                .min_by_key(|(d, _)| *d)
                .map(|(_, n)| n.clone())
        };
        match self {
            KnownValues::OneOf(v) => closest(value, v),
            KnownValues::Joined { parts, separator } => {
                let fixed: Option<Vec<String>> = value
                    .split(*separator)
                    .map(|p| {
                        if parts.iter().any(|x| x == p) {
                            Some(p.to_string())
                        } else {
                            closest(p, parts)
                        }
                    })
                    .collect();
                fixed.map(|f| f.join(&separator.to_string()))
            }
        }
    }

    /// The values as a list for a message: `'new', 'growing', …`.
    fn listed(&self) -> String {
        let quoted = |v: &[String]| {
            v.iter()
                .map(|x| format!("'{x}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            KnownValues::OneOf(v) => format!("its values are {}", quoted(v)),
            KnownValues::Joined { parts, separator } => {
                format!("its values join {} with '{separator}'", quoted(parts))
            }
        }
    }
}

/// The columns a rule may name, with their types.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    names: Vec<String>,
    types: Vec<ColumnType>,
    known: Vec<Option<KnownValues>>,
    /// Columns whose type their use in an expression decides.
    untyped: Vec<bool>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Adds a column (a later column with the same name, ignoring ASCII case, is not
    /// reachable); returns its index.
    pub fn push(&mut self, name: impl Into<String>, ty: ColumnType) -> usize {
        self.names.push(name.into());
        self.types.push(ty);
        self.known.push(None);
        self.untyped.push(false);
        self.names.len() - 1
    }

    /// Adds a column whose type its use in an expression decides (a column of an input file,
    /// whose cells are text until an expression reads them as numbers); returns its index.
    pub fn push_untyped(&mut self, name: impl Into<String>) -> usize {
        let i = self.push(name, ColumnType::Text);
        self.untyped[i] = true;
        i
    }

    /// Whether column `i` is untyped (see [`Catalog::push_untyped`]).
    pub fn is_untyped(&self, i: usize) -> bool {
        self.untyped.get(i).copied().unwrap_or(false)
    }

    /// Adds a text column whose values are known (see [`KnownValues`]); returns its index.
    pub fn push_known(&mut self, name: impl Into<String>, values: KnownValues) -> usize {
        let i = self.push(name, ColumnType::Text);
        self.known[i] = Some(values);
        i
    }

    /// Sets (or clears) the known values of column `i`.
    pub fn set_known(&mut self, i: usize, values: Option<KnownValues>) {
        self.known[i] = values;
    }

    /// The known values of column `i`, if they are known.
    pub fn known_values(&self, i: usize) -> Option<&KnownValues> {
        self.known.get(i).and_then(Option::as_ref)
    }

    /// The index of the column called `name` (ASCII case ignored).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The type of column `i` (text for an untyped column: see [`Rule::columns`] for what an
    /// expression reads it as).
    pub fn column_type(&self, i: usize) -> ColumnType {
        self.types[i]
    }

    /// The known name closest to `name`, if it is close enough to be a likely typo.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let lower = name.to_lowercase();
        self.names
            .iter()
            .map(|n| (edit_distance(&lower, &n.to_lowercase()), n))
            .filter(|(d, n)| *d <= 2.max(n.chars().count() / 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n.as_str())
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A value of one customer's column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// No value (an empty attribute, a rate without a denominator, no NPS answer).
    Null,
    /// A number.
    Number(f64),
    /// Text.
    Text(&'a str),
}

/// A customer's values, by catalog column index.
pub trait Row {
    /// The value of column `column`.
    fn get(&self, column: usize) -> Value<'_>;
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Cmp {
    /// The operator as a reason shows it (`≥`, `≠`, …).
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "≠",
            Cmp::Lt => "<",
            Cmp::Le => "≤",
            Cmp::Gt => ">",
            Cmp::Ge => "≥",
        }
    }

    /// The comparison an SQL operator is, if it is one.
    fn of(op: &BinaryOperator) -> Option<Cmp> {
        match op {
            BinaryOperator::Eq => Some(Cmp::Eq),
            BinaryOperator::NotEq => Some(Cmp::Ne),
            BinaryOperator::Lt => Some(Cmp::Lt),
            BinaryOperator::LtEq => Some(Cmp::Le),
            BinaryOperator::Gt => Some(Cmp::Gt),
            BinaryOperator::GtEq => Some(Cmp::Ge),
            _ => None,
        }
    }

    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Eq => ord == Equal,
            Cmp::Ne => ord != Equal,
            Cmp::Lt => ord == Less,
            Cmp::Le => ord != Greater,
            Cmp::Gt => ord == Greater,
            Cmp::Ge => ord != Less,
        }
    }
}

/// A rule's comparison of a column with a number (`annual_revenue >= 1000000`), as
/// [`thresholds`] finds it in the rule's text: what the column's value must be for the
/// comparison to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The column, as the rule writes it.
    pub column: String,
    /// How it is compared, the column on the left.
    pub op: Cmp,
    /// The number.
    pub value: f64,
}

impl Threshold {
    /// Whether `x` meets the comparison.
    pub fn holds(&self, x: f64) -> bool {
        x.partial_cmp(&self.value).is_some_and(|o| self.op.holds(o))
    }
}

/// The comparisons of a column with a number literal anywhere in the rule `sql` (either way
/// round: `1000 < monetary` is `monetary > 1000`; `BETWEEN` as two; anything under `NOT` left out),
/// in rule order; the rest of the rule is skipped. Empty when the text does not parse.
pub fn thresholds(sql: &str) -> Vec<Threshold> {
    let dialect = GenericDialect {};
    let Ok(expr) = Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
    else {
        return Vec::new();
    };
    let column = |e: &Expr| match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) if parts.len() == 1 => Some(parts[0].value.clone()),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            Some(format!("{}.{}", parts[0].value, parts[1].value))
        }
        _ => None,
    };
    let number = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n.parse::<f64>().ok().filter(|x| x.is_finite()),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => match &v.value {
                SqlValue::Number(n, _) => n.parse::<f64>().ok().map(|x| -x),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    let mut out = Vec::new();
    // the tree is walked without recursion, as deep as the rule is
    let mut stack = vec![&expr];
    while let Some(e) = stack.pop() {
        match e {
            // under NOT a comparison says what the value must not be: left out
            Expr::Nested(inner) => stack.push(inner),
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                if let (Some(c), Some(lo), Some(hi)) = (column(expr), number(low), number(high)) {
                    out.push(Threshold {
                        column: c.clone(),
                        op: Cmp::Ge,
                        value: lo,
                    });
                    out.push(Threshold {
                        column: c,
                        op: Cmp::Le,
                        value: hi,
                    });
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let cmp = Cmp::of(op);
                let flipped = |c: Cmp| match c {
                    Cmp::Lt => Cmp::Gt,
                    Cmp::Le => Cmp::Ge,
                    Cmp::Gt => Cmp::Lt,
                    Cmp::Ge => Cmp::Le,
                    other => other,
                };
                match cmp {
                    Some(op) => match (column(left), number(right), number(left), column(right)) {
                        (Some(column), Some(value), ..) => {
                            out.push(Threshold { column, op, value })
                        }
                        (_, _, Some(value), Some(column)) => out.push(Threshold {
                            column,
                            op: flipped(op),
                            value,
                        }),
                        _ => {}
                    },
                    // AND, OR: both sides, in rule order
                    None => {
                        stack.push(right);
                        stack.push(left);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (by zero: empty)
    Div,
}

impl Arith {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
        }
    }
}

/// A compiled expression node.
#[derive(Debug, Clone)]
enum Node {
    Column(usize),
    Number(f64),
    Text(String),
    Null,
    Bool(bool),
    Arith(Arith, Box<Node>, Box<Node>, String),
    Neg(Box<Node>, String),
    /// The first operand that is not empty, with the expression as written.
    Coalesce(Vec<Node>, String),
    Cmp(Cmp, Box<Node>, Box<Node>),
    /// All operands true (a chain `a AND b AND …`, flattened).
    And(Vec<Node>),
    /// Some operand true (a chain `a OR b OR …`, flattened).
    Or(Vec<Node>),
    Not(Box<Node>, String),
    In {
        expr: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    IsNull {
        expr: Box<Node>,
        negated: bool,
    },
    Like {
        expr: Box<Node>,
        pattern: String,
        negated: bool,
        fold_case: bool,
    },
}

/// What a node evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    Bool,
    /// The `NULL` literal: fits any type.
    Null,
    /// An untyped column not used yet in a way that says its type (see
    /// [`Catalog::push_untyped`]): it becomes what the expression around it needs.
    Cell,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Number => "number",
            Kind::Text => "text",
            Kind::Bool => "true/false",
            Kind::Null => "null",
            Kind::Cell => "value",
        }
    }

    fn of(ty: ColumnType) -> Kind {
        match ty {
            ColumnType::Number => Kind::Number,
            ColumnType::Text => Kind::Text,
        }
    }

    fn column_type(self) -> Option<ColumnType> {
        match self {
            Kind::Number => Some(ColumnType::Number),
            Kind::Text => Some(ColumnType::Text),
            _ => None,
        }
    }
}

/// A scalar result.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar<'a> {
    Null,
    Number(f64),
    Text(&'a str),
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    node: Node,
    columns: Vec<(usize, ColumnType)>,
    free: Vec<usize>,
}

/// An expression parsed, type-checked and compiled.
struct Compiled {
    node: Node,
    kind: Kind,
    /// Where the expression starts, for messages.
    start: Location,
    columns: Vec<(usize, ColumnType)>,
    free: Vec<usize>,
}

/// Parses and type-checks `sql` against `catalog`; an untyped column whose type nothing in
/// the expression decided becomes `want` if the whole expression is that column (or a
/// `COALESCE` of such columns), text otherwise.
fn compile(sql: &str, catalog: &Catalog, want: ColumnType) -> Result<Compiled, RuleError> {
    let dialect = GenericDialect {};
    let expr = Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            // anything after the expression is an error, not silently ignored
            p.expect_token(&sqlparser::tokenizer::Token::EOF)?;
            Ok(e)
        })
        .map_err(|e| match e {
            sqlparser::parser::ParserError::RecursionLimitExceeded => RuleError::at(
                Location { line: 1, column: 1 },
                format!("the rule is nested more than {MAX_NESTING} levels deep"),
            )
            .kind(RuleErrorKind::TooDeep { limit: MAX_NESTING })
            .hint("use fewer parentheses, or split the rule"),
            e => syntax_error(sql, &e.to_string()),
        })?;
    // the tree is dismantled without recursion however it ends (a long chain of one
    // operator is as deep as it is long)
    let expr = Dismantled {
        expr,
        long: sql.len() > LONG_RULE,
    };
    check_depth(&expr.expr)?;
    let compiler = Compiler {
        catalog,
        long: sql.len() > LONG_RULE,
        settled: RefCell::new(vec![None; catalog.names().len()]),
        used: RefCell::new(vec![false; catalog.names().len()]),
    };
    let (node, mut kind) = compiler.node(&expr.expr)?;
    if kind == Kind::Cell {
        compiler.settle(&node, want);
        kind = Kind::of(want);
    }
    let settled = compiler.settled.into_inner();
    let used: Vec<usize> = (compiler.used.into_inner().into_iter().enumerate())
        .filter_map(|(i, used)| used.then_some(i))
        .collect();
    let columns = used
        .iter()
        .map(|&i| match (catalog.is_untyped(i), settled[i]) {
            (true, ty) => (i, ty.unwrap_or(ColumnType::Text)),
            (false, _) => (i, catalog.column_type(i)),
        })
        .collect();
    // untyped columns nothing decided the type of (only tested for emptiness)
    let free = used
        .into_iter()
        .filter(|&i| catalog.is_untyped(i) && settled[i].is_none())
        .collect();
    Ok(Compiled {
        node,
        kind,
        start: span_start(&expr.expr),
        columns,
        free,
    })
}

impl Rule {
    /// Parses and type-checks `sql` against `catalog`. The expression must be true/false.
    pub fn compile(sql: &str, catalog: &Catalog) -> Result<Rule, RuleError> {
        let c = compile(sql, catalog, ColumnType::Text)?;
        if c.kind != Kind::Bool {
            return Err(RuleError::at(
                c.start,
                format!(
                    "the rule is a {}, not a condition (true or false)",
                    c.kind.name()
                ),
            )
            .hint(format!("compare it with something, e.g. `{sql} > 0`")));
        }
        Ok(Rule {
            node: c.node,
            columns: c.columns,
            free: c.free,
        })
    }

    /// The columns the rule reads, in catalog order, with what it reads each as (an untyped
    /// column is a number where the rule computes or compares with numbers, else text).
    pub fn columns(&self) -> &[(usize, ColumnType)] {
        &self.columns
    }

    /// The untyped columns whose type nothing in the rule decides (it only tests them for
    /// emptiness): [`Rule::columns`] says text, and another reading does as well.
    pub fn free_columns(&self) -> &[usize] {
        &self.free
    }

    /// The text literals the rule compares columns with by `=`, `<>`, `IN` and `NOT IN`:
    /// `(column index, literal)`, in rule order.
    pub fn compared_texts(&self) -> Vec<(usize, &str)> {
        let mut out = Vec::new();
        let mut stack = vec![&self.node];
        while let Some(node) = stack.pop() {
            match node {
                Node::And(ops) | Node::Or(ops) => stack.extend(ops.iter().rev()),
                Node::Not(n, _) => stack.push(n),
                Node::Cmp(Cmp::Eq | Cmp::Ne, l, r) => match (l.as_ref(), r.as_ref()) {
                    (Node::Column(i), Node::Text(t)) | (Node::Text(t), Node::Column(i)) => {
                        out.push((*i, t.as_str()));
                    }
                    _ => {}
                },
                Node::In { expr, list, .. } => {
                    if let Node::Column(i) = expr.as_ref() {
                        for item in list {
                            if let Node::Text(t) = item {
                                out.push((*i, t.as_str()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the rule is true for `row` (unknown counts as false).
    pub fn matches(&self, row: &dyn Row) -> bool {
        truth(&self.node, row) == Some(true)
    }

    /// Why the rule is true for `row`, as data: the comparisons that made it true, with the
    /// values.
    pub fn because(&self, row: &dyn Row) -> Vec<Clause> {
        let mut clauses = Vec::new();
        because(&self.node, row, &mut clauses);
        clauses
    }

    /// [`Rule::because`] worded: `annual_revenue=1,250,000 ≥ 1,000,000; tenure_months=31 ≥ 24`.
    pub fn explain(&self, row: &dyn Row, catalog: &Catalog) -> String {
        Clause::join(&self.because(row), catalog.names())
    }
}

/// A compiled number expression (`Quantity * Price`, `COALESCE(折扣, 0)`), as rules compute
/// numbers: an empty operand makes the result empty, as does a division by zero.
#[derive(Debug, Clone)]
pub struct Formula {
    node: Node,
    columns: Vec<(usize, ColumnType)>,
}

impl Formula {
    /// Parses and type-checks `sql` against `catalog`. The expression must be a number.
    pub fn compile(sql: &str, catalog: &Catalog) -> Result<Formula, RuleError> {
        let c = compile(sql, catalog, ColumnType::Number)?;
        if c.kind != Kind::Number {
            return Err(RuleError::at(
                c.start,
                format!(
                    "the expression is {}, not a number",
                    match c.kind {
                        Kind::Bool => "a condition (true or false)",
                        Kind::Text => "text",
                        _ => "always empty",
                    }
                ),
            )
            .hint("compute a number from number columns, e.g. `Quantity * Price`"));
        }
        Ok(Formula {
            node: c.node,
            columns: c.columns,
        })
    }

    /// The columns the expression reads, in catalog order, with what it reads each as.
    pub fn columns(&self) -> &[(usize, ColumnType)] {
        &self.columns
    }

    /// The value for `row`; `None` when it is empty (an operand is empty, or a division by
    /// zero) or not finite.
    pub fn value(&self, row: &dyn Row) -> Option<f64> {
        match scalar(&self.node, row) {
            Scalar::Number(x) if x.is_finite() => Some(x),
            _ => None,
        }
    }

    /// The column whose empty value made the value for `row` empty, if one did (`None` for a
    /// division by zero, or when the value is not empty).
    pub fn empty_column(&self, row: &dyn Row) -> Option<usize> {
        empty_column(&self.node, row)
    }
}

/// A node of a compiled expression, to translate it (into a database's SQL, say) with the
/// meaning it has here: [`Term`] tells what it is.
#[derive(Debug, Clone, Copy)]
pub struct Tree<'a>(&'a Node);

/// What a [`Tree`] node is. Values are three-valued as in SQL: an empty column, `NULL`, an
/// operation on an empty operand and a division by zero are empty; a comparison with an empty
/// value is unknown; `AND`, `OR` and `NOT` follow Kleene's logic, and a condition holds only
/// when it is true. Text compares by its UTF-8 bytes (code points), numbers as doubles.
#[derive(Debug, Clone)]
pub enum Term<'a> {
    /// Column `i` of the catalog, read as the rule's [`Rule::columns`] say.
    Column(usize),
    /// A number.
    Number(f64),
    /// Text.
    Text(&'a str),
    /// `NULL`.
    Null,
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// `l op r`.
    Arith(Arith, Tree<'a>, Tree<'a>),
    /// `-e`.
    Neg(Tree<'a>),
    /// The first operand that is not empty.
    Coalesce(Vec<Tree<'a>>),
    /// `l op r`, a condition.
    Cmp(Cmp, Tree<'a>, Tree<'a>),
    /// Every operand true.
    And(Vec<Tree<'a>>),
    /// Some operand true.
    Or(Vec<Tree<'a>>),
    /// Not.
    Not(Tree<'a>),
    /// `e [NOT] IN (list)`.
    In {
        /// The value.
        expr: Tree<'a>,
        /// The list.
        list: Vec<Tree<'a>>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `e [NOT] BETWEEN low AND high`.
    Between {
        /// The value.
        expr: Tree<'a>,
        /// The low end.
        low: Tree<'a>,
        /// The high end.
        high: Tree<'a>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `e IS [NOT] NULL`.
    IsNull {
        /// The value.
        expr: Tree<'a>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `e [NOT] LIKE pattern` (`%` any run of characters, `_` one, no escape character);
    /// with `fold_case` (`ILIKE`) the value is lowercased and the pattern is lowercase.
    Like {
        /// The value.
        expr: Tree<'a>,
        /// The pattern.
        pattern: &'a str,
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        fold_case: bool,
    },
}

impl<'a> Tree<'a> {
    /// What this node is.
    pub fn term(self) -> Term<'a> {
        let t = Tree;
        let all = |ops: &'a [Node]| ops.iter().map(Tree).collect::<Vec<_>>();
        match self.0 {
            Node::Column(i) => Term::Column(*i),
            Node::Number(x) => Term::Number(*x),
            Node::Text(s) => Term::Text(s),
            Node::Null => Term::Null,
            Node::Bool(b) => Term::Bool(*b),
            Node::Arith(op, l, r, _) => Term::Arith(*op, t(l), t(r)),
            Node::Neg(n, _) => Term::Neg(t(n)),
            Node::Coalesce(ops, _) => Term::Coalesce(all(ops)),
            Node::Cmp(op, l, r) => Term::Cmp(*op, t(l), t(r)),
            Node::And(ops) => Term::And(all(ops)),
            Node::Or(ops) => Term::Or(all(ops)),
            Node::Not(n, _) => Term::Not(t(n)),
            Node::In {
                expr,
                list,
                negated,
            } => Term::In {
                expr: t(expr),
                list: all(list),
                negated: *negated,
            },
            Node::Between {
                expr,
                low,
                high,
                negated,
            } => Term::Between {
                expr: t(expr),
                low: t(low),
                high: t(high),
                negated: *negated,
            },
            Node::IsNull { expr, negated } => Term::IsNull {
                expr: t(expr),
                negated: *negated,
            },
            Node::Like {
                expr,
                pattern,
                negated,
                fold_case,
            } => Term::Like {
                expr: t(expr),
                pattern,
                negated: *negated,
                fold_case: *fold_case,
            },
        }
    }
}

impl Rule {
    /// The compiled condition, to translate it.
    pub fn tree(&self) -> Tree<'_> {
        Tree(&self.node)
    }
}

impl Formula {
    /// The compiled expression, to translate it; [`Formula::empty_column`] says which empty
    /// value makes it empty (an empty column on the way to the value: through arithmetic, and
    /// through a `COALESCE` whose operands are all empty).
    pub fn tree(&self) -> Tree<'_> {
        Tree(&self.node)
    }
}

fn empty_column(node: &Node, row: &dyn Row) -> Option<usize> {
    match node {
        Node::Column(i) => (scalar(node, row) == Scalar::Null).then_some(*i),
        Node::Arith(_, l, r, _) => empty_column(l, row).or_else(|| empty_column(r, row)),
        Node::Neg(n, _) => empty_column(n, row),
        Node::Coalesce(operands, _) if scalar(node, row) == Scalar::Null => {
            operands.iter().find_map(|o| empty_column(o, row))
        }
        _ => None,
    }
}

/// A rule longer than this (in bytes) may hold chains too deep to walk recursively inside
/// kinds of expression that rules do not support (the parser bounds everything else).
const LONG_RULE: usize = 2_000;

/// How deep an expression may be to be shown or measured the recursive way.
const SHALLOW: usize = 64;

/// An expression dropped without recursion.
struct Dismantled {
    expr: Expr,
    /// From a [`LONG_RULE`].
    long: bool,
}

impl Drop for Dismantled {
    fn drop(&mut self) {
        let placeholder = || Expr::value(SqlValue::Null);
        let mut stack = vec![std::mem::replace(&mut self.expr, placeholder())];
        while let Some(mut e) = stack.pop() {
            let leaf = matches!(
                e,
                Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_)
            );
            let parts = children_mut(&mut e);
            let known = leaf || !parts.is_empty();
            for child in parts {
                stack.push(std::mem::replace(child, placeholder()));
            }
            if self.long && !known {
                // a kind no rule supports (the rule failed to compile), which may hold a chain
                // too deep to drop the recursive way: its memory is left to the process
                std::mem::forget(e);
            }
            // otherwise `e` goes here, with leaves for children
        }
    }
}

/// Whether `e` is more than `limit` levels deep, found without recursion.
fn deeper_than(e: &Expr, limit: usize) -> bool {
    let mut stack = vec![(e, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        if depth > limit {
            return true;
        }
        stack.extend(children(e).into_iter().map(|c| (c, depth + 1)));
    }
    false
}

/// The first leaf down the left side of `e` (where `e` starts), found without recursion.
fn first_leaf(e: &Expr) -> &Expr {
    let mut leaf = e;
    while let Some(first) = children(leaf).first() {
        leaf = first;
    }
    leaf
}

/// `e` as written, shortened to its start when it is too deep to print the recursive way.
fn shown(e: &Expr) -> String {
    if deeper_than(e, SHALLOW) {
        format!("{} …", first_leaf(e))
    } else {
        e.to_string()
    }
}

/// The sub-expressions of the kinds of expression the parser can chain without limit
/// (operators and postfix tests: each link is one level deeper), and of the ones a rule
/// supports; other kinds are bounded by the parser's nesting limit.
fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BinaryOp { left, right, .. }
        | Expr::IsDistinctFrom(left, right)
        | Expr::IsNotDistinctFrom(left, right)
        | Expr::AnyOp { left, right, .. }
        | Expr::AllOp { left, right, .. }
        | Expr::AtTimeZone {
            timestamp: left,
            time_zone: right,
        } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::Cast { expr, .. }
        | Expr::Collate { expr, .. } => vec![expr],
        Expr::In { expr, target, .. } => {
            let mut out: Vec<&Expr> = vec![expr];
            if let ast::InTarget::List(list) = target {
                out.extend(list);
            }
            out
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. }
        | Expr::RLike { expr, pattern, .. } => vec![expr, pattern],
        Expr::Function(ast::Function {
            args: ast::FunctionArguments::List(list),
            ..
        }) => list
            .args
            .iter()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// [`children`], to take them out.
fn children_mut(e: &mut Expr) -> Vec<&mut Expr> {
    match e {
        Expr::BinaryOp { left, right, .. }
        | Expr::IsDistinctFrom(left, right)
        | Expr::IsNotDistinctFrom(left, right)
        | Expr::AnyOp { left, right, .. }
        | Expr::AllOp { left, right, .. }
        | Expr::AtTimeZone {
            timestamp: left,
            time_zone: right,
        } => vec![left, right],
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::Cast { expr, .. }
        | Expr::Collate { expr, .. } => vec![expr],
        Expr::In { expr, target, .. } => {
            let mut out: Vec<&mut Expr> = vec![expr];
            if let ast::InTarget::List(list) = target {
                out.extend(list.iter_mut());
            }
            out
        }
        Expr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        Expr::Like { expr, pattern, .. }
        | Expr::ILike { expr, pattern, .. }
        | Expr::SimilarTo { expr, pattern, .. }
        | Expr::RLike { expr, pattern, .. } => vec![expr, pattern],
        Expr::Function(ast::Function {
            args: ast::FunctionArguments::List(list),
            ..
        }) => list
            .args
            .iter_mut()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The operands of a chain `a OP b OP c …` of one operator (`AND` or `OR`), in order, found
/// without recursion (the parser builds the chain left-deep: `((a OP b) OP c) …`).
fn chain<'e>(expr: &'e Expr, op: &BinaryOperator) -> Vec<&'e Expr> {
    let mut operands = Vec::new();
    let mut cur = expr;
    while let Expr::BinaryOp { left, op: o, right } = cur
        && o == op
    {
        operands.push(right.as_ref());
        cur = left;
    }
    operands.push(cur);
    operands.reverse();
    operands
}

/// Refuses an expression deeper than [`MAX_DEPTH`] (a chain of `AND` or `OR` counting as one
/// level), without recursion: the compiler recurses per level.
fn check_depth(expr: &Expr) -> Result<(), RuleError> {
    let mut stack = vec![(expr, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            // the first leaf down the left side says where (a leaf's span is cheap)
            return Err(RuleError::at(
                span_start(first_leaf(e)),
                format!("the rule is nested more than {MAX_DEPTH} operators deep"),
            )
            .kind(RuleErrorKind::TooDeep { limit: MAX_DEPTH })
            .hint("split the rule, or use IN (…) for a long list of values"));
        }
        let parts = match e {
            Expr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } => chain(e, op),
            _ => children(e),
        };
        stack.extend(parts.into_iter().map(|c| (c, depth + 1)));
    }
    Ok(())
}

fn syntax_error(sql: &str, message: &str) -> RuleError {
    // sqlparser ends its messages with " at Line: L, Column: C"
    let location = message.rsplit_once(" at Line: ").and_then(|(_, rest)| {
        let (line, col) = rest.split_once(", Column: ")?;
        Some(Location {
            line: line.trim().parse().ok()?,
            column: col.trim().parse().ok()?,
        })
    });
    let text = message
        .rsplit_once(" at Line: ")
        .map_or(message, |(m, _)| m)
        .trim_start_matches("sql parser error: ");
    let location = location.unwrap_or(Location {
        line: 1,
        column: sql.chars().count() as u64 + 1,
    });
    RuleError::at(location, format!("syntax error: {}", text.to_lowercase()))
        .kind(RuleErrorKind::Syntax)
}

fn span_start(expr: &Expr) -> Location {
    use sqlparser::ast::Spanned;
    // a span is found by recursion: a deep expression starts where its first leaf does
    let expr = if deeper_than(expr, SHALLOW) {
        first_leaf(expr)
    } else {
        expr
    };
    let s = expr.span().start;
    if s.line == 0 {
        Location { line: 1, column: 1 }
    } else {
        s
    }
}

struct Compiler<'a> {
    catalog: &'a Catalog,
    /// Compiling a [`LONG_RULE`].
    long: bool,
    /// What each untyped column is used as, once a use has said.
    settled: RefCell<Vec<Option<ColumnType>>>,
    /// The columns named.
    used: RefCell<Vec<bool>>,
}

impl Compiler<'_> {
    fn node(&self, expr: &Expr) -> Result<(Node, Kind), RuleError> {
        let at = || span_start(expr);
        Ok(match expr {
            Expr::Identifier(ident) => self.column(ident)?,
            Expr::CompoundIdentifier(parts) if parts.len() == 1 => self.column(&parts[0])?,
            // `previous.value`: a column of the run before (alerts' catalogs have them)
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let joined = ast::Ident {
                    value: format!("{}.{}", parts[0].value, parts[1].value),
                    quote_style: None,
                    span: parts[0].span,
                };
                self.column(&joined)?
            }
            Expr::Nested(inner) => self.node(inner)?,
            Expr::Value(v) => match &v.value {
                SqlValue::Number(n, _) => {
                    let x: f64 = n
                        .parse()
                        .map_err(|_| RuleError::at(at(), format!("`{n}` is not a number")))?;
                    if !x.is_finite() {
                        return Err(RuleError::at(
                            at(),
                            format!("`{n}` is beyond the range of numbers"),
                        )
                        .kind(RuleErrorKind::NotFinite));
                    }
                    (Node::Number(x), Kind::Number)
                }
                SqlValue::SingleQuotedString(s) => (Node::Text(s.clone()), Kind::Text),
                SqlValue::Boolean(b) => (Node::Bool(*b), Kind::Bool),
                SqlValue::Null => (Node::Null, Kind::Null),
                SqlValue::DoubleQuotedString(s) => {
                    return Err(RuleError::at(at(), format!("unknown column \"{s}\""))
                        .hint(format!("text values take single quotes: '{s}'")));
                }
                other => {
                    return Err(RuleError::at(at(), format!("unsupported value `{other}`")));
                }
            },
            Expr::UnaryOp { op, expr: inner } => match op {
                UnaryOperator::Not => {
                    let n = self.expect(inner, Kind::Bool, "NOT")?;
                    (Node::Not(Box::new(n), shown(inner)), Kind::Bool)
                }
                UnaryOperator::Minus => {
                    let n = self.expect(inner, Kind::Number, "-")?;
                    match n {
                        Node::Number(x) => (Node::Number(-x), Kind::Number),
                        n => (Node::Neg(Box::new(n), shown(expr)), Kind::Number),
                    }
                }
                UnaryOperator::Plus => (self.expect(inner, Kind::Number, "+")?, Kind::Number),
                other => {
                    return Err(RuleError::at(
                        at(),
                        format!("unsupported operator `{other}`"),
                    ));
                }
            },
            Expr::BinaryOp { left, op, right } => self.binary(expr, left, op, right)?,
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
                let n = self.value(inner, "IS NULL")?.0;
                (
                    Node::IsNull {
                        expr: Box::new(n),
                        negated: matches!(expr, Expr::IsNotNull(_)),
                    },
                    Kind::Bool,
                )
            }
            Expr::In {
                expr: inner,
                target,
                negated,
                ..
            } => {
                let ast::InTarget::List(list) = target else {
                    return Err(RuleError::at(at(), "IN takes a list of values")
                        .hint("e.g. industry IN ('retail', '制造业')"));
                };
                let (n, k) = self.value(inner, "IN")?;
                let mut compiled = vec![(n, k)];
                for item in list {
                    compiled.push(self.value(item, "IN")?);
                }
                let common = self.common(&compiled);
                let mut compiled = compiled.into_iter();
                let (n, k) = compiled.next().unwrap_or((Node::Null, Kind::Null));
                // an untyped column is now what the list says
                let settled = |k: Kind| match (k, common) {
                    (Kind::Cell, Some(c)) => c,
                    _ => k,
                };
                let mut kind = settled(k);
                let mut items = Vec::with_capacity(list.len());
                for ((node, k), item) in compiled.zip(list) {
                    let k = settled(k);
                    kind = self.unify((&n, kind), (&node, k), item, "IN")?;
                    self.known_value(&n, &node, item)?;
                    items.push(node);
                }
                (
                    Node::In {
                        expr: Box::new(n),
                        list: items,
                        negated: *negated,
                    },
                    Kind::Bool,
                )
            }
            Expr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let n = self.value(inner, "BETWEEN")?;
                let lo = self.value(low, "BETWEEN")?;
                let hi = self.value(high, "BETWEEN")?;
                let mut common = self.common(&[n.clone(), lo.clone(), hi.clone()]);
                if common.is_none() && [&n, &lo, &hi].iter().all(|p| p.1 == Kind::Cell) {
                    // file columns between file columns: an order of numbers
                    for p in [&n, &lo, &hi] {
                        self.settle(&p.0, ColumnType::Number);
                    }
                    common = Some(Kind::Number);
                }
                let ((n, kind), (lo, kl), (hi, kh)) = (n, lo, hi);
                let [kind, kl, kh] = [kind, kl, kh].map(|k| match (k, common) {
                    (Kind::Cell, Some(c)) => c,
                    _ => k,
                });
                let kind = self.unify((&n, kind), (&lo, kl), low, "BETWEEN")?;
                self.unify((&n, kind), (&hi, kh), high, "BETWEEN")?;
                (
                    Node::Between {
                        expr: Box::new(n),
                        low: Box::new(lo),
                        high: Box::new(hi),
                        negated: *negated,
                    },
                    Kind::Bool,
                )
            }
            Expr::Like {
                negated,
                expr: inner,
                pattern,
                escape_char: None,
                any: false,
            }
            | Expr::ILike {
                negated,
                expr: inner,
                pattern,
                escape_char: None,
                any: false,
            } => {
                let n = self.expect(inner, Kind::Text, "LIKE")?;
                let Node::Text(p) = self.expect(pattern, Kind::Text, "LIKE")? else {
                    return Err(RuleError::at(
                        span_start(pattern),
                        "LIKE takes a text pattern in single quotes",
                    )
                    .hint("e.g. name LIKE '%公司'"));
                };
                let fold_case = matches!(expr, Expr::ILike { .. });
                (
                    Node::Like {
                        expr: Box::new(n),
                        pattern: if fold_case { p.to_lowercase() } else { p },
                        negated: *negated,
                        fold_case,
                    },
                    Kind::Bool,
                )
            }
            Expr::Function(f) => self.function(expr, f)?,
            // (in a long rule, an unsupported kind may hide a chain too deep to print or to
            // find the position of the recursive way)
            _ if self.long => {
                return Err(RuleError::at(
                    Location { line: 1, column: 1 },
                    "the rule uses an expression that is not supported in a rule",
                )
                .hint("use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and + - * /"));
            }
            other => {
                return Err(
                    RuleError::at(at(), format!("`{other}` is not supported in a rule")).hint(
                        "use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and + - * /",
                    ),
                );
            }
        })
    }

    /// `COALESCE(a, b, …)`, the one function rules have.
    fn function(&self, whole: &Expr, f: &ast::Function) -> Result<(Node, Kind), RuleError> {
        let at = span_start(whole);
        let name = f.name.to_string();
        if !name.eq_ignore_ascii_case("coalesce") {
            return Err(
                RuleError::at(at, format!("function `{name}` is not supported in a rule")).hint(
                    "COALESCE(a, b, …) is the one function: the first value that is not empty",
                ),
            );
        }
        let ast::FunctionArguments::List(list) = &f.args else {
            return Err(RuleError::at(at, "COALESCE takes values in parentheses")
                .hint("e.g. COALESCE(discount, 0)"));
        };
        let plain = f.filter.is_none()
            && f.over.is_none()
            && f.within_group.is_empty()
            && matches!(f.parameters, ast::FunctionArguments::None)
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty();
        let args: Option<Vec<&Expr>> = list
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        let Some(args) = args.filter(|a| plain && !a.is_empty()) else {
            return Err(RuleError::at(
                at,
                format!("`{}` is not supported in a rule", shown(whole)),
            )
            .hint("COALESCE takes one or more values: COALESCE(discount, 0)"));
        };
        let mut kind = Kind::Null;
        let mut operands = Vec::with_capacity(args.len());
        for arg in args {
            let (n, k) = self.value(arg, "COALESCE")?;
            kind = match (kind, k) {
                (Kind::Null, k) | (k, Kind::Null) => k,
                (Kind::Cell, k) | (k, Kind::Cell) => k,
                (a, b) => {
                    self.same_type(a, b, arg, "COALESCE")?;
                    a
                }
            };
            operands.push(n);
        }
        let node = Node::Coalesce(operands, shown(whole));
        if let Some(ty) = kind.column_type() {
            self.settle(&node, ty);
        }
        Ok((node, kind))
    }

    fn column(&self, ident: &ast::Ident) -> Result<(Node, Kind), RuleError> {
        let name = &ident.value;
        match self.catalog.find(name) {
            Some(i) => {
                self.used.borrow_mut()[i] = true;
                let kind = if self.catalog.is_untyped(i) {
                    self.settled.borrow()[i].map_or(Kind::Cell, Kind::of)
                } else {
                    Kind::of(self.catalog.column_type(i))
                };
                Ok((Node::Column(i), kind))
            }
            None if ident.quote_style.is_none()
                && ["nan", "inf", "infinity"]
                    .iter()
                    .any(|w| name.eq_ignore_ascii_case(w)) =>
            {
                Err(RuleError::at(
                    ident.span.start,
                    format!("`{name}` is not a number a rule can compare with"),
                )
                .kind(RuleErrorKind::NotFinite)
                .hint("numbers in rules are finite; test for an empty value with IS NULL"))
            }
            None => {
                let suggestion = self.catalog.suggest(name).map(str::to_string);
                let e = RuleError::at(ident.span.start, format!("unknown column \"{name}\"")).kind(
                    RuleErrorKind::UnknownColumn {
                        name: name.clone(),
                        suggestion: suggestion.clone(),
                    },
                );
                Err(if let Some(s) = suggestion {
                    e.hint(format!("did you mean \"{s}\"?"))
                } else if ident.quote_style == Some('"') {
                    e.hint(format!("text values take single quotes: '{name}'"))
                } else {
                    e.hint("see `stratum check --columns` for the columns a rule can use")
                })
            }
        }
    }

    fn expect(&self, expr: &Expr, want: Kind, op: &str) -> Result<Node, RuleError> {
        let (n, kind) = self.node(expr)?;
        if let (Kind::Cell, Some(ty)) = (kind, want.column_type()) {
            self.settle(&n, ty);
            return Ok(n);
        }
        if kind == want || kind == Kind::Null {
            Ok(n)
        } else {
            Err(RuleError::at(
                span_start(expr),
                format!(
                    "{op} needs {} {}, but `{}` is {} {}",
                    article(want),
                    want.name(),
                    shown(expr),
                    article(kind),
                    kind.name()
                ),
            ))
        }
    }

    /// A number or text (or `NULL`), not a condition.
    fn value(&self, expr: &Expr, op: &str) -> Result<(Node, Kind), RuleError> {
        let (n, kind) = self.node(expr)?;
        if kind == Kind::Bool {
            return Err(RuleError::at(
                span_start(expr),
                format!("{op} takes a value, but `{}` is a condition", shown(expr)),
            )
            .hint("compare a column or a computed value"));
        }
        Ok((n, kind))
    }

    /// Refuses a text literal compared with a column of known values that is none of them.
    fn known_value(&self, column: &Node, literal: &Node, at: &Expr) -> Result<(), RuleError> {
        let (Node::Column(i), Node::Text(value)) = (column, literal) else {
            return Ok(());
        };
        let Some(known) = self.catalog.known_values(*i) else {
            return Ok(());
        };
        if known.contains(value) {
            return Ok(());
        }
        let name = &self.catalog.names()[*i];
        let suggestion = known.suggest(value);
        let e = RuleError::at(
            span_start(at),
            format!("'{value}' is not a value of {name}; {}", known.listed()),
        )
        .kind(RuleErrorKind::UnknownValue {
            column: name.clone(),
            value: value.clone(),
            suggestion: suggestion.clone(),
        });
        Err(match suggestion {
            Some(s) => e.hint(format!("did you mean '{s}'?")),
            None => e,
        })
    }

    /// Makes the untyped columns `node` stands for (a column, or a `COALESCE` of them) `ty`,
    /// unless a use has made them something already.
    fn settle(&self, node: &Node, ty: ColumnType) {
        match node {
            Node::Column(i) if self.catalog.is_untyped(*i) => {
                let mut settled = self.settled.borrow_mut();
                if settled[*i].is_none() {
                    settled[*i] = Some(ty);
                }
            }
            Node::Coalesce(operands, _) => {
                for o in operands {
                    self.settle(o, ty);
                }
            }
            _ => {}
        }
    }

    /// The type values listed together share when one of them says it (the first number or
    /// text among them): their untyped columns are made that type. `None` when none says.
    fn common(&self, parts: &[(Node, Kind)]) -> Option<Kind> {
        let kind = parts
            .iter()
            .map(|p| p.1)
            .find(|k| k.column_type().is_some())?;
        let ty = kind.column_type()?;
        for (node, k) in parts {
            if *k == Kind::Cell {
                self.settle(node, ty);
            }
        }
        Some(kind)
    }

    /// The type two values compared (or listed together) share: an untyped column takes the
    /// other's type (text when both are untyped columns); otherwise as [`Compiler::same_type`].
    fn unify(
        &self,
        (a, ka): (&Node, Kind),
        (b, kb): (&Node, Kind),
        at: &Expr,
        op: &str,
    ) -> Result<Kind, RuleError> {
        Ok(match (ka, kb) {
            (Kind::Cell, Kind::Cell) => {
                self.settle(a, ColumnType::Text);
                self.settle(b, ColumnType::Text);
                Kind::Text
            }
            (Kind::Cell, Kind::Null) | (Kind::Null, Kind::Cell) => Kind::Cell,
            (Kind::Cell, k) | (k, Kind::Cell) if k.column_type().is_some() => {
                let cell = if ka == Kind::Cell { a } else { b };
                if let Some(ty) = k.column_type() {
                    self.settle(cell, ty);
                }
                k
            }
            _ => {
                self.same_type(ka, kb, at, op)?;
                if ka == Kind::Null { kb } else { ka }
            }
        })
    }

    fn same_type(&self, a: Kind, b: Kind, at: &Expr, op: &str) -> Result<(), RuleError> {
        if a == b || a == Kind::Null || b == Kind::Null {
            return Ok(());
        }
        Err(RuleError::at(
            span_start(at),
            format!(
                "{op} compares {} {} with {} {} (`{}`)",
                article(a),
                a.name(),
                article(b),
                b.name(),
                shown(at),
            ),
        )
        .hint(if a == Kind::Number {
            "write numbers without quotes"
        } else {
            "put text values in single quotes"
        }))
    }

    fn binary(
        &self,
        whole: &Expr,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
    ) -> Result<(Node, Kind), RuleError> {
        if let Some(cmp) = Cmp::of(op) {
            let (l, kl) = self.node(left)?;
            let (r, kr) = self.node(right)?;
            if kl == Kind::Bool || kr == Kind::Bool {
                return Err(RuleError::at(
                    span_start(whole),
                    format!("`{}` compares conditions", shown(whole)),
                )
                .hint("combine conditions with AND or OR"));
            }
            if kl == Kind::Cell && kr == Kind::Cell && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
                // two file columns ordered against each other: numbers (as text, "10" < "9")
                self.settle(&l, ColumnType::Number);
                self.settle(&r, ColumnType::Number);
            }
            self.unify((&l, kl), (&r, kr), right, op_text(op))?;
            if matches!(cmp, Cmp::Eq | Cmp::Ne) {
                self.known_value(&l, &r, right)?;
                self.known_value(&r, &l, left)?;
            }
            return Ok((Node::Cmp(cmp, Box::new(l), Box::new(r)), Kind::Bool));
        }
        match op {
            BinaryOperator::And | BinaryOperator::Or => {
                // the whole chain of this operator at once, in order
                let operands = chain(whole, op)
                    .into_iter()
                    .map(|e| self.expect(e, Kind::Bool, op_text(op)))
                    .collect::<Result<Vec<Node>, RuleError>>()?;
                let node = if *op == BinaryOperator::And {
                    Node::And(operands)
                } else {
                    Node::Or(operands)
                };
                Ok((node, Kind::Bool))
            }
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide => {
                let l = self.expect(left, Kind::Number, op_text(op))?;
                let r = self.expect(right, Kind::Number, op_text(op))?;
                let a = match op {
                    BinaryOperator::Plus => Arith::Add,
                    BinaryOperator::Minus => Arith::Sub,
                    BinaryOperator::Multiply => Arith::Mul,
                    _ => Arith::Div,
                };
                Ok((
                    Node::Arith(a, Box::new(l), Box::new(r), shown(whole)),
                    Kind::Number,
                ))
            }
            other => Err(RuleError::at(
                span_start(whole),
                format!("operator `{other}` is not supported in a rule"),
            )),
        }
    }
}

fn op_text(op: &BinaryOperator) -> &'static str {
    match op {
        BinaryOperator::Eq => "=",
        BinaryOperator::NotEq => "<>",
        BinaryOperator::Lt => "<",
        BinaryOperator::LtEq => "<=",
        BinaryOperator::Gt => ">",
        BinaryOperator::GtEq => ">=",
        BinaryOperator::And => "AND",
        BinaryOperator::Or => "OR",
        BinaryOperator::Plus => "+",
        BinaryOperator::Minus => "-",
        BinaryOperator::Multiply => "*",
        BinaryOperator::Divide => "/",
        _ => "the operator",
    }
}

fn article(k: Kind) -> &'static str {
    match k {
        Kind::Number | Kind::Text | Kind::Cell => "a",
        Kind::Bool | Kind::Null => "",
    }
}

fn scalar<'r>(node: &'r Node, row: &'r dyn Row) -> Scalar<'r> {
    match node {
        Node::Column(i) => match row.get(*i) {
            Value::Null => Scalar::Null,
            Value::Number(x) if x.is_nan() => Scalar::Null,
            Value::Number(x) => Scalar::Number(x),
            Value::Text(t) => Scalar::Text(t),
        },
        Node::Number(x) => Scalar::Number(*x),
        Node::Text(t) => Scalar::Text(t),
        Node::Null => Scalar::Null,
        Node::Arith(op, l, r, _) => match (scalar(l, row), scalar(r, row)) {
            (Scalar::Number(a), Scalar::Number(b)) => {
                let v = match op {
                    Arith::Add => a + b,
                    Arith::Sub => a - b,
                    Arith::Mul => a * b,
                    // division by zero is unknown, as in SQL engines that do not fail
                    Arith::Div if b == 0.0 => return Scalar::Null,
                    Arith::Div => a / b,
                };
                Scalar::Number(v)
            }
            _ => Scalar::Null,
        },
        Node::Neg(n, _) => match scalar(n, row) {
            Scalar::Number(x) => Scalar::Number(-x),
            _ => Scalar::Null,
        },
        Node::Coalesce(operands, _) => operands
            .iter()
            .map(|o| scalar(o, row))
            .find(|s| *s != Scalar::Null)
            .unwrap_or(Scalar::Null),
        // conditions are not scalars (the compiler keeps them apart)
        _ => Scalar::Null,
    }
}

fn compare(a: Scalar<'_>, b: Scalar<'_>) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Scalar::Number(x), Scalar::Number(y)) => x.partial_cmp(&y),
        (Scalar::Text(x), Scalar::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Three-valued truth: `None` is unknown.
fn truth(node: &Node, row: &dyn Row) -> Option<bool> {
    match node {
        Node::Bool(b) => Some(*b),
        Node::Null => None,
        Node::Cmp(op, l, r) => compare(scalar(l, row), scalar(r, row)).map(|o| op.holds(o)),
        // false if any operand is false, else unknown if any is unknown
        Node::And(operands) => {
            let mut unknown = false;
            for o in operands {
                match truth(o, row) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        // true if any operand is true, else unknown if any is unknown
        Node::Or(operands) => {
            let mut unknown = false;
            for o in operands {
                match truth(o, row) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Node::Not(n, _) => truth(n, row).map(|b| !b),
        Node::In {
            expr,
            list,
            negated,
        } => {
            let v = scalar(expr, row);
            if v == Scalar::Null {
                return None;
            }
            let mut unknown = false;
            for item in list {
                match compare(v, scalar(item, row)) {
                    Some(std::cmp::Ordering::Equal) => return Some(!negated),
                    None => unknown = true,
                    Some(_) => {}
                }
            }
            if unknown { None } else { Some(*negated) }
        }
        Node::Between {
            expr,
            low,
            high,
            negated,
        } => {
            // x BETWEEN a AND b is x >= a AND x <= b, in three-valued logic
            let v = scalar(expr, row);
            let lo = compare(v, scalar(low, row)).map(|o| o != std::cmp::Ordering::Less);
            let hi = compare(v, scalar(high, row)).map(|o| o != std::cmp::Ordering::Greater);
            let inside = match (lo, hi) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            inside.map(|b| b != *negated)
        }
        Node::IsNull { expr, negated } => Some((scalar(expr, row) == Scalar::Null) != *negated),
        Node::Like {
            expr,
            pattern,
            negated,
            fold_case,
        } => match scalar(expr, row) {
            Scalar::Text(t) => {
                let hit = if *fold_case {
                    like(&t.to_lowercase(), pattern)
                } else {
                    like(t, pattern)
                };
                Some(hit != *negated)
            }
            _ => None,
        },
        Node::Column(_)
        | Node::Number(_)
        | Node::Text(_)
        | Node::Arith(..)
        | Node::Neg(..)
        | Node::Coalesce(..) => None,
    }
}

/// SQL `LIKE`: `%` any run of characters, `_` one character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // classic two-pointer match with backtracking to the last `%`
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

/// A number as people read it: thousands separators, at most two decimals.
pub fn show_number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let rounded = (x * 100.0).round() / 100.0;
    let neg = rounded < 0.0;
    let abs = rounded.abs();
    let int = abs.trunc() as u64;
    let frac = ((abs - abs.trunc()) * 100.0).round() as u64;
    let digits = int.to_string();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if frac > 0 {
        let f = format!("{frac:02}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// A value as a reason shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    /// No value.
    Empty,
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

impl Shown {
    fn of(s: Scalar<'_>) -> Self {
        match s {
            Scalar::Null => Shown::Empty,
            Scalar::Number(x) => Shown::Number(x),
            Scalar::Text(t) => Shown::Text(t.to_string()),
        }
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Empty => f.write_str("(empty)"),
            Shown::Number(x) => f.write_str(&show_number(*x)),
            Shown::Text(t) => f.write_str(t),
        }
    }
}

/// One side of a comparison in a reason.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column (its catalog index) and its value.
    Column {
        /// The column.
        column: usize,
        /// Its value.
        value: Shown,
    },
    /// A computed value (`a + b`, `COALESCE(x, 0)`) as written, and its value.
    Computed {
        /// The expression as written.
        text: String,
        /// Its value.
        value: Shown,
    },
    /// A text literal.
    Text(String),
    /// Any other value (a number literal, `NULL`).
    Value(Shown),
}

impl Operand {
    fn of(node: &Node, row: &dyn Row) -> Self {
        match node {
            Node::Column(i) => Operand::Column {
                column: *i,
                value: Shown::of(scalar(node, row)),
            },
            Node::Arith(.., text) | Node::Neg(_, text) | Node::Coalesce(_, text) => {
                Operand::Computed {
                    text: text.clone(),
                    value: Shown::of(scalar(node, row)),
                }
            }
            Node::Text(t) => Operand::Text(t.clone()),
            _ => Operand::Value(Shown::of(scalar(node, row))),
        }
    }

    /// `name=value` for a column or a computed value, the literal as written otherwise.
    fn text(&self, names: &[String]) -> String {
        match self {
            Operand::Column { column, value } => {
                let name = names.get(*column).map_or("?", String::as_str);
                format!("{name}={value}")
            }
            Operand::Computed { text, value } => format!("({text})={value}"),
            Operand::Text(t) => format!("'{t}'"),
            Operand::Value(v) => v.to_string(),
        }
    }
}

/// One comparison that made a rule true for a customer, as data; [`Clause::text`] words it.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// The rule is `TRUE`.
    Always,
    /// A column equal to a text literal: the column's value says it all.
    Is(Operand),
    /// `left op right`.
    Compare {
        /// The left side.
        left: Operand,
        /// The operator.
        op: Cmp,
        /// The right side.
        right: Operand,
    },
    /// `value [NOT] IN (list)`.
    In {
        /// The value tested.
        value: Operand,
        /// The list.
        list: Vec<Operand>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `value [NOT] BETWEEN low AND high`.
    Between {
        /// The value tested.
        value: Operand,
        /// The low end.
        low: Operand,
        /// The high end.
        high: Operand,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `value IS [NOT] NULL`.
    Empty {
        /// The value tested.
        value: Operand,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `value [NOT] LIKE pattern`.
    Like {
        /// The value tested.
        value: Operand,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `NOT (…)`, as written.
    Not(String),
}

impl Clause {
    /// The operands the clause compared, in the order it names them.
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Clause::Always | Clause::Not(_) => Vec::new(),
            Clause::Is(o) => vec![o],
            Clause::Compare { left, right, .. } => vec![left, right],
            Clause::In { value, list, .. } => std::iter::once(value).chain(list).collect(),
            Clause::Between {
                value, low, high, ..
            } => vec![value, low, high],
            Clause::Empty { value, .. } | Clause::Like { value, .. } => vec![value],
        }
    }

    /// The clause as a reason words it (`annual_revenue=1,250,000 ≥ 1,000,000`), with the
    /// column names of the catalog the rule was compiled against.
    pub fn text(&self, names: &[String]) -> String {
        let not = |negated: bool| if negated { "not " } else { "" };
        match self {
            Clause::Always => "always".into(),
            Clause::Is(o) => o.text(names),
            Clause::Compare { left, op, right } => {
                format!("{} {} {}", left.text(names), op.symbol(), right.text(names))
            }
            Clause::In {
                value,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|o| o.text(names)).collect();
                format!(
                    "{} {}in ({})",
                    value.text(names),
                    not(*negated),
                    items.join(", ")
                )
            }
            Clause::Between {
                value,
                low,
                high,
                negated,
            } => format!(
                "{} {}between {} and {}",
                value.text(names),
                not(*negated),
                low.text(names),
                high.text(names)
            ),
            Clause::Empty { value, negated } => match value {
                Operand::Column { column, .. } if !negated => {
                    format!(
                        "{} is empty",
                        names.get(*column).map_or("?", String::as_str)
                    )
                }
                _ if *negated => format!("{} is not empty", value.text(names)),
                _ => format!("{} is empty", value.text(names)),
            },
            Clause::Like {
                value,
                pattern,
                negated,
            } => format!("{} {}like '{pattern}'", value.text(names), not(*negated)),
            Clause::Not(text) => format!("not ({text})"),
        }
    }

    /// Clauses joined as one reason.
    pub fn join(clauses: &[Clause], names: &[String]) -> String {
        clauses
            .iter()
            .map(|c| c.text(names))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn because(node: &Node, row: &dyn Row, out: &mut Vec<Clause>) {
    match node {
        Node::And(operands) => {
            for o in operands {
                because(o, row, out);
            }
        }
        // the first operand that is true (the last when none is)
        Node::Or(operands) => {
            let first_true = operands.iter().find(|o| truth(o, row) == Some(true));
            if let Some(o) = first_true.or(operands.last()) {
                because(o, row, out);
            }
        }
        Node::Bool(true) => out.push(Clause::Always),
        // a column equal to a text literal says it all: `rfm_class=important_value`
        Node::Cmp(Cmp::Eq, l, r)
            if matches!((l.as_ref(), r.as_ref()), (Node::Column(_), Node::Text(_))) =>
        {
            out.push(Clause::Is(Operand::of(l, row)));
        }
        Node::Cmp(op, l, r) => out.push(Clause::Compare {
            left: Operand::of(l, row),
            op: *op,
            right: Operand::of(r, row),
        }),
        Node::In {
            expr,
            list,
            negated,
        } => out.push(Clause::In {
            value: Operand::of(expr, row),
            list: list.iter().map(|n| Operand::of(n, row)).collect(),
            negated: *negated,
        }),
        Node::Between {
            expr,
            low,
            high,
            negated,
        } => out.push(Clause::Between {
            value: Operand::of(expr, row),
            low: Operand::of(low, row),
            high: Operand::of(high, row),
            negated: *negated,
        }),
        Node::IsNull { expr, negated } => out.push(Clause::Empty {
            value: Operand::of(expr, row),
            negated: *negated,
        }),
        Node::Like {
            expr,
            pattern,
            negated,
            ..
        } => out.push(Clause::Like {
            value: Operand::of(expr, row),
            pattern: pattern.clone(),
            negated: *negated,
        }),
        Node::Not(_, text) => out.push(Clause::Not(text.clone())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(Vec<Value<'static>>);
    impl Row for R {
        fn get(&self, column: usize) -> Value<'_> {
            self.0[column]
        }
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::new();
        c.push("annual_revenue", ColumnType::Number);
        c.push("tenure_months", ColumnType::Number);
        c.push("industry", ColumnType::Text);
        c.push("last_nps", ColumnType::Number);
        c.push("客户经理", ColumnType::Text);
        c
    }

    fn row(revenue: f64, tenure: f64, industry: &'static str, nps: Option<f64>) -> R {
        R(vec![
            Value::Number(revenue),
            Value::Number(tenure),
            Value::Text(industry),
            nps.map_or(Value::Null, Value::Number),
            Value::Text("张伟"),
        ])
    }

    fn rule(sql: &str) -> Rule {
        Rule::compile(sql, &catalog()).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn error(sql: &str) -> String {
        Rule::compile(sql, &catalog())
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn rules_evaluate_with_sql_semantics() {
        let r = row(1_250_000.0, 31.0, "制造业", None);
        assert!(rule("annual_revenue >= 1000000 AND tenure_months >= 24").matches(&r));
        assert!(!rule("annual_revenue >= 1000000 AND tenure_months >= 36").matches(&r));
        assert!(rule("industry IN ('制造业', 'retail')").matches(&r));
        assert!(!rule("industry NOT IN ('制造业', 'retail')").matches(&r));
        assert!(rule("annual_revenue / 12 > 100000").matches(&r));
        assert!(rule("tenure_months BETWEEN 24 AND 36").matches(&r));
        assert!(rule("客户经理 = '张伟'").matches(&r));
        assert!(rule("\"客户经理\" LIKE '张%'").matches(&r));
        assert!(rule("INDUSTRY ilike '制造%'").matches(&r));
        // unknown (NULL) never matches, and NOT unknown is still unknown
        assert!(!rule("last_nps < 7").matches(&r));
        assert!(!rule("NOT (last_nps < 7)").matches(&r));
        assert!(rule("last_nps IS NULL").matches(&r));
        assert!(rule("last_nps < 7 OR tenure_months > 30").matches(&r));
        assert!(!rule("annual_revenue / 0 > 1").matches(&r));
        assert!(rule("TRUE").matches(&r));
        // BETWEEN with an empty bound: 31 NOT BETWEEN NULL AND 5 is true (31 > 5 decides)
        assert!(rule("tenure_months NOT BETWEEN NULL AND 5").matches(&r));
        assert!(!rule("tenure_months BETWEEN NULL AND 50").matches(&r));
    }

    #[test]
    fn like_handles_percent_and_underscore() {
        assert!(like("北京分公司", "%公司"));
        assert!(like("abc", "a_c"));
        assert!(like("abc", "%"));
        assert!(!like("abc", "a_"));
        assert!(like("aXbXc", "a%b%c"));
        assert!(!like("ab", "a%c"));
    }

    #[test]
    fn reasons_show_the_values_that_made_the_rule_true() {
        let r = row(1_250_000.0, 31.0, "制造业", Some(9.0));
        let c = catalog();
        assert_eq!(
            rule("annual_revenue >= 1000000 AND tenure_months >= 24").explain(&r, &c),
            "annual_revenue=1,250,000 ≥ 1,000,000; tenure_months=31 ≥ 24"
        );
        assert_eq!(
            rule("last_nps < 7 OR industry IN ('制造业', 'retail')").explain(&r, &c),
            "industry=制造业 in ('制造业', 'retail')"
        );
        assert_eq!(
            rule("annual_revenue / 12 > 100000.5").explain(&r, &c),
            "(annual_revenue / 12)=104,166.67 > 100,000.5"
        );
    }

    #[test]
    fn errors_name_the_column_and_the_position() {
        assert_eq!(
            error("anual_revenue >= 1000000"),
            "unknown column \"anual_revenue\" at position 1; did you mean \"annual_revenue\"?"
        );
        assert_eq!(
            error("tenure_months >= 24 AND industry = 5"),
            "= compares a text with a number (`5`) at position 36; put text values in single quotes"
        );
        assert_eq!(
            error("annual_revenue"),
            "the rule is a number, not a condition (true or false) at position 1; compare it with something, e.g. `annual_revenue > 0`"
        );
        assert_eq!(
            error("(last_nps < 7) IS NULL"),
            "IS NULL takes a value, but `(last_nps < 7)` is a condition at position 2; compare a column or a computed value"
        );
        assert!(error("annual_revenue >= ").starts_with("syntax error: "));
        assert!(error("annual_revenue >= 1 extra").starts_with("syntax error: "));
        let e = Rule::compile("tenure_months >= 24 AND anual_revenue > 1", &catalog())
            .err()
            .map(|e| (e.line, e.position));
        assert_eq!(e, Some((1, 25)));
    }

    #[test]
    fn numbers_are_shown_with_separators_and_two_decimals_at_most() {
        assert_eq!(show_number(1_250_000.0), "1,250,000");
        assert_eq!(show_number(0.25), "0.25");
        assert_eq!(show_number(-1234.5), "-1,234.5");
        assert_eq!(show_number(31.0), "31");
        assert_eq!(show_number(0.333_333), "0.33");
    }

    #[test]
    fn a_chain_of_fifty_thousand_terms_compiles_evaluates_and_explains_on_a_small_stack() {
        // (a test thread has 2 MiB of stack: a recursion per term would overflow it)
        let r = row(1_250_000.0, 31.0, "制造业", None);
        let mut terms: Vec<String> = (1..50_000)
            .map(|i| format!("tenure_months = -{i}"))
            .collect();
        terms.push("industry = '制造业'".into());
        let any = rule(&terms.join(" OR "));
        assert!(any.matches(&r));
        assert_eq!(any.explain(&r, &catalog()), "industry=制造业");
        assert!(!any.matches(&row(1.0, 31.0, "retail", None)));
        let all: Vec<String> = (1..50_000)
            .map(|i| format!("tenure_months > -{i}"))
            .collect();
        let all = rule(&all.join(" AND "));
        assert!(all.matches(&r));
        assert_eq!(all.explain(&r, &catalog()).split("; ").count(), 49_999);
        // three-valued: unknown OR false is unknown, unknown AND false is false
        let nps: Vec<String> = (1..50_000).map(|i| format!("last_nps = {i}")).collect();
        assert!(!rule(&nps.join(" OR ")).matches(&r));
        assert!(
            rule(&format!(
                "NOT ({} AND tenure_months < 0)",
                nps.join(" AND ")
            ))
            .matches(&r)
        );
        // NOT over a long chain keeps a short text for its reason
        let not = rule(&format!("NOT ({})", terms[..49_999].join(" OR ")));
        assert!(not.matches(&r));
        assert!(not.explain(&r, &catalog()).len() < 100);
    }

    #[test]
    fn nesting_beyond_the_limits_is_refused_with_the_limit() {
        let kind = |sql: &str| Rule::compile(sql, &catalog()).err().map(|e| *e.kind);
        let parens = format!("{}tenure_months > 0{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(
            kind(&parens),
            Some(RuleErrorKind::TooDeep { limit: MAX_NESTING })
        );
        let fine = format!("{}tenure_months > 0{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(kind(&fine), None);
        let sum = format!("{} > 0", vec!["tenure_months"; 50_000].join(" + "));
        assert_eq!(
            kind(&sum),
            Some(RuleErrorKind::TooDeep { limit: MAX_DEPTH })
        );
        let sum = format!("{} > 0", vec!["tenure_months"; 100].join(" + "));
        assert_eq!(kind(&sum), None);
        // chains of operators a rule does not support are refused too, without a crash
        let concat = format!("{} = 'x'", vec!["industry"; 50_000].join(" || "));
        assert_eq!(
            kind(&concat),
            Some(RuleErrorKind::TooDeep { limit: MAX_DEPTH })
        );
        let casts = format!("tenure_months{} > 0", "::int".repeat(50_000));
        assert_eq!(
            kind(&casts),
            Some(RuleErrorKind::TooDeep { limit: MAX_DEPTH })
        );
        // a long chain inside a function's arguments: refused for its depth, not printed
        let call = format!("abs({}) > 0", vec!["tenure_months"; 50_000].join(" + "));
        assert_eq!(
            kind(&call),
            Some(RuleErrorKind::TooDeep { limit: MAX_DEPTH })
        );
        // a long chain inside a kind of expression rules do not support: refused, not printed
        let array = format!("[{}] = 1", vec!["tenure_months"; 5_000].join(", "));
        let e = Rule::compile(&array, &catalog()).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("the rule uses an expression that is not supported in a rule at position 1; use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and + - * /".to_string())
        );
    }

    #[test]
    fn errors_carry_kinds_to_branch_on() {
        let kind = |sql: &str| Rule::compile(sql, &catalog()).err().map(|e| *e.kind);
        assert_eq!(
            kind("anual_revenue > 1"),
            Some(RuleErrorKind::UnknownColumn {
                name: "anual_revenue".into(),
                suggestion: Some("annual_revenue".into())
            })
        );
        assert_eq!(
            kind("region = 'north'"),
            Some(RuleErrorKind::UnknownColumn {
                name: "region".into(),
                suggestion: None
            })
        );
        assert_eq!(kind("annual_revenue >"), Some(RuleErrorKind::Syntax));
        assert_eq!(kind("industry = 5"), Some(RuleErrorKind::Invalid));
        for sql in [
            "last_nps = nan",
            "last_nps < Infinity",
            "last_nps > -inf",
            "last_nps < 1e999",
        ] {
            assert_eq!(kind(sql), Some(RuleErrorKind::NotFinite), "{sql}");
        }
    }

    #[test]
    fn literals_compared_with_known_values_must_be_among_them() {
        let mut c = catalog();
        let codes = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        c.push_known(
            "lifecycle",
            KnownValues::OneOf(codes(&["new", "growing", "churned"])),
        );
        c.push_known(
            "cluster_label",
            KnownValues::Joined {
                parts: codes(&["average", "high_value", "low_value", "recent", "lapsed"]),
                separator: '+',
            },
        );
        let joined = KnownValues::Joined {
            parts: codes(&["high_a+b", "low_a+b", "recent"]),
            separator: '+',
        };
        assert!(joined.contains("high_a+b+recent") && joined.contains("recent+low_a+b"));
        assert!(!joined.contains("high_a") && !joined.contains("recent+") && !joined.contains(""));
        assert!(!joined.contains("高价值+recent"));
        let check = |sql: &str| Rule::compile(sql, &c).err().map(|e| *e.kind);
        let unknown = |value: &str, suggestion: Option<&str>| {
            Some(RuleErrorKind::UnknownValue {
                column: "lifecycle".into(),
                value: value.into(),
                suggestion: suggestion.map(str::to_string),
            })
        };
        assert_eq!(
            check("lifecycle = 'chruned'"),
            unknown("chruned", Some("churned"))
        );
        assert_eq!(
            check("'Churned' <> lifecycle"),
            unknown("Churned", Some("churned"))
        );
        assert_eq!(
            check("lifecycle NOT IN ('new', 'growng')"),
            unknown("growng", Some("growing"))
        );
        assert_eq!(check("lifecycle = 'dormant'"), unknown("dormant", None));
        // the right values pass; LIKE and ordering comparisons are patterns, not values
        for sql in [
            "lifecycle IN ('new', 'churned')",
            "lifecycle LIKE 'chu%'",
            "lifecycle > 'a'",
            "cluster_label = 'high_value+recent'",
            "cluster_label = 'average'",
        ] {
            assert_eq!(check(sql), None, "{sql}");
        }
        assert_eq!(
            check("cluster_label = 'high_value+recnt'"),
            Some(RuleErrorKind::UnknownValue {
                column: "cluster_label".into(),
                value: "high_value+recnt".into(),
                suggestion: Some("high_value+recent".into()),
            })
        );
        assert_eq!(
            Rule::compile("lifecycle = 'chruned'", &c).map(|_| ()).map_err(|e| e.to_string()),
            Err("'chruned' is not a value of lifecycle; its values are 'new', 'growing', 'churned' at position 13; did you mean 'churned'?".to_string())
        );
        // what a rule compares text columns with, for checks against the data
        let r = Rule::compile(
            "industry = 'retail' OR (lifecycle IN ('new', 'growing') AND NOT 'x' = industry)",
            &c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.compared_texts(),
            [(2, "retail"), (5, "new"), (5, "growing"), (2, "x")]
        );
    }

    /// The columns of an order-line export: untyped, as a file's are.
    fn file() -> Catalog {
        let mut c = Catalog::new();
        for name in [
            "Invoice",
            "StockCode",
            "Quantity",
            "Price",
            "Country",
            "折扣",
        ] {
            c.push_untyped(name);
        }
        c
    }

    fn line(
        invoice: &'static str,
        code: &'static str,
        quantity: Option<f64>,
        price: f64,
        discount: Option<f64>,
    ) -> R {
        R(vec![
            Value::Text(invoice),
            Value::Text(code),
            quantity.map_or(Value::Null, Value::Number),
            Value::Number(price),
            Value::Text("United Kingdom"),
            discount.map_or(Value::Null, Value::Number),
        ])
    }

    #[test]
    fn a_files_columns_are_what_the_expression_uses_them_as() {
        let c = file();
        let f = Formula::compile("Quantity * Price - COALESCE(折扣, 0)", &c)
            .unwrap_or_else(|e| panic!("{e}"));
        use ColumnType::{Number, Text};
        assert_eq!(f.columns(), [(2, Number), (3, Number), (5, Number)]);
        assert_eq!(f.value(&line("1", "A", Some(3.0), 2.5, None)), Some(7.5));
        assert_eq!(
            f.value(&line("1", "A", Some(3.0), 2.5, Some(0.5))),
            Some(7.0)
        );
        let empty = line("1", "A", None, 2.5, None);
        assert_eq!(f.value(&empty), None);
        assert_eq!(f.empty_column(&empty), Some(2));
        assert_eq!(f.empty_column(&line("1", "A", Some(1.0), 1.0, None)), None);

        let r = Rule::compile(
            "StockCode NOT IN ('POST', 'M') AND Country <> 'Unspecified' AND Quantity > 0",
            &c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.columns(), [(1, Text), (2, Number), (4, Text)]);
        assert!(r.matches(&line("1", "85123A", Some(6.0), 2.55, None)));
        assert!(!r.matches(&line("1", "POST", Some(1.0), 18.0, None)));
        // an empty quantity is unknown, and unknown does not match
        assert!(!r.matches(&line("1", "85123A", None, 2.55, None)));

        let refund = Rule::compile("Invoice LIKE 'C%'", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refund.columns(), [(0, Text)]);
        assert!(refund.matches(&line("C489449", "A", Some(-1.0), 1.0, None)));
        assert!(!refund.matches(&line("489449", "A", Some(1.0), 1.0, None)));

        // a column named alone is what the whole must be; tested for emptiness only, text
        let alone = Formula::compile("(Price)", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alone.columns(), [(3, Number)]);
        let null = Rule::compile("Country IS NULL", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(null.columns(), [(4, Text)]);
        // a column listed first takes the type of the values after it
        let listed = Rule::compile("Quantity IN (Price, 1)", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listed.columns(), [(2, Number), (3, Number)]);
        let coalesced =
            Formula::compile("COALESCE(折扣, Price)", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(coalesced.columns(), [(3, Number), (5, Number)]);
        assert_eq!(coalesced.value(&line("1", "A", None, 4.0, None)), Some(4.0));
    }

    #[test]
    fn two_file_columns_ordered_against_each_other_are_numbers_and_emptiness_has_no_type() {
        let c = file();
        use ColumnType::{Number, Text};
        // as text, "10" > "9" would be false
        let more = Rule::compile("Quantity > Price", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(more.columns(), [(2, Number), (3, Number)]);
        assert!(more.matches(&line("1", "A", Some(10.0), 9.0, None)));
        let between =
            Rule::compile("Quantity BETWEEN Price AND 折扣", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(between.columns(), [(2, Number), (3, Number), (5, Number)]);
        // equal is equal as written (codes, invoices)
        let same = Rule::compile("Invoice = StockCode", &c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(same.columns(), [(0, Text), (1, Text)]);
        assert!(same.free_columns().is_empty());
        // a column only tested for emptiness has no type of its own
        let empty = Rule::compile("Price IS NOT NULL AND Country <> 'x'", &c)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(empty.free_columns(), [3]);
    }

    #[test]
    fn a_files_column_used_as_two_types_or_a_formula_that_is_no_number_is_refused() {
        let c = file();
        let both = Rule::compile("Quantity > 0 AND Quantity = 'x'", &c)
            .map(|_| ())
            .expect_err("an error");
        assert!(
            both.message.contains("compares a number with a text"),
            "{both}"
        );
        let text = Formula::compile("Country || 'x'", &c)
            .map(|_| ())
            .expect_err("an error");
        assert!(text.message.contains("not supported"), "{text}");
        let cond = Formula::compile("Quantity > 0", &c)
            .map(|_| ())
            .expect_err("an error");
        assert_eq!(
            cond.message,
            "the expression is a condition (true or false), not a number"
        );
        let unknown = Formula::compile("Quantity * Prise", &c)
            .map(|_| ())
            .expect_err("an error");
        assert_eq!(
            *unknown.kind,
            RuleErrorKind::UnknownColumn {
                name: "Prise".into(),
                suggestion: Some("Price".into())
            }
        );
        let function = Formula::compile("ROUND(Price, 2)", &c)
            .map(|_| ())
            .expect_err("an error");
        assert!(function.message.contains("function `ROUND`"), "{function}");
        let empty = Formula::compile("COALESCE()", &c)
            .map(|_| ())
            .expect_err("an error");
        assert!(
            empty
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("one or more")),
            "{empty}"
        );
    }

    #[test]
    fn coalesce_works_in_rules_over_typed_columns() {
        let r = rule("COALESCE(last_nps, 0) < 7");
        assert!(r.matches(&row(1.0, 1.0, "x", None)));
        assert!(!r.matches(&row(1.0, 1.0, "x", Some(9.0))));
        assert!(
            r.explain(&row(1.0, 1.0, "x", None), &catalog())
                .contains("(COALESCE(last_nps, 0))=0 < 7")
        );
        assert!(
            error("COALESCE(industry, 0) = 1").contains("COALESCE compares a text with a number")
        );
    }

    #[test]
    fn a_long_chain_inside_coalesce_is_refused_not_a_stack_overflow() {
        let sql = format!("COALESCE({}, 0)", vec!["annual_revenue"; 5_000].join(" + "));
        let e = Formula::compile(&sql, &catalog())
            .map(|_| ())
            .expect_err("an error");
        assert_eq!(*e.kind, RuleErrorKind::TooDeep { limit: MAX_DEPTH });
    }
}

#[cfg(test)]
mod threshold_tests {
    use super::*;

    fn t(column: &str, op: Cmp, value: f64) -> Threshold {
        Threshold {
            column: column.into(),
            op,
            value,
        }
    }

    #[test]
    fn thresholds_are_the_comparisons_of_a_column_with_a_number_in_rule_order() {
        let found = thresholds(
            "annual_revenue >= 1000000 AND (24 <= tenure_months OR lifecycle = 'new') \
             AND recency_days BETWEEN 0 AND 90 AND NOT x BETWEEN 1 AND 2 AND growth > -0.5",
        );
        assert_eq!(
            found,
            [
                t("annual_revenue", Cmp::Ge, 1_000_000.0),
                t("tenure_months", Cmp::Ge, 24.0),
                t("recency_days", Cmp::Ge, 0.0),
                t("recency_days", Cmp::Le, 90.0),
                t("growth", Cmp::Gt, -0.5),
            ]
        );
        assert!(found[0].holds(1_250_000.0) && !found[0].holds(820_000.0));
        assert!(thresholds("this is not sql ((").is_empty());
        assert!(thresholds("a = b").is_empty());
    }
}
