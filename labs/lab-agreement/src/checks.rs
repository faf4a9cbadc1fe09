//! The graded checks of lab-agreement. The expected values come from the
//! peers (scikit-learn, statsmodels and the krippendorff package, in
//! `sample_data/fixtures/metrics/agreement_peers.json`, made by
//! `tools/metrics/make_agreement_fixture.py`), from examples worked by hand
//! in the comments, and from properties; the bootstrap is recomputed here
//! from its specification with a Fleiss' kappa of the checks' own.
//! Messages name the convention broken and show expected vs got.

use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::tasks::{Level, Tasks, Weights};

const PEERS: &str = include_str!("../../../sample_data/fixtures/metrics/agreement_peers.json");

fn peers() -> Value {
    serde_json::from_str(PEERS).expect("the agreement fixture is JSON")
}

fn same(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * b.abs().max(1.0)
}

fn labels(v: &Value) -> Vec<u8> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_u64().unwrap_or(0) as u8).collect())
        .unwrap_or_default()
}

fn table(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .map(|a| a.iter().map(labels).collect())
        .unwrap_or_default()
}

fn units(v: &Value) -> Vec<Vec<Option<f64>>> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    r.as_array()
                        .map(|r| r.iter().map(Value::as_f64).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

// ---- cohen-kappa ----

fn cohen_worked(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["cohen"][0];
    let (a, b) = (labels(&c["a"]), labels(&c["b"]));
    for (w, key) in [
        (Weights::Unweighted, "unweighted"),
        (Weights::Linear, "linear"),
        (Weights::Quadratic, "quadratic"),
    ] {
        let (got, want) = ((t.cohen_kappa)(&a, &b, w), num(&c[key]));
        if !same(got, want, 1e-9) {
            return Err(format!(
                "a = {a:?}, b = {b:?}, {w:?}: scikit-learn gives {want}, got {got}.\nOrdinal labels need weights: a disagreement of i vs j costs |i - j| (linear) or (i - j)^2 (quadratic) on the category indices, so near misses cost less than far ones; unweighted, every disagreement costs 1."
            ));
        }
    }
    Ok("scikit-learn's values for the three weightings (0.4894, 0.5862, 0.7000)".into())
}

/// Reader a says 1 four times in ten, reader b twice; they agree on 8.
/// Chance from each reader's own margins: 0.6 x 0.8 + 0.4 x 0.2 = 0.56,
/// kappa = (0.8 - 0.56) / 0.44 = 0.5454... Pooled margins (0.7, 0.3) give
/// chance 0.58 and 0.5238 (Scott's pi, a different coefficient).
fn cohen_own_margins(t: &'static Tasks) -> Outcome {
    let a = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    let b = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    let want = (0.8 - 0.56) / 0.44;
    let got = (t.cohen_kappa)(&a, &b, Weights::Unweighted);
    if same(got, want, 1e-12) {
        Ok(format!("readers with different margins: {got}"))
    } else {
        Err(format!(
            "reader a calls 40% positive, reader b 20%, they agree on 8 of 10: expected {want}, got {got}.\nCohen's chance agreement comes from each reader's own margins, sum_k p_a(k) p_b(k) = 0.56; pooling the two readers' labels first (0.58) is Scott's pi, which assumes the readers share one bias."
        ))
    }
}

/// Labels 1, 2 and 5: the categories are [1, 2, 5] and a 1-vs-5
/// disagreement is two categories apart, not four (scikit-learn: linear
/// 0.3103448275862069, quadratic 0.36363636363636365).
fn cohen_indices(t: &'static Tasks) -> Outcome {
    let a = [1, 2, 5, 5, 1, 2, 5, 1];
    let b = [2, 2, 5, 1, 1, 5, 5, 2];
    for (w, want) in [
        (Weights::Linear, 0.310_344_827_586_206_85),
        (Weights::Quadratic, 0.363_636_363_636_363_65),
    ] {
        let got = (t.cohen_kappa)(&a, &b, w);
        if !same(got, want, 1e-9) {
            return Err(format!(
                "labels 1, 2 and 5, {w:?}: scikit-learn gives {want}, got {got}.\nWeights act on the category indices (positions in the sorted list of labels used: 1 -> 0, 2 -> 1, 5 -> 2), not on the label values: 1 vs 5 is two steps apart."
            ));
        }
    }
    Ok("weights on the category indices".into())
}

fn cohen_fixture(t: &'static Tasks) -> Outcome {
    let p = peers();
    for (i, c) in p["cohen"].as_array().into_iter().flatten().enumerate() {
        let (a, b) = (labels(&c["a"]), labels(&c["b"]));
        for (w, key) in [
            (Weights::Unweighted, "unweighted"),
            (Weights::Linear, "linear"),
            (Weights::Quadratic, "quadratic"),
        ] {
            let (got, want) = ((t.cohen_kappa)(&a, &b, w), num(&c[key]));
            if !same(got, want, 1e-9) {
                return Err(format!(
                    "scikit-learn case {i} ({} subjects, scores 1-5), {w:?}: expected {want}, got {got}",
                    a.len()
                ));
            }
        }
    }
    Ok("every scikit-learn case, three weightings".into())
}

fn cohen_constant(t: &'static Tasks) -> Outcome {
    let got = (t.cohen_kappa)(&[1, 1, 1, 1], &[1, 1, 1, 1], Weights::Unweighted);
    if got.is_nan() {
        Ok("two readers who give everyone the same label: NaN".into())
    } else {
        Err(format!(
            "two readers who both label every subject 1: expected NaN, got {got}.\nChance agreement is then 1, so kappa is 0 / 0: undefined. Returning 1 (or 0) claims an agreement beyond chance that cannot be measured here."
        ))
    }
}

// ---- fleiss-kappa ----

/// What the usual mistakes give on `r`: (a raters x subjects table,
/// chance 1/k, n^2 pairs per subject), for the message.
fn fleiss_mistakes(r: &[Vec<u8>]) -> [(f64, &'static str); 3] {
    let raters = r.first().map_or(0, Vec::len);
    let transposed: Vec<Vec<u8>> = (0..raters)
        .map(|j| r.iter().map(|row| row[j]).collect())
        .collect();
    let t_rows: Vec<&Vec<u8>> = transposed.iter().collect();
    let n = raters as f64;
    let mut cats: Vec<u8> = r.iter().flatten().copied().collect();
    cats.sort_unstable();
    cats.dedup();
    let (mut pa, mut pa_sq) = (0.0, 0.0);
    let mut pooled = [0.0f64; 256];
    for row in r {
        let mut c = [0.0f64; 256];
        for &v in row {
            c[usize::from(v)] += 1.0;
            pooled[usize::from(v)] += 1.0;
        }
        pa += c.iter().map(|x| x * (x - 1.0)).sum::<f64>() / (n * (n - 1.0));
        pa_sq += c.iter().map(|x| x * x).sum::<f64>() / (n * n);
    }
    pa /= r.len() as f64;
    pa_sq /= r.len() as f64;
    let total: f64 = pooled.iter().sum();
    let pe: f64 = pooled.iter().map(|x| (x / total).powi(2)).sum();
    let uniform = 1.0 / cats.len() as f64;
    [
        (
            kappa(&t_rows),
            "a raters x subjects table: ratings[subject][rater] has one row per subject, and each row is counted into one row of the subjects x categories table",
        ),
        (
            (pa - uniform) / (1.0 - uniform),
            "chance 1/k, which is Randolph's free-marginal kappa: Fleiss' chance is sum_j p_j^2 with p_j the pooled share of category j",
        ),
        (
            (pa_sq - pe) / (1.0 - pe),
            "n^2 rater pairs per subject: a subject's agreement is sum_j n_ij (n_ij - 1) / (n (n - 1)), a rater does not pair with themself",
        ),
    ]
}

fn fleiss_worked(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["fleiss"][0];
    let r = table(&c["ratings"]);
    let (got, want) = ((t.fleiss_kappa)(&r), num(&c["fleiss"]));
    if same(got, want, 1e-9) {
        return Ok(format!("statsmodels' worked example: {got}"));
    }
    let why = fleiss_mistakes(&r)
        .into_iter()
        .find(|(v, _)| same(got, *v, 1e-9))
        .map_or(String::new(), |(_, why)| format!("\nThat is what {why}."));
    Err(format!(
        "ratings {r:?} (subjects x raters): statsmodels gives {want}, got {got}.{why}"
    ))
}

fn fleiss_orientation(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["fleiss"][1];
    let r = table(&c["ratings"]);
    let (got, want) = ((t.fleiss_kappa)(&r), num(&c["fleiss"]));
    if same(got, want, 1e-9) {
        Ok(format!("200 subjects x {} raters: {got}", r[0].len()))
    } else {
        Err(format!(
            "{} subjects x {} raters: statsmodels gives {want}, got {got}.\nratings[subject][rater]: one row per subject, and each subject's row is counted into one row of the subjects x categories table. A raters x subjects table measures how consistently each rater labels different patients, not whether raters agree.",
            r.len(),
            r.first().map_or(0, Vec::len)
        ))
    }
}

fn fleiss_pooled_chance(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["fleiss"][1];
    let r = table(&c["ratings"]);
    let got = (t.fleiss_kappa)(&r);
    let (want, randolph) = (num(&c["fleiss"]), num(&c["randolph"]));
    if same(got, want, 1e-9) {
        return Ok("chance from the pooled category shares".into());
    }
    let hint = if same(got, randolph, 1e-9) {
        " That is Randolph's free-marginal kappa (chance 1/k)."
    } else {
        ""
    };
    Err(format!(
        "expected {want}, got {got}.{hint}\nFleiss' chance agreement is sum_j p_j^2 with p_j the pooled share of category j over every rating, not 1/k per category."
    ))
}

/// Four raters, three subjects: [0,0,0,0], [0,0,1,1], [1,1,1,0].
/// P_i = sum_j n_ij (n_ij - 1) / (n (n - 1)) = 1, 4/12, 6/12; mean 11/18.
/// p = (7/12, 5/12), chance 74/144; kappa = (11/18 - 74/144) / (70/144) = 0.2.
///
/// Two raters, five subjects: [0,0], [0,1], [1,1], [1,1], [0,0]. Four of
/// five agree (0.8), pooled shares (0.5, 0.5), chance 0.5: kappa 0.6 (with
/// two raters Fleiss' kappa is Scott's pi; Cohen's would use each rater's
/// own margins, 0.6 x 0.4 + 0.4 x 0.6 = 0.48, and give 0.615).
fn fleiss_pairs(t: &'static Tasks) -> Outcome {
    let two = vec![vec![0, 0], vec![0, 1], vec![1, 1], vec![1, 1], vec![0, 0]];
    let got = (t.fleiss_kappa)(&two);
    if !same(got, 0.6, 1e-12) {
        return Err(format!(
            "two raters, ratings {two:?}: expected 0.6, got {got}.\nTwo raters are enough for Fleiss' kappa: each subject has one pair, agreeing or not, and chance is from the pooled shares (this is Scott's pi)."
        ));
    }
    let r = vec![vec![0, 0, 0, 0], vec![0, 0, 1, 1], vec![1, 1, 1, 0]];
    let got = (t.fleiss_kappa)(&r);
    if same(got, 0.2, 1e-12) {
        Ok("agreement within a subject counts rater pairs, two raters included".into())
    } else {
        Err(format!(
            "ratings {r:?}: expected 0.2, got {got}.\nA subject's agreement is the share of agreeing rater *pairs*, sum_j n_ij (n_ij - 1) / (n (n - 1)): a rater does not agree with themself, so n(n-1), not n^2."
        ))
    }
}

// ---- krippendorff-alpha ----

/// Krippendorff's example at the interval level, the units only one
/// observer rated left out (they carry no pairs, so the value is the
/// package's 0.8491 for the whole example).
fn alpha_published(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["krippendorff"][0];
    let d = units(&c["data"]);
    let keep: Vec<usize> = (0..d.first().map_or(0, Vec::len))
        .filter(|&u| d.iter().filter(|r| r[u].is_some()).count() >= 2)
        .collect();
    let paired: Vec<Vec<Option<f64>>> = d
        .iter()
        .map(|r| keep.iter().map(|&u| r[u]).collect())
        .collect();
    let (got, want) = (
        (t.krippendorff_alpha)(&paired, Level::Interval),
        num(&c["interval"]),
    );
    if same(got, want, 1e-9) {
        Ok(format!("Krippendorff's example, interval: {got}"))
    } else {
        Err(format!(
            "Krippendorff's own example (4 observers, the {} units at least two rated, missing values), interval: the krippendorff package gives {want}, got {got}.\nalpha = 1 - D_o / D_e from the coincidence matrix: in a unit with m ratings each ordered pair of different raters' values adds 1 / (m - 1); delta(c, k) = (c - k)^2 at the interval level.",
            keep.len()
        ))
    }
}

fn alpha_levels(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["krippendorff"][0];
    let d = units(&c["data"]);
    for (level, key) in [
        (Level::Ordinal, "ordinal"),
        (Level::Interval, "interval"),
        (Level::Nominal, "nominal"),
    ] {
        let (got, want) = ((t.krippendorff_alpha)(&d, level), num(&c[key]));
        if !same(got, want, 1e-9) {
            return Err(format!(
                "Krippendorff's example at the {key} level: expected {want}, got {got}.\nThe level decides what a disagreement costs: 1 for any two categories (nominal), the ranks between them (ordinal), (a - b)^2 (interval). The krippendorff package defaults to interval, which is wrong for labels that are categories or ranks: say the level every time."
            ));
        }
    }
    Ok("0.743 nominal, 0.815 ordinal, 0.849 interval".into())
}

fn alpha_missing(t: &'static Tasks) -> Outcome {
    let p = peers();
    for (i, c) in p["krippendorff"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .skip(1)
    {
        let d = units(&c["data"]);
        for (level, key) in [
            (Level::Nominal, "nominal"),
            (Level::Ordinal, "ordinal"),
            (Level::Interval, "interval"),
        ] {
            let (got, want) = ((t.krippendorff_alpha)(&d, level), num(&c[key]));
            if !same(got, want, 1e-9) {
                return Err(format!(
                    "krippendorff case {i} ({} readers x {} units, some missing), {key}: expected {want}, got {got}",
                    d.len(),
                    d.first().map_or(0, Vec::len)
                ));
            }
        }
    }
    Ok("the package's cases with missing ratings, three levels".into())
}

/// A unit only one reader rated has no pair of values to compare: adding
/// such units must leave alpha where it was.
fn alpha_single_ratings(t: &'static Tasks) -> Outcome {
    let p = peers();
    let c = &p["krippendorff"][0];
    let d = units(&c["data"]);
    let want = num(&c["nominal"]);
    let mut more = d.clone();
    for (i, row) in more.iter_mut().enumerate() {
        row.push(if i == 0 { Some(5.0) } else { None });
        row.push(if i == 1 { Some(1.0) } else { None });
    }
    let got = (t.krippendorff_alpha)(&more, Level::Nominal);
    if same(got, want, 1e-9) {
        Ok("units with one rating left out".into())
    } else {
        Err(format!(
            "Krippendorff's example plus two units rated by one reader each: expected {want} (unchanged), got {got}.\nA unit with one rating has no pairs of values: leave it out of the coincidence matrix and of n, the number of pairable values."
        ))
    }
}

// ---- bootstrap-interval ----

/// Fleiss' kappa written again for the checks, from the count table.
fn kappa(rows: &[&Vec<u8>]) -> f64 {
    let n = rows.first().map_or(0, |r| r.len()) as f64;
    let mut counts = [0.0f64; 256];
    let mut pa = 0.0;
    for r in rows {
        let mut c = [0.0f64; 256];
        for &v in r.iter() {
            c[usize::from(v)] += 1.0;
        }
        pa += c.iter().map(|x| x * (x - 1.0)).sum::<f64>() / (n * (n - 1.0));
        for (t, x) in counts.iter_mut().zip(c) {
            *t += x;
        }
    }
    pa /= rows.len() as f64;
    let total: f64 = counts.iter().sum();
    let pe: f64 = counts.iter().map(|x| (x / total).powi(2)).sum();
    (pa - pe) / (1.0 - pe)
}

fn linear_percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The specification of the task, written out: subjects resampled.
fn subject_interval(r: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = r.len();
    let mut v = Vec::new();
    for _ in 0..resamples {
        let rows: Vec<&Vec<u8>> = (0..n).map(|_| &r[rng.random_range(0..n)]).collect();
        let k = kappa(&rows);
        if k.is_finite() {
            v.push(k);
        }
    }
    v.sort_by(f64::total_cmp);
    (linear_percentile(&v, 2.5), linear_percentile(&v, 97.5))
}

/// Readers who agree on easy subjects and split on hard ones: subject
/// `i` is hard with probability 0.4; ratings 0..3.
fn clustered(seed: u64, n: usize, raters: usize) -> Vec<Vec<u8>> {
    let mut r = radlab_grade::check_rng(seed);
    (0..n)
        .map(|_| {
            let truth: u8 = r.random_range(0..3);
            let hard = r.random::<f64>() < 0.4;
            (0..raters)
                .map(|_| {
                    if hard && r.random::<f64>() < 0.6 {
                        r.random_range(0..3)
                    } else {
                        truth
                    }
                })
                .collect()
        })
        .collect()
}

fn interval_close(got: (f64, f64), want: (f64, f64)) -> bool {
    same(got.0, want.0, 1e-9) && same(got.1, want.1, 1e-9)
}

fn interval_exact(t: &'static Tasks) -> Outcome {
    let note = radlab_grade::seed_note(741);
    let data = clustered(741, 60, 4);
    for (resamples, seed) in [(400usize, 7u64), (250, 20261206)] {
        let want = subject_interval(&data, resamples, seed);
        let got = (t.fleiss_interval)(&data, resamples, seed);
        if !interval_close(got, want) {
            return Err(format!(
                "60 subjects x 4 raters ({note}), {resamples} resamples, seed {seed}: expected [{}, {}], got [{}, {}].\nA 95% interval is the 2.5th and 97.5th percentiles (numpy's linear interpolation) of the resampled kappas; draw the indices in order with random_range(0..n) from ChaCha8Rng::seed_from_u64(seed).",
                want.0, want.1, got.0, got.1
            ));
        }
    }
    Ok("the seeded interval, to 1e-9".into())
}

fn interval_subjects(t: &'static Tasks) -> Outcome {
    let data = clustered(742, 80, 5);
    let want = subject_interval(&data, 300, 11);
    let got = (t.fleiss_interval)(&data, 300, 11);
    if interval_close(got, want) {
        return Ok(format!(
            "[{:.4}, {:.4}] from resampled subjects",
            got.0, got.1
        ));
    }
    Err(format!(
        "80 subjects x 5 raters, 300 resamples, seed 11: expected [{}, {}], got [{}, {}] (the 2.5th and 97.5th percentiles, numpy's linear method, of the defined resampled kappas).\nResample subjects (whole rows of ratings), never single ratings: one subject's ratings move together (a hard case is hard for every reader), and shuffling ratings between subjects breaks that and gives an interval for a different population.",
        want.0, want.1, got.0, got.1
    ))
}

fn interval_contains(t: &'static Tasks) -> Outcome {
    let p = peers();
    let r = table(&p["fleiss"][1]["ratings"]);
    let k = num(&p["fleiss"][1]["fleiss"]);
    let (lo, hi) = (t.fleiss_interval)(&r, 500, 3);
    if lo < k && k < hi && hi - lo < 0.5 {
        Ok(format!("[{lo:.4}, {hi:.4}] around {k:.4}"))
    } else {
        Err(format!(
            "200 subjects, kappa {k}: the 95% interval [{lo}, {hi}] should contain it and be narrower than 0.5"
        ))
    }
}

/// Ten subjects, nine of them rated 0 by everyone: a resample drawing only
/// those has one category and kappa 0 / 0. Such resamples are skipped.
fn interval_undefined(t: &'static Tasks) -> Outcome {
    let mut data = vec![vec![0u8, 0, 0]; 9];
    data.push(vec![1, 1, 0]);
    let want = subject_interval(&data, 200, 5);
    let got = (t.fleiss_interval)(&data, 200, 5);
    if interval_close(got, want) {
        Ok("resamples with kappa undefined are skipped".into())
    } else {
        Err(format!(
            "nine subjects all rated 0 and one rated [1, 1, 0], 200 resamples, seed 5: expected [{}, {}], got [{}, {}].\nAbout a third of the resamples draw no rating other than 0: kappa is undefined (0 / 0) there. Skip them; a NaN sorted among the values, or counted as 0 or 1, moves the percentiles.",
            want.0, want.1, got.0, got.1
        ))
    }
}

// ---- adjudicate ----

fn adjudicate_majority(t: &'static Tasks) -> Outcome {
    let calls = vec![
        vec![true, false, true, false],
        vec![true, false, false, false],
        vec![false, true, true, false],
        vec![true, false, true, true],
        vec![false, false, true, true],
    ];
    let want = vec![true, false, true, false];
    let got = (t.adjudicate)(&calls, 0);
    if got == want {
        Ok("five readers, majority".into())
    } else {
        Err(format!(
            "five readers' calls {calls:?} (reader x candidate): expected {want:?}, got {got:?}: a candidate is positive when more than half the readers called it"
        ))
    }
}

fn adjudicate_ties(t: &'static Tasks) -> Outcome {
    // Four readers; candidates 0 and 1 split 2-2, the senior (reader 2)
    // said yes on 0 and no on 1.
    let calls = vec![
        vec![true, true, true],
        vec![false, true, false],
        vec![true, false, false],
        vec![false, false, false],
    ];
    let want = vec![true, false, false];
    let got = (t.adjudicate)(&calls, 2);
    if got == want {
        Ok("2-2 ties go the senior reader's way".into())
    } else {
        Err(format!(
            "four readers {calls:?}, senior = reader 2: expected {want:?}, got {got:?}.\nOn a 2-2 tie the senior reader decides, whichever way they called it; ties sent always to positive (or negative) bias the reference standard."
        ))
    }
}

fn adjudicate_outvoted(t: &'static Tasks) -> Outcome {
    let calls = vec![
        vec![true, false],
        vec![false, true],
        vec![false, true],
        vec![false, true],
    ];
    let got = (t.adjudicate)(&calls, 0);
    if got == vec![false, true] {
        Ok("the senior reader breaks ties only".into())
    } else {
        Err(format!(
            "four readers {calls:?}, senior = reader 0, outvoted 3-1 on both: expected [false, true], got {got:?}.\nThe senior reader breaks ties only; a clear majority stands."
        ))
    }
}

fn adjudicate_random(t: &'static Tasks) -> Outcome {
    let note = radlab_grade::seed_note(751);
    let mut r = radlab_grade::check_rng(751);
    for case in 0..100 {
        let readers = r.random_range(1..8);
        let n = r.random_range(0..40);
        let senior = r.random_range(0..readers);
        let calls: Vec<Vec<bool>> = (0..readers)
            .map(|_| (0..n).map(|_| r.random::<bool>()).collect())
            .collect();
        let want: Vec<bool> = (0..n)
            .map(|c| {
                let yes = calls.iter().filter(|x| x[c]).count() * 2;
                match yes.cmp(&readers) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => calls[senior][c],
                }
            })
            .collect();
        let got = (t.adjudicate)(&calls, senior);
        if got != want {
            return Err(format!(
                "seeded case {case} ({note}): {readers} readers, {n} candidates, senior {senior}: expected {want:?}, got {got:?}"
            ));
        }
    }
    Ok("100 seeded reader panels".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "cohen-kappa" => {
            "cohen/own-margins": 1.0, Visible, WorkedExample, cohen_own_margins;
            "cohen/worked": 1.0, Hidden, WorkedExample, cohen_worked;
            "cohen/weights-on-indices": 0.5, Hidden, WorkedExample, cohen_indices;
            "cohen/scikit-learn": 1.0, Hidden, WorkedExample, cohen_fixture;
            "cohen/constant-readers": 0.5, Hidden, WorkedExample, cohen_constant;
        }
        "fleiss-kappa" => {
            "fleiss/worked": 1.0, Visible, WorkedExample, fleiss_worked;
            "fleiss/subjects-by-raters": 1.0, Hidden, WorkedExample, fleiss_orientation;
            "fleiss/pooled-chance": 1.0, Hidden, WorkedExample, fleiss_pooled_chance;
            "fleiss/rater-pairs": 1.0, Hidden, WorkedExample, fleiss_pairs;
        }
        "krippendorff-alpha" => {
            "alpha/interval-example": 1.0, Visible, WorkedExample, alpha_published;
            "alpha/level-matters": 1.0, Hidden, WorkedExample, alpha_levels;
            "alpha/missing-ratings": 1.0, Hidden, WorkedExample, alpha_missing;
            "alpha/single-ratings": 1.0, Hidden, Property, alpha_single_ratings;
        }
        "bootstrap-interval" => {
            "interval/seeded": 1.5, Hidden, Property, interval_exact;
            "interval/resample-subjects": 1.0, Visible, Property, interval_subjects;
            "interval/contains-estimate": 0.5, Hidden, Property, interval_contains;
            "interval/undefined-skipped": 1.0, Hidden, Property, interval_undefined;
        }
        "adjudicate" => {
            "adjudicate/majority": 1.0, Visible, WorkedExample, adjudicate_majority;
            "adjudicate/ties-to-senior": 1.5, Hidden, WorkedExample, adjudicate_ties;
            "adjudicate/senior-breaks-ties-only": 1.0, Hidden, WorkedExample, adjudicate_outvoted;
            "adjudicate/random-panels": 0.5, Hidden, Property, adjudicate_random;
        }
    ]
}
