//! Word lists and weights for the synthetic customers.
//!
//! Every list is a fixed-order slice, so the generator only ever picks by index and the output
//! does not depend on any hash or iteration order.

/// Sales channels.
pub const CHANNELS: [&str; 4] = ["online", "store", "distributor", "phone"];

/// Product categories.
pub const CATEGORIES: [&str; 8] = [
    "办公用品",
    "电子元件",
    "机械配件",
    "包装材料",
    "化工原料",
    "劳保用品",
    "软件服务",
    "物流服务",
];

/// Price level of each category relative to the customer's typical line amount.
pub(crate) const CATEGORY_PRICE: [f64; 8] = [0.45, 1.0, 1.6, 0.6, 1.3, 0.5, 2.0, 0.8];

/// Industries.
pub const INDUSTRIES: [&str; 10] = [
    "制造业",
    "零售",
    "批发",
    "软件",
    "金融",
    "物流",
    "医疗",
    "教育",
    "建筑",
    "餐饮",
];

/// Relative frequency of each industry.
pub(crate) const INDUSTRY_WEIGHT: [u32; 10] = [22, 15, 14, 9, 6, 9, 8, 6, 7, 4];

/// The category each industry buys most (index into [`CATEGORIES`]).
pub(crate) const INDUSTRY_CATEGORY: [u8; 10] = [2, 0, 3, 6, 6, 7, 1, 0, 5, 3];

/// Words that end a company name, per industry (before the legal form).
pub(crate) const INDUSTRY_WORDS: [&[&str]; 10] = [
    &[
        "机械", "精密", "电子", "五金", "塑胶", "汽配", "重工", "材料",
    ],
    &["商贸", "百货", "超市", "商业连锁", "便利"],
    &["贸易", "供应链", "进出口", "商贸", "实业"],
    &["软件", "信息技术", "网络科技", "数据科技", "智能科技"],
    &["投资", "融资租赁", "资产管理", "保险代理"],
    &["物流", "运输", "仓储", "货运", "国际货运代理"],
    &["医疗器械", "医药", "生物科技", "健康科技"],
    &["教育科技", "培训", "文化传播", "教育咨询"],
    &["建设工程", "建筑安装", "装饰工程", "建材"],
    &["餐饮管理", "食品", "酒店管理", "餐饮服务"],
];

/// Regions.
pub const REGIONS: [&str; 7] = ["华东", "华南", "华北", "华中", "西南", "西北", "东北"];

/// Relative frequency of each region.
pub(crate) const REGION_WEIGHT: [u32; 7] = [32, 22, 16, 11, 10, 4, 5];

/// Cities of each region, used as the first word of a company name.
pub(crate) const REGION_CITIES: [&[&str]; 7] = [
    &[
        "上海", "杭州", "南京", "苏州", "宁波", "无锡", "合肥", "济南", "青岛", "福州", "厦门",
    ],
    &["广州", "深圳", "东莞", "佛山", "珠海", "南宁", "海口"],
    &["北京", "天津", "石家庄", "太原", "呼和浩特", "唐山"],
    &["武汉", "长沙", "郑州", "南昌", "宜昌"],
    &["成都", "重庆", "昆明", "贵阳", "绵阳"],
    &["西安", "兰州", "银川", "西宁", "乌鲁木齐"],
    &["沈阳", "大连", "长春", "哈尔滨"],
];

/// Syllables combined in pairs into a company's trade name (华盛, 鑫达, ...).
pub(crate) const BRAND_SYLLABLES: [&str; 36] = [
    "华", "盛", "鑫", "达", "恒", "瑞", "泰", "丰", "宏", "信", "嘉", "和", "金", "宝", "立", "源",
    "安", "永", "兴", "隆", "博", "远", "通", "联", "创", "光", "明", "德", "润", "祥", "天", "海",
    "中", "新", "益", "诚",
];

/// Company sizes.
pub const SIZES: [&str; 3] = ["小型", "中型", "大型"];

/// Relative frequency of each size.
pub(crate) const SIZE_WEIGHT: [u32; 3] = [60, 30, 10];

/// Purchase-rate multiplier per size.
pub(crate) const SIZE_RATE: [f64; 3] = [1.0, 1.7, 3.0];

/// Typical (median) line amount per size, in currency units.
pub(crate) const SIZE_AMOUNT: [f64; 3] = [900.0, 2_400.0, 6_500.0];

/// Channel preference weights per size (small firms buy online and in store, large ones
/// through distributors and by phone).
pub(crate) const SIZE_CHANNEL_WEIGHT: [[u32; 4]; 3] =
    [[45, 30, 10, 15], [30, 20, 25, 25], [20, 5, 40, 35]];

/// Account managers, grouped by the region they cover.
pub(crate) const REGION_MANAGERS: [&[&str]; 7] = [
    &["张伟", "王芳", "李娜"],
    &["刘洋", "陈静"],
    &["杨磊", "赵敏"],
    &["黄强"],
    &["周杰", "吴婷"],
    &["徐鹏"],
    &["孙丽"],
];

/// All account managers, in a fixed order.
pub const ACCOUNT_MANAGERS: [&str; 12] = [
    "张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐鹏", "孙丽",
];
