//! A message as receivers read it: the JSON event of webhooks and files, and the Markdown
//! digest of chat robots, in the alert's language, within each robot's size limit.

use chrono::{DateTime, Utc};
use stratum_core::format::number;
use stratum_store::outbox::Message;

/// WeCom's limit on a Markdown message, in bytes of UTF-8.
pub const WECOM_BYTES: usize = 4096;
/// What a DingTalk Markdown message is kept within.
pub const DINGTALK_BYTES: usize = 5000;
/// What a Feishu card's Markdown is kept within (the whole request may be 20 KB).
pub const FEISHU_BYTES: usize = 15_000;

/// The event a webhook or a file receives: `{type, timestamp, data}`, `data` the digest with
/// the message's id, run and as-of date.
pub fn event(m: &Message, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "type": "stratum.alert",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "id": m.id,
            "run": m.run,
            "as_of": m.as_of,
            "alert": m.digest.alert,
            "title": m.digest.title,
            "recipient": m.digest.recipient,
            "lang": m.digest.lang,
            "alerts": m.digest.alerts,
        },
    })
}

fn zh(m: &Message) -> bool {
    m.digest.lang == "zh"
}

/// The digest's title: the alert's and who it is for.
pub fn title(m: &Message) -> String {
    let d = &m.digest;
    let who = if d.recipient.is_empty() {
        if zh(m) {
            "未分配客户经理".to_string()
        } else {
            "no account manager".to_string()
        }
    } else {
        d.recipient.clone()
    };
    format!("{} · {who}", d.title)
}

/// The digest in Markdown, at most `limit` bytes: a heading, the run, then per alert (a
/// heading when there are several) a line per customer (tier before → now, revenue, why, the
/// next step); the customers that do not fit are counted at the end.
pub fn markdown(m: &Message, limit: usize) -> String {
    let d = &m.digest;
    let zh = zh(m);
    let n = d.customers();
    let mut out = format!("### {}\n", title(m));
    out.push_str(&if zh {
        format!("运行 #{}（分析日期 {}）· {n} 位客户\n\n", m.run, m.as_of)
    } else {
        format!("Run #{} (as of {}) · {n} customers\n\n", m.run, m.as_of)
    });
    let mut shown = 0;
    'sections: for section in &d.alerts {
        if d.alerts.len() > 1 {
            let heading = format!("#### {} ({})\n", section.title, section.customers.len());
            if out.len() + heading.len() + 40 > limit {
                break;
            }
            out.push_str(&heading);
        }
        for item in &section.customers {
            let line = item_line(item, zh);
            let rest = n - shown - 1;
            let tail = if rest > 0 { 40 } else { 0 };
            if out.len() + line.len() + tail > limit {
                break 'sections;
            }
            out.push_str(&line);
            shown += 1;
        }
    }
    if shown < n {
        out.push_str(&if zh {
            format!("\n……另有 {} 位客户", n - shown)
        } else {
            format!("\n… and {} more", n - shown)
        });
    }
    out
}

/// One customer of a digest in Markdown: tier before → now, revenue, why, the next step.
fn item_line(item: &stratum_core::scheme::alerts::DigestItem, zh: bool) -> String {
    let from = item
        .from_label
        .clone()
        .unwrap_or_else(|| if zh { "新客户" } else { "new" }.to_string());
    let mut line = format!(
        "- **{}** {from} → {} · {}\n",
        item.customer_id,
        item.to_label,
        number(item.revenue, 0)
    );
    line.push_str(&if zh {
        format!("  原因：{}", item.reason)
    } else {
        format!("  why: {}", item.reason)
    });
    if !item.next_step.is_empty() {
        line.push_str(&if zh {
            format!("；下一步：{}", item.next_step)
        } else {
            format!("; next: {}", item.next_step)
        });
    }
    line.push('\n');
    line
}

/// `text` with the characters HTML gives a meaning escaped.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The digest as an HTML e-mail body: the title, the run, and a list of the customers.
pub fn html(m: &Message) -> String {
    let d = &m.digest;
    let zh = zh(m);
    let mut out = format!(
        "<!DOCTYPE html><html><body><h3>{}</h3><p>{}</p>",
        esc(&title(m)),
        esc(&if zh {
            format!(
                "运行 #{}（分析日期 {}）· {} 位客户",
                m.run,
                m.as_of,
                d.customers()
            )
        } else {
            format!(
                "Run #{} (as of {}) · {} customers",
                m.run,
                m.as_of,
                d.customers()
            )
        })
    );
    for section in &d.alerts {
        if d.alerts.len() > 1 {
            out.push_str(&format!("<h4>{}</h4>", esc(&section.title)));
        }
        out.push_str("<ul>");
        for item in &section.customers {
            let from = item
                .from_label
                .clone()
                .unwrap_or_else(|| if zh { "新客户" } else { "new" }.to_string());
            out.push_str(&format!(
                "<li><b>{}</b> {} → {} · {}<br>{} {}",
                esc(&item.customer_id),
                esc(&from),
                esc(&item.to_label),
                esc(&number(item.revenue, 0)),
                if zh { "原因：" } else { "why:" },
                esc(&item.reason)
            ));
            if !item.next_step.is_empty() {
                out.push_str(&format!(
                    "<br>{} {}",
                    if zh { "下一步：" } else { "next:" },
                    esc(&item.next_step)
                ));
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</body></html>");
    out
}
