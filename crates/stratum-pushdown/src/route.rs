//! Where the statements run, and the plan in words.
//!
//! PostgreSQL, the MySQL protocol and a ClickHouse table that is not distributed run every
//! level on one node. A ClickHouse `Distributed` table is spread over shards, and ClickHouse
//! does not move rows between them: a shard can only dedupe and aggregate its part exactly
//! when every row of a customer sits on the same shard, that is when the table is sharded by
//! the customer id column alone and no id needs trimming (two spellings of one id could sit on
//! two shards). Then each shard runs the statements on its local table (**full pushdown**) and
//! Stratum adds the parts up. Otherwise the statements read the `Distributed` table through
//! the server of the URL: exact, but every distinct line flows to that server (**merge on the
//! initiator**), which does not scale; the plan says why, and what would make it scale.

use stratum_core::scheme::params::Label;

use crate::PushdownError;
use crate::connect::{ClickHouse, ClickHouseUrl, ch_literal};
use crate::source::Engine;
use crate::sql::Shape;

/// How the table is laid out, as far as the plan cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One node runs every level.
    SingleNode,
    /// Each shard runs every level on its part: the table is sharded by customer id.
    FullPushdown {
        /// The sharding key, as the table defines it.
        key: String,
        /// How many shards.
        shards: usize,
    },
    /// The server of the URL reads the whole table from the shards and aggregates it.
    Merge {
        /// The sharding key, as the table defines it (`none` without one).
        key: String,
        /// Why.
        why: MergeWhy,
    },
}

/// Why a sharded table is merged on the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MergeWhy {
    /// The key is not the customer id column (or a hash of it alone).
    Key,
    /// This many rows have a customer id that trimming changes.
    Untrimmed(u64),
    /// Two shards share a host: Stratum reaches a shard at the URL's port, so it could not
    /// tell them apart.
    SharedHost(String),
}

/// Where the statements run.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The layout.
    pub(crate) layout: Layout,
    /// Under full pushdown: each shard, and the table that holds its part (`db.table`).
    pub(crate) shards: Vec<ClickHouseUrl>,
    /// Under full pushdown: the shards' table (`database.table`).
    pub(crate) local_table: String,
}

impl Route {
    /// Every level on the node of the URL.
    pub(crate) fn single_node() -> Self {
        Route {
            layout: Layout::SingleNode,
            shards: Vec::new(),
            local_table: String::new(),
        }
    }

    /// A merge on the server of the URL.
    fn merge(key: String, why: MergeWhy) -> Self {
        Route {
            layout: Layout::Merge { key, why },
            ..Route::single_node()
        }
    }
}

impl Route {
    /// The shape each statement reads: the shards' own table under full pushdown.
    pub(crate) fn statement_shape(&self, shape: &Shape) -> Shape {
        match self.layout {
            Layout::FullPushdown { .. } => Shape {
                table: self.local_table.clone(),
                ..shape.clone()
            },
            _ => shape.clone(),
        }
    }
}

impl Layout {
    /// The plan's code in the quality report: Spark's one statement runs on the whole
    /// cluster, which shuffles by customer itself (a full pushdown).
    pub(crate) fn code(&self, engine: Engine) -> &'static str {
        match self {
            Layout::SingleNode if engine == Engine::Spark => "full_pushdown",
            Layout::SingleNode => "single_node",
            Layout::FullPushdown { .. } => "full_pushdown",
            Layout::Merge { .. } => "merge_on_initiator",
        }
    }

    /// The plan in words, in Chinese and English; `per_day` when a row per customer and
    /// day comes back.
    pub(crate) fn text(&self, engine: Engine, per_day: bool) -> Label {
        let (zh_rows, en_rows) = if per_day {
            (
                "每位客户每天返回一行",
                "one row per customer and day streams back",
            )
        } else {
            ("每位客户返回一行", "one row per customer streams back")
        };
        match self {
            Layout::SingleNode => {
                let (zh, en) = match engine {
                    Engine::Postgres => ("PostgreSQL", "PostgreSQL"),
                    Engine::MySql => ("MySQL 协议服务器", "the MySQL-protocol server"),
                    Engine::ClickHouse => ("ClickHouse", "ClickHouse"),
                    Engine::Spark => {
                        return Label {
                            zh: format!(
                                "完全下推：Spark 按客户在执行器间重分区，执行去重与两级聚合，{zh_rows}"
                            ),
                            en: format!(
                                "full pushdown: Spark shuffles the rows by customer across its executors and runs the dedupe and both aggregation levels; {en_rows}"
                            ),
                        };
                    }
                };
                Label {
                    zh: format!("单节点完全下推：{zh}执行去重与两级聚合，{zh_rows}"),
                    en: format!(
                        "full pushdown on one node: {en} runs the dedupe and both aggregation levels; {en_rows}"
                    ),
                }
            }
            Layout::FullPushdown { key, shards } => Label {
                zh: format!(
                    "完全下推：表按 {key} 分片，{shards} 个分片各自对其数据执行去重与两级聚合，{zh_rows}"
                ),
                en: format!(
                    "full pushdown: table sharded by {key}; each of the {shards} shards runs the dedupe and both aggregation levels on its part, and {en_rows}"
                ),
            },
            Layout::Merge {
                key,
                why: MergeWhy::Key,
            } => Label {
                zh: format!(
                    "在发起节点合并：分片键为 {key}，去重后的每一行都流向发起节点，由它执行两级聚合，{zh_rows}；这无法扩展，请按客户编号分片"
                ),
                en: format!(
                    "merge on the initiator: sharding key is {key}; every distinct line flows to the initiator, which runs both aggregation levels, and {en_rows}; this does not scale, shard by customer id"
                ),
            },
            Layout::Merge {
                key,
                why: MergeWhy::SharedHost(host),
            } => Label {
                zh: format!(
                    "在发起节点合并：表按 {key} 分片，但有多个分片位于同一主机 {host}，Stratum 以 URL 的端口访问分片，无法区分它们；去重后的每一行都流向发起节点，{zh_rows}"
                ),
                en: format!(
                    "merge on the initiator: table sharded by {key}, but several shards sit on host {host}, and Stratum reaches a shard at the URL's port, so it cannot tell them apart; every distinct line flows to the initiator, and {en_rows}"
                ),
            },
            Layout::Merge {
                key,
                why: MergeWhy::Untrimmed(untrimmed),
            } => Label {
                zh: format!(
                    "在发起节点合并：表按 {key} 分片，但有 {untrimmed} 行的客户编号首尾带空白，同一客户的行可能分布在多个分片；去重后的每一行都流向发起节点，{zh_rows}；这无法扩展，请去除表中客户编号首尾的空白"
                ),
                en: format!(
                    "merge on the initiator: table sharded by {key}, but {untrimmed} rows have a customer id with whitespace around it, so one customer's rows may sit on several shards; every distinct line flows to the initiator, and {en_rows}; this does not scale, trim the ids in the table"
                ),
            },
        }
    }
}

/// The route of a ClickHouse table: one node, full pushdown or a merge (see the module).
pub(crate) fn clickhouse_route(
    ch: &mut ClickHouse,
    url: &ClickHouseUrl,
    shape: &Shape,
) -> Result<Route, PushdownError> {
    let Some((engine, full)) = ch.engine_of(&shape.table)? else {
        return Ok(Route::single_node());
    };
    if engine != "Distributed" {
        return Ok(Route::single_node());
    }
    let Some(args) = distributed_args(&full) else {
        return Ok(Route::merge(full, MergeWhy::Key));
    };
    let Some(key) = args.key else {
        return Ok(Route::merge("none".into(), MergeWhy::Key));
    };
    let customer = &shape.columns[shape.customer_id].name;
    if !keyed_by(&key, customer) {
        return Ok(Route::merge(key, MergeWhy::Key));
    }
    let count = ch
        .rows(&shape.untrimmed_ids_sql())?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten());
    let untrimmed = count
        .as_deref()
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| crate::PushdownError::BadValue {
            column: "untrimmed customer ids",
            value: count.clone().unwrap_or_else(|| "no row".into()),
            expected: "a count",
        })?;
    if untrimmed > 0 {
        return Ok(Route::merge(key, MergeWhy::Untrimmed(untrimmed)));
    }
    let hosts = ch.shards(&args.cluster)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(shared) = hosts.iter().find(|h| !seen.insert(h.as_str())) {
        return Ok(Route::merge(key, MergeWhy::SharedHost(shared.clone())));
    }
    if hosts.is_empty() {
        return Err(PushdownError::Query {
            message: format!(
                "cluster {} of table {} has no shards in system.clusters",
                ch_literal(&args.cluster),
                shape.table
            ),
        });
    }
    // the database argument may be an expression (currentDatabase()): the table's own then
    let database = if args.database.contains('(') {
        ch.split(&shape.table).0.to_string()
    } else {
        args.database
    };
    Ok(Route {
        layout: Layout::FullPushdown {
            key,
            shards: hosts.len(),
        },
        shards: hosts.iter().map(|h| url.at(h, &database)).collect(),
        local_table: format!("{database}.{}", args.table),
    })
}

/// The arguments of `Distributed(cluster, database, table[, sharding_key[, policy]])`.
#[derive(Debug, PartialEq, Eq)]
struct DistributedArgs {
    cluster: String,
    database: String,
    table: String,
    key: Option<String>,
}

/// Reads an engine definition such as `Distributed(stratum, default, orders_local,
/// cityHash64(customer_id))`; names may be quoted (`'name'`, `` `name` ``).
fn distributed_args(engine_full: &str) -> Option<DistributedArgs> {
    let inner = engine_full.trim().strip_prefix("Distributed(")?;
    // the arguments end at the parenthesis that closes the engine's
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    let mut args = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                let last = args.last_mut()?;
                last.push(c);
                last.extend(chars.next());
                continue;
            }
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '`' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            (None, ',') if depth == 1 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut()?.push(c);
    }
    if depth != 0 {
        return None;
    }
    let unquote = |s: &str| {
        let s = s.trim();
        for q in ['\'', '`', '"'] {
            if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
                return inner.replace(&format!("\\{q}"), &q.to_string());
            }
        }
        s.to_string()
    };
    let mut args = args.into_iter();
    Some(DistributedArgs {
        cluster: unquote(&args.next()?),
        database: unquote(&args.next()?),
        table: unquote(&args.next()?),
        key: args.next().map(|k| k.trim().to_string()),
    })
}

/// The deterministic hashes ClickHouse shards by (a key of one of these over the customer id
/// alone keeps each customer on one shard).
const HASHES: [&str; 12] = [
    "cityHash64",
    "sipHash64",
    "sipHash128",
    "halfMD5",
    "intHash32",
    "intHash64",
    "farmHash64",
    "metroHash64",
    "murmurHash2_32",
    "murmurHash2_64",
    "murmurHash3_32",
    "murmurHash3_64",
];

/// Whether sharding key `key` puts each customer on one shard: `customer`, or one of
/// [`HASHES`] of `customer` alone, the column plain or backquoted. Anything else (another
/// column, a random part, a call Stratum does not know) is not taken on trust.
fn keyed_by(key: &str, customer: &str) -> bool {
    let column = |s: &str| {
        let s = s.trim();
        s == customer || s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) == Some(customer)
    };
    let key = key.trim();
    if column(key) {
        return true;
    }
    HASHES.iter().any(|h| {
        key.strip_prefix(h)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .is_some_and(column)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributed_engines_are_read() {
        let a = distributed_args(
            "Distributed(stratum, default, orders_local, cityHash64(customer_id))",
        );
        assert_eq!(
            a,
            Some(DistributedArgs {
                cluster: "stratum".into(),
                database: "default".into(),
                table: "orders_local".into(),
                key: Some("cityHash64(customer_id)".into()),
            })
        );
        let b = distributed_args("Distributed('c', 'sales', `t,1`)").expect("args");
        assert_eq!((b.table.as_str(), b.key), ("t,1", None));
        assert_eq!(distributed_args("MergeTree ORDER BY id"), None);
    }

    #[test]
    fn only_a_hash_of_the_customer_column_alone_is_trusted() {
        let c = "customer_id";
        assert!(keyed_by("cityHash64(customer_id)", c));
        assert!(keyed_by(" sipHash64( `customer_id` ) ", c));
        assert!(keyed_by("customer_id", c));
        assert!(keyed_by("intHash64(`客户 id`)", "客户 id"));
        for key in [
            "rand()",
            "cityHash64(customer_id, order_id)",
            "cityHash64(customer_id) + rand() % 2",
            "cityHash64(concat(customer_id, '\\'', order_id, ''))",
            "cityHash64(order_id)",
            "myHash(customer_id)",
        ] {
            assert!(!keyed_by(key, c), "{key}");
        }
    }

    #[test]
    fn the_plan_says_why_it_does_not_scale() {
        let merge = Layout::Merge {
            key: "rand()".into(),
            why: MergeWhy::Key,
        };
        let text = merge.text(Engine::ClickHouse, false).en;
        assert!(
            text.starts_with("merge on the initiator: sharding key is rand()"),
            "{text}"
        );
        assert!(text.ends_with("shard by customer id"), "{text}");
        let full = Layout::FullPushdown {
            key: "cityHash64(customer_id)".into(),
            shards: 3,
        };
        let text = full.text(Engine::ClickHouse, true).en;
        assert!(
            text.starts_with(
                "full pushdown: table sharded by cityHash64(customer_id); each of the 3 shards"
            ),
            "{text}"
        );
        assert_eq!(full.code(Engine::ClickHouse), "full_pushdown");
        assert_eq!(Layout::SingleNode.code(Engine::Spark), "full_pushdown");
        assert_eq!(Layout::SingleNode.code(Engine::Postgres), "single_node");
    }
}
