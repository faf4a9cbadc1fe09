//! The lab's pipeline: five synthetic readers with characters read the
//! candidates of generated phantoms (true nodules and spots that are not);
//! every agreement coefficient with its interval; the prevalence paradox
//! on the same readings; reader outlines compared pairwise and fused by
//! STAPLE; six reference standards and the classifier's AUROC against
//! each; and a label-QA pass over a delivered label set with planted
//! errors, written as a versioned, hash-chained label set with an audit
//! log. The binary parses its flags into [`Options`] and narrates the
//! [`Report`].

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ndarray::{Array3, ArrayView3, Axis, s};
use radlab_eval::InputScaling;
use radlab_metrics::agreement::{
    self as ag, Chance, Level, Weights, count_table, subject_bootstrap,
};
use radlab_metrics::classification::{auroc, sigmoid, soft_auroc};
use radlab_metrics::segmentation::{Counts, EmptyPolicy, StapleOptions, staple};
use radlab_synth::labels::{LabelError, LabelRecord, Planted, plant_errors};
use radlab_synth::readers::{self, Candidate, READERS, Reading};
use radlab_synth::{CaseSpec, NoduleKind};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// Phantoms generated (2 to 4 nodules each).
    pub cases: usize,
    /// Spots that are not nodules, per phantom.
    pub negatives: usize,
    /// Bootstrap resamples (of subjects) per interval.
    pub resamples: usize,
    /// Seed of the cohort's candidates, the readers, the planted errors
    /// and the bootstrap.
    pub seed: u64,
    /// Output folder (the label set versions and the audit log).
    pub out: PathBuf,
}

/// A coefficient with its 95% interval over subjects.
#[derive(Debug, Clone, Serialize)]
pub struct Coefficient {
    /// Its name and convention.
    pub name: String,
    /// The value on all subjects.
    pub value: f64,
    /// 2.5th and 97.5th bootstrap percentiles.
    pub interval: (f64, f64),
    /// When it misleads.
    pub caveat: &'static str,
}

/// Presence agreement of one pool of candidates.
#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    /// What is in it.
    pub name: String,
    /// Candidates.
    pub candidates: usize,
    /// Of which true nodules.
    pub nodules: usize,
    /// nodules / candidates.
    pub prevalence: f64,
    /// Share of agreeing reader pairs.
    pub percent_agreement: f64,
    /// Fleiss' kappa.
    pub fleiss: f64,
    /// Gwet's AC1.
    pub ac1: f64,
}

/// One reader as the data shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ReaderRow {
    /// Name.
    pub name: &'static str,
    /// Habit.
    pub habit: &'static str,
    /// Candidates called present.
    pub called: usize,
    /// Sensitivity against the phantom's truth.
    pub sensitivity: f64,
    /// Specificity against the phantom's truth.
    pub specificity: f64,
    /// STAPLE's estimate of the same from the readings alone.
    pub staple_sensitivity: f64,
    /// STAPLE's estimate of the specificity.
    pub staple_specificity: f64,
    /// Mean Dice of their outlines to the true nodule (nodules they called).
    pub outline_dice: f64,
    /// Mean STAPLE sensitivity of their outlines (voxels).
    pub outline_sensitivity: f64,
    /// Mean STAPLE specificity of their outlines (voxels of the box).
    pub outline_specificity: f64,
}

/// A reference standard and the classifier's AUROC against it.
#[derive(Debug, Clone, Serialize)]
pub struct Standard {
    /// Its name.
    pub name: &'static str,
    /// How it is made.
    pub how: &'static str,
    /// Candidates it calls positive (soft labels: the sum of the weights).
    pub positives: f64,
    /// Candidates where it disagrees with the truth (soft: summed weight).
    pub label_errors: f64,
    /// The classifier's AUROC against it, with its interval.
    pub auroc: f64,
    /// 95% bootstrap interval over candidates.
    pub interval: (f64, f64),
}

/// A finding of the label-QA pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Record id.
    pub record: String,
    /// The problem, as planted kinds are named.
    pub problem: LabelError,
    /// What showed it.
    pub evidence: String,
    /// What was done.
    pub action: String,
}

/// The label-QA pass.
#[derive(Debug, Clone, Serialize)]
pub struct Qa {
    /// Records delivered (errors included).
    pub delivered: usize,
    /// Errors planted, with where.
    pub planted: Vec<Planted>,
    /// What the pass found.
    pub findings: Vec<Finding>,
    /// Planted errors found.
    pub found: usize,
    /// Findings that were not planted.
    pub false_findings: usize,
    /// Records in the corrected version.
    pub corrected: usize,
    /// Findings of a second pass over the corrected version (0 expected).
    pub second_pass_findings: usize,
    /// SHA-256 of each version file, in order.
    pub versions: Vec<String>,
    /// The audit log re-read and every hash recomputed.
    pub chain_verified: bool,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Seed used.
    pub seed: u64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Model and device of the classifier.
    pub model: String,
    /// Where it ran.
    pub device: String,
    /// Phantoms.
    pub cases: usize,
    /// Candidates read.
    pub candidates: usize,
    /// Of which true nodules.
    pub nodules: usize,
    /// The readers.
    pub readers: Vec<ReaderRow>,
    /// Presence: every coefficient with its interval.
    pub presence: Vec<Coefficient>,
    /// Cohen's kappa of every reader pair on presence (reader x reader).
    pub pairwise_kappa: Vec<Vec<f64>>,
    /// The prevalence paradox: the same readers on a balanced pool and on
    /// a screening-like pool.
    pub paradox: Vec<Pool>,
    /// Suspicion scores 1-5 on the true nodules: alpha at three levels.
    pub scores: Vec<Coefficient>,
    /// Senior vs each reader on the scores both gave: kappa unweighted,
    /// linear, quadratic.
    pub score_kappa: Vec<(String, f64, f64, f64)>,
    /// The kind said (solid, part-solid, ground-glass), alpha nominal.
    pub kinds: Coefficient,
    /// Mean pairwise Dice of outlines (reader x reader, nodules both called).
    pub pairwise_dice: Vec<Vec<f64>>,
    /// Dice to the true nodules of the majority-vote and STAPLE outlines.
    pub consensus_dice: (f64, f64),
    /// Reference standards and the classifier's AUROC against each.
    pub standards: Vec<Standard>,
    /// The label-QA pass.
    pub qa: Qa,
    /// Files written.
    pub files: Vec<String>,
}

struct Cohort {
    cases: Vec<radlab_synth::Case>,
    candidates: Vec<Candidate>,
    probabilities: Vec<f64>,
    series: Vec<(String, String)>,
}

fn series_uid(seed: u64) -> String {
    format!(
        "2.25.{}",
        1_000_000_007u64.wrapping_mul(seed + 1) % 10u64.pow(18)
    )
}

fn cohort(
    opts: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Cohort, String, String)> {
    let mut model = load("nodule_classifier")?;
    let p = model.card().preprocessing.clone();
    let scaling = InputScaling::Window {
        center: p.window_center,
        width: p.window_width,
    };
    let mut cases = Vec::new();
    let mut candidates = Vec::new();
    let mut patches = Vec::new();
    let mut series = Vec::new();
    for k in 0..opts.cases {
        let case_seed = 900 + k as u64;
        let mut spec = CaseSpec::sample(case_seed);
        spec.vendor = k % 2;
        spec.nodules = 2 + k % 3;
        let case = radlab_synth::generate_case(&spec);
        let nodules = &case.phantom.nodules;
        let centers: Vec<[f64; 3]> = nodules.iter().map(|n| n.center_voxel).collect();
        let set = radlab_synth::patches::classification_patches(
            case.phantom.hu.mapv(f32::from).view(),
            case.phantom.labels.view(),
            &centers,
            &radlab_synth::patches::PatchOptions {
                negatives: opts.negatives,
                slices_each_side: 0,
                seed: opts.seed ^ case_seed,
                ..Default::default()
            },
        );
        for ((patch, &label), center) in set.patches.outer_iter().zip(&set.labels).zip(&set.centers)
        {
            let nodule = (label == 1)
                .then(|| {
                    nodules.iter().min_by(|a, b| {
                        let d = |n: &radlab_synth::Nodule| {
                            (0..3)
                                .map(|i| (n.center_voxel[i] - center[i] as f64).powi(2))
                                .sum::<f64>()
                        };
                        d(a).total_cmp(&d(b))
                    })
                })
                .flatten()
                .cloned();
            let index = candidates.len();
            candidates.push(readers::candidate(opts.seed, index, k, *center, nodule));
            patches.push(patch.to_owned());
        }
        series.push((case.identity.patient_id.clone(), series_uid(case_seed)));
        cases.push(case);
        progress(&format!(
            "phantom {}/{}: {} candidates so far",
            k + 1,
            opts.cases,
            candidates.len()
        ));
    }
    let views: Vec<_> = patches.iter().map(|p| p.view()).collect();
    let hu = ndarray::stack(Axis(0), &views)?;
    let probabilities = radlab_eval::classify_logits(&mut model, hu.view(), scaling)?
        .into_iter()
        .map(sigmoid)
        .collect();
    Ok((
        Cohort {
            cases,
            candidates,
            probabilities,
            series,
        },
        model.card().name.clone(),
        model.placement().to_string(),
    ))
}

fn interval<F: Fn(&[usize]) -> Option<f64>>(
    n: usize,
    opts: &Options,
    stream: u64,
    stat: F,
) -> (f64, f64) {
    subject_bootstrap(n, opts.resamples, 0.95, opts.seed ^ stream, stat)
        .map(|(lo, hi, _)| (lo, hi))
        .unwrap_or((f64::NAN, f64::NAN))
}

fn rows_of(ratings: &[Vec<usize>], idx: &[usize]) -> Vec<Vec<usize>> {
    idx.iter().map(|&i| ratings[i].clone()).collect()
}

/// Presence coefficients of subjects x raters 0/1 ratings, with intervals.
fn presence_coefficients(ratings: &[Vec<usize>], opts: &Options) -> Vec<Coefficient> {
    let n = ratings.len();
    let table = |idx: &[usize]| count_table(&rows_of(ratings, idx)).0;
    let all: Vec<usize> = (0..n).collect();
    let alpha_of = |idx: &[usize]| {
        let r = ratings.first().map_or(0, Vec::len);
        let data: Vec<Vec<Option<f64>>> = (0..r)
            .map(|j| idx.iter().map(|&i| Some(ratings[i][j] as f64)).collect())
            .collect();
        ag::krippendorff_alpha(&data, Level::Nominal).ok()
    };
    let mean_cohen = |idx: &[usize]| {
        let r = ratings.first().map_or(0, Vec::len);
        let mut sum = 0.0;
        let mut pairs = 0.0;
        for a in 0..r {
            for b in a + 1..r {
                let x: Vec<usize> = idx.iter().map(|&i| ratings[i][a]).collect();
                let y: Vec<usize> = idx.iter().map(|&i| ratings[i][b]).collect();
                sum += ag::cohen_kappa(&x, &y, Weights::Unweighted).ok()?;
                pairs += 1.0;
            }
        }
        Some(sum / pairs)
    };
    type Stat<'a> = Box<dyn Fn(&[usize]) -> Option<f64> + 'a>;
    let rows: Vec<(&str, &'static str, Stat)> = vec![
        (
            "percent agreement (agreeing reader pairs)",
            "counts chance agreement as agreement: high whenever almost everything is negative",
            Box::new(|i: &[usize]| ag::percent_agreement(table(i).view()).ok()),
        ),
        (
            "Fleiss' kappa (chance from pooled margins)",
            "falls at extreme prevalence even when readers rarely disagree (the paradox below)",
            Box::new(|i: &[usize]| ag::fleiss_kappa(table(i).view(), Chance::Fleiss).ok()),
        ),
        (
            "Randolph's kappa (chance 1/k)",
            "assumes readers would use every category equally often by chance",
            Box::new(|i: &[usize]| ag::fleiss_kappa(table(i).view(), Chance::FreeMarginal).ok()),
        ),
        (
            "Gwet's AC1",
            "stable at extreme prevalence, but less known: quote it beside kappa, not instead",
            Box::new(|i: &[usize]| ag::gwet_ac1(table(i).view()).ok()),
        ),
        (
            "Krippendorff's alpha, nominal",
            "close to Fleiss on complete data; the one that copes with missing readings",
            Box::new(alpha_of),
        ),
        (
            "Cohen's kappa, mean over reader pairs",
            "Light's kappa; each pair's chance from its own margins, so two readers' different biases raise it (the bias paradox)",
            Box::new(mean_cohen),
        ),
    ];
    rows.into_iter()
        .enumerate()
        .map(|(k, (name, caveat, stat))| Coefficient {
            name: name.into(),
            value: stat(&all).unwrap_or(f64::NAN),
            interval: interval(n, opts, 0x100 + k as u64, |i| stat(i)),
            caveat,
        })
        .collect()
}

fn pool(name: &str, ratings: &[Vec<usize>], idx: &[usize], nodules: usize) -> Pool {
    let table = count_table(&rows_of(ratings, idx)).0;
    Pool {
        name: name.into(),
        candidates: idx.len(),
        nodules,
        prevalence: nodules as f64 / idx.len().max(1) as f64,
        percent_agreement: ag::percent_agreement(table.view()).unwrap_or(f64::NAN),
        fleiss: ag::fleiss_kappa(table.view(), Chance::Fleiss).unwrap_or(f64::NAN),
        ac1: ag::gwet_ac1(table.view()).unwrap_or(f64::NAN),
    }
}

fn alpha_coefficient(
    name: &str,
    data: &[Vec<Option<f64>>],
    level: Level,
    opts: &Options,
    stream: u64,
    caveat: &'static str,
) -> Coefficient {
    let units = data.first().map_or(0, Vec::len);
    let pick = |idx: &[usize]| -> Vec<Vec<Option<f64>>> {
        data.iter()
            .map(|r| idx.iter().map(|&i| r[i]).collect())
            .collect()
    };
    Coefficient {
        name: name.into(),
        value: ag::krippendorff_alpha(data, level).unwrap_or(f64::NAN),
        interval: interval(units, opts, stream, |i| {
            ag::krippendorff_alpha(&pick(i), level).ok()
        }),
        caveat,
    }
}

fn kind_code(k: NoduleKind) -> f64 {
    match k {
        NoduleKind::Solid => 0.0,
        NoduleKind::PartSolid => 1.0,
        NoduleKind::GroundGlass => 2.0,
    }
}

fn count(m: &Array3<bool>) -> usize {
    m.iter().filter(|&&v| v).count()
}

/// Outlines of one nodule by every reader, inside its box.
struct Outlines {
    candidate: usize,
    roi: [(usize, usize); 3],
    truth: Array3<bool>,
    masks: Vec<Array3<bool>>,
}

fn outlines(c: &Cohort, readings: &[Vec<Reading>], seed: u64) -> Vec<Outlines> {
    let mut out = Vec::new();
    for (i, cand) in c.candidates.iter().enumerate() {
        let Some(n) = &cand.nodule else { continue };
        let ph = &c.cases[cand.case].phantom;
        let sp = [ph.spacing.z, ph.spacing.y, ph.spacing.x];
        let (z, y, x) = ph.labels.dim();
        let roi = readers::roi(n, sp, 2, [z, y, x]);
        let crop = ph.labels.slice(s![
            roi[0].0..roi[0].1,
            roi[1].0..roi[1].1,
            roi[2].0..roi[2].1
        ]);
        let truth = crop.mapv(|v| v == n.label);
        let masks = READERS
            .iter()
            .enumerate()
            .map(|(r, ch)| {
                readers::outline(
                    readers::Asked {
                        seed,
                        reader: ch,
                        reader_index: r,
                        candidate: i,
                    },
                    &readings[r][i],
                    ph.labels.view(),
                    n.label,
                    roi,
                )
            })
            .collect();
        out.push(Outlines {
            candidate: i,
            roi,
            truth,
            masks,
        });
    }
    out
}

fn dice(a: &Array3<bool>, b: &Array3<bool>) -> f64 {
    Counts::of(a.view(), b.view())
        .map(|c| c.dice(EmptyPolicy::BothEmptyOne))
        .unwrap_or(f64::NAN)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The readings behind a report, for `--mine`.
#[derive(Debug, Clone)]
pub struct Readings {
    /// `calls[reader][candidate]`, senior first.
    pub calls: Vec<Vec<bool>>,
    /// `ratings[candidate][reader]`, 1 = present.
    pub ratings: Vec<Vec<u8>>,
    /// `scores[reader][nodule]`, None where not called.
    pub scores: Vec<Vec<Option<f64>>>,
    /// Resamples and seed of the presence intervals.
    pub resamples: usize,
    /// Seed of the run.
    pub seed: u64,
}

/// The learner's functions beside the reference on the same readings.
#[derive(Debug, Clone)]
pub struct Mine {
    /// One line per task.
    pub lines: Vec<String>,
    /// Every task agreed.
    pub agrees: bool,
}

/// Run the exercise functions on `d` and compare with `r` and the reference.
pub fn mine(d: &Readings, r: &Report) -> Mine {
    use crate::exercise as ex;
    use crate::tasks::{Level as L, REFERENCE, Weights as W};
    let close = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9;
    let (mut lines, mut agrees) = (Vec::new(), true);
    let mut say = |task: &str, yours: Option<String>, reference: String, ok: bool| {
        agrees &= ok;
        lines.push(match yours {
            Some(y) => format!(
                "{task}: yours {y}, reference {reference}: {}",
                if ok { "agrees" } else { "DIFFERS" }
            ),
            None => {
                format!("{task}: did not finish (run `grade` to see why); reference {reference}")
            }
        });
    };
    let senior: Vec<u8> = d.calls[0].iter().map(|&v| u8::from(v)).collect();
    let cautious: Vec<u8> = d.calls[1].iter().map(|&v| u8::from(v)).collect();
    let k = radlab_grade::quietly(|| ex::cohen_kappa(&senior, &cautious, W::Unweighted));
    let want = r.pairwise_kappa[0][1];
    say(
        "cohen-kappa (senior vs cautious)",
        k.map(|k| format!("{k:.6}")),
        format!("{want:.6}"),
        k.is_some_and(|k| close(k, want)),
    );
    let f = radlab_grade::quietly(|| ex::fleiss_kappa(&d.ratings));
    let want = r.presence[1].value;
    say(
        "fleiss-kappa (presence)",
        f.map(|k| format!("{k:.6}")),
        format!("{want:.6}"),
        f.is_some_and(|k| close(k, want)),
    );
    let a = radlab_grade::quietly(|| ex::krippendorff_alpha(&d.scores, L::Ordinal));
    let want = r.scores[0].value;
    say(
        "krippendorff-alpha (scores, ordinal)",
        a.map(|k| format!("{k:.6}")),
        format!("{want:.6}"),
        a.is_some_and(|k| close(k, want)),
    );
    let i = radlab_grade::quietly(|| ex::fleiss_interval(&d.ratings, d.resamples, d.seed));
    let want = (REFERENCE.fleiss_interval)(&d.ratings, d.resamples, d.seed);
    say(
        "bootstrap-interval (presence, Fleiss)",
        i.map(|(lo, hi)| format!("[{lo:.6}, {hi:.6}]")),
        format!("[{:.6}, {:.6}]", want.0, want.1),
        i.is_some_and(|(lo, hi)| close(lo, want.0) && close(hi, want.1)),
    );
    let j = radlab_grade::quietly(|| ex::adjudicate(&d.calls, 0));
    let want = (REFERENCE.adjudicate)(&d.calls, 0);
    let pos = |v: &[bool]| v.iter().filter(|&&x| x).count();
    say(
        "adjudicate (5 readers, senior first)",
        j.as_ref().map(|j| format!("{} positives", pos(j))),
        format!("{} positives", pos(&want)),
        j.is_some_and(|j| j == want),
    );
    Mine { lines, agrees }
}

/// Run the lab.
pub fn run(
    opts: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Report, Readings)> {
    let (c, model, device) = cohort(opts, load, progress)?;
    let n = c.candidates.len();
    let truth: Vec<bool> = c.candidates.iter().map(|c| c.nodule.is_some()).collect();
    let nodules = truth.iter().filter(|&&t| t).count();
    let readings: Vec<Vec<Reading>> = READERS
        .iter()
        .enumerate()
        .map(|(r, ch)| {
            c.candidates
                .iter()
                .enumerate()
                .map(|(i, cand)| {
                    readers::read(
                        readers::Asked {
                            seed: opts.seed,
                            reader: ch,
                            reader_index: r,
                            candidate: i,
                        },
                        cand,
                    )
                })
                .collect()
        })
        .collect();
    let calls: Vec<Vec<bool>> = readings
        .iter()
        .map(|r| r.iter().map(|x| x.present).collect())
        .collect();
    let ratings: Vec<Vec<usize>> = (0..n)
        .map(|i| calls.iter().map(|r| usize::from(r[i])).collect())
        .collect();
    progress("agreement on presence");
    let presence = presence_coefficients(&ratings, opts);
    let pairwise_kappa: Vec<Vec<f64>> = (0..READERS.len())
        .map(|a| {
            (0..READERS.len())
                .map(|b| {
                    let x: Vec<usize> = calls[a].iter().map(|&v| usize::from(v)).collect();
                    let y: Vec<usize> = calls[b].iter().map(|&v| usize::from(v)).collect();
                    ag::cohen_kappa(&x, &y, Weights::Unweighted).unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    // The paradox: the same readings, pooled as a balanced set (spots
    // taken evenly across the phantoms) and as a screening list (every
    // spot, every eighth nodule).
    let pos: Vec<usize> = (0..n).filter(|&i| truth[i]).collect();
    let neg: Vec<usize> = (0..n).filter(|&i| !truth[i]).collect();
    let half = pos.len().min(neg.len());
    let spread: Vec<usize> = (0..half)
        .map(|j| neg[j * neg.len() / half.max(1)])
        .collect();
    let balanced: Vec<usize> = pos[..half].iter().chain(&spread).copied().collect();
    let few: Vec<usize> = pos.iter().step_by(8).copied().collect();
    let screening: Vec<usize> = few.iter().chain(&neg).copied().collect();
    let paradox = vec![
        pool(
            "balanced: as many nodules as spots",
            &ratings,
            &balanced,
            half,
        ),
        pool(
            "screening-like: every spot, every eighth nodule",
            &ratings,
            &screening,
            few.len(),
        ),
    ];
    // Scores and kinds on the true nodules; a reader who did not call a
    // nodule gave no score (missing), which alpha handles and kappa cannot.
    let score_data: Vec<Vec<Option<f64>>> = readings
        .iter()
        .map(|r| {
            pos.iter()
                .map(|&i| r[i].present.then_some(f64::from(r[i].score)))
                .collect()
        })
        .collect();
    let kind_data: Vec<Vec<Option<f64>>> = readings
        .iter()
        .map(|r| pos.iter().map(|&i| r[i].kind.map(kind_code)).collect())
        .collect();
    let scores = vec![
        alpha_coefficient(
            "alpha, ordinal (the right level for 1-5 scores)",
            &score_data,
            Level::Ordinal,
            opts,
            0x200,
            "ranks only: 3 vs 4 costs less than 2 vs 5, and the steps need not be even",
        ),
        alpha_coefficient(
            "alpha, interval (the krippendorff package's default)",
            &score_data,
            Level::Interval,
            opts,
            0x201,
            "treats 1-5 as measurements with equal steps",
        ),
        alpha_coefficient(
            "alpha, nominal",
            &score_data,
            Level::Nominal,
            opts,
            0x202,
            "a 4 vs 5 costs as much as 2 vs 5: too harsh for scores",
        ),
    ];
    let kinds = alpha_coefficient(
        "kind said (solid, part-solid, ground-glass), alpha nominal",
        &kind_data,
        Level::Nominal,
        opts,
        0x203,
        "part-solid vs ground-glass is the usual confusion",
    );
    let score_kappa = (1..READERS.len())
        .map(|r| {
            let both: Vec<usize> = pos
                .iter()
                .copied()
                .filter(|&i| readings[0][i].present && readings[r][i].present)
                .collect();
            let a: Vec<usize> = both
                .iter()
                .map(|&i| usize::from(readings[0][i].score))
                .collect();
            let b: Vec<usize> = both
                .iter()
                .map(|&i| usize::from(readings[r][i].score))
                .collect();
            let k = |w| ag::cohen_kappa(&a, &b, w).unwrap_or(f64::NAN);
            (
                format!("senior vs {}", READERS[r].name),
                k(Weights::Unweighted),
                k(Weights::Linear),
                k(Weights::Quadratic),
            )
        })
        .collect();
    // Outlines: pairwise Dice, STAPLE per nodule.
    progress("outlines: pairwise Dice and STAPLE");
    let outl = outlines(&c, &readings, opts.seed);
    let r = READERS.len();
    let mut pair = vec![vec![Vec::new(); r]; r];
    let mut to_truth = vec![Vec::new(); r];
    let mut o_sens = vec![Vec::new(); r];
    let mut o_spec = vec![Vec::new(); r];
    let mut majority_dice = Vec::new();
    let mut staple_dice = Vec::new();
    let mut consensus: HashMap<usize, Array3<bool>> = HashMap::new();
    for o in &outl {
        let callers: Vec<usize> = (0..r)
            .filter(|&k| readings[k][o.candidate].present)
            .collect();
        for &a in &callers {
            to_truth[a].push(dice(&o.masks[a], &o.truth));
            for &b in &callers {
                pair[a][b].push(dice(&o.masks[a], &o.masks[b]));
            }
        }
        if callers.len() < 2 {
            continue;
        }
        let views: Vec<ArrayView3<'_, bool>> = callers.iter().map(|&k| o.masks[k].view()).collect();
        let votes = views
            .iter()
            .fold(Array3::<usize>::zeros(o.truth.dim()), |acc, m| {
                acc + m.mapv(usize::from)
            });
        let majority = votes.mapv(|v| 2 * v > callers.len());
        majority_dice.push(dice(&majority, &o.truth));
        if let Ok(st) = staple(&views, StapleOptions::default()) {
            for (j, &k) in callers.iter().enumerate() {
                o_sens[k].push(st.sensitivity[j]);
                o_spec[k].push(st.specificity[j]);
            }
            let m = st.mask(0.5);
            staple_dice.push(dice(&m, &o.truth));
            consensus.insert(o.candidate, m);
        }
    }
    let pairwise_dice: Vec<Vec<f64>> = pair
        .iter()
        .map(|row| row.iter().map(|v| mean(v)).collect())
        .collect();
    // Reference standards for the classifier.
    progress("reference standards and the classifier's AUROC");
    let senior = calls[0].clone();
    let majority5: Vec<bool> = (0..n)
        .map(|i| 2 * calls.iter().filter(|c| c[i]).count() > r)
        .collect();
    let tie_break: Vec<bool> = (0..n)
        .map(|i| {
            let yes = calls[1..].iter().filter(|c| c[i]).count();
            let no = r - 1 - yes;
            if yes == no { calls[0][i] } else { yes > no }
        })
        .collect();
    let line: Vec<Array3<bool>> = calls
        .iter()
        .map(|c| Array3::from_shape_vec((1, 1, n), c.clone()).expect("1 x 1 x n"))
        .collect();
    let lv: Vec<_> = line.iter().map(|m| m.view()).collect();
    let st = staple(&lv, StapleOptions::default()).context("STAPLE on the presence calls")?;
    let staple_labels: Vec<bool> = st.probability.iter().map(|&p| p > 0.5).collect();
    let soft: Vec<f64> = (0..n)
        .map(|i| calls.iter().filter(|c| c[i]).count() as f64 / r as f64)
        .collect();
    let p = &c.probabilities;
    // Every standard resamples the same candidates (one stream): paired
    // intervals, so identical labels give identical intervals.
    let hard = |name: &'static str, how: &'static str, labels: &[bool], stream: u64| Standard {
        name,
        how,
        positives: labels.iter().filter(|&&v| v).count() as f64,
        label_errors: labels.iter().zip(&truth).filter(|(a, b)| a != b).count() as f64,
        auroc: auroc(p, labels).unwrap_or(f64::NAN),
        interval: interval(n, opts, stream, |idx| {
            let s: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
            let l: Vec<bool> = idx.iter().map(|&i| labels[i]).collect();
            auroc(&s, &l).ok()
        }),
    };
    let standards = vec![
        hard(
            "truth",
            "the phantom's own nodules (never available in a hospital)",
            &truth,
            0x300,
        ),
        hard("senior reader", "one expert's calls", &senior, 0x300),
        hard(
            "majority of 5",
            "called by at least 3 of the 5 readers",
            &majority5,
            0x300,
        ),
        hard(
            "4 readers, senior breaks ties",
            "majority of the other four; 2-2 goes the senior's way",
            &tie_break,
            0x300,
        ),
        hard(
            "STAPLE",
            "EM over the 5 readers' calls, each weighted by their estimated sensitivity and specificity",
            &staple_labels,
            0x300,
        ),
        Standard {
            name: "soft labels",
            how: "each candidate positive with weight = share of readers who called it",
            positives: soft.iter().sum(),
            label_errors: soft
                .iter()
                .zip(&truth)
                .map(|(w, &t)| if t { 1.0 - w } else { *w })
                .sum(),
            auroc: soft_auroc(p, &soft).unwrap_or(f64::NAN),
            interval: interval(n, opts, 0x300, |idx| {
                let s: Vec<f64> = idx.iter().map(|&i| p[i]).collect();
                let w: Vec<f64> = idx.iter().map(|&i| soft[i]).collect();
                soft_auroc(&s, &w).ok()
            }),
        },
    ];
    let readers_rows = READERS
        .iter()
        .enumerate()
        .map(|(k, ch)| {
            let tp = (0..n).filter(|&i| calls[k][i] && truth[i]).count() as f64;
            let tn = (0..n).filter(|&i| !calls[k][i] && !truth[i]).count() as f64;
            ReaderRow {
                name: ch.name,
                habit: ch.habit,
                called: calls[k].iter().filter(|&&v| v).count(),
                sensitivity: tp / nodules as f64,
                specificity: tn / (n - nodules) as f64,
                staple_sensitivity: st.sensitivity[k],
                staple_specificity: st.specificity[k],
                outline_dice: mean(&to_truth[k]),
                outline_sensitivity: mean(&o_sens[k]),
                outline_specificity: mean(&o_spec[k]),
            }
        })
        .collect();
    // Label QA over the delivered STAPLE outlines.
    progress("label QA");
    let qa = label_qa(&c, &readings, &outl, &consensus, opts)?;
    let files = ["labels-v1.json", "labels-v2.json", "audit.jsonl"]
        .iter()
        .map(|f| (*f).to_string())
        .collect();
    let data = Readings {
        calls: calls.clone(),
        ratings: ratings
            .iter()
            .map(|r| r.iter().map(|&v| v as u8).collect())
            .collect(),
        scores: score_data.clone(),
        resamples: opts.resamples,
        seed: opts.seed,
    };
    let report = Report {
        seed: opts.seed,
        resamples: opts.resamples,
        model,
        device,
        cases: c.cases.len(),
        candidates: n,
        nodules,
        readers: readers_rows,
        presence,
        pairwise_kappa,
        paradox,
        scores,
        score_kappa,
        kinds,
        pairwise_dice,
        consensus_dice: (mean(&majority_dice), mean(&staple_dice)),
        standards,
        qa,
        files,
    };
    Ok((report, data))
}

// ---- label QA ----

/// Air outside the body: voxels below -900 HU connected to the sides of
/// the volume, grown by one voxel into the voxels below -400 HU (noise
/// lifts some outside air above -900). The lung fields are the voxels
/// below -400 HU that are not outside air. The strict threshold keeps the
/// flood out of the lungs: a noisy voxel in a thin chest wall can dip
/// below -400 HU, never below -900.
fn outside_air(hu: ArrayView3<'_, i16>) -> Array3<bool> {
    let (nz, ny, nx) = hu.dim();
    let mut out = Array3::from_elem((nz, ny, nx), false);
    let mut queue = VecDeque::new();
    let low = |z: usize, y: usize, x: usize| hu[[z, y, x]] < -900;
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let edge = y == 0 || x == 0 || y + 1 == ny || x + 1 == nx;
                if edge && low(z, y, x) {
                    out[[z, y, x]] = true;
                    queue.push_back((z, y, x));
                }
            }
        }
    }
    while let Some((z, y, x)) = queue.pop_front() {
        let mut visit = |z: usize, y: usize, x: usize| {
            if !out[[z, y, x]] && low(z, y, x) {
                out[[z, y, x]] = true;
                queue.push_back((z, y, x));
            }
        };
        if z > 0 {
            visit(z - 1, y, x);
        }
        if z + 1 < nz {
            visit(z + 1, y, x);
        }
        if y > 0 {
            visit(z, y - 1, x);
        }
        if y + 1 < ny {
            visit(z, y + 1, x);
        }
        if x > 0 {
            visit(z, y, x - 1);
        }
        if x + 1 < nx {
            visit(z, y, x + 1);
        }
    }
    let grown = readers::grow(&out);
    ndarray::Zip::from(&mut out)
        .and(&grown)
        .and(hu)
        .for_each(|o, &g, &h| *o = *o || (g && h < -400));
    out
}

/// What QA measures of one record on one series.
struct Measured {
    /// Share of the neighbourhood of the mask (its box grown by
    /// [`AROUND`] voxels in plane and one slice, mask voxels left out)
    /// that is lung field.
    lung_shell: f64,
    /// Median HU under the mask.
    mean_hu: f64,
    /// Median HU of the lung field around it.
    lung_hu: f64,
}

impl Measured {
    /// How much denser than the lung around it the tissue under the mask is.
    fn contrast(&self) -> f64 {
        self.mean_hu - self.lung_hu
    }
}

/// Voxels the neighbourhood of a mask extends beyond its box, in plane.
const AROUND: usize = 4;

fn measure(rec: &LabelRecord, hu: ArrayView3<'_, i16>, outside: &Array3<bool>) -> Option<Measured> {
    let mask = rec.mask_array()?;
    let (nz, ny, nx) = hu.dim();
    if rec.roi[0].1 > nz || rec.roi[1].1 > ny || rec.roi[2].1 > nx || count(&mask) == 0 {
        return None;
    }
    let (mut near, mut under, mut around) = (0usize, Vec::new(), Vec::new());
    let lo = [
        rec.roi[0].0.saturating_sub(1),
        rec.roi[1].0.saturating_sub(AROUND),
        rec.roi[2].0.saturating_sub(AROUND),
    ];
    let hi = [
        (rec.roi[0].1 + 1).min(nz),
        (rec.roi[1].1 + AROUND).min(ny),
        (rec.roi[2].1 + AROUND).min(nx),
    ];
    for z in lo[0]..hi[0] {
        for y in lo[1]..hi[1] {
            for x in lo[2]..hi[2] {
                let inside = z >= rec.roi[0].0
                    && z < rec.roi[0].1
                    && y >= rec.roi[1].0
                    && y < rec.roi[1].1
                    && x >= rec.roi[2].0
                    && x < rec.roi[2].1;
                let v = hu[[z, y, x]];
                if inside && mask[[z - rec.roi[0].0, y - rec.roi[1].0, x - rec.roi[2].0]] {
                    under.push(f64::from(v));
                    continue;
                }
                near += 1;
                if v < -400 && !outside[[z, y, x]] {
                    around.push(f64::from(v));
                }
            }
        }
    }
    // Medians: a vessel crossing a misplaced mask lifts its mean, not its median.
    Some(Measured {
        lung_shell: if near == 0 {
            0.0
        } else {
            around.len() as f64 / near as f64
        },
        mean_hu: radlab_metrics::stats::percentile(&under, 50.0),
        lung_hu: radlab_metrics::stats::percentile(&around, 50.0),
    })
}

/// Dice of two records' masks in the series' voxels.
fn overlap(a: &LabelRecord, b: &LabelRecord) -> f64 {
    let (Some(ma), Some(mb)) = (a.mask_array(), b.mask_array()) else {
        return 0.0;
    };
    let mut inter = 0usize;
    for ((z, y, x), &v) in ma.indexed_iter() {
        if !v {
            continue;
        }
        let p = [z + a.roi[0].0, y + a.roi[1].0, x + a.roi[2].0];
        let inside = (0..3).all(|k| p[k] >= b.roi[k].0 && p[k] < b.roi[k].1);
        if inside && mb[[p[0] - b.roi[0].0, p[1] - b.roi[1].0, p[2] - b.roi[2].0]] {
            inter += 1;
        }
    }
    2.0 * inter as f64 / (count(&ma) + count(&mb)) as f64
}

/// How much denser (median HU) than the lung field around it the tissue
/// under a mask must be to be a nodule. The faintest ground glass of
/// these phantoms measures about 130 HU over its lung, a mask on bare
/// parenchyma about 0 (under 50 in every seed tried).
const NODULE_CONTRAST: f64 = 90.0;
/// The least share of a mask's neighbourhood that must be lung field.
const LUNG_SHELL: f64 = 0.3;

/// One QA pass: findings, and the corrected records.
fn qa_pass(
    records: &[LabelRecord],
    c: &Cohort,
    outside: &mut HashMap<usize, Array3<bool>>,
) -> (Vec<Finding>, Vec<LabelRecord>) {
    let by_uid: HashMap<&str, usize> = c
        .series
        .iter()
        .enumerate()
        .map(|(k, (_, uid))| (uid.as_str(), k))
        .collect();
    let by_patient: HashMap<&str, usize> = c
        .series
        .iter()
        .enumerate()
        .map(|(k, (p, _))| (p.as_str(), k))
        .collect();
    let mut findings = Vec::new();
    let mut kept: Vec<LabelRecord> = Vec::new();
    for rec in records {
        let mut rec = rec.clone();
        let case = match (
            by_uid.get(rec.series_uid.as_str()),
            by_patient.get(rec.patient_id.as_str()),
        ) {
            (Some(&k), Some(&p)) if k == p => k,
            (found, Some(&p)) => {
                let owner = found.map_or("no series of the cohort".to_string(), |&k| {
                    format!("patient {}", c.series[k].0)
                });
                findings.push(Finding {
                    record: rec.id.clone(),
                    problem: LabelError::SwappedSeries,
                    evidence: format!(
                        "series {} belongs to {owner}, the record to patient {}",
                        rec.series_uid, rec.patient_id
                    ),
                    action: format!(
                        "re-pointed to {}, the series of patient {}",
                        c.series[p].1, rec.patient_id
                    ),
                });
                rec.series_uid = c.series[p].1.clone();
                p
            }
            (_, None) => {
                findings.push(Finding {
                    record: rec.id.clone(),
                    problem: LabelError::SwappedSeries,
                    evidence: format!("patient {} is not in the cohort", rec.patient_id),
                    action: "removed; sent back to the annotator".into(),
                });
                continue;
            }
        };
        let hu = c.cases[case].phantom.hu.view();
        let out = outside.entry(case).or_insert_with(|| outside_air(hu));
        let Some(m) = measure(&rec, hu, out) else {
            findings.push(Finding {
                record: rec.id.clone(),
                problem: LabelError::OutsideLungs,
                evidence: "the mask is empty or leaves the series".into(),
                action: "removed; sent back to the annotator".into(),
            });
            continue;
        };
        if m.lung_shell < LUNG_SHELL {
            findings.push(Finding {
                record: rec.id.clone(),
                problem: LabelError::OutsideLungs,
                evidence: format!("{:.0}% of the voxels around the mask are lung field (at least {:.0}% expected)", 100.0 * m.lung_shell, 100.0 * LUNG_SHELL),
                action: "removed; queued for a senior re-read".into(),
            });
            continue;
        }
        if m.contrast().is_nan() || m.contrast() < NODULE_CONTRAST {
            // Slide the mask along z to where it outlines something denser
            // than its lung, if anywhere near.
            let depth = rec.roi[0].1 - rec.roi[0].0;
            let nz = hu.dim().0;
            let mut best: Option<(i64, f64)> = None;
            for shift in -(2 * depth as i64 + 4)..=(2 * depth as i64 + 4) {
                let z0 = rec.roi[0].0 as i64 + shift;
                if shift == 0 || z0 < 0 || z0 as usize + depth > nz {
                    continue;
                }
                let mut moved = rec.clone();
                moved.roi[0] = (z0 as usize, z0 as usize + depth);
                if let Some(mm) = measure(&moved, hu, out)
                    && mm.contrast() >= NODULE_CONTRAST
                    && mm.lung_shell >= LUNG_SHELL
                    && best.is_none_or(|b| mm.contrast() > b.1)
                {
                    best = Some((shift, mm.contrast()));
                }
            }
            let evidence = format!(
                "median {:.0} HU under the mask, {:.0} HU in the lung around it: only {:.0} HU denser (a nodule is at least {NODULE_CONTRAST:.0} HU denser)",
                m.mean_hu,
                m.lung_hu,
                m.contrast()
            );
            match best {
                Some((shift, there)) => {
                    let z0 = (rec.roi[0].0 as i64 + shift) as usize;
                    findings.push(Finding {
                        record: rec.id.clone(),
                        problem: LabelError::WrongSlices,
                        evidence,
                        action: format!("moved {shift:+} slices to slices {z0}..{} ({there:.0} HU denser than its lung there)", z0 + depth),
                    });
                    rec.roi[0] = (z0, z0 + depth);
                }
                None => {
                    findings.push(Finding {
                        record: rec.id.clone(),
                        problem: LabelError::WrongSlices,
                        evidence,
                        action: "removed; no nearby slices hold a nodule of that outline".into(),
                    });
                    continue;
                }
            }
        }
        if let Some(first) = kept
            .iter()
            .find(|k| k.series_uid == rec.series_uid && overlap(k, &rec) > 0.5)
        {
            findings.push(Finding {
                record: rec.id.clone(),
                problem: LabelError::Duplicate,
                evidence: format!(
                    "Dice {:.2} with {} on the same series",
                    overlap(first, &rec),
                    first.id
                ),
                action: format!("removed; {} kept", first.id),
            });
            continue;
        }
        kept.push(rec);
    }
    (findings, kept)
}

#[derive(Serialize)]
struct Version<'a> {
    version: u32,
    parent: Option<&'a str>,
    made_by: &'a str,
    records: &'a [LabelRecord],
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Write a version file; returns its hash.
fn write_version(out: &Path, v: &Version<'_>) -> Result<String> {
    let mut text = serde_json::to_string_pretty(v)?;
    text.push('\n');
    let path = out.join(format!("labels-v{}.json", v.version));
    radlab_fsio::write_atomic(&path, text.as_bytes())
        .with_context(|| format!("{}", path.display()))?;
    Ok(sha256_hex(text.as_bytes()))
}

#[derive(Serialize, serde::Deserialize)]
struct AuditEntry {
    /// Hash of the previous entry (the first: of labels-v1.json).
    prev: String,
    version: u32,
    record: Option<String>,
    problem: Option<LabelError>,
    evidence: String,
    action: String,
    /// SHA-256 of `prev` and this entry's other fields.
    hash: String,
}

fn entry_hash(e: &AuditEntry) -> String {
    let body = serde_json::json!({
        "prev": e.prev, "version": e.version, "record": e.record,
        "problem": e.problem, "evidence": e.evidence, "action": e.action,
    });
    sha256_hex(body.to_string().as_bytes())
}

/// Re-read the audit log and the version files; true when every hash holds
/// (a line that does not parse is a broken chain). The chain has no key: it
/// shows an accidental or partial edit, not a deliberate rewrite of every
/// hash, unless the last hash is also kept somewhere else.
pub fn verify_chain(out: &Path) -> Result<bool> {
    let v1 = std::fs::read(out.join("labels-v1.json"))?;
    let v2 = std::fs::read(out.join("labels-v2.json"))?;
    let log = std::fs::read_to_string(out.join("audit.jsonl"))?;
    let mut prev = sha256_hex(&v1);
    let mut last: Option<AuditEntry> = None;
    for line in log.lines() {
        let Ok(e) = serde_json::from_str::<AuditEntry>(line) else {
            return Ok(false);
        };
        if e.prev != prev || entry_hash(&e) != e.hash {
            return Ok(false);
        }
        prev = e.hash.clone();
        last = Some(e);
    }
    // The last entry commits the corrected version by its hash.
    Ok(last.is_some_and(|e| e.record.is_none() && e.evidence == sha256_hex(&v2)))
}

fn label_qa(
    c: &Cohort,
    readings: &[Vec<Reading>],
    outl: &[Outlines],
    consensus: &HashMap<usize, Array3<bool>>,
    opts: &Options,
) -> Result<Qa> {
    let mut records = Vec::new();
    for o in outl {
        let Some(m) = consensus.get(&o.candidate) else {
            continue;
        };
        if count(m) == 0 {
            continue;
        }
        let cand = &c.candidates[o.candidate];
        let said: Vec<&Reading> = readings
            .iter()
            .map(|r| &r[o.candidate])
            .filter(|r| r.present)
            .collect();
        let mut scores: Vec<u8> = said.iter().map(|r| r.score).collect();
        scores.sort_unstable();
        let mut kinds: Vec<NoduleKind> = said.iter().filter_map(|r| r.kind).collect();
        kinds.sort_by_key(|k| kind_code(*k) as u8);
        let kind = [
            NoduleKind::Solid,
            NoduleKind::PartSolid,
            NoduleKind::GroundGlass,
        ]
        .into_iter()
        .max_by_key(|k| kinds.iter().filter(|x| *x == k).count())
        .unwrap_or(NoduleKind::Solid);
        let (patient, uid) = &c.series[cand.case];
        records.push(LabelRecord {
            id: format!("r{:03}", records.len()),
            patient_id: patient.clone(),
            series_uid: uid.clone(),
            roi: o.roi,
            mask: LabelRecord::bits(m),
            kind,
            score: scores.get(scores.len() / 2).copied().unwrap_or(1),
        });
    }
    let shape = c.cases.first().map_or([0; 3], |k| {
        let (z, y, x) = k.phantom.hu.dim();
        [z, y, x]
    });
    let planted = plant_errors(&mut records, &c.series, shape, opts.seed ^ 0x9A);
    let mut outside = HashMap::new();
    let (findings, corrected) = qa_pass(&records, c, &mut outside);
    let (second, _) = qa_pass(&corrected, c, &mut outside);
    let found = planted
        .iter()
        .filter(|p| {
            findings
                .iter()
                .any(|f| f.record == p.record && f.problem == p.error)
        })
        .count();
    let false_findings = findings
        .iter()
        .filter(|f| {
            !planted
                .iter()
                .any(|p| p.record == f.record && p.error == f.problem)
        })
        .count();
    // Versions and the audit log.
    radlab_labkit::prepare_out_dir(&opts.out)?;
    let h1 = write_version(
        &opts.out,
        &Version {
            version: 1,
            parent: None,
            made_by: "delivered: STAPLE of the five readers' outlines",
            records: &records,
        },
    )?;
    let h2 = write_version(
        &opts.out,
        &Version {
            version: 2,
            parent: Some(&h1),
            made_by: "label QA (lab-agreement)",
            records: &corrected,
        },
    )?;
    let mut log = String::new();
    let mut prev = h1.clone();
    let mut push =
        |record: Option<String>, problem: Option<LabelError>, evidence: String, action: String| {
            let mut e = AuditEntry {
                prev: prev.clone(),
                version: 2,
                record,
                problem,
                evidence,
                action,
                hash: String::new(),
            };
            e.hash = entry_hash(&e);
            prev = e.hash.clone();
            log.push_str(&serde_json::to_string(&e).expect("an audit entry serialises"));
            log.push('\n');
        };
    for f in &findings {
        push(
            Some(f.record.clone()),
            Some(f.problem),
            f.evidence.clone(),
            f.action.clone(),
        );
    }
    push(
        None,
        None,
        h2.clone(),
        format!("committed labels-v2.json ({} records)", corrected.len()),
    );
    radlab_fsio::write_atomic(&opts.out.join("audit.jsonl"), log.as_bytes())?;
    let chain_verified = verify_chain(&opts.out)?;
    Ok(Qa {
        delivered: records.len(),
        planted,
        found,
        false_findings,
        corrected: corrected.len(),
        second_pass_findings: second.len(),
        findings,
        versions: vec![h1, h2],
        chain_verified,
    })
}
