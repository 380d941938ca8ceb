//! k-means clustering: recovery of known centres, determinism, and inertia against
//! scikit-learn.

use approx::assert_relative_eq;
use stratum_core::cluster::{ClusterParams, KChoice, Scaling};

/// 600 points from a formula (no random numbers, so Python can build the same): three groups
/// on the first two axes, noise on the third.
fn formula_points() -> Vec<(String, Vec<Option<f64>>)> {
    let n = 600u64;
    let col = |f: &dyn Fn(u64) -> f64| (0..n).map(|i| Some(f(i))).collect::<Vec<_>>();
    vec![
        (
            "a".into(),
            col(&|i| (i % 3) as f64 * 3.0 + ((i * 7919) % 1000) as f64 / 500.0),
        ),
        (
            "b".into(),
            col(&|i| ((i % 3) % 2) as f64 * 3.0 + ((i * 104_729) % 1000) as f64 / 400.0),
        ),
        (
            "c".into(),
            col(&|i| ((i * 15_485_863) % 1000) as f64 / 250.0),
        ),
    ]
}

#[test]
fn inertia_matches_scikit_learn_on_a_fixed_data_set() {
    // scikit-learn 1.9.1: StandardScaler().fit_transform(X), then
    // KMeans(n_clusters=k, n_init=10, random_state=0).fit(Z).inertia_ with X built by the
    // same formulas: k = 3 → 755.0305461230851 (sizes 200/200/200); k = 4 → 603.9085533517368
    for (k, reference) in [(3, 755.030_546_123_085_1), (4, 603.908_553_351_736_8)] {
        let c = ClusterParams::new()
            .k(KChoice::Fixed(k))
            .log(false)
            .check()
            .and_then(|p| p.fit(&formula_points(), 0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_relative_eq!(c.inertia, reference, max_relative = 0.01);
        if k == 3 {
            let sizes: Vec<usize> = c.clusters.iter().map(|c| c.size).collect();
            assert_eq!(sizes, [200, 200, 200]);
        }
    }
}

/// Seeded blobs around known centres, as three features that are not logged.
fn blobs(seed: u64) -> Vec<(String, Vec<Option<f64>>)> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let centres = [
        [0.0, 0.0, 0.0],
        [10.0, 0.0, 5.0],
        [0.0, 10.0, 10.0],
        [10.0, 10.0, 0.0],
    ];
    let noise = Normal::new(0.0, 1.0).unwrap_or_else(|e| panic!("{e}"));
    let mut cols = vec![Vec::new(), Vec::new(), Vec::new()];
    for i in 0..1_200 {
        let c = centres[i % 4];
        for (f, col) in cols.iter_mut().enumerate() {
            col.push(Some(c[f] + noise.sample(&mut rng)));
        }
    }
    ["x", "y", "z"]
        .iter()
        .zip(cols)
        .map(|(n, c)| (n.to_string(), c))
        .collect()
}

#[test]
fn auto_k_recovers_four_blobs_and_their_centres() {
    let data = blobs(5);
    let c = ClusterParams::new()
        .log(false)
        .silhouette_sample(600)
        .check()
        .and_then(|p| p.fit(&data, 2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.k, 4, "{:?}", c.k_table);
    assert_eq!(c.k_table.len(), 7);
    // numbered by descending mean of z: centres z = 10, 5, 0, 0 (ties by size, then order)
    let mut means: Vec<[f64; 3]> = c
        .clusters
        .iter()
        .map(|c| [c.means[0], c.means[1], c.means[2]])
        .collect();
    let z: Vec<f64> = means.iter().map(|m| m[2]).collect();
    assert!(z[0] > z[1] && z[1] > z[2], "{z:?}");
    let key = |m: &[f64; 3]| ((m[0] / 10.0).round() as i64, (m[1] / 10.0).round() as i64);
    means.sort_by_key(key);
    let truth = [
        [0.0, 0.0, 0.0],
        [0.0, 10.0, 10.0],
        [10.0, 0.0, 5.0],
        [10.0, 10.0, 0.0],
    ];
    for (m, t) in means.iter().zip(truth) {
        for f in 0..3 {
            assert!((m[f] - t[f]).abs() < 0.2, "{m:?} against {t:?}");
        }
    }
    assert!(c.silhouette > 0.6 && c.calinski_harabasz > 1000.0);
}

#[test]
fn the_same_seed_gives_the_same_clusters_on_any_number_of_threads() {
    let data = blobs(9);
    let fit = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        let pool = pool.unwrap_or_else(|e| panic!("{e}"));
        pool.install(|| {
            ClusterParams::new()
                .k(KChoice::Fixed(4))
                .scaling(Scaling::Robust)
                .check()
                .and_then(|p| p.fit(&data, 0))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    };
    let one = fit(1);
    assert_eq!(one, fit(1));
    assert_eq!(one, fit(3));
}

#[test]
fn rows_with_a_missing_value_are_left_out_and_counted() {
    let mut data = blobs(2);
    data[0].1[7] = None;
    data[1].1[8] = Some(f64::NAN);
    let c = ClusterParams::new()
        .k(KChoice::Fixed(4))
        .check()
        .and_then(|p| p.fit(&data, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.skipped, 2);
    assert_eq!((c.labels[7], c.labels[8]), (None, None));
    assert_eq!(c.clusters.iter().map(|c| c.size).sum::<usize>(), 1_198);
}

#[test]
fn degenerate_requests_are_plain_errors() {
    // one cluster is no segmentation
    let err = ClusterParams::new().k(KChoice::Fixed(1)).check().err();
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        "k must be between 2 and 100, got 1"
    );
    // three distinct customers cannot make four clusters
    let same: Vec<(String, Vec<Option<f64>>)> = vec![(
        "x".into(),
        (0..40).map(|i| Some(f64::from(i % 3))).collect(),
    )];
    let err = ClusterParams::new()
        .k(KChoice::Fixed(4))
        .check()
        .and_then(|p| p.fit(&same, 0))
        .err();
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        "k-means left 1 of 4 clusters empty: the customers are too few or too alike for k = 4"
    );
}
