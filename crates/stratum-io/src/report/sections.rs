//! The report's sections, built from the results.

use std::collections::BTreeMap;

use stratum_core::clv::ChurnBand;
use stratum_core::labels::{Statistic, column_label, statistic_label};
use stratum_core::run::ClvGroup;
use stratum_core::scheme::{STAGES, stage_label};
use stratum_core::summary::GroupSummary;
use stratum_core::validate::Validation;
use stratum_core::{AbcClass, Labelled, Lang, RfmClass};

use super::chart::{
    Band, Bars, Bins, Flow, FunnelChart, HeatMap, Histogram, PALETTE, ParetoCurve, Series,
};
use super::{Block, ReportInput, Section, Table};
use crate::format::{number, pct, thousands, wan};
use crate::history::{
    Direction, HistoryView, MatrixCell, MatrixView, MoverView, PreviewView, RunRef,
    TIME_IN_TIER_DAYS, tier_label, time_band_names,
};
use crate::quality::AsOfSource;

/// Numbers as the report's readers write them.
struct Fmt<'a> {
    lang: Lang,
    currency: &'a str,
}

impl Fmt<'_> {
    fn count(&self, n: usize) -> String {
        thousands(n as u64)
    }

    /// An amount: 万/亿 units in Chinese, whole units above 1,000 in English; the currency
    /// symbol after the sign.
    fn amount(&self, v: f64) -> String {
        if !v.is_finite() {
            return "–".into();
        }
        let body = match self.lang {
            Lang::Zh => wan(v.abs()),
            Lang::En if v.abs() >= 1000.0 => number(v.abs(), 0),
            Lang::En => number(v.abs(), 2),
        };
        let sign = if v < 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0') {
            "-"
        } else {
            ""
        };
        format!("{sign}{}{body}", self.currency)
    }

    /// An amount for an axis tick: no decimals, 万/亿 without trailing zeros in Chinese.
    fn tick(&self, v: f64) -> String {
        let trim = |s: String| {
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        };
        let a = v.abs();
        let body = match self.lang {
            // `wan` picks the unit after rounding (99,999,999 is 1亿, not 10,000万)
            Lang::Zh if a >= 1e4 => {
                let s = wan(a);
                match s.char_indices().last() {
                    Some((at, unit)) if matches!(unit, '万' | '亿') => {
                        format!("{}{unit}", trim(s[..at].to_string()))
                    }
                    _ => s,
                }
            }
            // fractional edges: as many decimals as they have (1-2-5 edges below 1)
            _ if a.fract() != 0.0 => {
                let decimals = if a < 1.0 {
                    (-a.log10().floor()).max(2.0) as usize
                } else {
                    2
                };
                trim(number(a, decimals))
            }
            _ => number(a, 0),
        };
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}{body}", self.currency)
    }

    fn pick<'s>(&self, zh: &'s str, en: &'s str) -> &'s str {
        self.lang.pick(zh, en)
    }

    /// The unit of a column of amounts, chosen once from its largest absolute value (on the
    /// value as it would be shown, rounded): in Chinese 亿 from 1亿, 万 from 1万, else yuan
    /// with two decimals; in English whole units from 1,000, else two decimals.
    fn unit(&self, values: &[f64]) -> Unit {
        let max = values
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v.abs())
            .fold(0.0, f64::max);
        let rounds_to = |x: f64| (x * 100.0).round() / 100.0;
        match self.lang {
            Lang::Zh if rounds_to(max / 1e4) >= 1e4 => Unit::Yi,
            Lang::Zh if rounds_to(max) >= 1e4 => Unit::Wan,
            Lang::En if rounds_to(max) >= 1e3 => Unit::Whole,
            _ => Unit::Cents,
        }
    }

    /// An amount in `unit`, without the unit (the column's header carries it).
    fn in_unit(&self, v: f64, unit: Unit) -> String {
        if !v.is_finite() {
            return "–".into();
        }
        let body = match unit {
            Unit::Cents => number(v.abs(), 2),
            Unit::Whole => number(v.abs(), 0),
            Unit::Wan => number(v.abs() / 1e4, 2),
            Unit::Yi => number(v.abs() / 1e8, 2),
        };
        let sign = if v < 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0') {
            "-"
        } else {
            ""
        };
        format!("{sign}{body}")
    }

    /// The name of `unit` with the currency: `万元`, `元`, `万 $`, `¥`; empty in English
    /// without a currency symbol.
    fn unit_name(&self, unit: Unit) -> String {
        let c = self.currency.trim();
        match self.lang {
            Lang::Zh => {
                let yuan = matches!(c, "" | "¥" | "￥" | "元" | "CNY" | "RMB");
                let scale = match unit {
                    Unit::Wan => "万",
                    Unit::Yi => "亿",
                    Unit::Cents | Unit::Whole => "",
                };
                match (yuan, scale) {
                    (true, s) => format!("{s}元"),
                    (false, "") => c.to_string(),
                    (false, s) => format!("{s} {c}"),
                }
            }
            Lang::En => c.to_string(),
        }
    }

    /// A column header with the unit of its amounts: `收入（万元）`, `revenue (¥)`.
    fn with_unit(&self, header: &str, unit: Unit) -> String {
        let name = self.unit_name(unit);
        match self.lang {
            Lang::Zh => format!("{header}（{name}）"),
            Lang::En if name.is_empty() => header.to_string(),
            Lang::En => format!("{header} ({name})"),
        }
    }

    /// A table column of amounts: the header with the column's unit and every cell in it.
    fn money_column(&self, header: &str, values: &[f64]) -> (String, Vec<String>) {
        let unit = self.unit(values);
        (
            self.with_unit(header, unit),
            values.iter().map(|&v| self.in_unit(v, unit)).collect(),
        )
    }
}

/// The unit of one column of amounts in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Units with two decimals.
    Cents,
    /// Whole units (English, from 1,000).
    Whole,
    /// 万 (10⁴, Chinese).
    Wan,
    /// 亿 (10⁸, Chinese).
    Yi,
}

/// A configured share: `80%`, or `82.5%` when it has a fraction.
fn setting_pct(v: f64) -> String {
    let p = v * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{}%", number(p, 2).trim_end_matches('0'))
    }
}

fn share_tick(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The title, subtitle, sections and footer of the report.
pub fn build(r: &ReportInput<'_>) -> (String, String, Vec<Section>, String) {
    let f = Fmt {
        lang: r.lang,
        currency: r.currency,
    };
    let q = r.quality;
    let file = q.file_name();
    let title = f
        .pick("客户分级报告", "Customer tiering report")
        .to_string();
    let subtitle = format!("{file} · {} {}", f.pick("分析日期", "as of"), q.as_of);
    let mut sections = vec![overview(r, &f), pareto(r, &f), rfm(r, &f)];
    if let Some(s) = scheme(r, &f) {
        sections.push(s);
    }
    if let Some(s) = history(r, &f) {
        sections.push(s);
    }
    if let Some(s) = clusters(r, &f) {
        sections.push(s);
    }
    if let Some(s) = clv(r, &f) {
        sections.push(s);
    }
    if let Some(s) = funnel(r, &f) {
        sections.push(s);
    }
    if let Some(t) = r.scorecards {
        sections.push(Section {
            id: "scorecards",
            title: t.title.clone(),
            blocks: vec![
                Block::Table(Table {
                    header: t.header.clone(),
                    rows: t.rows.clone(),
                    ..Table::default()
                }),
                Block::Notes(vec![t.note.clone()]),
            ],
        });
    }
    if !r.validations.is_empty() {
        sections.push(validation(r, &f));
    }
    sections.push(distributions(r, &f));
    let rfm = &r.tiering.rfm;
    let scores = if r.rfm_quantiles {
        match f.lang {
            Lang::Zh => format!("{} 级，按分位数（分值相同者同级）", rfm.bins()),
            Lang::En => format!(
                "{} levels by quantile (equal values share a score)",
                rfm.bins()
            ),
        }
    } else {
        match f.lang {
            Lang::Zh => format!("{} 级，按配置的固定阈值", rfm.bins()),
            Lang::En => format!("{} levels by the configured thresholds", rfm.bins()),
        }
    };
    let footer = format!(
        "{} {} · {}: {scores}, {} · {}",
        f.pick("生成工具", "Made with"),
        r.generator,
        f.pick("RFM 评分", "RFM scores"),
        match rfm.class_basis() {
            stratum_core::ClassBasis::Scores => {
                f.pick("八类按平均分划分", "classes against the mean score")
            }
            stratum_core::ClassBasis::Values => {
                f.pick("八类按平均值划分", "classes against the mean value")
            }
        },
        f.pick(
            "金额为净额（购买减退款），最近一次购买距分析日期的天数为 R",
            "amounts are net (purchases less refunds); R is days from the last purchase to the analysis date"
        ),
    );
    (title, subtitle, sections, footer)
}

fn overview(r: &ReportInput<'_>, f: &Fmt<'_>) -> Section {
    let q = r.quality;
    let c = &q.transactions.counts;
    let customers = &r.tiering.features.customers;
    let first = customers.iter().map(|c| c.first_purchase).min();
    let last = customers.iter().map(|c| c.last_purchase).max();
    let mut figures = vec![
        (
            f.pick("已评分客户", "customers scored").to_string(),
            f.count(q.customers),
            if q.unscored_customers > 0 {
                format!(
                    "{} {}",
                    f.count(q.unscored_customers),
                    f.pick(
                        "位客户在分析日前无购买",
                        "more with no purchase before the as-of date"
                    )
                )
            } else {
                String::new()
            },
        ),
        (
            f.pick("净收入", "net revenue").to_string(),
            f.amount(q.scored_revenue.to_f64()),
            f.pick("购买减退款", "purchases less refunds").to_string(),
        ),
    ];
    if let (Some(a), Some(b)) = (first, last) {
        figures.push((
            f.pick("交易期间", "period").to_string(),
            format!("{a} – {b}"),
            format!(
                "{} {}",
                f.count(((b - a).num_days() + 1) as usize),
                f.pick("天", "days")
            ),
        ));
    }
    figures.push((
        f.pick("分析日期", "as-of date").to_string(),
        q.as_of.to_string(),
        match q.as_of_source {
            AsOfSource::Given => f.pick("指定", "given"),
            AsOfSource::DayAfterLastTransaction => {
                f.pick("最后一笔交易的次日", "the day after the last transaction")
            }
        }
        .to_string(),
    ));
    figures.push((
        f.pick("前 20% 客户贡献", "top 20% of customers bring")
            .to_string(),
        pct(q.pareto.top20_revenue_share),
        f.pick("的收入", "of revenue").to_string(),
    ));
    figures.push((
        f.pick("读取行数", "rows read").to_string(),
        f.count(c.rows_read as usize),
        format!(
            "{} {}",
            f.count(c.accepted as usize),
            f.pick("行接受", "accepted")
        ),
    ));
    figures.push((
        f.pick("拒绝行数", "rows rejected").to_string(),
        format!(
            "{} ({})",
            f.count(c.rejected as usize),
            pct(c.reject_rate())
        ),
        f.pick("原因见 rejects.csv", "reasons in rejects.csv")
            .to_string(),
    ));
    figures.push((
        f.pick("重复行（已去除）", "duplicate rows dropped")
            .to_string(),
        f.count(c.duplicates as usize),
        if c.duplicates > 0 {
            f.amount(c.duplicate_amount.to_f64())
        } else {
            String::new()
        },
    ));
    if c.anonymous > 0 {
        figures.push((
            f.pick("匿名销售（无客户编号）", "anonymous sales (no customer id)")
                .to_string(),
            f.count(c.anonymous as usize),
            format!(
                "{} {}, {}",
                pct(c.anonymous_share()),
                f.pick("的行", "of lines"),
                f.amount(c.anonymous_amount.to_f64())
            ),
        ));
    }
    if c.filtered > 0 {
        figures.push((
            f.pick("按条件排除的行（--where）", "rows filtered out (--where)")
                .to_string(),
            f.count(c.filtered as usize),
            f.amount(c.filtered_amount.to_f64()),
        ));
    }
    let mut blocks = vec![Block::Figures(figures)];
    if c.anonymous > 0 {
        let share = pct(c.anonymous_share());
        let amount = f.amount(c.anonymous_amount.to_f64());
        blocks.push(Block::Text(match f.lang {
            stratum_core::Lang::Zh => format!(
                "{share} 的行（{amount}）没有客户编号：这些销售计入这里的统计，但不参与客户分级。"
            ),
            stratum_core::Lang::En => format!(
                "{share} of lines ({amount}) have no customer id: these sales are counted here but not tiered."
            ),
        }));
    }
    if let Some(w) = q.transactions.duplicate_warning() {
        blocks.push(Block::Text(format!(
            "{} {} ({}, {}) {}",
            f.pick("警告：", "Warning:"),
            f.count(w.rows as usize),
            f.amount(w.amount.to_f64()),
            pct(w.share),
            f.pick(
                "重复行被去除，它们可能是同一订单中真实重复购买的商品；如果是，请使用 --duplicates keep 重新运行。",
                "duplicate lines were dropped that may be genuine repeated lines of one order; if so, run again with --duplicates keep."
            )
        )));
    }
    blocks.push(Block::Heading(f.pick("数据质量", "Data quality").into()));
    if c.rejected_by_reason.is_empty() {
        blocks.push(Block::Text(
            f.pick("没有被拒绝的行。", "No row was rejected.").into(),
        ));
    } else {
        blocks.push(Block::Table(Table {
            header: strings([
                f.pick("拒绝原因", "reason"),
                f.pick("代码", "code"),
                f.pick("行数", "rows"),
                f.pick("占读取行", "of rows read"),
            ]),
            rows: c
                .rejected_by_reason
                .iter()
                .map(|(reason, n)| {
                    vec![
                        reason.label(f.lang).to_string(),
                        reason.code().to_string(),
                        f.count(*n as usize),
                        pct(*n as f64 / c.rows_read.max(1) as f64),
                    ]
                })
                .collect(),
            ..Table::default()
        }));
    }
    let lines = &q.transactions.lines;
    let mut notes = vec![format!(
        "{}: {} ({}); {}: {} ({})",
        f.pick("购买行", "purchase lines"),
        f.count(lines.purchase_lines as usize),
        f.amount(lines.purchase_amount.to_f64()),
        f.pick("退款行", "refund lines"),
        f.count(lines.refund_lines as usize),
        f.amount(lines.refund_amount.to_f64()),
    )];
    if q.lines_after_as_of > 0 {
        notes.push(format!(
            "{} {} ({}) {}",
            f.count(q.lines_after_as_of as usize),
            f.pick("行在分析日期当天或之后", "lines on or after the as-of date"),
            f.amount(q.amount_after_as_of.to_f64()),
            f.pick("未计入", "are not counted")
        ));
    }
    if let Some(n) = q.customers_not_in_master.filter(|&n| n > 0) {
        notes.push(format!(
            "{} {}",
            f.count(n),
            f.pick(
                "位已评分客户不在客户主数据中",
                "scored customers are not in the customer master"
            )
        ));
    }
    if let Some(m) = &q.customer_master
        && m.counts.rejected > 0
    {
        notes.push(format!(
            "{} {}",
            f.count(m.counts.rejected as usize),
            f.pick(
                "行客户主数据被拒绝（见 rejects.csv）",
                "customer master rows rejected (see rejects.csv)"
            )
        ));
    }
    blocks.push(Block::Notes(notes));
    Section {
        id: "overview",
        title: f.pick("概览", "Overview").into(),
        blocks,
    }
}

fn group_table<K: Labelled>(groups: &[GroupSummary<K>], first: &str, f: &Fmt<'_>) -> Table {
    let column = |header: &str, value: &dyn Fn(&GroupSummary<K>) -> f64| {
        f.money_column(header, &groups.iter().map(value).collect::<Vec<_>>())
    };
    let (revenue, revenue_cells) = column(f.pick("收入", "revenue"), &|g| g.revenue.to_f64());
    let (mean_m, mean_m_cells) = column(f.pick("平均 M", "mean M"), &|g| g.mean_monetary);
    let (aov, aov_cells) = column(f.pick("客单价", "AOV"), &|g| g.avg_order_value);
    Table {
        header: vec![
            first.to_string(),
            f.pick("客户数", "customers").into(),
            f.pick("客户占比", "share").into(),
            revenue,
            f.pick("收入占比", "revenue share").into(),
            f.pick("平均 R（天）", "mean R (days)").into(),
            f.pick("平均 F（次）", "mean F (orders)").into(),
            mean_m,
            aov,
        ],
        rows: groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                vec![
                    g.key.label(f.lang).to_string(),
                    f.count(g.customers),
                    pct(g.customer_share),
                    revenue_cells[i].clone(),
                    pct(g.revenue_share),
                    number(g.mean_recency, 0),
                    number(g.mean_frequency, 1),
                    mean_m_cells[i].clone(),
                    aov_cells[i].clone(),
                ]
            })
            .collect(),
        ..Table::default()
    }
}

/// Customer share and revenue share side by side, one row per group.
fn share_bars(
    title: String,
    categories: Vec<String>,
    customers: Vec<f64>,
    revenue: Vec<f64>,
    f: &Fmt<'_>,
) -> String {
    let max = customers
        .iter()
        .chain(&revenue)
        .copied()
        .fold(0.0, f64::max);
    Bars {
        title,
        categories,
        series: vec![
            Series {
                name: f.pick("客户占比", "share of customers").into(),
                values: customers,
                color: PALETTE[0],
            },
            Series {
                name: f.pick("收入占比", "share of revenue").into(),
                values: revenue,
                color: PALETTE[1],
            },
        ],
        format: &|v| pct(v),
        ticks: &share_tick,
        axis_max: Some(if max > 0.5 {
            1.0
        } else {
            ((max * 10.0).ceil() / 10.0).max(0.1)
        }),
        stacked: false,
        axis_label: f.pick("占比（%）", "share (%)").into(),
    }
    .svg()
}

fn pareto(r: &ReportInput<'_>, f: &Fmt<'_>) -> Section {
    let t = r.tiering;
    let p = t.abc.pareto();
    let n = t.features.customers.len();
    // at most 500 points: the curve is smooth at that resolution
    let points = t.pareto_curve(n.clamp(1, 500));
    let a_end = p.a_customer_share;
    let b_end = p.a_customer_share + p.b_customer_share;
    // shares of positive revenue, as the curve: the cumulative share where a class ends
    let end_of = |keep: &dyn Fn(AbcClass) -> bool| {
        t.abc
            .classes()
            .iter()
            .zip(t.abc.cumulative_share())
            .filter(|(c, _)| keep(**c))
            .map(|(_, s)| *s)
            .fold(0.0, f64::max)
    };
    let a_rev = end_of(&|c| c == AbcClass::A);
    let ab_rev = end_of(&|c| c != AbcClass::C);
    // the top 20% are ⌈n/5⌉ customers: the mark sits where they end on the curve
    let top_x = if n > 0 {
        n.div_ceil(5) as f64 / n as f64
    } else {
        0.2
    };
    let mark_label = format!(
        "{} 20% → {}",
        f.pick("前", "top"),
        pct(p.top20_revenue_share)
    );
    let chart = ParetoCurve {
        title: f
            .pick(
                "帕累托曲线：累计收入占比",
                "Pareto curve: cumulative share of revenue",
            )
            .into(),
        points,
        cuts: vec![(a_end, "A | B".into()), (b_end, "B | C".into())],
        mark: Some((top_x, p.top20_revenue_share, mark_label)),
        axes: (
            f.pick(
                "客户占比（按收入从高到低）",
                "share of customers, largest first",
            )
            .into(),
            f.pick("累计收入占比", "cumulative share of revenue").into(),
        ),
        format: &share_tick,
        diagonal: f.pick("均匀分布", "equal shares").into(),
    }
    .svg();
    let text = match f.lang {
        Lang::Zh => format!(
            "前 20% 的客户贡献了 {} 的收入。A 类客户占客户总数的 {}，贡献 {} 的收入；A、B 两类合计占 {} 的客户、{} 的收入。",
            pct(p.top20_revenue_share),
            pct(a_end),
            pct(a_rev),
            pct(b_end),
            pct(ab_rev)
        ),
        Lang::En => format!(
            "The top 20% of customers bring {} of revenue. Class A is {} of the customers and brings {} of revenue; classes A and B together are {} of the customers and {} of revenue.",
            pct(p.top20_revenue_share),
            pct(a_end),
            pct(a_rev),
            pct(b_end),
            pct(ab_rev)
        ),
    };
    let (a_cut, b_cut) = r.abc_cuts;
    let caption = match f.lang {
        Lang::Zh => format!(
            "虚线为 ABC 分类界限（A 类累计至 {} 收入，B 类至 {}）；曲线与上文只计正收入，下表的收入占比为净收入。",
            setting_pct(a_cut),
            setting_pct(b_cut)
        ),
        Lang::En => format!(
            "Dashed lines are the ABC class boundaries (A up to {} of revenue, B up to {}); the curve and the text count positive revenue, the table's revenue shares are of net revenue.",
            setting_pct(a_cut),
            setting_pct(b_cut)
        ),
    };
    Section {
        id: "pareto",
        title: f
            .pick(
                "价值集中度（帕累托 / ABC）",
                "Value concentration (Pareto / ABC)",
            )
            .into(),
        blocks: vec![
            Block::Text(text),
            Block::Chart {
                svg: chart,
                caption,
            },
            Block::Table(group_table(
                &t.abc_classes,
                f.pick("ABC 分类", "ABC class"),
                f,
            )),
        ],
    }
}

fn rfm(r: &ReportInput<'_>, f: &Fmt<'_>) -> Section {
    let t = r.tiering;
    let bins = t.rfm.bins() as usize;
    let mut counts = vec![vec![0usize; bins]; bins];
    let mut sums = vec![vec![0.0f64; bins]; bins];
    for (c, s) in t.features.customers.iter().zip(t.rfm.customers()) {
        let (ri, fi) = (bins - s.r as usize, s.f as usize - 1);
        counts[ri][fi] += 1;
        sums[ri][fi] += c.monetary.to_f64();
    }
    // one unit for every cell's mean, named in the title
    let means: Vec<f64> = (0..bins * bins)
        .filter(|&i| counts[i / bins][i % bins] > 0)
        .map(|i| sums[i / bins][i % bins] / counts[i / bins][i % bins] as f64)
        .collect();
    let unit = f.unit(&means);
    let text: Vec<Vec<Vec<String>>> = (0..bins)
        .map(|ri| {
            (0..bins)
                .map(|fi| {
                    let k = counts[ri][fi];
                    if k == 0 {
                        vec!["0".into()]
                    } else {
                        vec![
                            f.count(k),
                            format!(
                                "{} {}",
                                f.pick("均", "avg"),
                                f.in_unit(sums[ri][fi] / k as f64, unit)
                            ),
                        ]
                    }
                })
                .collect()
        })
        .collect();
    let heat = HeatMap {
        title: f.with_unit(
            f.pick(
                "R × F 网格：客户数与平均消费金额",
                "R × F grid: customers and mean monetary value",
            ),
            unit,
        ),
        rows: (0..bins).map(|ri| format!("R = {}", bins - ri)).collect(),
        columns: (1..=bins).map(|k| format!("F = {k}")).collect(),
        values: counts
            .iter()
            .map(|row| row.iter().map(|&k| k as f64).collect())
            .collect(),
        text,
        axes: (
            f.pick(
                "F 分（购买频次，越高越频繁）",
                "F score (frequency; higher is more often)",
            )
            .into(),
            f.pick("R 分（越高越近期）", "R score (higher is more recent)")
                .into(),
        ),
        legend: f
            .pick(
                "颜色：客户数（越亮越多）",
                "colour: customers (brighter is more)",
            )
            .into(),
    }
    .svg();
    let labels =
        |g: &[GroupSummary<RfmClass>]| g.iter().map(|g| g.key.label(f.lang).to_string()).collect();
    let class_bars = share_bars(
        f.pick(
            "RFM 八类：客户占比与收入占比",
            "The 8 RFM classes: share of customers and of revenue",
        )
        .into(),
        labels(&t.classes),
        t.classes.iter().map(|g| g.customer_share).collect(),
        t.classes.iter().map(|g| g.revenue_share).collect(),
        f,
    );
    let mut class_table = group_table(&t.classes, f.pick("RFM 八类", "RFM class"), f);
    class_table
        .header
        .push(f.pick("建议策略", "recommended strategy").into());
    for (row, g) in class_table.rows.iter_mut().zip(&t.classes) {
        row.push(g.key.strategy(f.lang).into());
    }
    let seg_bars = share_bars(
        f.pick(
            "RFM 分群：客户占比与收入占比",
            "RFM segments: share of customers and of revenue",
        )
        .into(),
        t.segments
            .iter()
            .map(|g| g.key.label(f.lang).to_string())
            .collect(),
        t.segments.iter().map(|g| g.customer_share).collect(),
        t.segments.iter().map(|g| g.revenue_share).collect(),
        f,
    );
    Section {
        id: "rfm",
        title: f.pick("RFM 分析", "RFM").into(),
        blocks: vec![
            Block::Heading(f.pick("R × F 网格", "The R × F grid").into()),
            Block::Chart {
                svg: heat,
                caption: match (f.lang, f.unit_name(unit)) {
                    (Lang::Zh, name) => format!(
                        "每格：客户数与平均消费金额（净额，{name}）。右上角为近期且频繁购买的客户。"
                    ),
                    (Lang::En, name) if name.is_empty() => "Each cell: customers and their mean monetary value (net). Top right: recent, frequent buyers.".into(),
                    (Lang::En, name) => format!(
                        "Each cell: customers and their mean monetary value (net, {name}). Top right: recent, frequent buyers."
                    ),
                },
            },
            Block::Heading(f.pick("RFM 八类", "The 8 RFM classes").into()),
            Block::Chart {
                svg: class_bars,
                caption: f
                    .pick("R、F、M 各自与平均值比较后的高低组合。", "Each of R, F and M compared with its mean: high or low.")
                    .into(),
            },
            Block::Table(class_table),
            Block::Heading(f.pick("RFM 分群", "Named RFM segments").into()),
            Block::Chart {
                svg: seg_bars,
                caption: f
                    .pick("按 R 分与 F、M 平均分的区间命名的分群。", "Segments named by ranges of the R score and the mean of the F and M scores.")
                    .into(),
            },
            Block::Table(group_table(&t.segments, f.pick("RFM 分群", "RFM segment"), f)),
        ],
    }
}

fn scheme(r: &ReportInput<'_>, f: &Fmt<'_>) -> Option<Section> {
    let o = r.scheme?;
    let n = r.tiering.features.customers.len();
    let fin_d = o.scheme.final_dimension;
    let fin = &o.scheme.dimensions[fin_d];
    let k = fin.tiers.len();
    let totals = o.tier_totals(fin_d);
    let tier_label = |d: usize, t: usize| {
        let tier = &o.scheme.dimensions[d].tiers[t];
        tier.label.pick(f.lang, &tier.name).to_string()
    };
    let fin_label = fin.label.pick(f.lang, &fin.name).to_string();
    let bars = share_bars(
        format!(
            "{fin_label}: {}",
            f.pick("客户占比与收入占比", "share of customers and of revenue")
        ),
        (0..k).map(|t| tier_label(fin_d, t)).collect(),
        totals.iter().map(|t| t.customer_share).collect(),
        totals.iter().map(|t| t.revenue_share).collect(),
        f,
    );
    let mut blocks = Vec::new();
    if let Some(name) = &o.scheme.name {
        blocks.push(Block::Text(format!(
            "{}: {name}",
            f.pick("分级方案", "Tier scheme")
        )));
    }
    blocks.push(Block::Heading(fin_label.clone()));
    blocks.push(Block::Chart {
        svg: bars,
        caption: f
            .pick(
                "最终等级按方案顺序排列（规则自上而下，先匹配者优先）。",
                "Final tiers in scheme order (rules are tried top down; the first match wins).",
            )
            .into(),
    });
    let hours = |v: Option<f64>| v.map_or(String::new(), |h| number(h, 0));
    let revenue: Vec<f64> = totals.iter().map(|t| t.revenue.to_f64()).collect();
    let (revenue_header, revenue_cells) = f.money_column(f.pick("收入", "revenue"), &revenue);
    blocks.push(Block::Table(Table {
        header: strings([
            f.pick("等级", "tier"),
            f.pick("客户数", "customers"),
            f.pick("客户占比", "share"),
            &revenue_header,
            f.pick("收入占比", "revenue share"),
            f.pick("服务覆盖", "coverage"),
            f.pick("响应（小时）", "response (hours)"),
            f.pick("跟进间隔（天）", "follow-up (days)"),
            f.pick("节奏", "cadence"),
            f.pick("营销", "marketing"),
            f.pick("折扣", "discount"),
        ]),
        rows: (0..k)
            .map(|t| {
                let s = o.scheme.strategies.get(&fin.tiers[t].name);
                let pick = |l: Option<&stratum_core::scheme::Label>| {
                    l.map_or(String::new(), |l| l.pick(f.lang, "").to_string())
                };
                vec![
                    tier_label(fin_d, t),
                    f.count(totals[t].customers),
                    pct(totals[t].customer_share),
                    revenue_cells[t].clone(),
                    pct(totals[t].revenue_share),
                    pick(s.map(|s| &s.coverage)),
                    hours(s.and_then(|s| s.response_hours)),
                    s.and_then(|s| s.follow_up_days)
                        .map_or(String::new(), |d| d.to_string()),
                    pick(s.map(|s| &s.cadence)),
                    pick(s.map(|s| &s.marketing)),
                    pick(s.map(|s| &s.discount)),
                ]
            })
            .collect(),
        ..Table::default()
    }));
    // value × lifecycle: the dimension named `value` (else the final one) against the stage
    let vd = o
        .scheme
        .dimensions
        .iter()
        .position(|d| d.name == "value")
        .unwrap_or(fin_d);
    let mut stages: Vec<&str> = STAGES.to_vec();
    let mut grid: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for i in 0..n {
        let stage = o.lifecycle(i);
        *grid.entry((o.tier_index(vd, i), stage)).or_default() += 1;
    }
    // stages beyond the built-in ones (none today), and customers without one, in columns too
    for &(_, stage) in grid.keys() {
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    let vtiers = o.scheme.dimensions[vd].tiers.len();
    let used: Vec<&str> = stages
        .iter()
        .copied()
        .filter(|s| (0..vtiers).any(|t| grid.contains_key(&(t, *s))))
        .collect();
    let max = grid.values().copied().max().unwrap_or(0).max(1) as f64;
    let mut header = vec![
        o.scheme.dimensions[vd]
            .label
            .pick(f.lang, &o.scheme.dimensions[vd].name)
            .to_string(),
    ];
    header.extend(used.iter().map(|s| match *s {
        "" => f.pick("无", "none").to_string(),
        s => stage_label(s, f.lang).to_string(),
    }));
    header.push(f.pick("合计", "total").into());
    let mut rows = Vec::new();
    let mut shade = Vec::new();
    for t in 0..vtiers {
        let cells: Vec<usize> = used
            .iter()
            .map(|s| grid.get(&(t, *s)).copied().unwrap_or(0))
            .collect();
        let mut row = vec![tier_label(vd, t)];
        row.extend(cells.iter().map(|&c| f.count(c)));
        row.push(f.count(cells.iter().sum()));
        let mut sh = vec![f64::NAN];
        sh.extend(cells.iter().map(|&c| c as f64 / max));
        sh.push(f64::NAN);
        rows.push(row);
        shade.push(sh);
    }
    blocks.push(Block::Heading(format!(
        "{} × {}",
        o.scheme.dimensions[vd]
            .label
            .pick(f.lang, &o.scheme.dimensions[vd].name),
        f.pick("生命周期", "lifecycle")
    )));
    blocks.push(Block::Table(Table {
        header,
        rows,
        shade: Some(shade),
        highlight: None,
    }));
    // every dimension's tiers
    if o.scheme.dimensions.len() > 1 {
        blocks.push(Block::Heading(
            f.pick("各维度分级", "Every dimension").into(),
        ));
        let mut rows = Vec::new();
        for (d, dim) in o.scheme.dimensions.iter().enumerate() {
            for (t, total) in o.tier_totals(d).iter().enumerate() {
                rows.push(vec![
                    dim.label.pick(f.lang, &dim.name).to_string(),
                    tier_label(d, t),
                    f.count(total.customers),
                    pct(total.customer_share),
                    pct(total.revenue_share),
                ]);
            }
        }
        blocks.push(Block::Table(Table {
            header: strings([
                f.pick("维度", "dimension"),
                f.pick("等级", "tier"),
                f.pick("客户数", "customers"),
                f.pick("客户占比", "share"),
                f.pick("收入占比", "revenue share"),
            ]),
            rows,
            ..Table::default()
        }));
    }
    // the account managers' actions
    let unassigned = f.pick("未分配", "unassigned");
    let mut managers: BTreeMap<&str, (Vec<usize>, usize, usize)> = BTreeMap::new();
    let week = o.as_of + chrono::Days::new(7);
    for i in 0..n {
        let m = o.manager(i).unwrap_or(unassigned);
        let e = managers.entry(m).or_insert_with(|| (vec![0; k], 0, 0));
        e.0[o.tier_index(fin_d, i)] += 1;
        match o.due(i) {
            Some(d) if d <= o.as_of => e.1 += 1,
            Some(d) if d <= week => e.2 += 1,
            _ => {}
        }
    }
    let mut header = vec![
        f.pick("客户经理", "account manager").to_string(),
        f.pick("客户数", "customers").to_string(),
    ];
    header.extend((0..k).map(|t| tier_label(fin_d, t)));
    header.push(f.pick("今日到期", "due now").into());
    header.push(f.pick("7 天内到期", "due within 7 days").into());
    let rows = managers
        .iter()
        .map(|(m, (tiers, now, soon))| {
            let mut row = vec![m.to_string(), f.count(tiers.iter().sum())];
            row.extend(tiers.iter().map(|&c| f.count(c)));
            row.push(f.count(*now));
            row.push(f.count(*soon));
            row
        })
        .collect();
    blocks.push(Block::Heading(
        f.pick("客户经理行动清单", "Account managers' action lists")
            .into(),
    ));
    blocks.push(Block::Table(Table {
        header,
        rows,
        ..Table::default()
    }));
    blocks.push(Block::Notes(vec![f
        .pick(
            "“今日到期”：按等级的跟进间隔，自最后一次购买起算已到期的跟进（详见 actions/ 下各客户经理的清单）。",
            "\"Due now\": follow-ups whose interval (by tier) since the last purchase has passed; the lists per manager are in actions/.",
        )
        .into()]));
    // without the model the at-risk list has no lifetime-value section to go in
    if r.clv.is_none() {
        blocks.extend(at_risk(r, f));
    }
    Some(Section {
        id: "tiers",
        title: f
            .pick("分级方案与服务策略", "Tiers and service strategies")
            .into(),
        blocks,
    })
}

fn clusters(r: &ReportInput<'_>, f: &Fmt<'_>) -> Option<Section> {
    let (c, revenue) = r.clusters?;
    let label = |k: &stratum_core::cluster::Cluster| k.label(f.lang).to_string();
    let mut blocks = vec![Block::Figures(vec![
        (
            f.pick("簇数 K", "clusters K").into(),
            c.k.to_string(),
            String::new(),
        ),
        (
            f.pick("轮廓系数", "silhouette").into(),
            number(c.silhouette, 3),
            f.pick("−1 到 1，越高越分明", "−1 to 1, higher is better separated")
                .into(),
        ),
        (
            f.pick("Calinski–Harabasz 指数", "Calinski–Harabasz").into(),
            number(c.calinski_harabasz, 1),
            String::new(),
        ),
        (
            f.pick("特征", "features").into(),
            c.features
                .iter()
                .map(|x| column_label(x, f.lang))
                .collect::<Vec<_>>()
                .join(f.pick("、", ", ")),
            String::new(),
        ),
    ])];
    let names: Vec<String> = c
        .clusters
        .iter()
        .map(|k| format!("{} {}", k.id, label(k)))
        .collect();
    blocks.push(Block::Chart {
        svg: share_bars(
            f.pick(
                "各簇客户占比与收入占比",
                "Clusters: share of customers and of revenue",
            )
            .into(),
            names,
            c.clusters.iter().map(|k| k.share).collect(),
            c.clusters
                .iter()
                .map(|k| revenue.get(k.id - 1).copied().unwrap_or(0.0))
                .collect(),
            f,
        ),
        caption: f
            .pick(
                "簇按排序特征的均值从高到低编号。",
                "Clusters are numbered by the mean of the ordering feature, highest first.",
            )
            .into(),
    });
    let mut header = strings([
        f.pick("簇", "cluster"),
        f.pick("描述", "description"),
        f.pick("客户数", "customers"),
        f.pick("客户占比", "share"),
        f.pick("收入占比", "revenue share"),
    ]);
    header.extend(c.features.iter().map(|x| match f.lang {
        Lang::En => format!("mean {x}"),
        Lang::Zh => statistic_label(Statistic::Mean, x, f.lang),
    }));
    let rows = c
        .clusters
        .iter()
        .map(|k| {
            let mut row = vec![
                k.id.to_string(),
                label(k),
                f.count(k.size),
                pct(k.share),
                pct(revenue.get(k.id - 1).copied().unwrap_or(0.0)),
            ];
            row.extend(k.means.iter().map(|m| number(*m, 1)));
            row
        })
        .collect();
    blocks.push(Block::Table(Table {
        header,
        rows,
        ..Table::default()
    }));
    if c.k_table.len() > 1 {
        blocks.push(Block::Heading(f.pick("K 的选择", "Choosing K").into()));
        blocks.push(Block::Table(Table {
            header: strings([
                "K",
                f.pick("簇内平方和（肘部法）", "inertia (elbow)"),
                f.pick("轮廓系数", "silhouette"),
                "Calinski–Harabasz",
            ]),
            rows: c
                .k_table
                .iter()
                .map(|row| {
                    vec![
                        row.k.to_string(),
                        number(row.inertia, 1),
                        number(row.silhouette, 3),
                        number(row.calinski_harabasz, 1),
                    ]
                })
                .collect(),
            highlight: c.k_table.iter().position(|row| row.k == c.k),
            shade: None,
        }));
        let mut notes = vec![f
            .pick("高亮行为所选 K：轮廓系数最高者（相同时取较小的 K）。", "The highlighted row is the chosen K: the best silhouette (the smaller K on a tie).")
            .to_string()];
        if let Some(s) = c.selection_sample {
            notes.push(format!(
                "{} {} {}",
                f.pick("K 在随机抽取的", "K was chosen on a seeded sample of"),
                f.count(s),
                f.pick(
                    "位客户上选择；最终聚类使用全部客户。",
                    "customers; the final fit uses every customer."
                )
            ));
        }
        blocks.push(Block::Notes(notes));
    }
    if c.skipped > 0 {
        blocks.push(Block::Notes(vec![format!(
            "{} {}",
            f.count(c.skipped),
            f.pick(
                "位客户缺少特征值，未参与聚类。",
                "customers lack a feature value and are not clustered."
            )
        )]));
    }
    Some(Section {
        id: "clusters",
        title: f.pick("聚类分群（K-means）", "Clusters (k-means)").into(),
        blocks,
    })
}

/// The p-value as people read it: four decimals, scientific below 1e-4, `<1e-300` when it
/// underflows.
fn p_text(p: f64) -> String {
    crate::validation::p_cell(Some(p)).text()
}

fn validation(r: &ReportInput<'_>, f: &Fmt<'_>) -> Section {
    let mut blocks = vec![Block::Text(
        f.pick(
            "各分群在每个特征上是否确有差异：Kruskal–Wallis 检验（秩检验，对偏态数据稳健）与单因素方差分析。ε² 为效应量（0 到 1）。用于划分分群的特征按定义必然不同，应关注 ε² 与下方提示。",
            "Whether the segments really differ on each feature: the Kruskal–Wallis test (on ranks, robust to skewed data) and one-way ANOVA. ε² is the effect size (0 to 1). Features that define a segmentation differ by construction: read ε² and the remarks below.",
        )
        .into(),
    )];
    for (name, v) in r.validations {
        blocks.push(Block::Heading(validation_title(name, r, f)));
        blocks.push(Block::Table(test_table(v, f)));
        if !v.warnings.is_empty() {
            let label = |code: &str| segment_label(name, code, r, f);
            let mut notes: Vec<String> = v
                .warnings
                .iter()
                .take(8)
                .map(|w| w.text_with(f.lang, &label))
                .collect();
            if v.warnings.len() > 8 {
                notes.push(format!(
                    "{} {} {}",
                    f.pick("另有", "and"),
                    v.warnings.len() - 8,
                    f.pick("条提示，见 validation.json", "more in validation.json")
                ));
            }
            blocks.push(Block::Notes(notes));
        }
    }
    // beside the tests: how far sales agreed with the tiers of the latest kept run
    if let Some(a) = r.history.and_then(|h| h.agreement.as_ref().map(|a| (h, a))) {
        let (h, a) = a;
        let scheme = r.scheme.map(|o| o.scheme);
        blocks.push(Block::Heading(format!(
            "{} #{}",
            f.pick(
                "销售对等级的认同率（外部验证）：运行",
                "Agreement of sales with the tiers (external validation): run"
            ),
            a.run
        )));
        blocks.push(Block::Table(Table {
            header: strings([
                f.pick("分组", "group"),
                f.pick("已复核", "reviewed"),
                f.pick("认同", "agreed"),
                f.pick("异议获批", "disputes approved"),
                f.pick("异议驳回", "disputes rejected"),
                f.pick("认同率", "agreement"),
            ]),
            rows: a
                .rows
                .iter()
                .map(|x| {
                    let group = match x.kind {
                        "all" => f.pick("全部", "all").to_string(),
                        "tier" => format!(
                            "{} · {}",
                            f.pick("等级", "tier"),
                            tier_label(scheme, &h.dimension, &x.group, r.lang)
                        ),
                        _ => format!("{} · {}", f.pick("客户经理", "manager"), x.group),
                    };
                    vec![
                        group,
                        f.count(x.reviewed),
                        f.count(x.agreed),
                        f.count(x.approved),
                        f.count(x.rejected),
                        pct(x.agreed as f64 / x.reviewed.max(1) as f64),
                    ]
                })
                .collect(),
            ..Table::default()
        }));
    }
    Section {
        id: "validation",
        title: f.pick("分群验证", "Do the segments differ?").into(),
        blocks,
    }
}

/// The label of segment `code` of segmentation `name` (the code when there is none).
fn segment_label(name: &str, code: &str, r: &ReportInput<'_>, f: &Fmt<'_>) -> String {
    fn find<K: Labelled>(all: &[K], code: &str, lang: Lang) -> Option<String> {
        all.iter()
            .find(|k| k.code() == code)
            .map(|k| k.label(lang).to_string())
    }
    let found = match name {
        "rfm_class" => find(&RfmClass::ALL, code, f.lang),
        "rfm_segment" => find(&stratum_core::Segment::ALL, code, f.lang),
        "abc_class" => find(&AbcClass::ALL, code, f.lang),
        "cluster" => r.clusters.and_then(|(c, _)| {
            let k = c.clusters.iter().find(|k| k.id.to_string() == code)?;
            Some(format!("{code} {}", k.label(f.lang)))
        }),
        other => r.scheme.and_then(|o| {
            let d = o.scheme.dimensions.iter().find(|d| d.name == other)?;
            let t = d.tiers.iter().find(|t| t.name == code)?;
            Some(t.label.pick(f.lang, &t.name).to_string())
        }),
    };
    found.unwrap_or_else(|| code.to_string())
}

fn validation_title(name: &str, r: &ReportInput<'_>, f: &Fmt<'_>) -> String {
    match name {
        "rfm_class" => f.pick("RFM 八类", "RFM classes").into(),
        "rfm_segment" => f.pick("RFM 分群", "RFM segments").into(),
        "abc_class" => f.pick("ABC 分类", "ABC classes").into(),
        "cluster" => f.pick("聚类", "Clusters").into(),
        other => r
            .scheme
            .and_then(|o| o.scheme.dimensions.iter().find(|d| d.name == other))
            .map_or_else(
                || other.to_string(),
                |d| d.label.pick(f.lang, &d.name).to_string(),
            ),
    }
}

fn test_table(v: &Validation, f: &Fmt<'_>) -> Table {
    Table {
        header: strings([
            f.pick("特征", "feature"),
            "Kruskal–Wallis H",
            f.pick("自由度", "df"),
            "p",
            "ε²",
            "ANOVA F",
            "p (F)",
        ]),
        rows: v
            .tests
            .iter()
            .map(|t| {
                let kw = t.kruskal_wallis.as_ref().ok();
                let an = t.anova.as_ref().ok();
                // an undefined test says why in its first cell
                let why = |u: Option<stratum_core::validate::Undefined>| {
                    u.map_or_else(|| "–".to_string(), |u| u.text(f.lang).to_string())
                };
                vec![
                    column_label(&t.feature, f.lang).to_string(),
                    kw.map_or_else(|| why(t.kruskal_wallis.err()), |k| number(k.h, 1)),
                    kw.map_or("–".into(), |k| number(k.df, 0)),
                    kw.map_or("–".into(), |k| p_text(k.p)),
                    kw.map_or("–".into(), |k| number(k.epsilon_sq, 3)),
                    an.map_or_else(|| why(t.anova.err()), |a| number(a.f, 1)),
                    an.map_or("–".into(), |a| p_text(a.p)),
                ]
            })
            .collect(),
        ..Table::default()
    }
}

/// The sales funnel of the report.
fn funnel(r: &ReportInput<'_>, f: &Fmt<'_>) -> Option<Section> {
    let s = r.funnel?;
    let scheme = r.scheme.map(|o| o.scheme);
    let label = |t: &str| tier_label(scheme, &s.tier_dimension, t, r.lang);
    Some(funnel_of(s, &label, r.quality.as_of, r.top, f))
}

/// The sales funnel's section of `s` at `as_of` (the report's, and the dashboard's from the
/// store): headline figures, the funnel chart, the stages, the groups by owner, customer tier
/// (named by `label`) and period, and the first `top` open opportunities of high-tier
/// customers.
pub fn funnel_section(
    s: &stratum_core::funnel::FunnelSummary,
    label: &dyn Fn(&str) -> String,
    as_of: chrono::NaiveDate,
    top: usize,
    lang: Lang,
    currency: &str,
) -> Section {
    funnel_of(s, label, as_of, top, &Fmt { lang, currency })
}

fn funnel_of(
    fr: &stratum_core::funnel::FunnelSummary,
    label: &dyn Fn(&str) -> String,
    as_of: chrono::NaiveDate,
    top: usize,
    f: &Fmt<'_>,
) -> Section {
    use crate::funnel::{FunnelGroup, groups, tier_name};
    let a = &fr.all;
    let rate = |v: Option<f64>| v.map_or_else(|| "–".to_string(), pct);
    let days = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |d| number(d, 1));
    let mut blocks = vec![Block::Figures(vec![
        (
            f.pick("商机", "opportunities").into(),
            f.count(a.opportunities),
            format!(
                "{} {} · {} {}",
                f.count(a.open),
                f.pick("进行中", "open"),
                f.count(a.lost),
                f.pick("输单", "lost")
            ),
        ),
        (
            f.pick("赢单", "won").into(),
            f.count(a.won),
            format!("{} {}", f.pick("赢率", "win rate"), rate(a.win_rate())),
        ),
        (
            f.pick("整体转化率", "overall conversion").into(),
            rate(a.overall_conversion()),
            f.pick("赢单 / 全部商机", "won / all opportunities").into(),
        ),
        (
            f.pick("赢单金额", "won amount").into(),
            f.amount(a.won_amount.to_f64()),
            format!(
                "{} {}",
                f.pick("在途", "open pipeline"),
                f.amount(a.open_amount.to_f64())
            ),
        ),
        (
            f.pick("平均销售周期", "mean sales cycle").into(),
            match a.mean_cycle_days() {
                Some(d) => format!("{} {}", number(d, 1), f.pick("天", "days")),
                None => "–".into(),
            },
            f.pick("创建到赢单", "created to won").into(),
        ),
    ])];
    let names: Vec<String> = fr
        .stages
        .iter()
        .map(|s| s.pick(f.lang).to_string())
        .collect();
    let mut steps: Vec<(String, f64)> = names
        .iter()
        .zip(&a.stages)
        .map(|(n, s)| (n.clone(), s.reached as f64))
        .collect();
    steps.push((f.pick("赢单", "Won").into(), a.won as f64));
    blocks.push(Block::Chart {
        svg: FunnelChart {
            title: f.pick("销售漏斗", "Sales funnel").into(),
            steps,
            format: &|v| thousands(v as u64),
            rate: &|v| pct(v),
        }
        .svg(),
        caption: f
            .pick(
                "每一层为到达该阶段的商机数（已赢单的商机计入所有阶段；只记录当前阶段的商机计入之前各阶段），箭头为到下一阶段的转化率",
                "Each step is the opportunities that reached the stage (won ones reach every stage; one recorded only at its current stage counts in the stages before it); the arrows are the next-step conversion",
            )
            .into(),
    });
    let mut stage_rows = Vec::new();
    for (i, (name, s)) in names.iter().zip(&a.stages).enumerate() {
        stage_rows.push(vec![
            name.clone(),
            f.count(s.reached),
            f.count(a.moved_on(i)),
            rate(a.next_rate(i)),
            rate(a.cumulative_rate(i)),
            f.count(s.lost),
            f.count(s.open),
            days(s.mean_days()),
        ]);
    }
    blocks.push(Block::Table(Table {
        header: strings([
            f.pick("阶段", "stage"),
            f.pick("到达", "reached"),
            f.pick("进入下一步", "moved on"),
            f.pick("下一步转化率", "next-step conversion"),
            f.pick("累计转化率", "cumulative conversion"),
            f.pick("在此输单（流失）", "lost here (drop-off)"),
            f.pick("仍在此阶段", "still open here"),
            f.pick("平均停留（天）", "mean days in stage"),
        ]),
        rows: stage_rows,
        ..Table::default()
    }));
    let all = groups(fr, label, f.lang);
    let group_table = |dimension: &str, first: &str| -> Table {
        let chosen: Vec<&FunnelGroup<'_>> =
            all.iter().filter(|g| g.dimension == dimension).collect();
        let won: Vec<f64> = chosen
            .iter()
            .map(|g| g.figures.won_amount.to_f64())
            .collect();
        let (won_header, won_cells) = f.money_column(f.pick("赢单金额", "won amount"), &won);
        Table {
            header: vec![
                first.to_string(),
                f.pick("商机", "opportunities").into(),
                f.pick("赢单", "won").into(),
                f.pick("输单", "lost").into(),
                f.pick("进行中", "open").into(),
                f.pick("赢率", "win rate").into(),
                f.pick("整体转化率", "overall conversion").into(),
                won_header,
                f.pick("平均周期（天）", "mean cycle (days)").into(),
            ],
            rows: chosen
                .iter()
                .zip(won_cells)
                .map(|(g, won)| {
                    let x = g.figures;
                    vec![
                        g.name.clone(),
                        f.count(x.opportunities),
                        f.count(x.won),
                        f.count(x.lost),
                        f.count(x.open),
                        rate(x.win_rate()),
                        rate(x.overall_conversion()),
                        won,
                        days(x.mean_cycle_days()),
                    ]
                })
                .collect(),
            ..Table::default()
        }
    };
    blocks.push(Block::Heading(f.pick("按负责人", "By owner").into()));
    blocks.push(Block::Table(group_table(
        "owner",
        f.pick("负责人", "owner"),
    )));
    blocks.push(Block::Heading(
        f.pick("按客户等级", "By customer tier").into(),
    ));
    blocks.push(Block::Table(group_table(
        "tier",
        f.pick("客户等级", "tier"),
    )));
    blocks.push(Block::Heading(
        f.pick("按创建期间", "By period created").into(),
    ));
    blocks.push(Block::Table(group_table(
        "period",
        f.pick("期间", "period"),
    )));
    // the open opportunities of high-tier customers, largest first
    blocks.push(Block::Heading(
        f.pick(
            "高等级客户的进行中商机",
            "Open opportunities of high-tier customers",
        )
        .into(),
    ));
    if fr.flagged.is_empty() {
        blocks.push(Block::Text(
            f.pick(
                "没有高等级客户的进行中商机。",
                "No open opportunity of a high-tier customer.",
            )
            .into(),
        ));
    } else {
        let shown = &fr.flagged[..fr.flagged.len().min(top)];
        let amounts: Vec<f64> = shown.iter().map(|o| o.amount.to_f64()).collect();
        let (amount_header, amount_cells) = f.money_column(f.pick("金额", "amount"), &amounts);
        let stage_name = |key: &str| {
            fr.stages
                .iter()
                .find(|s| s.key == key)
                .map_or(key.to_string(), |s| s.pick(f.lang).to_string())
        };
        blocks.push(Block::Table(Table {
            header: vec![
                f.pick("商机", "opportunity").into(),
                f.pick("客户", "customer").into(),
                f.pick("负责人", "owner").into(),
                f.pick("客户等级", "tier").into(),
                f.pick("当前阶段", "stage").into(),
                amount_header,
                f.pick("本阶段已停留（天）", "days in stage").into(),
            ],
            rows: shown
                .iter()
                .zip(amount_cells)
                .map(|(o, amount)| {
                    vec![
                        o.id.clone(),
                        o.customer_id.clone(),
                        o.owner.clone(),
                        tier_name(&o.tier, label, f.lang),
                        stage_name(&o.stage),
                        amount,
                        o.entered.map_or_else(
                            || "–".into(),
                            |d| f.count((as_of - d).num_days().max(0) as usize),
                        ),
                    ]
                })
                .collect(),
            ..Table::default()
        }));
        if fr.flagged.len() > shown.len() {
            blocks.push(Block::Notes(vec![format!(
                "{} {} {}",
                f.pick("共", "In all"),
                f.count(fr.flagged.len()),
                f.pick(
                    "个，全部见 opportunities.csv（high_tier = yes）",
                    "open, all in opportunities.csv (high_tier = yes)"
                )
            )]));
        }
    }
    Section {
        id: "funnel",
        title: f.pick("销售漏斗", "Sales funnel").into(),
        blocks,
    }
}

fn clv(r: &ReportInput<'_>, f: &Fmt<'_>) -> Option<Section> {
    let run = r.clv?;
    let params = run.model.params();
    let (kind, bands) = (params.model(), params.churn_bands());
    let all = &run.total;
    let total = all.total_clv;
    let high = all.high_risk();
    let mean_alive = all.p_alive / all.customers.max(1) as f64;
    let mut blocks = vec![Block::Figures(vec![
        (
            f.pick("模型", "model").into(),
            format!("{} + Gamma-Gamma", kind.title()),
            format!(
                "{} {} {}",
                f.pick("预测期", "horizon"),
                params.horizon_months(),
                f.pick("个月", "months")
            ),
        ),
        (
            f.pick("预测客户价值合计", "predicted value (CLV), total")
                .into(),
            f.amount(total),
            format!(
                "{} {}",
                f.count(all.customers),
                f.pick("位客户", "customers")
            ),
        ),
        (
            f.pick("平均存活概率", "mean P(alive)").into(),
            pct(mean_alive),
            String::new(),
        ),
        (
            f.pick("高流失风险客户", "customers at high churn risk")
                .into(),
            f.count(high),
            pct(high as f64 / all.customers.max(1) as f64),
        ),
    ])];
    let values: Vec<f64> = run
        .per_customer
        .iter()
        .flatten()
        .map(|(p, _)| p)
        .filter(|p| p.is_finite())
        .map(|p| p.clv)
        .collect();
    // fractions of a currency unit do not matter: the axis starts at 1 at the lowest
    let bins = Bins::with_floor(&values, 1.0);
    blocks.push(Block::Chart {
        svg: Histogram {
            title: f
                .pick("预测客户价值分布", "Distribution of predicted value (CLV)")
                .into(),
            bins: &bins,
            axes: (
                format!(
                    "{}{}",
                    f.pick("预测客户价值", "predicted value (CLV)"),
                    if bins.log {
                        f.pick("（对数刻度）", ", log scale")
                    } else {
                        ""
                    }
                ),
                f.pick("客户数", "customers").into(),
            ),
            format: &|v| f.tick(v),
            count: &|v| f.count(v as usize),
        }
        .svg(),
        caption: hist_caption(&bins, f),
    });
    // churn bands by tier: the scheme's final tiers, else the RFM classes (the groups with a
    // usable prediction, as the run counted them)
    let (groups, names): (Vec<ClvGroup>, Vec<String>) = match (r.scheme, &run.tiers) {
        (Some(o), Some(tiers)) => {
            let d = o.scheme.final_dimension;
            tiers
                .iter()
                .zip(&o.scheme.dimensions[d].tiers)
                .filter(|(g, _)| g.customers > 0)
                .map(|(g, t)| (*g, t.label.pick(f.lang, &t.name).to_string()))
                .unzip()
        }
        _ => run
            .classes
            .iter()
            .map(|k| (k.clv, k.class.label(f.lang).to_string()))
            .unzip(),
    };
    let frac = |k: usize, b: usize| groups[k].bands[b] as f64 / groups[k].customers.max(1) as f64;
    let band_names = ChurnBand::ALL;
    let by = if r.scheme.is_some() {
        f.pick("各等级", "by tier")
    } else {
        f.pick("各 RFM 类别", "by RFM class")
    };
    blocks.push(Block::Heading(format!(
        "{} {by}",
        f.pick("流失风险", "Churn risk")
    )));
    blocks.push(Block::Chart {
        svg: Bars {
            title: format!("{} {by}", f.pick("流失风险分布", "Churn risk bands")),
            categories: names.clone(),
            series: band_names
                .iter()
                .enumerate()
                .map(|(b, band)| Series {
                    name: format!(
                        "{} {}",
                        f.pick("流失风险", "churn risk"),
                        band.label(f.lang)
                    ),
                    values: (0..groups.len()).map(|k| frac(k, b)).collect(),
                    // low blue, medium orange, high vermillion
                    color: [PALETTE[0], PALETTE[1], PALETTE[3]][b],
                })
                .collect(),
            format: &share_tick,
            ticks: &share_tick,
            axis_max: Some(1.0),
            stacked: true,
            axis_label: f.pick("客户占比（%）", "share of customers (%)").into(),
        }
        .svg(),
        caption: match f.lang {
            Lang::Zh => format!(
                "流失风险 = 1 − 存活概率；低 < {} ≤ 中 < {} ≤ 高。{}",
                bands.0,
                bands.1,
                kind.assumption(f.lang)
            ),
            Lang::En => format!(
                "Churn risk = 1 − P(alive); low < {} ≤ medium < {} ≤ high. {}",
                bands.0,
                bands.1,
                kind.assumption(f.lang)
            ),
        },
    });
    let (total_header, total_cells) = f.money_column(
        f.pick("预测价值合计", "total CLV"),
        &groups.iter().map(|g| g.total_clv).collect::<Vec<_>>(),
    );
    let (mean_header, mean_cells) = f.money_column(
        f.pick("平均预测价值", "mean CLV"),
        &groups
            .iter()
            .map(|g| g.total_clv / g.customers as f64)
            .collect::<Vec<_>>(),
    );
    blocks.push(Block::Table(Table {
        header: strings([
            if r.scheme.is_some() {
                f.pick("等级", "tier")
            } else {
                f.pick("RFM 八类", "RFM class")
            },
            f.pick("客户数", "customers"),
            f.pick("平均流失风险", "mean churn risk"),
            f.pick("高风险客户", "high risk"),
            &total_header,
            &mean_header,
        ]),
        rows: groups
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(j, (g, name))| {
                vec![
                    name.clone(),
                    f.count(g.customers),
                    pct(g.churn_risk / g.customers as f64),
                    f.count(g.high_risk()),
                    total_cells[j].clone(),
                    mean_cells[j].clone(),
                ]
            })
            .collect(),
        ..Table::default()
    }));
    blocks.extend(at_risk(r, f));
    Some(Section {
        id: "clv",
        title: f
            .pick(
                "客户生命周期价值与流失风险",
                "Lifetime value and churn risk",
            )
            .into(),
        blocks,
    })
}

/// The high-value customers at risk, most past revenue first: with a scheme that names its
/// at-risk tier (`at_risk = "vip_at_risk"`), that tier's customers (one definition for the
/// scheme and the report); else class A by past revenue at high churn risk (needs the model).
fn at_risk(r: &ReportInput<'_>, f: &Fmt<'_>) -> Vec<Block> {
    let t = r.tiering;
    let customers = &t.features.customers;
    // each customer's finite prediction, when the model was fitted
    let prediction = |i: usize| {
        r.clv
            .as_ref()
            .and_then(|c| c.per_customer.get(i))
            .and_then(|p| p.as_ref())
            .map(|(p, _)| p)
            .filter(|p| p.is_finite())
    };
    let scheme_tier = r.scheme.and_then(|o| {
        o.scheme.at_risk.map(|k| {
            (
                o,
                &o.scheme.dimensions[o.scheme.final_dimension].tiers[k],
                k,
            )
        })
    });
    let mut list: Vec<usize> = match scheme_tier {
        Some((o, _, k)) => (0..customers.len())
            .filter(|&i| o.tier_index(o.scheme.final_dimension, i) == k)
            .collect(),
        None if r.clv.is_some() => {
            let abc = t.abc.classes();
            (0..customers.len())
                .filter(|&i| {
                    abc[i] == AbcClass::A
                        && prediction(i).is_some_and(|p| p.churn_band == Some(ChurnBand::High))
                })
                .collect()
        }
        None => return Vec::new(),
    };
    list.sort_by(|&a, &b| {
        customers[b]
            .monetary
            .cmp(&customers[a].monetary)
            .then(customers[a].customer_id.cmp(&customers[b].customer_id))
    });
    let mut blocks = vec![Block::Heading(format!(
        "{} ({} {}, {} {})",
        f.pick("高价值客户流失预警", "High-value customers at risk"),
        f.count(list.len()),
        f.pick("位", "customers"),
        f.pick("显示前", "top"),
        r.top.min(list.len())
    ))];
    let definition = match scheme_tier {
        Some((_, tier, _)) => {
            let label = tier.label.pick(f.lang, &tier.name);
            let rule = tier.rule_text.as_deref().unwrap_or("");
            match f.lang {
                Lang::Zh => format!(
                    "分级方案的“{label}”等级的全部客户（规则：{rule}），按历史消费从高到低；完整名单见 tiers.csv。"
                ),
                Lang::En => format!(
                    "Every customer of the scheme's tier \"{label}\" (rule: {rule}), by past revenue; the full list is in tiers.csv."
                ),
            }
        }
        None => match f.lang {
            Lang::Zh => format!(
                "A 类（历史收入前 {}）且流失风险高的客户，按历史消费从高到低；完整名单见 clv.csv。",
                setting_pct(r.abc_cuts.0)
            ),
            Lang::En => format!(
                "Class A customers (the top {} of past revenue) at high churn risk, by past revenue; the full list is in clv.csv.",
                setting_pct(r.abc_cuts.0)
            ),
        },
    };
    if list.is_empty() {
        blocks.push(Block::Text(match scheme_tier {
            Some((_, tier, _)) => format!(
                "{} “{}”{}",
                f.pick("没有客户处于", "No customer is in the tier"),
                tier.label.pick(f.lang, &tier.name),
                f.pick("等级。", ".")
            ),
            None => f
                .pick(
                    "没有 A 类客户处于高流失风险。",
                    "No class A customer is at high churn risk.",
                )
                .into(),
        }));
        blocks.push(Block::Notes(vec![definition]));
        return blocks;
    }
    let shown = &list[..r.top.min(list.len())];
    let (monetary_header, monetary_cells) = f.money_column(
        f.pick("历史消费", "monetary"),
        &shown
            .iter()
            .map(|&i| customers[i].monetary.to_f64())
            .collect::<Vec<_>>(),
    );
    let (clv_header, clv_cells) = f.money_column(
        f.pick("预测价值", "CLV"),
        &shown
            .iter()
            .map(|&i| prediction(i).map_or(f64::NAN, |p| p.clv))
            .collect::<Vec<_>>(),
    );
    let mut header = strings([
        f.pick("客户编号", "customer"),
        f.pick("RFM 八类", "RFM class"),
        &monetary_header,
        f.pick("最后购买", "last order"),
        f.pick("距今（天）", "days since"),
    ]);
    if r.clv.is_some() {
        header.push(f.pick("存活概率", "P(alive)").into());
        header.push(clv_header);
    }
    if let Some(o) = r.scheme {
        header.push(
            o.scheme.dimensions[o.scheme.final_dimension]
                .label
                .pick(f.lang, "tier")
                .to_string(),
        );
        header.push(f.pick("客户经理", "account manager").into());
    }
    let rows = shown
        .iter()
        .enumerate()
        .map(|(j, &i)| {
            let x = &customers[i];
            let id = match r.scheme.and_then(|o| o.name(i)) {
                Some(name) if !name.is_empty() => format!("{} {name}", x.customer_id),
                _ => x.customer_id.clone(),
            };
            let mut row = vec![
                id,
                t.rfm.customers()[i].class.label(f.lang).to_string(),
                monetary_cells[j].clone(),
                x.last_purchase.to_string(),
                f.count(x.recency_days.max(0) as usize),
            ];
            if r.clv.is_some() {
                row.push(prediction(i).map_or_else(|| "–".into(), |p| pct(p.p_alive)));
                row.push(clv_cells[j].clone());
            }
            if let Some(o) = r.scheme {
                let tier = &o.scheme.dimensions[o.scheme.final_dimension].tiers
                    [o.tier_index(o.scheme.final_dimension, i)];
                row.push(tier.label.pick(f.lang, &tier.name).to_string());
                row.push(o.manager(i).unwrap_or("").to_string());
            }
            row
        })
        .collect();
    blocks.push(Block::Table(Table {
        header,
        rows,
        ..Table::default()
    }));
    blocks.push(Block::Notes(vec![definition]));
    blocks
}

fn hist_caption(b: &Bins, f: &Fmt<'_>) -> String {
    let mut s = if b.log {
        f.pick(
            "横轴为对数刻度（数据长尾）。",
            "Log scale: the data is heavy-tailed.",
        )
        .to_string()
    } else {
        String::new()
    };
    if b.below > 0 {
        s.push_str(&format!(
            " {} {} {} {}",
            f.pick("第一条柱含", "The first bar includes"),
            f.count(b.below as usize),
            f.pick("位值低于", "customers below"),
            f.tick(b.edges[0])
        ));
        s.push_str(f.pick("的客户。", "."));
    }
    if b.left_out > 0 {
        s.push_str(&format!(
            " {}{} {}",
            f.pick("另有 ", ""),
            f.count(b.left_out as usize),
            f.pick(
                "位客户的值 ≤ 0，未显示。",
                "customers with values ≤ 0 are not shown."
            )
        ));
    }
    s.trim().to_string()
}

fn distributions(r: &ReportInput<'_>, f: &Fmt<'_>) -> Section {
    let c = &r.tiering.features.customers;
    let mut blocks = Vec::new();
    let specs: [(&str, &str, Vec<f64>, bool); 3] = [
        (
            f.pick(
                "最近一次购买距今天数（R）",
                "Days since the last purchase (R)",
            ),
            f.pick("距今天数", "days"),
            c.iter().map(|x| x.recency_days as f64).collect(),
            false,
        ),
        (
            f.pick("购买次数（F）", "Purchases (F)"),
            f.pick("购买次数", "orders"),
            c.iter().map(|x| x.frequency as f64).collect(),
            false,
        ),
        (
            f.pick("消费金额（M，净额）", "Monetary value (M, net)"),
            f.pick("消费金额", "amount"),
            c.iter().map(|x| x.monetary.to_f64()).collect(),
            true,
        ),
    ];
    for (title, unit, values, money) in specs {
        let bins = Bins::new(&values);
        let axis = format!(
            "{unit}{}",
            if bins.log {
                f.pick("（对数刻度）", ", log scale")
            } else {
                ""
            }
        );
        blocks.push(Block::Heading(title.into()));
        blocks.push(Block::Chart {
            svg: Histogram {
                title: title.into(),
                bins: &bins,
                axes: (axis, f.pick("客户数", "customers").into()),
                format: &|v| if money { f.tick(v) } else { number(v, 0) },
                count: &|v| f.count(v as usize),
            }
            .svg(),
            caption: hist_caption(&bins, f),
        });
    }
    Section {
        id: "distributions",
        title: f
            .pick("R、F、M 的分布", "Distributions of R, F and M")
            .into(),
        blocks,
    }
}

/// A run of the history as the report names it: `#3 · 2026-06-30`, or `本次` / `this run`.
fn run_name(run: &RunRef, f: &Fmt<'_>) -> String {
    match run.id {
        _ if run.draft => format!("{} · {}", f.pick("草案", "draft"), run.as_of),
        Some(id) => format!("#{id} · {}", run.as_of),
        None => format!("{} · {}", f.pick("本次", "this run"), run.as_of),
    }
}

/// The colour of a move in the flow chart and its legend name.
fn move_color(d: Direction) -> &'static str {
    match d {
        Direction::Up => PALETTE[2],
        Direction::Stable => PALETTE[7],
        Direction::Down => PALETTE[3],
        Direction::New => PALETTE[4],
        Direction::Lost => PALETTE[5],
    }
}

fn move_name(d: Direction, f: &Fmt<'_>) -> String {
    match d {
        Direction::Up => f.pick("升级", "up"),
        Direction::Stable => f.pick("不变", "stable"),
        Direction::Down => f.pick("降级", "down"),
        Direction::New => f.pick("新客户", "new"),
        Direction::Lost => f.pick("流失", "lost"),
    }
    .to_string()
}

/// The history section: tier sizes over the runs kept, the migration matrix of the last two
/// runs as a heat map and a flow chart, time in tier, and the biggest moves with why.
fn history(r: &ReportInput<'_>, f: &Fmt<'_>) -> Option<Section> {
    let h = r.history?;
    let scheme = r.scheme.map(|o| o.scheme);
    let dimension = scheme
        .and_then(|s| s.dimensions.iter().find(|d| d.name == h.dimension))
        .map_or(h.dimension.as_str(), |d| d.label.pick(f.lang, &d.name));
    history_of(
        h,
        &|t: &str| tier_label(scheme, &h.dimension, t, r.lang),
        dimension,
        f,
    )
}

/// The history section of `h`, its tiers named by `label` and its dimension called
/// `dimension`.
pub fn history_section(
    h: &HistoryView,
    label: &dyn Fn(&str) -> String,
    dimension: &str,
    lang: Lang,
    currency: &str,
) -> Option<Section> {
    history_of(h, label, dimension, &Fmt { lang, currency })
}

fn history_of(
    h: &HistoryView,
    label: &dyn Fn(&str) -> String,
    dimension: &str,
    f: &Fmt<'_>,
) -> Option<Section> {
    let latest = h.runs.last()?;
    let mut blocks = Vec::new();
    let mut figures = vec![(
        f.pick("已保存的运行", "runs kept").to_string(),
        f.count(h.runs_in_store),
        if h.runs.len() < h.runs_in_store {
            match f.lang {
                Lang::Zh => format!("此处显示最近 {} 次", h.runs.len()),
                Lang::En => format!("the latest {} shown here", h.runs.len()),
            }
        } else {
            String::new()
        },
    )];
    if let Some(m) = &h.matrix {
        let [up, stable, down] = m.shares();
        for (name, share, n) in [
            (f.pick("升级", "moved up"), up, m.counts[0]),
            (f.pick("不变", "stayed"), stable, m.counts[1]),
            (f.pick("降级", "moved down"), down, m.counts[2]),
        ] {
            figures.push((name.to_string(), pct(share), f.count(n as usize)));
        }
        figures.push((
            f.pick("新客户 / 流失", "new / lost").to_string(),
            format!(
                "{} / {}",
                f.count(m.new_and_lost[0] as usize),
                f.count(m.new_and_lost[1] as usize)
            ),
            format!("{} → {}", run_name(&m.from, f), run_name(&m.to, f)),
        ));
    }
    blocks.push(Block::Figures(figures));
    if h.matrix.is_none() {
        blocks.push(Block::Text(if h.runs_in_store <= 1 {
            f.pick(
                "这是历史库中的第一次运行：下一次运行后，这里将显示客户的升降级。",
                "This is the first run in the history store: moves between tiers show from the next run on.",
            )
            .into()
        } else {
            match f.lang {
                Lang::Zh => format!(
                    "此前的运行中没有维度 {}：从下一次使用该维度的运行起显示客户的升降级。",
                    h.dimension
                ),
                Lang::En => format!(
                    "No earlier run has the dimension {}: moves show from the next run that has it.",
                    h.dimension
                ),
            }
        }));
    }

    // tier sizes over time: one stacked bar per run, newest at the bottom
    blocks.push(Block::Heading(
        f.pick("各等级客户数的变化", "Tier sizes over time").into(),
    ));
    let series: Vec<Series> = h
        .tiers
        .iter()
        .enumerate()
        .map(|(t, name)| Series {
            name: label(name),
            values: h
                .runs
                .iter()
                .map(|run| run.tiers.get(t).map_or(0.0, |x| x.0 as f64))
                .collect(),
            color: PALETTE[t % PALETTE.len()],
        })
        .collect();
    let sizes = Bars {
        title: f
            .pick("各次运行的等级客户数", "Customers per tier in each run")
            .into(),
        categories: h.runs.iter().map(|run| run_name(&run.run, f)).collect(),
        series,
        format: &|v| thousands(v as u64),
        ticks: &|v| thousands(v as u64),
        axis_max: None,
        stacked: true,
        axis_label: f.pick("客户数", "customers").into(),
    }
    .svg();
    blocks.push(Block::Chart {
        svg: sizes,
        caption: format!("{} {}", f.pick("维度：", "Dimension:"), dimension),
    });
    let revenue: Vec<f64> = h
        .runs
        .iter()
        .flat_map(|run| run.tiers.iter().map(|x| x.1.to_f64()))
        .collect();
    let unit = f.unit(&revenue);
    let mut header = vec![f.pick("运行", "run").to_string()];
    for t in &h.tiers {
        header.push(label(t));
    }
    header.push(f.with_unit(f.pick("总收入", "revenue"), unit));
    blocks.push(Block::Table(Table {
        header,
        rows: h
            .runs
            .iter()
            .map(|run| {
                let mut row = vec![run_name(&run.run, f)];
                row.extend(run.tiers.iter().map(|x| f.count(x.0 as usize)));
                let total: stratum_core::Money = run.tiers.iter().map(|x| x.1).sum();
                row.push(f.in_unit(total.to_f64(), unit));
                row
            })
            .collect(),
        ..Table::default()
    }));

    if let Some(m) = &h.matrix {
        blocks.extend(matrix_blocks(m, &label, f));
    }

    // time in tier
    if !h.time_in_tier.is_empty() {
        blocks.push(Block::Heading(
            f.pick("在当前等级的时长", "Time in the current tier")
                .into(),
        ));
        let bands = time_band_names(f.lang);
        let series: Vec<Series> = bands
            .iter()
            .enumerate()
            .map(|(b, name)| Series {
                name: name.clone(),
                values: h
                    .time_in_tier
                    .iter()
                    .map(|t| t.bands[b] as f64 / t.customers.max(1) as f64)
                    .collect(),
                color: [PALETTE[3], PALETTE[1], PALETTE[6], PALETTE[4], PALETTE[0]][b],
            })
            .collect();
        let chart = Bars {
            title: f
                .pick(
                    "各等级客户在该等级的时长",
                    "How long each tier's customers have been in it",
                )
                .into(),
            categories: h.time_in_tier.iter().map(|t| label(&t.tier)).collect(),
            series,
            format: &|v| pct(v),
            ticks: &share_tick,
            axis_max: Some(1.0),
            stacked: true,
            axis_label: f.pick("客户占比（%）", "share of customers (%)").into(),
        }
        .svg();
        blocks.push(Block::Chart {
            svg: chart,
            caption: match f.lang {
                Lang::Zh => format!(
                    "时长从客户连续处于该等级的第一次运行的分析日期算到 {}。",
                    latest.run.as_of
                ),
                Lang::En => format!(
                    "Counted from the as-of date of the first run of the customer's unbroken stay in the tier to {}.",
                    latest.run.as_of
                ),
            },
        });
        let mut header = vec![
            f.pick("等级", "tier").to_string(),
            f.pick("客户数", "customers").into(),
        ];
        header.extend(bands);
        header.push(f.pick("中位天数", "median days").into());
        blocks.push(Block::Table(Table {
            header,
            rows: h
                .time_in_tier
                .iter()
                .map(|t| {
                    let mut row = vec![label(&t.tier), f.count(t.customers as usize)];
                    row.extend(t.bands.iter().map(|&k| f.count(k as usize)));
                    row.push(if t.median_days > TIME_IN_TIER_DAYS[2] {
                        format!("> {}", TIME_IN_TIER_DAYS[2])
                    } else {
                        f.count(t.median_days.max(0) as usize)
                    });
                    row
                })
                .collect(),
            ..Table::default()
        }));
    }

    for (title, list) in h.mover_lists(f.lang) {
        if list.is_empty() {
            continue;
        }
        blocks.push(Block::Heading(title.into()));
        blocks.push(Block::Table(mover_table(list, &label, f)));
    }
    Some(Section {
        id: "history",
        title: f.pick("历史与迁移", "History and moves").into(),
        blocks,
    })
}

/// The migration matrix as a heat map (customers and revenue) and a flow chart.
fn matrix_blocks(m: &MatrixView, label: &dyn Fn(&str) -> String, f: &Fmt<'_>) -> Vec<Block> {
    let row_name = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| f.pick("（新客户）", "(new)").to_string(), label)
    };
    let col_name = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| f.pick("（流失）", "(lost)").to_string(), label)
    };
    // revenue in the later run, or the earlier one's for lost customers
    let revenue_of = |c: usize, cell: &MatrixCell| {
        if m.columns[c].is_none() {
            cell.revenue_from
        } else {
            cell.revenue_to
        }
    };
    let all: Vec<f64> = m
        .cells
        .iter()
        .flat_map(|row| {
            row.iter()
                .enumerate()
                .map(|(c, x)| revenue_of(c, x).to_f64())
        })
        .collect();
    let unit = f.unit(&all);
    let heat = HeatMap {
        title: f.with_unit(
            f.pick(
                "迁移矩阵：客户数与收入",
                "Migration matrix: customers and revenue",
            ),
            unit,
        ),
        rows: m.rows.iter().map(row_name).collect(),
        columns: m.columns.iter().map(col_name).collect(),
        values: m
            .cells
            .iter()
            .map(|row| row.iter().map(|x| x.customers as f64).collect())
            .collect(),
        text: m
            .cells
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(c, x)| {
                        if x.customers == 0 {
                            vec!["0".into()]
                        } else {
                            vec![
                                f.count(x.customers as usize),
                                f.in_unit(revenue_of(c, x).to_f64(), unit),
                            ]
                        }
                    })
                    .collect()
            })
            .collect(),
        axes: (
            format!("{} {}", f.pick("之后：", "after:"), run_name(&m.to, f)),
            format!("{} {}", f.pick("之前：", "before:"), run_name(&m.from, f)),
        ),
        legend: f
            .pick(
                "颜色：客户数（越亮越多）",
                "colour: customers (brighter is more)",
            )
            .into(),
    }
    .svg();
    let directions = [
        Direction::Up,
        Direction::Stable,
        Direction::Down,
        Direction::New,
        Direction::Lost,
    ];
    let mut bands = Vec::new();
    for (r, row) in m.cells.iter().enumerate() {
        for (c, x) in row.iter().enumerate() {
            if x.customers > 0 {
                bands.push(Band {
                    from: r,
                    to: c,
                    value: x.customers as f64,
                    color: move_color(x.direction),
                    tip: format!(
                        "{} → {}: {}",
                        row_name(&m.rows[r]),
                        col_name(&m.columns[c]),
                        f.count(x.customers as usize)
                    ),
                });
            }
        }
    }
    let present: Vec<Direction> = directions
        .into_iter()
        .filter(|d| {
            m.cells
                .iter()
                .flatten()
                .any(|x| x.customers > 0 && x.direction == *d)
        })
        .collect();
    let flow = Flow {
        title: f.pick("客户流向", "Where customers moved").into(),
        left: m.rows.iter().map(row_name).collect(),
        right: m.columns.iter().map(col_name).collect(),
        bands,
        columns: (run_name(&m.from, f), run_name(&m.to, f)),
        legend: present
            .into_iter()
            .map(|d| (move_name(d, f), move_color(d)))
            .collect(),
    }
    .svg();
    vec![
        Block::Heading(format!(
            "{}{} → {}",
            f.pick("迁移：", "Moves: "),
            run_name(&m.from, f),
            run_name(&m.to, f)
        )),
        Block::Chart {
            svg: heat,
            caption: match (f.lang, f.unit_name(unit)) {
                (Lang::Zh, name) => format!(
                    "每格：从行等级到列等级的客户数与其本次收入（{name}；流失客户为上次收入）。对角线为等级不变。"
                ),
                (Lang::En, name) => format!(
                    "Each cell: customers who went from the row's tier to the column's, and their revenue in the later run{} (the earlier run's for lost customers). The diagonal stayed.",
                    if name.is_empty() {
                        String::new()
                    } else {
                        format!(" ({name})")
                    }
                ),
            },
        },
        Block::Chart {
            svg: flow,
            caption: f
                .pick(
                    "带宽为客户数；颜色表示升级、不变、降级、新客户与流失。",
                    "Band width is customers; colour says up, stable, down, new or lost.",
                )
                .into(),
        },
    ]
}

/// A table of moves: customer, from → to, revenue before and after, why.
fn mover_table(list: &[MoverView], label: &dyn Fn(&str) -> String, f: &Fmt<'_>) -> Table {
    let tier = |t: &Option<String>| t.as_deref().map_or_else(|| "–".to_string(), label);
    let (before, before_cells) = f.money_column(
        f.pick("之前收入", "revenue before"),
        &list
            .iter()
            .map(|x| x.monetary_from.to_f64())
            .collect::<Vec<_>>(),
    );
    let (after, after_cells) = f.money_column(
        f.pick("之后收入", "revenue after"),
        &list
            .iter()
            .map(|x| x.monetary_to.to_f64())
            .collect::<Vec<_>>(),
    );
    Table {
        header: vec![
            f.pick("客户", "customer").into(),
            f.pick("之前", "from").into(),
            f.pick("之后", "to").into(),
            before,
            after,
            f.pick("原因", "why").into(),
        ],
        rows: list
            .iter()
            .enumerate()
            .map(|(i, x)| {
                vec![
                    x.customer_id.clone(),
                    tier(&x.from),
                    tier(&x.to),
                    before_cells[i].clone(),
                    after_cells[i].clone(),
                    x.why.clone(),
                ]
            })
            .collect(),
        ..Table::default()
    }
}

/// The most movers the preview page lists (all are in `preview.csv`).
pub const PREVIEW_MOVERS_SHOWN: usize = 500;

/// The preview page of a draft scheme: title, subtitle, sections and footer. `label` names a
/// tier (the draft's labels first, then the run's scheme's).
pub fn preview(
    p: &PreviewView,
    label: &dyn Fn(&str) -> String,
    lang: Lang,
    currency: &str,
    generator: &str,
) -> (String, String, Vec<Section>, String) {
    let f = Fmt { lang, currency };
    let title = match &p.draft_name {
        Some(name) => format!("{} · {name}", f.pick("分级方案预览", "Scheme preview")),
        None => f.pick("分级方案预览", "Scheme preview").to_string(),
    };
    let subtitle = match lang {
        Lang::Zh => format!(
            "草案应用于运行 #{} 的客户（分析日期 {}）；未记录任何运行",
            p.run.id.unwrap_or_default(),
            p.run.as_of
        ),
        Lang::En => format!(
            "the draft applied to the customers of run #{} (as of {}); no run recorded",
            p.run.id.unwrap_or_default(),
            p.run.as_of
        ),
    };
    let share = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 0.0 };
    let moved = p.movers.len();
    let mut figures = vec![
        (
            f.pick("客户", "customers").to_string(),
            f.count(p.customers as usize),
            f.amount(p.revenue.to_f64()),
        ),
        (
            f.pick("将变动等级", "would change tier").to_string(),
            f.count(moved),
            pct(share(moved as f64, p.customers as f64)),
        ),
        (
            f.pick("随之变动的收入", "revenue that moves with them")
                .to_string(),
            f.amount(p.revenue_moved.to_f64()),
            pct(share(p.revenue_moved.to_f64(), p.revenue.to_f64())),
        ),
    ];
    let [up, stable, down] = p.matrix.shares();
    for (name, s, n) in [
        (f.pick("升级", "moved up"), up, p.matrix.counts[0]),
        (f.pick("不变", "stayed"), stable, p.matrix.counts[1]),
        (f.pick("降级", "moved down"), down, p.matrix.counts[2]),
    ] {
        figures.push((name.to_string(), pct(s), f.count(n as usize)));
    }
    let mut summary = vec![Block::Figures(figures)];
    if p.dimensions.0 != p.dimensions.1 {
        summary.push(Block::Text(match lang {
            Lang::Zh => format!(
                "比较运行的维度 {} 与草案的维度 {}。",
                p.dimensions.0, p.dimensions.1
            ),
            Lang::En => format!(
                "The run's dimension {} is compared with the draft's {}.",
                p.dimensions.0, p.dimensions.1
            ),
        }));
    }
    if !p.empty.is_empty() {
        let names: Vec<String> = p.empty.iter().map(|t| label(t)).collect();
        summary.push(Block::Text(format!(
            "{} {}",
            f.pick(
                "草案中将没有客户的等级：",
                "Tiers of the draft that would be empty:"
            ),
            names.join(lang.pick("、", ", "))
        )));
    }
    if !p.warnings.is_empty() {
        summary.push(Block::Notes(p.warnings.clone()));
    }
    let mut sections = vec![Section {
        id: "summary",
        title: f.pick("概览", "Summary").into(),
        blocks: summary,
    }];

    let mut moves = matrix_blocks(&p.matrix, label, &f);
    let olds: Vec<f64> = p.sizes.iter().map(|x| x.2.to_f64()).collect();
    let news: Vec<f64> = p.sizes.iter().map(|x| x.4.to_f64()).collect();
    let (old_revenue, old_cells) = f.money_column(f.pick("现在收入", "revenue now"), &olds);
    let (new_revenue, new_cells) =
        f.money_column(f.pick("草案收入", "revenue with the draft"), &news);
    moves.push(Block::Heading(f.pick("各等级的规模", "Tier sizes").into()));
    moves.push(Block::Table(Table {
        header: vec![
            f.pick("等级", "tier").into(),
            f.pick("现在客户数", "customers now").into(),
            f.pick("草案客户数", "customers with the draft").into(),
            old_revenue,
            new_revenue,
        ],
        rows: p
            .sizes
            .iter()
            .enumerate()
            .map(|(i, x)| {
                vec![
                    label(&x.0),
                    f.count(x.1 as usize),
                    f.count(x.3 as usize),
                    old_cells[i].clone(),
                    new_cells[i].clone(),
                ]
            })
            .collect(),
        ..Table::default()
    }));
    sections.push(Section {
        id: "migration",
        title: f.pick("迁移", "Migration").into(),
        blocks: moves,
    });

    let shown = &p.movers[..p.movers.len().min(PREVIEW_MOVERS_SHOWN)];
    let (revenue, cells) = f.money_column(
        f.pick("收入", "revenue"),
        &shown
            .iter()
            .map(|x| x.monetary.to_f64())
            .collect::<Vec<_>>(),
    );
    let mut blocks = Vec::new();
    if p.movers.len() > shown.len() {
        blocks.push(Block::Text(match lang {
            Lang::Zh => format!(
                "按收入列出前 {} 位（共 {} 位，全部见 preview.csv）。",
                shown.len(),
                f.count(p.movers.len())
            ),
            Lang::En => format!(
                "The {} with the most revenue of {} (all are in preview.csv).",
                shown.len(),
                f.count(p.movers.len())
            ),
        }));
    }
    if shown.is_empty() {
        blocks.push(Block::Text(
            f.pick(
                "草案不会改变任何客户的等级。",
                "The draft moves no customer.",
            )
            .into(),
        ));
    } else {
        blocks.push(Block::Table(Table {
            header: vec![
                f.pick("客户", "customer").into(),
                f.pick("现在", "now").into(),
                f.pick("草案", "draft").into(),
                f.pick("变动", "move").into(),
                revenue,
                f.pick("现在的原因", "why now").into(),
                f.pick("草案的原因", "why with the draft").into(),
            ],
            rows: shown
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    vec![
                        x.customer_id.clone(),
                        label(&x.from),
                        label(&x.to),
                        move_name(x.direction, &f),
                        cells[i].clone(),
                        x.reason_from.clone(),
                        x.reason_to.clone(),
                    ]
                })
                .collect(),
            ..Table::default()
        }));
    }
    sections.push(Section {
        id: "movers",
        title: f
            .pick("将变动等级的客户", "Customers who would move")
            .into(),
        blocks,
    });
    let footer = format!(
        "{} {generator} · {}",
        f.pick("生成工具", "Made with"),
        f.pick(
            "金额为净额（购买减退款）；预览使用运行保存的客户档案，不重新读取交易",
            "amounts are net (purchases less refunds); the preview reads the customer profiles the run kept, not the transactions"
        ),
    );
    (title, subtitle, sections, footer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_language() {
        let zh = Fmt {
            lang: Lang::Zh,
            currency: "¥",
        };
        assert_eq!(zh.amount(12_345_678.0), "¥1,234.57万");
        assert_eq!(zh.amount(-250_000_000.0), "-¥2.50亿");
        assert_eq!(zh.amount(999.5), "¥999.50");
        assert_eq!(zh.tick(50_000.0), "¥5万");
        assert_eq!(zh.tick(2_500_000.0), "¥250万");
        assert_eq!(zh.tick(99_999_999.0), "¥1亿");
        assert_eq!(zh.tick(150_000_000.0), "¥1.5亿");
        let en = Fmt {
            lang: Lang::En,
            currency: "",
        };
        assert_eq!(en.tick(500.0), "500");
        assert_eq!(en.tick(0.05), "0.05");
        assert_eq!(en.tick(0.001), "0.001");
        assert_eq!(en.tick(12.5), "12.5");
        assert_eq!(en.amount(12_345_678.4), "12,345,678");
        assert_eq!(en.amount(-12.345), "-12.35");
        assert_eq!(en.amount(-0.001), "0.00");
    }

    #[test]
    fn a_column_of_amounts_has_one_unit_chosen_by_its_largest_value() {
        let zh = Fmt {
            lang: Lang::Zh,
            currency: "¥",
        };
        // not ¥34.19万 beside ¥8,262.30: both in 万, the unit in the header
        assert_eq!(
            zh.money_column("收入", &[341_900.0, 8_262.30, -120.0]),
            (
                "收入（万元）".to_string(),
                strings(["34.19", "0.83", "-0.01"])
            )
        );
        // the unit follows the largest absolute value, also a negative one
        assert_eq!(zh.unit(&[5.0, -250_000_000.0]), Unit::Yi);
        assert_eq!(
            zh.money_column("收入", &[120_000_000.0, 9_000_000.0]).1,
            strings(["1.20", "0.09"])
        );
        // chosen on the shown value: 9,999.996 shows as 1.00万, 9,999.99 stays in yuan
        assert_eq!(zh.unit(&[9_999.996]), Unit::Wan);
        assert_eq!(
            zh.money_column("客单价", &[9_999.99, 0.5]),
            ("客单价（元）".to_string(), strings(["9,999.99", "0.50"]))
        );
        // a sign only where a digit shows; no value is a dash
        assert_eq!(zh.in_unit(-1.0, Unit::Wan), "0.00");
        assert_eq!(zh.in_unit(f64::NAN, Unit::Wan), "–");
        let usd = Fmt {
            lang: Lang::Zh,
            currency: "$",
        };
        assert_eq!(usd.with_unit("收入", Unit::Wan), "收入（万 $）");
        assert_eq!(usd.with_unit("收入", Unit::Cents), "收入（$）");
        let en = Fmt {
            lang: Lang::En,
            currency: "",
        };
        assert_eq!(
            en.money_column("revenue", &[341_900.0, 8_262.30, 12.345]),
            ("revenue".to_string(), strings(["341,900", "8,262", "12"]))
        );
        assert_eq!(
            en.money_column("AOV", &[999.994, 12.345]).1,
            strings(["999.99", "12.35"])
        );
        let en_usd = Fmt {
            lang: Lang::En,
            currency: "$",
        };
        assert_eq!(en_usd.with_unit("revenue", Unit::Whole), "revenue ($)");
        // an empty column has the smallest unit
        assert_eq!(en.unit(&[]), Unit::Cents);
    }
}
