//! `stratum segment` on the hand-computed fixture (values derived in
//! `crates/stratum-io/tests/it/formats.rs`).

use crate::{fixture, segment, stratum};

#[test]
fn segment_prints_quality_and_tables_and_writes_every_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let input = fixture("hand.csv");
    let run = stratum(
        &[
            "segment",
            "--transactions",
            input.to_str().expect("utf-8 path"),
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"
    RFM class              customers  share  revenue  mean R (days)  mean F     mean M        AOV
    ─────────────────────  ─────────  ─────  ───────  ─────────────  ──────  ─────────  ─────────
    Important value                1  10.0%    13.5%              6     3.0   4,000.00   1,333.33
    Important retention            2  20.0%    27.0%            136     2.0   4,000.00   2,000.00
    Important development          1  10.0%    20.2%             21     1.0   6,000.00   6,000.00
    Important win-back             1  10.0%    33.7%            731     1.0  10,000.00  10,000.00
    General value                  1  10.0%     1.3%              3     4.0     400.00     100.00
    General retention              0   0.0%     0.0%              0     0.0       0.00       0.00
    General development            1  10.0%     1.7%              1     1.0     500.00     500.00
    General win-back               3  30.0%     2.5%            197     1.0     250.00     250.00

    RFM segment         customers  share  revenue  mean R (days)  mean F    mean M       AOV
    ──────────────────  ─────────  ─────  ───────  ─────────────  ──────  ────────  ────────
    Champions                   1  10.0%     1.3%              3     4.0    400.00    100.00
    Loyal                       2  20.0%    23.6%             34     2.5  3,500.00  1,400.00
    Potential loyalist          2  20.0%    21.9%             11     1.0  3,250.00  3,250.00
    New                         0   0.0%     0.0%              0     0.0      0.00      0.00
    Promising                   0   0.0%     0.0%              0     0.0      0.00      0.00
    Need attention              0   0.0%     0.0%              0     0.0      0.00      0.00
    About to sleep              1  10.0%     0.7%            150     1.0    200.00    200.00
    At risk                     2  20.0%    50.6%            472     1.5  7,500.00  5,000.00
    Can't lose them             0   0.0%     0.0%              0     0.0      0.00      0.00
    Hibernating                 1  10.0%     1.7%            167     1.0    500.00    500.00
    Lost                        1  10.0%     0.2%            273     1.0     50.00     50.00

    ABC class      customers  share  revenue  mean R (days)  mean F    mean M       AOV
    ─────────────  ─────────  ─────  ───────  ─────────────  ──────  ────────  ────────
    A (head)               4  40.0%    84.3%            242     1.8  6,250.00  3,571.43
    B (middle)             3  30.0%    13.5%             76     1.3  1,333.33  1,000.00
    C (long tail)          3  30.0%     2.2%            142     2.0    216.67    108.33
    ");
    insta::assert_snapshot!(run.stderr, @r#"
    warning: RFM quantile scores over only 10 customers (fewer than 20): the scores and classes say little
    Data quality
      transactions file                          [FIXTURES]/hand.csv
      format                                     csv, UTF-8, delimiter ,
      encoding because                           all valid UTF-8 (5 multi-byte characters)
      columns                                    customer_id←customer_id, order_id←order_id, order_date←order_date, amount←amount
      rows read                                  20
      accepted                                   19
      duplicates dropped                         1 (100.00)
      warning: duplicates                        1 line, 100.00 (0.3% of revenue), may be genuine repeated lines: the file has no column besides the mapped ones, so two lines of one order for the same product cannot be told apart; if the export lists the same product twice in one order, run with --duplicates keep
      rejected                                   0 (0.0%)
      purchase lines                             18 (29,950.00)
      refund lines                               1 (-300.00)
      date range                                 2023-07-01 – 2025-06-30
      as of                                      2025-07-01 (day after the last transaction)
      customers                                  10
      net revenue                                29,650.00
      revenue share of the top 20% of customers  54.0%
      customers in class A                       40.0%

    validation rfm_class: segments "important_value", "important_retention", "important_development", "important_win_back", "general_value", "general_development", "general_win_back" hold fewer than 10 customers each: too few to tell whether they differ from others
    validation rfm_class: ANOVA (frequency) undefined: no variance within groups
    validation rfm_segment: segments "champions", "loyal", "potential_loyalist", "about_to_sleep", "at_risk", "hibernating", "lost" hold fewer than 10 customers each: too few to tell whether they differ from others
    validation abc_class: segments "A", "B", "C" hold fewer than 10 customers each: too few to tell whether they differ from others
    wrote [TMP]/out: rejects.csv, quality.json, customers.csv, segments.csv, unscored.csv, stratum.xlsx, validation.csv, validation_tests.csv, validation.json
    "#);
    let customers = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    insta::assert_snapshot!(customers, @"
    customer_id,first_order_date,last_order_date,recency_days,frequency,monetary,gross,refunds,avg_order_value,tenure_days,r_score,f_score,m_score,rfm_score,rfm_class,rfm_class_label,segment,segment_label,abc_class,revenue_cum_share
    C01,2025-03-01,2025-06-25,6,3,4000.00,4000.00,0.00,1333.33,122,4,5,4,454,important_value,Important value,loyal,Loyal,A,0.843170
    C02,2025-06-30,2025-06-30,1,1,500.00,500.00,0.00,500.00,1,5,1,2,512,general_development,General development,potential_loyalist,Potential loyalist,B,0.961214
    C03,2024-07-01,2024-12-01,212,2,5000.00,5000.00,0.00,2500.00,365,2,4,4,244,important_retention,Important retention,at_risk,At risk,A,0.708263
    C04,2025-01-15,2025-01-15,167,1,500.00,800.00,-300.00,500.00,167,2,1,2,212,general_win_back,General win-back,hibernating,Hibernating,B,0.978078
    C05,2025-06-01,2025-06-28,3,4,400.00,400.00,0.00,100.00,30,5,5,2,552,general_value,General value,champions,Champions,C,0.991568
    C06,2023-07-01,2023-07-01,731,1,10000.00,10000.00,0.00,10000.00,731,1,1,5,115,important_win_back,Important win-back,at_risk,At risk,A,0.337268
    C07,2025-04-01,2025-05-01,61,2,3000.00,3000.00,0.00,1500.00,91,3,4,3,343,important_retention,Important retention,loyal,Loyal,B,0.944351
    C08,2025-02-01,2025-02-01,150,1,200.00,200.00,0.00,200.00,150,3,1,1,311,general_win_back,General win-back,about_to_sleep,About to sleep,C,0.998314
    C09,2025-06-10,2025-06-10,21,1,6000.00,6000.00,0.00,6000.00,21,4,1,5,415,important_development,Important development,potential_loyalist,Potential loyalist,A,0.539629
    C10,2024-10-01,2024-10-01,273,1,50.00,50.00,0.00,50.00,273,1,1,1,111,general_win_back,General win-back,lost,Lost,C,1.000000
    ");
    let segments = std::fs::read_to_string(out.join("segments.csv")).expect("segments.csv");
    insta::assert_snapshot!(segments, @"
    dimension,code,label,customers,customer_share,revenue,revenue_share,mean_recency_days,mean_frequency,mean_monetary,mean_r_score,mean_f_score,mean_m_score,avg_order_value
    rfm_class,important_value,Important value,1,0.100000,4000.00,0.134907,6.0000,3.0000,4000.0000,4.0000,5.0000,4.0000,1333.3333
    rfm_class,important_retention,Important retention,2,0.200000,8000.00,0.269815,136.5000,2.0000,4000.0000,2.5000,4.0000,3.5000,2000.0000
    rfm_class,important_development,Important development,1,0.100000,6000.00,0.202361,21.0000,1.0000,6000.0000,4.0000,1.0000,5.0000,6000.0000
    rfm_class,important_win_back,Important win-back,1,0.100000,10000.00,0.337268,731.0000,1.0000,10000.0000,1.0000,1.0000,5.0000,10000.0000
    rfm_class,general_value,General value,1,0.100000,400.00,0.013491,3.0000,4.0000,400.0000,5.0000,5.0000,2.0000,100.0000
    rfm_class,general_retention,General retention,0,0.000000,0.00,0.000000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000
    rfm_class,general_development,General development,1,0.100000,500.00,0.016863,1.0000,1.0000,500.0000,5.0000,1.0000,2.0000,500.0000
    rfm_class,general_win_back,General win-back,3,0.300000,750.00,0.025295,196.6667,1.0000,250.0000,2.0000,1.0000,1.3333,250.0000
    segment,champions,Champions,1,0.100000,400.00,0.013491,3.0000,4.0000,400.0000,5.0000,5.0000,2.0000,100.0000
    segment,loyal,Loyal,2,0.200000,7000.00,0.236088,33.5000,2.5000,3500.0000,3.5000,4.5000,3.5000,1400.0000
    segment,potential_loyalist,Potential loyalist,2,0.200000,6500.00,0.219224,11.0000,1.0000,3250.0000,4.5000,1.0000,3.5000,3250.0000
    segment,new,New,0,0.000000,0.00,0.000000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000
    segment,promising,Promising,0,0.000000,0.00,0.000000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000
    segment,need_attention,Need attention,0,0.000000,0.00,0.000000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000
    segment,about_to_sleep,About to sleep,1,0.100000,200.00,0.006745,150.0000,1.0000,200.0000,3.0000,1.0000,1.0000,200.0000
    segment,at_risk,At risk,2,0.200000,15000.00,0.505902,471.5000,1.5000,7500.0000,1.5000,2.5000,4.5000,5000.0000
    segment,cant_lose,Can't lose them,0,0.000000,0.00,0.000000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000
    segment,hibernating,Hibernating,1,0.100000,500.00,0.016863,167.0000,1.0000,500.0000,2.0000,1.0000,2.0000,500.0000
    segment,lost,Lost,1,0.100000,50.00,0.001686,273.0000,1.0000,50.0000,1.0000,1.0000,1.0000,50.0000
    abc_class,A,A (head),4,0.400000,25000.00,0.843170,242.5000,1.7500,6250.0000,2.7500,2.7500,4.5000,3571.4286
    abc_class,B,B (middle),3,0.300000,4000.00,0.134907,76.3333,1.3333,1333.3333,3.3333,2.0000,2.3333,1000.0000
    abc_class,C,C (long tail),3,0.300000,650.00,0.021922,142.0000,2.0000,216.6667,3.0000,2.3333,1.3333,108.3333
    ");
    let quality = std::fs::read_to_string(out.join("quality.json"))
        .expect("quality.json")
        .replace(&input.display().to_string(), "[FIXTURES]/hand.csv");
    insta::assert_snapshot!(quality, @r#"
    {
      "as_of": "2025-07-01",
      "as_of_source": "day_after_last_transaction",
      "transactions": {
        "source": {
          "path": "[FIXTURES]/hand.csv",
          "format": "csv",
          "encoding": "UTF-8",
          "encoding_evidence": {
            "basis": "valid_utf8",
            "characters": 5
          },
          "delimiter": ",",
          "sheet": null,
          "title_rows": []
        },
        "columns": [
          {
            "field": "customer_id",
            "header": "customer_id",
            "explicit": false
          },
          {
            "field": "order_id",
            "header": "order_id",
            "explicit": false
          },
          {
            "field": "order_date",
            "header": "order_date",
            "explicit": false
          },
          {
            "field": "amount",
            "header": "amount",
            "explicit": false
          }
        ],
        "rows_read": 20,
        "accepted": 19,
        "duplicates": 1,
        "anonymous": 0,
        "anonymous_amount": 0.0,
        "duplicate_amount": 100.0,
        "filtered": 0,
        "filtered_amount": 0.0,
        "filtered_without_amount": 0,
        "rejected": 0,
        "rejected_amount": 0.0,
        "rejected_by_reason": {},
        "blank_rows": 0,
        "purchase_lines": 18,
        "zero_amount_lines": 0,
        "refund_lines": 1,
        "purchase_amount": 29950.0,
        "refund_amount": -300.0,
        "lines_without_order_id": 0,
        "first_date": "2023-07-01",
        "last_date": "2025-06-30",
        "header_columns": 4,
        "duplicates_rule": "drop",
        "columns_read": 4
      },
      "customer_master": null,
      "customers": 10,
      "unscored_customers": 0,
      "unscored_amount": 0.0,
      "lines_after_as_of": 0,
      "amount_after_as_of": 0.0,
      "customers_not_in_master": null,
      "master_customers_without_transactions": null,
      "scored_revenue": 29650.0,
      "pareto": {
        "customers": 10,
        "positive_revenue": 29650.0,
        "top20_revenue_share": 0.5396290050590219,
        "a_customer_share": 0.4,
        "b_customer_share": 0.3,
        "c_customer_share": 0.3
      },
      "opportunities": null,
      "scheme": null
    }
    "#);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
    assert_eq!(rejects, "file,line,reason,column,value,message,row\n");
}

#[test]
fn chinese_labels_with_lang_zh_and_master_data_joined() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = tmp.path().join("master.csv");
    std::fs::write(
        &master,
        "客户编号,客户名称,行业,客户经理\nC01,华东精密机械有限公司,制造业,张伟\nC02,南方零售,零售,王芳\nC99,无交易客户,软件,李娜\n",
    )
    .expect("write master");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "segment",
            "-t",
            fixture("hand_gb18030.csv").to_str().expect("path"),
            "-c",
            master.to_str().expect("path"),
            "--lang",
            "zh",
            "--out",
            out.to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout, @"
    RFM 八类      客户数  客户占比  收入占比  平均R(天)  平均F      平均M     客单价
    ────────────  ──────  ────────  ────────  ─────────  ─────  ─────────  ─────────
    重要价值客户       1     10.0%     13.5%          6    3.0   4,000.00   1,333.33
    重要保持客户       2     20.0%     27.0%        136    2.0   4,000.00   2,000.00
    重要发展客户       1     10.0%     20.2%         21    1.0   6,000.00   6,000.00
    重要挽留客户       1     10.0%     33.7%        731    1.0  10,000.00  10,000.00
    一般价值客户       1     10.0%      1.3%          3    4.0     400.00     100.00
    一般保持客户       0      0.0%      0.0%          0    0.0       0.00       0.00
    一般发展客户       1     10.0%      1.7%          1    1.0     500.00     500.00
    一般挽留客户       3     30.0%      2.5%        197    1.0     250.00     250.00

    RFM 分群        客户数  客户占比  收入占比  平均R(天)  平均F     平均M    客单价
    ──────────────  ──────  ────────  ────────  ─────────  ─────  ────────  ────────
    冠军客户             1     10.0%      1.3%          3    4.0    400.00    100.00
    忠诚客户             2     20.0%     23.6%         34    2.5  3,500.00  1,400.00
    潜在忠诚客户         2     20.0%     21.9%         11    1.0  3,250.00  3,250.00
    新客户               0      0.0%      0.0%          0    0.0      0.00      0.00
    有潜力客户           0      0.0%      0.0%          0    0.0      0.00      0.00
    需要关注客户         0      0.0%      0.0%          0    0.0      0.00      0.00
    即将沉睡客户         1     10.0%      0.7%        150    1.0    200.00    200.00
    流失风险客户         2     20.0%     50.6%        472    1.5  7,500.00  5,000.00
    不能失去的客户       0      0.0%      0.0%          0    0.0      0.00      0.00
    休眠客户             1     10.0%      1.7%        167    1.0    500.00    500.00
    已流失客户           1     10.0%      0.2%        273    1.0     50.00     50.00

    ABC 分类     客户数  客户占比  收入占比  平均R(天)  平均F     平均M    客单价
    ───────────  ──────  ────────  ────────  ─────────  ─────  ────────  ────────
    A类（核心）       4     40.0%     84.3%        242    1.8  6,250.00  3,571.43
    B类（中坚）       3     30.0%     13.5%         76    1.3  1,333.33  1,000.00
    C类（长尾）       3     30.0%      2.2%        142    2.0    216.67    108.33
    ");
    insta::assert_snapshot!(run.stderr, @"
    警告： 只有 10 位客户（少于 20 位）参与 RFM 分位数评分：评分与分类参考价值有限
    数据质量
      交易文件                         [FIXTURES]/hand_gb18030.csv
      格式                             csv, gb18030, 分隔符 ;
      编码判断依据                     不是 UTF-8：260 处无效字节（首处在第 1 行），仅 4 个有效多字节字符；按 GB18030 读取
      列映射                           customer_id←客户编号, order_id←订单号, order_date←下单时间, amount←实付金额
      读取行数                         20
      接受行数                         19
      重复行（已去除）                 1 (100.00)
      警告：重复行                     1 行，100.00（占收入 0.3%），可能是真实的重复购买：文件除映射的列外没有其他列，同一订单中同一商品的两行无法区分；如果导出中同一订单确实重复列出商品，请使用 --duplicates keep
      拒绝行数                         0 (0.0%)
      购买行                           18 (29,950.00)
      退款行                           1 (-300.00)
      日期范围                         2023-07-01 – 2025-06-30
      分析日期                         2025-07-01 (最后交易日的次日)
      客户数                           10
      净收入                           29,650.00
      前20%客户的收入占比              54.0%
      A类客户占比                      40.0%
      客户主数据文件                   [TMP]/master.csv
      主数据行（读取/接受/重复/拒绝）  3 / 3 / 0 / 0
      不在主数据中的客户               8
      主数据中无交易的客户             1

    验证提示 rfm_class: 分群“important_value”、“important_retention”、“important_development”、“important_win_back”、“general_value”、“general_development”、“general_win_back”的客户均少于 10 个，无法判断是否与其他分群有差异
    验证提示 rfm_class: ANOVA (frequency) 无法检验：组内没有变化
    验证提示 rfm_segment: 分群“champions”、“loyal”、“potential_loyalist”、“about_to_sleep”、“at_risk”、“hibernating”、“lost”的客户均少于 10 个，无法判断是否与其他分群有差异
    验证提示 abc_class: 分群“A”、“B”、“C”的客户均少于 10 个，无法判断是否与其他分群有差异
    结果已写入 [TMP]/out: rejects.csv, quality.json, customers.csv, segments.csv, unscored.csv, stratum.xlsx, validation.csv, validation_tests.csv, validation.json
    ");
    let customers = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    let first_rows: Vec<&str> = customers.lines().take(3).collect();
    insta::assert_snapshot!(first_rows.join("\n"), @"
    customer_id,first_order_date,last_order_date,recency_days,frequency,monetary,gross,refunds,avg_order_value,tenure_days,r_score,f_score,m_score,rfm_score,rfm_class,rfm_class_label,segment,segment_label,abc_class,revenue_cum_share,客户名称,行业,客户经理
    C01,2025-03-01,2025-06-25,6,3,4000.00,4000.00,0.00,1333.33,122,4,5,4,454,important_value,重要价值客户,loyal,忠诚客户,A,0.843170,华东精密机械有限公司,制造业,张伟
    C02,2025-06-30,2025-06-30,1,1,500.00,500.00,0.00,500.00,1,5,1,2,512,general_development,一般发展客户,potential_loyalist,潜在忠诚客户,B,0.961214,南方零售,零售,王芳
    ");
}

#[test]
fn the_workbook_reads_back_with_typed_cells() {
    use calamine::{Data, Reader, open_workbook_auto};
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("hand.xlsx").to_str().expect("path"),
        &out,
        &[],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut book = open_workbook_auto(out.join("stratum.xlsx")).expect("open workbook");
    assert_eq!(
        book.sheet_names(),
        ["summary", "customers", "segments", "quality", "rejects"]
    );
    let sheet = book.worksheet_range("customers").expect("customers sheet");
    let header: Vec<String> = sheet
        .rows()
        .next()
        .expect("header")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        &header[..6],
        [
            "customer_id",
            "first_order_date",
            "last_order_date",
            "recency_days",
            "frequency",
            "monetary"
        ]
    );
    let c01 = sheet.rows().nth(1).expect("C01");
    assert_eq!(c01[0], Data::String("C01".into()));
    // a date cell: serial 45717 is 2025-03-01
    let Data::DateTime(first) = &c01[1] else {
        panic!("not a date cell: {:?}", c01[1])
    };
    assert_eq!(first.to_ymd_hms_milli(), (2025, 3, 1, 0, 0, 0, 0));
    assert_eq!(c01[3], Data::Float(6.0));
    assert_eq!(c01[5], Data::Float(4000.0));
    assert_eq!(sheet.height(), 11);
}

/// `--xlsx-customers 3` on the hand fixture's ten customers: the customer sheet holds the top
/// three by net revenue (highest first), the summary says so with where the others are, the
/// run's summary on stderr too; customers.csv keeps all ten. `all` keeps every customer and a
/// count that is not one is refused, naming it.
#[test]
fn the_workbook_holds_the_top_customers_when_asked_for_fewer() {
    use calamine::{Data, Reader, open_workbook_auto};
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = fixture("hand.xlsx");
    let input = input.to_str().expect("path");
    let out = tmp.path().join("top");
    let run = segment(input, &out, &["--xlsx-customers", "3"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "stratum.xlsx: This workbook lists the top 3 of 10 customers by net revenue; every \
             customer is in customers.csv. (--xlsx-customers all writes every customer)"
        ),
        "{}",
        run.stderr
    );
    // the top three of customers.csv by monetary value
    let text = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    let mut all: Vec<(f64, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[5].parse().expect("monetary"), cells[0].to_string())
        })
        .collect();
    assert_eq!(all.len(), 10);
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut book = open_workbook_auto(out.join("stratum.xlsx")).expect("open workbook");
    let sheet = book.worksheet_range("customers").expect("customers sheet");
    assert_eq!(sheet.height(), 4);
    let shown: Vec<(f64, String)> = sheet
        .rows()
        .skip(1)
        .map(|r| match (&r[5], &r[0]) {
            (Data::Float(m), Data::String(id)) => (*m, id.clone()),
            other => panic!("not a customer row: {other:?}"),
        })
        .collect();
    assert_eq!(shown, all[..3]);
    let summary = book.worksheet_range("summary").expect("summary sheet");
    let cells: Vec<String> = summary
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    let at = cells
        .iter()
        .position(|c| c == "customers in this workbook")
        .expect("the figure");
    assert_eq!(cells[at + 1], "3");
    assert!(
        cells
            .iter()
            .any(|c| c.starts_with("This workbook lists the top 3 of 10 customers"))
    );

    let out = tmp.path().join("all");
    let run = segment(input, &out, &["--xlsx-customers", "all"], tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("stratum.xlsx:"), "{}", run.stderr);
    let mut book = open_workbook_auto(out.join("stratum.xlsx")).expect("open workbook");
    assert_eq!(
        book.worksheet_range("customers").expect("sheet").height(),
        11
    );

    // a file with 7 rejected rows: the rejects sheet holds the first, and says so
    let bad_rows = fixture("bad_rows.csv");
    let out = tmp.path().join("rejects");
    let args = ["--xlsx-customers", "1", "--max-reject-rate", "90%"];
    let run = segment(bad_rows.to_str().expect("path"), &out, &args, tmp.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let note = "The rejects sheet holds the first 1 of 7 rejected rows; all are in rejects.csv.";
    assert!(run.stderr.contains(note), "{}", run.stderr);
    let mut book = open_workbook_auto(out.join("stratum.xlsx")).expect("open workbook");
    assert_eq!(book.worksheet_range("rejects").expect("sheet").height(), 2);
    let summary = book.worksheet_range("summary").expect("summary sheet");
    assert!(
        summary
            .rows()
            .flatten()
            .any(|c| c.to_string().ends_with(note))
    );
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects.csv");
    assert_eq!(rejects.lines().count(), 8);

    for bad in ["0", "many", "1.5"] {
        let run = segment(
            input,
            &tmp.path().join("bad"),
            &["--xlsx-customers", bad],
            tmp.path(),
        );
        assert_eq!(run.code, 1, "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("--xlsx-customers: `{bad}` is neither")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn demo_then_segment_is_deterministic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for dir in [&a, &b] {
        let run = stratum(
            &[
                "demo",
                "--out",
                dir.to_str().expect("path"),
                "--customers",
                "300",
                "--transactions",
                "5000",
                "--seed",
                "7",
                "--segment",
                "--parquet",
            ],
            tmp.path(),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    for file in [
        "transactions.csv",
        "customers.csv",
        "result/customers.csv",
        "result/segments.csv",
    ] {
        let x = std::fs::read(a.join(file)).expect("read a");
        let y = std::fs::read(b.join(file)).expect("read b");
        assert!(x == y, "{file} differs between two runs with the same seed");
    }
    // the Parquet copy of the same lines gives the same tiers
    let from_parquet = tmp.path().join("from_parquet");
    let run = stratum(
        &[
            "segment",
            "-t",
            a.join("transactions.parquet").to_str().expect("path"),
            "-c",
            a.join("customers.csv").to_str().expect("path"),
            "-o",
            from_parquet.to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for file in [
        "customers.csv",
        "segments.csv",
        "unscored.csv",
        "rejects.csv",
    ] {
        let x = std::fs::read_to_string(a.join("result").join(file)).expect("csv result");
        let y = std::fs::read_to_string(from_parquet.join(file)).expect("parquet result");
        assert!(
            x == y,
            "{file} differs between the CSV and the Parquet input"
        );
    }
    let quality: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(a.join("result/quality.json")).expect("quality"),
    )
    .expect("json");
    let t = &quality["transactions"];
    let read = t["rows_read"].as_u64().expect("rows_read");
    let parts = ["accepted", "duplicates", "rejected"].map(|k| t[k].as_u64().expect(k));
    assert_eq!(read, 5000);
    assert_eq!(read, parts.iter().sum::<u64>());
    assert!(parts[1] > 0, "the demo data has duplicate export rows");
    assert!(
        t["refund_lines"].as_u64().expect("refunds") > 0,
        "the demo data has returns"
    );
}

#[test]
fn a_config_file_sets_columns_thresholds_abc_cuts_and_language() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("orders.csv");
    // headers no alias matches: the [columns] table names them
    std::fs::write(
        &input,
        "cust,when,paid\nA,2025-06-01,100\nA,2025-06-20,300\nB,2025-03-01,5000\nC,2025-06-25,20\n",
    )
    .expect("write");
    let config = tmp.path().join("stratum.toml");
    std::fs::write(
        &config,
        r#"
[columns]
customer_id = "cust"
order_date = "when"
amount = "paid"

[rfm]
bins = 3
class_basis = "values"

[rfm.thresholds]
recency = [10, 60]
frequency = [2, 5]
monetary = [100, 1000]

[abc]
a = 0.5
b = 0.9

[output]
lang = "zh"
"#,
    )
    .expect("write");
    let out = tmp.path().join("out");
    let run = segment(
        input.to_str().expect("path"),
        &out,
        &[
            "--config",
            config.to_str().expect("path"),
            "--as-of",
            "2025-07-01",
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // as of 2025-07-01, no order ids (each line an order):
    // A: recency 11 (> 10, ≤ 60 → R 2), F 2 (≥ 2 → 2), M 400 (≥ 100 → 2)
    // B: recency 122 (> 60 → R 1), F 1 → 1, M 5000 (≥ 1000 → 3)
    // C: recency 6 (≤ 10 → R 3), F 1 → 1, M 20 → 1
    // means (values): recency 46.33, F 1.33, M 1806.67 → A: R high, F high, M low → general_value;
    // B: R low, F low, M high → important_win_back; C: R high, F low, M low → general_development
    // ABC with a = 50%, b = 90% of 5420: B 5000 (before 0 → A), A 400 (before 92.3% → C), C 20 → C
    let customers = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    let picked: Vec<String> = customers
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [f[0], f[3], f[4], f[5], f[13], f[14], f[15], f[18]].join(",")
        })
        .collect();
    insta::assert_snapshot!(picked.join("\n"), @"
    customer_id,recency_days,frequency,monetary,rfm_score,rfm_class,rfm_class_label,abc_class
    A,11,2,400.00,222,general_value,一般价值客户,C
    B,122,1,5000.00,113,important_win_back,重要挽留客户,A
    C,6,1,20.00,311,general_development,一般发展客户,C
    ");
}

#[test]
fn as_of_leaves_out_later_lines_and_counts_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let run = segment(
        fixture("hand.csv").to_str().expect("path"),
        &out,
        &["--as-of", "2025-06-01"],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Lines on or after 2025-06-01: C01 06-25 (1000), C02 06-30 (500), C05 06-01/06-15/06-20/06-28
    // (4 × 100), C09 06-10 (6000) = 7 lines, 7,900.00. C02 and C09 then have no purchase.
    let quality = std::fs::read_to_string(out.join("quality.json")).expect("quality");
    let q: serde_json::Value = serde_json::from_str(&quality).expect("json");
    assert_eq!(q["lines_after_as_of"], 7);
    assert_eq!(q["amount_after_as_of"], 7900.0);
    assert_eq!(q["customers"], 7);
    assert_eq!(q["as_of_source"], "given");
    let customers = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    let c01 = customers.lines().nth(1).expect("C01 row");
    // 7 customers left: C01 (R 31, F 2, M 3000), C03 (182, 2, 5000), C04 (137, 1, 500),
    // C06 (701, 1, 10000), C07 (31, 2, 3000), C08 (120, 1, 200), C10 (243, 1, 50).
    // C01, score = 1 + ⌊5 × worse / 7⌋: R worse 5 → 4; F worse 4 → 3; M worse 3 → 3.
    // Mean scores R 18/7, F 13/7, M 19/7: all three above → important_value; R 4, FM 3 →
    // potential_loyalist. ABC of 21,750: 10000, 5000 (46% before), C01 3000 (69% before → A),
    // cumulative (10000 + 5000 + 3000) / 21750 = 0.827586.
    assert_eq!(
        c01,
        "C01,2025-03-01,2025-05-01,31,2,3000.00,3000.00,0.00,1500.00,92,4,3,3,433,important_value,Important value,potential_loyalist,Potential loyalist,A,0.827586"
    );
}

#[test]
fn unscored_customers_are_listed_and_the_master_file_follows_the_id_mapping() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let orders = tmp.path().join("orders.csv");
    std::fs::write(
        &orders,
        "会员,日期,金额\nM1,2025-01-02,100\nM2,2025-01-03,-30\nM3,2025-01-04,0\n",
    )
    .expect("write");
    // the master file names its id column like the orders file, not with a known alias
    let master = tmp.path().join("master.csv");
    std::fs::write(&master, "会员;等级\nM1;金卡\nM2;银卡\n").expect("write");
    let out = tmp.path().join("out");
    let run = stratum(
        &[
            "segment",
            "-t",
            orders.to_str().expect("path"),
            "-c",
            master.to_str().expect("path"),
            "--map",
            "customer_id=会员",
            "-o",
            out.to_str().expect("path"),
        ],
        tmp.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unscored = std::fs::read_to_string(out.join("unscored.csv")).expect("unscored.csv");
    insta::assert_snapshot!(unscored, @"
    customer_id,reason,refunds,refund_lines,zero_amount_lines
    M2,no_purchase_before_as_of,-30.00,1,0
    M3,no_purchase_before_as_of,0.00,0,1
    ");
    let customers = std::fs::read_to_string(out.join("customers.csv")).expect("customers.csv");
    let m1 = customers.lines().nth(1).expect("M1");
    // as of the day after the last line of any kind (M3's zero line on 01-04): 2025-01-05
    assert_eq!(
        m1,
        "M1,2025-01-02,2025-01-02,3,1,100.00,100.00,0.00,100.00,3,1,1,1,111,general_win_back,General win-back,lost,Lost,A,1.000000,金卡"
    );
}
