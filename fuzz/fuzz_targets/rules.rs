//! Rule text of any kind through the parser, the type checker and the evaluator: a rule either
//! compiles or is an error with a position, and a compiled rule evaluates and explains itself
//! on any row (numbers, text, empty values) without a panic. The same text as a formula and a
//! rule over a file's untyped columns (`--amount`, `--where`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratum_core::scheme::{Catalog, ColumnType, Formula, Row, Rule, Value};

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
    let mut file = Catalog::new();
    for name in ["Quantity", "Price", "Invoice", "国家"] {
        file.push_untyped(name);
    }
    let file_rows = [
        R(vec![
            Value::Number(12.0),
            Value::Number(2.55),
            Value::Text("C489449"),
            Value::Text("中国"),
        ]),
        R(vec![Value::Null; 4]),
        R(vec![
            Value::Number(f64::MAX),
            Value::Number(0.0),
            Value::Text(""),
            Value::Text("%"),
        ]),
    ];
    if let Ok(f) = Formula::compile(sql, &file) {
        for row in &file_rows {
            let _ = (f.value(row), f.empty_column(row));
        }
    }
    if let Ok(r) = Rule::compile(sql, &file) {
        for row in &file_rows {
            if r.matches(row) {
                let _ = r.explain(row, &file);
            }
        }
    }
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
