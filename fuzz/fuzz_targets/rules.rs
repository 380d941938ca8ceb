//! Rule text of any kind through the parser, the type checker and the evaluator: a rule either
//! compiles or is an error with a position, and a compiled rule evaluates and explains itself
//! on any row (numbers, text, empty values) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_core::scheme::{Catalog, ColumnType, Row, Rule, Value};

struct R(Vec<Value<'static>>);

impl Row for R {
    fn get(&self, column: usize) -> Value<'_> {
        self.0.get(column).copied().unwrap_or(Value::Null)
    }
}

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    c.push("monetary", ColumnType::Number);
    c.push("frequency", ColumnType::Number);
    c.push("lifecycle", ColumnType::Text);
    c.push("last_nps", ColumnType::Number);
    c.push("客户经理", ColumnType::Text);
    c
}

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let catalog = catalog();
    let Ok(rule) = Rule::compile(sql, &catalog) else {
        return;
    };
    let rows = [
        R(vec![
            Value::Number(1_200.5),
            Value::Number(3.0),
            Value::Text("active"),
            Value::Number(9.0),
            Value::Text("张伟"),
        ]),
        R(vec![Value::Null; 5]),
        R(vec![
            Value::Number(f64::MAX),
            Value::Number(-0.0),
            Value::Text(""),
            Value::Number(f64::MIN_POSITIVE),
            Value::Text("%_'"),
        ]),
    ];
    for row in &rows {
        if rule.matches(row) {
            let _ = rule.explain(row, &catalog);
        }
    }
});
