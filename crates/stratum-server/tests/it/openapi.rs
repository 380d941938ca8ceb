//! The OpenAPI document: every API route is in it, and every answer (success and error) is
//! one it documents, with a body valid against the documented schema.

use serde_json::{Value, json};

use super::fixture::fixtures;
use super::{Auth, call};

/// The schema of the answer of `method path` with `status`, as a JSON Schema that resolves
/// the document's `#/components/...` references.
fn response_schema(doc: &Value, path: &str, method: &str, status: u16) -> Option<Value> {
    let op = &doc["paths"][path][method];
    let response = &op["responses"][status.to_string()];
    if response.is_null() {
        return None;
    }
    let schema = response["content"]["application/json"]["schema"].clone();
    let mut root = json!({ "components": doc["components"].clone() });
    if schema.is_null() {
        // an answer without a body (204)
        root["const"] = Value::Null;
        return Some(root);
    }
    if let (Some(obj), Some(s)) = (root.as_object_mut(), schema.as_object()) {
        for (k, v) in s {
            obj.insert(k.clone(), v.clone());
        }
    }
    Some(root)
}

fn check(doc: &Value, template: &str, method: &str, status: u16, body: &str) -> Result<(), String> {
    let schema = response_schema(doc, template, method, status).ok_or_else(|| {
        format!("{method} {template}: answer {status} is not documented ({body})")
    })?;
    let content = &doc["paths"][template][method]["responses"][status.to_string()]["content"];
    if content.is_object() && content["application/json"].is_null() {
        // a file (an export): documented, not JSON
        return Ok(());
    }
    if status == 204 {
        return if body.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {template}: 204 with a body"))
        };
    }
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("{method} {template}: not JSON: {e}"))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("{method} {template}: schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {template} {status}: {}",
            errors.join("; ")
        ))
    }
}

#[test]
fn every_route_is_documented_and_every_answer_matches_the_document() {
    let f = fixtures("openapi").into_iter().next().expect("sqlite");
    let admin = f.tokens[3].clone();
    let doc = call(&f, "GET", "/api/openapi.json", Auth::None, None);
    assert_eq!(doc.status, 200);
    let doc = doc.json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    // query parameters are documented as such (a path parameter is in the path's template)
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("methods") {
            for p in op["parameters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let name = p["name"].as_str().unwrap_or("");
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    p["in"] == "path",
                    in_path,
                    "{method} {path}: parameter {name} is `in: {}`",
                    p["in"]
                );
            }
        }
    }
    for expected in [
        "/api/me",
        "/api/runs",
        "/api/runs/{id}",
        "/api/customers",
        "/api/customers/{id}",
        "/api/customers/{id}/profile",
        "/api/migrations",
        "/api/worklist",
        "/api/alerts",
        "/api/schemes",
        "/api/schemes/{id}",
        "/api/schemes/diff",
        "/api/users",
        "/api/tokens",
        "/api/tokens/{id}",
        "/api/audit",
        "/api/funnel",
        "/api/reviews",
        "/api/reviews/stats",
        "/api/customers/{id}/review",
        "/api/reviews/{id}/decision",
        "/api/scorecards",
        "/api/customers/{id}/follow-ups",
        "/api/pool",
        "/api/pool/{id}/claim",
        "/api/pool/{id}/release",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} is not in the document"
        );
    }
    let mut failures = Vec::new();
    // every documented GET, as the admin, with its ids filled in; then the errors documented
    for template in &paths {
        let methods = doc["paths"][template].as_object().expect("methods");
        if !methods.contains_key("get") {
            continue;
        }
        let concrete = template
            .replace("/api/runs/{id}/export", "/api/runs/2/export")
            .replace("/api/runs/{id}", "/api/runs/2")
            .replace("/api/customers/{id}", "/api/customers/B")
            .replace("/api/schemes/{id}", "/api/schemes/1")
            .replace("/api/jobs/{id}", "/api/jobs/1");
        let concrete = match concrete.as_str() {
            "/api/worklist" => "/api/worklist?manager=%E5%BC%A0%E4%BC%9F".to_string(),
            "/api/scorecards" => "/api/scorecards?period=2025-03".to_string(),
            _ => concrete,
        };
        for (path, token) in [(concrete.clone(), Some(&admin)), (concrete.clone(), None)] {
            let auth = token.map_or(Auth::None, |t| Auth::Token(t));
            let a = call(&f, "GET", &path, auth, None);
            if let Err(e) = check(&doc, template, "get", a.status, &a.body) {
                failures.push(e);
            }
        }
    }
    // errors: not found, bad request, forbidden
    for (template, path, token) in [
        ("/api/runs/{id}", "/api/runs/99", &admin),
        ("/api/customers", "/api/customers?order=sideways", &admin),
        ("/api/customers/{id}", "/api/customers/D", &f.tokens[1]),
        ("/api/alerts", "/api/alerts", &f.tokens[0]),
        ("/api/migrations", "/api/migrations?dimension=nope", &admin),
        ("/api/runs/{id}", "/api/runs/seven", &admin),
        ("/api/customers", "/api/customers?page=first", &admin),
        ("/api/schemes/diff", "/api/schemes/diff?from=1&to=1", &admin),
        ("/api/schemes/diff", "/api/schemes/diff?to=99", &admin),
        ("/api/scorecards", "/api/scorecards?period=2020", &admin),
        ("/api/scorecards", "/api/scorecards", &admin),
    ] {
        let a = call(&f, "GET", path, Auth::Token(token), None);
        if let Err(e) = check(&doc, template, "get", a.status, &a.body) {
            failures.push(e);
        }
    }
    // a review: a dispute, its approval, a second decision, a bad dispute
    let zhang = &f.tokens[1];
    let dispute = r#"{"verdict":"dispute","proposed_tier":"small","reason":"only one big order"}"#;
    let a = call(
        &f,
        "POST",
        "/api/customers/B/review",
        Auth::Token(zhang),
        Some(("application/json", dispute)),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    failures.extend(
        check(
            &doc,
            "/api/customers/{id}/review",
            "post",
            a.status,
            &a.body,
        )
        .err(),
    );
    let review = a.json()["id"].as_i64().expect("review id");
    let a = call(
        &f,
        "POST",
        "/api/customers/B/review",
        Auth::Token(zhang),
        Some(("application/json", r#"{"verdict":"dispute"}"#)),
    );
    failures.extend(
        check(
            &doc,
            "/api/customers/{id}/review",
            "post",
            a.status,
            &a.body,
        )
        .err(),
    );
    for want in [200, 409] {
        let a = call(
            &f,
            "POST",
            &format!("/api/reviews/{review}/decision"),
            Auth::Token(&admin),
            Some(("application/json", r#"{"approve":true,"answer":"ok"}"#)),
        );
        assert_eq!(a.status, want, "{}", a.body);
        failures.extend(
            check(
                &doc,
                "/api/reviews/{id}/decision",
                "post",
                a.status,
                &a.body,
            )
            .err(),
        );
    }
    for path in ["/api/reviews", "/api/reviews/stats"] {
        let a = call(&f, "GET", path, Auth::Token(&admin), None);
        failures.extend(check(&doc, path, "get", a.status, &a.body).err());
    }
    // changes: a user added, a token created and revoked, a user added twice
    let body = r#"{"name":"sam","role":"manager","book":"张伟"}"#;
    let a = call(
        &f,
        "POST",
        "/api/users",
        Auth::Token(&admin),
        Some(("application/json", body)),
    );
    failures.extend(check(&doc, "/api/users", "post", a.status, &a.body).err());
    let a = call(
        &f,
        "POST",
        "/api/users",
        Auth::Token(&admin),
        Some(("application/json", body)),
    );
    assert_eq!(a.status, 409);
    failures.extend(check(&doc, "/api/users", "post", a.status, &a.body).err());
    let a = call(
        &f,
        "POST",
        "/api/tokens",
        Auth::Token(&admin),
        Some(("application/json", r#"{"user":"sam","label":"crm"}"#)),
    );
    failures.extend(check(&doc, "/api/tokens", "post", a.status, &a.body).err());
    let created = a.json();
    let id = created["id"].as_str().expect("id").to_string();
    let sam = created["token"].as_str().expect("token").to_string();
    assert_eq!(
        call(&f, "GET", "/api/me", Auth::Token(&sam), None).json()["book"],
        "张伟"
    );
    let a = call(
        &f,
        "DELETE",
        &format!("/api/tokens/{id}"),
        Auth::Token(&admin),
        None,
    );
    failures.extend(check(&doc, "/api/tokens/{id}", "delete", a.status, &a.body).err());
    assert_eq!(
        call(&f, "GET", "/api/me", Auth::Token(&sam), None).status,
        401,
        "revoked"
    );
    // a preview and a version published
    let draft = super::fixture::SCHEME.replace("monetary >= 1000", "monetary >= 1200");
    for (path, body) in [
        ("/api/preview", serde_json::json!({ "text": draft })),
        ("/api/preview", serde_json::json!({ "text": "not = [toml" })),
        (
            "/api/schemes",
            serde_json::json!({ "text": draft, "message": "higher bar" }),
        ),
    ] {
        let body = body.to_string();
        let a = call(
            &f,
            "POST",
            path,
            Auth::Token(&admin),
            Some(("application/json", &body)),
        );
        failures.extend(check(&doc, path, "post", a.status, &a.body).err());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
