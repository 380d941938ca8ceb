//! Seeded customer summaries drawn from the models themselves: for benchmarks and for checking
//! that a fit recovers the parameters the data was drawn with.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};

use super::{BgNbd, GammaGamma, Summary};

/// `customers` summaries from the BG/NBD process with `model`'s parameters and transaction
/// values from the Gamma-Gamma model `spend`. Each customer's first purchase is a whole number
/// of days before the end of calibration, uniform over `1..=max_days`; purchase times are
/// rounded down to whole days and times expressed in periods of `period_days`. The same seed
/// gives the same summaries.
pub fn simulate(
    model: &BgNbd,
    spend: &GammaGamma,
    customers: usize,
    max_days: u32,
    period_days: f64,
    seed: u64,
) -> Vec<Summary> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rates = Gamma::new(model.r, 1.0 / model.alpha).ok();
    let drops = Beta::new(model.a, model.b).ok();
    let scales = Gamma::new(spend.q, 1.0 / spend.gamma).ok();
    let (Some(rates), Some(drops), Some(scales)) = (rates, drops, scales) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(customers);
    for i in 0..customers {
        let age_days = 1 + (i as u32 % max_days.max(1));
        let t = f64::from(age_days) / period_days;
        let lambda: f64 = rates.sample(&mut rng);
        let p: f64 = drops.sample(&mut rng);
        let nu: f64 = scales.sample(&mut rng);
        let values = Gamma::new(spend.p, 1.0 / nu).ok();
        let gaps = Exp::new(lambda.max(1e-12)).ok();
        let mut s = Summary {
            t,
            ..Summary::default()
        };
        let (mut now, mut last_day, mut total) = (0.0, 0u32, 0.0);
        if let (Some(gaps), Some(values)) = (gaps, values) {
            loop {
                now += gaps.sample(&mut rng);
                if now > t {
                    break;
                }
                let day = (now * period_days).floor() as u32;
                if day > last_day {
                    // purchases on one day count once
                    s.frequency += 1;
                    last_day = day;
                    total += values.sample(&mut rng);
                }
                if rand_distr::Bernoulli::new(p.clamp(0.0, 1.0))
                    .map(|b| b.sample(&mut rng))
                    .unwrap_or(true)
                {
                    break;
                }
            }
        }
        s.recency = f64::from(last_day) / period_days;
        if s.frequency > 0 {
            s.monetary = total / f64::from(s.frequency);
        }
        out.push(s);
    }
    out
}
