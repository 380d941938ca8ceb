//! The data-quality report of one run: what was read, what was used, what was left out and
//! why. Printed to the terminal, written to `quality.json` and to the workbook.

use chrono::NaiveDate;
use stratum_core::abc::Pareto;
use stratum_core::{Lang, Money};

use crate::format::{money, pct, thousands};
use crate::master::MasterQuality;
use crate::transactions::{Duplicates, RowCounts, TransactionQuality};

/// Where the analysis date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsOfSource {
    /// Given with `--as-of`.
    Given,
    /// The day after the last transaction in the data.
    DayAfterLastTransaction,
}

/// The quality report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QualityReport {
    /// The analysis date.
    pub as_of: NaiveDate,
    /// Where it came from.
    pub as_of_source: AsOfSource,
    /// The transaction file.
    pub transactions: TransactionQuality,
    /// The customer master file, if one was given.
    pub customer_master: Option<MasterQuality>,
    /// Customers scored.
    pub customers: usize,
    /// Customers with lines but no purchase before `as_of` (refunds or zero amounts only): not
    /// scored, listed in `unscored.csv`.
    pub unscored_customers: usize,
    /// Net amount of those customers' refunds.
    pub unscored_amount: Money,
    /// Accepted lines dated on or after `as_of`: not used.
    pub lines_after_as_of: u64,
    /// Their net amount.
    pub amount_after_as_of: Money,
    /// Scored customers missing from the master file.
    pub customers_not_in_master: Option<usize>,
    /// Master-file customers with no transactions before `as_of`.
    pub master_customers_without_transactions: Option<usize>,
    /// Net monetary value of the scored customers.
    pub scored_revenue: Money,
    /// The Pareto figures.
    pub pareto: Pareto,
    /// The opportunities file of the sales funnel, if one was given.
    pub opportunities: Option<OpportunitiesQuality>,
    /// The tier scheme's inputs and figures, with `--scheme`.
    pub scheme: Option<SchemeQuality>,
}

/// One extra input file (interactions, overrides): where, how mapped, what became of its rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InputQuality {
    /// The file.
    pub path: std::path::PathBuf,
    /// How its fields were mapped.
    pub columns: Vec<crate::mapping::MappedColumn>,
    /// Row accounting.
    #[serde(flatten)]
    pub counts: RowCounts,
}

/// What the sales funnel read and counted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpportunitiesQuality {
    /// The file and its rows.
    pub input: InputQuality,
    /// Opportunities counted (created before the analysis date).
    pub opportunities: usize,
    /// Opportunities created on or after the analysis date: not counted.
    pub created_after_as_of: usize,
    /// Opportunities whose customer is not among the scored customers (prospects, or ids
    /// written differently): counted, without a tier.
    pub customers_not_scored: usize,
}

/// An override that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoredOverride {
    /// The customer.
    pub customer_id: String,
    /// The tier it named.
    pub tier: String,
    /// `expired`, `unknown_tier`, `unknown_customer` or `superseded`.
    pub why: &'static str,
}

/// What a scheme run used and found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchemeQuality {
    /// The scheme file.
    pub path: std::path::PathBuf,
    /// The scheme's name.
    pub name: Option<String>,
    /// The interactions file, if given.
    pub interactions: Option<InputQuality>,
    /// Accepted interactions dated on or after the analysis date: not used.
    pub interactions_after_as_of: u64,
    /// Customers with interactions who are not among the scored customers (their
    /// interactions are not used; many of them may mean ids written differently).
    pub interaction_customers_not_scored: usize,
    /// Master rows whose signup date cannot be read (tenure counts from the first order).
    pub signup_dates_unreadable: usize,
    /// The overrides file, if given.
    pub overrides: Option<InputQuality>,
    /// Overrides applied.
    pub overrides_applied: usize,
    /// Overrides not applied.
    pub overrides_ignored: Vec<IgnoredOverride>,
    /// NPS of the scored customers (last answer each), −100 to 100.
    pub nps: Option<f64>,
    /// Scored customers with an NPS answer.
    pub nps_answers: usize,
    /// What the analyst should know about the tiers (empty tiers, values no customer has).
    pub warnings: Vec<stratum_core::scheme::SchemeWarning>,
}

/// What a quality report is made of besides the run's tiers: the inputs' accounting and the
/// scheme's file.
#[derive(Debug)]
pub struct QualityInputs<'a> {
    /// Where the analysis date came from.
    pub as_of_source: AsOfSource,
    /// The transactions' accounting.
    pub transactions: TransactionQuality,
    /// The customer master and its accounting.
    pub master: Option<(&'a crate::master::CustomerTable, MasterQuality)>,
    /// The interactions and their accounting.
    pub interactions: Option<(
        &'a stratum_core::interactions::InteractionLog,
        &'a InputQuality,
    )>,
    /// The overrides' accounting.
    pub overrides: Option<&'a InputQuality>,
    /// The opportunities' accounting.
    pub opportunities: Option<&'a InputQuality>,
    /// The scheme file, when the run had a scheme.
    pub scheme_path: Option<&'a std::path::Path>,
    /// Master rows whose signup date cannot be read.
    pub signup_dates_unreadable: usize,
}

impl QualityReport {
    /// The report of a run at `as_of`: the inputs' accounting, the scored and unscored
    /// customers, the join with the master file, the Pareto figures and, with a scheme (its
    /// profile, checked scheme and result), the scheme's inputs, overrides, NPS and warnings.
    pub fn new(inputs: QualityInputs<'_>, run: &stratum_core::run::RunResult) -> Self {
        use stratum_core::scheme::ColumnData;
        let (as_of, tiering) = (run.as_of, &run.tiering);
        let scheme = run
            .scheme
            .as_ref()
            .map(|s| (&s.profile, &s.checked, &s.result));
        let features = &tiering.features;
        let scheme = match (scheme, inputs.scheme_path) {
            (Some((profile, checked, result)), Some(path)) => {
                let answers: Vec<u8> = match profile.column("last_nps") {
                    Some(ColumnData::Number(v)) => v.iter().flatten().map(|&x| x as u8).collect(),
                    _ => Vec::new(),
                };
                let interactions = inputs.interactions;
                Some(SchemeQuality {
                    path: path.to_path_buf(),
                    name: checked.name.clone(),
                    interactions: interactions.map(|(_, q)| q.clone()),
                    interactions_after_as_of: interactions
                        .map_or(0, |(log, _)| log.on_or_after(as_of)),
                    interaction_customers_not_scored: interactions.map_or(0, |(log, _)| {
                        let scored: std::collections::HashSet<&str> =
                            features.customer_ids().into_iter().collect();
                        log.customer_ids().filter(|id| !scored.contains(id)).count()
                    }),
                    signup_dates_unreadable: inputs.signup_dates_unreadable,
                    overrides: inputs.overrides.cloned(),
                    overrides_applied: result.applied,
                    overrides_ignored: result
                        .skipped
                        .iter()
                        .map(|k| IgnoredOverride {
                            customer_id: k.item.customer_id.clone(),
                            tier: k.item.tier.clone(),
                            why: k.why.code(),
                        })
                        .collect(),
                    nps: stratum_core::interactions::nps_score(answers.iter().copied()),
                    nps_answers: answers.len(),
                    warnings: checked.warnings(profile, result),
                })
            }
            _ => None,
        };
        // (scored customers missing from the master, master customers with no transactions)
        let (not_in_master, master_without) = match &inputs.master {
            Some((m, _)) => {
                let missing = features
                    .customers
                    .iter()
                    .filter(|c| m.get(&c.customer_id).is_none())
                    .count();
                let present = features.customers.len() - missing;
                (Some(missing), Some(m.rows.len().saturating_sub(present)))
            }
            None => (None, None),
        };
        QualityReport {
            as_of,
            as_of_source: inputs.as_of_source,
            customers: features.customers.len(),
            unscored_customers: features.no_purchase.len(),
            unscored_amount: features.no_purchase.iter().map(|c| c.refunds).sum(),
            lines_after_as_of: features.lines_after_as_of,
            amount_after_as_of: features.amount_after_as_of,
            customers_not_in_master: not_in_master,
            master_customers_without_transactions: master_without,
            scored_revenue: tiering.revenue,
            pareto: tiering.abc.pareto(),
            opportunities: match (inputs.opportunities, &run.funnel) {
                (Some(q), Some(f)) => Some(OpportunitiesQuality {
                    input: q.clone(),
                    opportunities: f.opportunities.len(),
                    created_after_as_of: f.after_as_of,
                    customers_not_scored: f.tiers.iter().filter(|t| t.is_none()).count(),
                }),
                _ => None,
            },
            scheme,
            transactions: inputs.transactions,
            customer_master: inputs.master.map(|(_, q)| q),
        }
    }

    /// The inputs other than the transactions (customer master, interactions, overrides) with
    /// their row accounting: the reject-rate limit applies to each of them too.
    pub fn other_inputs(&self) -> Vec<(&std::path::Path, &RowCounts)> {
        let master = self
            .customer_master
            .as_ref()
            .map(|q| (q.source.path.as_path(), &q.counts));
        let scheme = self.scheme.as_ref();
        let interactions = scheme
            .and_then(|q| q.interactions.as_ref())
            .map(|q| (q.path.as_path(), &q.counts));
        let overrides = scheme
            .and_then(|q| q.overrides.as_ref())
            .map(|q| (q.path.as_path(), &q.counts));
        let opportunities = self
            .opportunities
            .as_ref()
            .map(|q| (q.input.path.as_path(), &q.input.counts));
        master
            .into_iter()
            .chain(interactions)
            .chain(overrides)
            .chain(opportunities)
            .collect()
    }

    /// The rows rejected from every input: the records of `rejects.csv`.
    pub fn rejected_rows(&self) -> u64 {
        let others = self.other_inputs();
        self.transactions.counts.rejected + others.iter().map(|(_, c)| c.rejected).sum::<u64>()
    }

    /// The transaction file's name, without its folder.
    pub fn file_name(&self) -> String {
        if let Some(db) = &self.transactions.source.database {
            return db.table.clone();
        }
        self.transactions
            .source
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// The report as (measure, value) lines in `lang`.
    pub fn lines(&self, lang: Lang) -> Vec<(String, String)> {
        let t = &self.transactions;
        let c = &t.counts;
        let mut out: Vec<(String, String)> = Vec::new();
        let add = |out: &mut Vec<(String, String)>, zh: &str, en: &str, v: String| {
            out.push((lang.pick(zh, en).to_string(), v))
        };
        let sources: Vec<&crate::source::SourceInfo> =
            std::iter::once(&t.source).chain(&t.more_sources).collect();
        for (i, source) in sources.iter().enumerate() {
            let n = if sources.len() > 1 {
                format!(" {}", i + 1)
            } else {
                String::new()
            };
            if let Some(db) = &source.database {
                out.push((
                    lang.pick("交易表", "transactions table").to_string(),
                    format!("{} {}", source.path.display(), db.table),
                ));
                add(
                    &mut out,
                    "格式",
                    "format",
                    format!("{} ({})", lang.pick("数据库", "database"), db.engine),
                );
                add(
                    &mut out,
                    "执行计划",
                    "plan",
                    db.plan_text.pick(lang, &db.plan).to_string(),
                );
                continue;
            }
            out.push((
                format!("{}{n}", lang.pick("交易文件", "transactions file")),
                source.path.display().to_string(),
            ));
            let mut detected = format!("{:?}", source.format).to_lowercase();
            if let Some(e) = &source.encoding {
                detected.push_str(&format!(", {e}"));
            }
            if let Some(d) = &source.delimiter {
                detected.push_str(&format!(", {} {d}", lang.pick("分隔符", "delimiter")));
            }
            if let Some(s) = &source.sheet {
                detected.push_str(&format!(", {} {s}", lang.pick("工作表", "sheet")));
            }
            add(&mut out, "格式", "format", detected);
            if let Some(why) = source.encoding_evidence {
                add(
                    &mut out,
                    "编码判断依据",
                    "encoding because",
                    why.describe(lang),
                );
            }
        }
        if !t.source.title_rows.is_empty() {
            add(
                &mut out,
                "表头上方的标题行（跳过）",
                "title rows above the header (skipped)",
                t.source.title_rows.join(" | "),
            );
        }
        add(
            &mut out,
            "列映射",
            "columns",
            crate::mapping::shown_mapping(&t.columns),
        );
        let e = &t.expressions;
        for (zh, en, text) in [
            ("金额表达式", "amount computed as", &e.amount),
            ("只用满足条件的行", "rows used where", &e.keep),
            ("按规则计为退款", "refunds where", &e.refund_when),
        ] {
            if let Some(text) = text {
                add(&mut out, zh, en, text.clone());
            }
        }
        add(&mut out, "读取行数", "rows read", thousands(c.rows_read));
        add(&mut out, "接受行数", "accepted", thousands(c.accepted));
        let duplicates = if c.duplicate_amount == Money::ZERO {
            thousands(c.duplicates)
        } else {
            format!(
                "{} ({})",
                thousands(c.duplicates),
                money(c.duplicate_amount)
            )
        };
        if t.duplicates_rule == Duplicates::Keep {
            add(
                &mut out,
                "重复行（保留，--duplicates keep）",
                "identical lines (kept, --duplicates keep)",
                lang.pick("未判断", "not judged").to_string(),
            );
        } else {
            add(
                &mut out,
                "重复行（已去除）",
                "duplicates dropped",
                duplicates,
            );
        }
        if let Some(w) = t.duplicate_warning() {
            let why = if w.only_mapped_columns {
                lang.pick(
                    "文件除映射的列外没有其他列，同一订单中同一商品的两行无法区分",
                    "the file has no column besides the mapped ones, so two lines of one order for the same product cannot be told apart",
                )
            } else {
                lang.pick("占收入比例较高", "a large share of revenue")
            };
            add(
                &mut out,
                "警告：重复行",
                "warning: duplicates",
                match lang {
                    Lang::Zh => format!(
                        "{} 行，{}（占收入 {}），可能是真实的重复购买：{why}；如果导出中同一订单确实重复列出商品，请使用 --duplicates keep",
                        thousands(w.rows),
                        money(w.amount),
                        pct(w.share)
                    ),
                    Lang::En => format!(
                        "{} {}, {} ({} of revenue), may be genuine repeated lines: {why}; if the export lists the same product twice in one order, run with --duplicates keep",
                        thousands(w.rows),
                        if w.rows == 1 { "line" } else { "lines" },
                        money(w.amount),
                        pct(w.share)
                    ),
                },
            );
        }
        if c.anonymous > 0 {
            let share = c.anonymous_share();
            add(
                &mut out,
                "匿名销售（无客户编号，不参与分级）",
                "anonymous sales (no customer id, not tiered)",
                match lang {
                    Lang::Zh => format!(
                        "{} 行（占 {}），{}",
                        thousands(c.anonymous),
                        pct(share),
                        money(c.anonymous_amount)
                    ),
                    Lang::En => format!(
                        "{} {} ({} of rows), {}",
                        thousands(c.anonymous),
                        if c.anonymous == 1 { "line" } else { "lines" },
                        pct(share),
                        money(c.anonymous_amount)
                    ),
                },
            );
        }
        if c.filtered > 0 || e.keep.is_some() {
            let unread = if c.filtered_without_amount > 0 {
                match lang {
                    Lang::Zh => format!(
                        "；其中 {} 行金额无法读取",
                        thousands(c.filtered_without_amount)
                    ),
                    Lang::En => format!(
                        "; {} of them without a readable amount",
                        thousands(c.filtered_without_amount)
                    ),
                }
            } else {
                String::new()
            };
            add(
                &mut out,
                "被条件排除的行（--where，不是拒绝）",
                "filtered out (--where, not rejects)",
                format!(
                    "{} ({}){unread}",
                    thousands(c.filtered),
                    money(c.filtered_amount)
                ),
            );
        }
        let rejected_amount = if c.rejected_amount == Money::ZERO {
            String::new()
        } else {
            match lang {
                Lang::Zh => format!("，可读金额 {}", money(c.rejected_amount)),
                Lang::En => format!(
                    ", {} where the amount was readable",
                    money(c.rejected_amount)
                ),
            }
        };
        add(
            &mut out,
            "拒绝行数",
            "rejected",
            format!(
                "{} ({}{rejected_amount})",
                thousands(c.rejected),
                pct(c.reject_rate())
            ),
        );
        for (reason, n) in &c.rejected_by_reason {
            out.push((format!("  - {}", reason.code()), thousands(*n)));
        }
        if c.blank_rows > 0 {
            add(
                &mut out,
                "空行（跳过）",
                "blank lines skipped",
                thousands(c.blank_rows),
            );
        }
        add(
            &mut out,
            "购买行",
            "purchase lines",
            format!(
                "{} ({})",
                thousands(t.lines.purchase_lines),
                money(t.lines.purchase_amount)
            ),
        );
        add(
            &mut out,
            "退款行",
            "refund lines",
            format!(
                "{} ({})",
                thousands(t.lines.refund_lines),
                money(t.lines.refund_amount)
            ),
        );
        if t.lines.zero_amount_lines > 0 {
            add(
                &mut out,
                "金额为零的行（不计为购买）",
                "zero-amount lines (not purchases)",
                thousands(t.lines.zero_amount_lines),
            );
        }
        if t.columns
            .iter()
            .any(|m| m.field == "order_id" && m.header.is_none())
        {
            add(
                &mut out,
                "注意",
                "note",
                lang.pick(
                    "没有订单号列：每行算作一个订单，完全相同的行按重复行去除",
                    "no order id column: every line counts as an order, and identical lines are dropped as duplicates",
                )
                .to_string(),
            );
        }
        if t.lines.lines_without_order_id > 0 {
            add(
                &mut out,
                "无订单号的购买行",
                "purchase lines without order id",
                thousands(t.lines.lines_without_order_id),
            );
        }
        if let (Some(a), Some(b)) = (t.lines.first_date, t.lines.last_date) {
            add(&mut out, "日期范围", "date range", format!("{a} – {b}"));
        }
        let as_of_note = match self.as_of_source {
            AsOfSource::Given => lang.pick("指定", "given"),
            AsOfSource::DayAfterLastTransaction => {
                lang.pick("最后交易日的次日", "day after the last transaction")
            }
        };
        add(
            &mut out,
            "分析日期",
            "as of",
            format!("{} ({as_of_note})", self.as_of),
        );
        if self.lines_after_as_of > 0 {
            add(
                &mut out,
                "分析日期及之后的行（未使用）",
                "lines on or after as-of (not used)",
                format!(
                    "{} ({})",
                    thousands(self.lines_after_as_of),
                    money(self.amount_after_as_of)
                ),
            );
        }
        add(
            &mut out,
            "客户数",
            "customers",
            thousands(self.customers as u64),
        );
        if self.unscored_customers > 0 {
            add(
                &mut out,
                "无购买的客户（未评分，见 unscored.csv）",
                "customers without a purchase (not scored, see unscored.csv)",
                format!(
                    "{} ({})",
                    thousands(self.unscored_customers as u64),
                    money(self.unscored_amount)
                ),
            );
        }
        add(
            &mut out,
            "净收入",
            "net revenue",
            money(self.scored_revenue),
        );
        add(
            &mut out,
            "前20%客户的收入占比",
            "revenue share of the top 20% of customers",
            pct(self.pareto.top20_revenue_share),
        );
        add(
            &mut out,
            "A类客户占比",
            "customers in class A",
            pct(self.pareto.a_customer_share),
        );
        if let Some(m) = &self.customer_master {
            add(
                &mut out,
                "客户主数据文件",
                "customer master file",
                m.source.path.display().to_string(),
            );
            add(
                &mut out,
                "主数据行（读取/接受/重复/拒绝）",
                "master rows (read/accepted/duplicate/rejected)",
                row_counts(&m.counts),
            );
        }
        if let Some(n) = self.customers_not_in_master {
            add(
                &mut out,
                "不在主数据中的客户",
                "customers not in master data",
                thousands(n as u64),
            );
        }
        if let Some(n) = self.master_customers_without_transactions {
            add(
                &mut out,
                "主数据中无交易的客户",
                "master customers without transactions",
                thousands(n as u64),
            );
        }
        if let Some(sq) = &self.scheme {
            add(
                &mut out,
                "分级方案",
                "tier scheme",
                match &sq.name {
                    Some(n) => format!("{} ({n})", sq.path.display()),
                    None => sq.path.display().to_string(),
                },
            );
            if let Some(q) = &sq.interactions {
                add(
                    &mut out,
                    "互动记录文件",
                    "interactions file",
                    q.path.display().to_string(),
                );
                add(
                    &mut out,
                    "互动行（读取/接受/重复/拒绝）",
                    "interaction rows (read/accepted/duplicate/rejected)",
                    row_counts(&q.counts),
                );
            }
            if sq.interactions.is_some() {
                add(
                    &mut out,
                    "分析日期及之后的互动（未使用）",
                    "interactions on or after as-of (not used)",
                    thousands(sq.interactions_after_as_of),
                );
                add(
                    &mut out,
                    "有互动但未评分的客户",
                    "customers with interactions but not scored",
                    thousands(sq.interaction_customers_not_scored as u64),
                );
            }
            if sq.signup_dates_unreadable > 0 {
                add(
                    &mut out,
                    "无法识别的注册日期（按首单计算）",
                    "unreadable signup dates (tenure from the first order)",
                    thousands(sq.signup_dates_unreadable as u64),
                );
            }
            if let Some(q) = &sq.overrides {
                add(
                    &mut out,
                    "手动调整文件",
                    "overrides file",
                    q.path.display().to_string(),
                );
                add(
                    &mut out,
                    "调整行（读取/接受/重复/拒绝）",
                    "override rows (read/accepted/duplicate/rejected)",
                    row_counts(&q.counts),
                );
                add(
                    &mut out,
                    "调整（应用/忽略）",
                    "overrides (applied/ignored)",
                    format!(
                        "{} / {}",
                        thousands(sq.overrides_applied as u64),
                        thousands(sq.overrides_ignored.len() as u64)
                    ),
                );
            }
            if let Some(nps) = sq.nps {
                add(
                    &mut out,
                    "净推荐值 NPS（作答客户）",
                    "NPS (customers answering)",
                    format!("{nps:.1} ({})", thousands(sq.nps_answers as u64)),
                );
            }
            for w in &sq.warnings {
                add(&mut out, "分级提示", "tier warning", w.text(lang));
            }
        }
        if let Some(q) = &self.opportunities {
            add(
                &mut out,
                "商机文件",
                "opportunities file",
                q.input.path.display().to_string(),
            );
            add(
                &mut out,
                "商机行（读取/接受/重复/拒绝）",
                "opportunity rows (read/accepted/duplicate/rejected)",
                row_counts(&q.input.counts),
            );
            add(
                &mut out,
                "计入漏斗的商机（分析日期及之后创建的未计入）",
                "opportunities in the funnel (created on or after as-of: not counted)",
                format!(
                    "{} ({})",
                    thousands(q.opportunities as u64),
                    thousands(q.created_after_as_of as u64)
                ),
            );
            add(
                &mut out,
                "客户未评分的商机（无等级）",
                "opportunities of customers not scored (no tier)",
                thousands(q.customers_not_scored as u64),
            );
        }
        out
    }
}

/// Rows read / accepted / duplicate / rejected.
fn row_counts(c: &RowCounts) -> String {
    format!(
        "{} / {} / {} / {}",
        thousands(c.rows_read),
        thousands(c.accepted),
        thousands(c.duplicates),
        thousands(c.rejected)
    )
}
