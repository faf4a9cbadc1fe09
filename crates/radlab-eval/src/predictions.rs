//! A user's predictions for a calibration study: logits (`[n]` binary or
//! `[n, k]` classes) and integer labels, from `.npy` files or from text
//! (CSV, tab- or space-separated; an optional header line).

use std::path::Path;

use ndarray::{Array2, Axis, Ix1, Ix2};

use crate::npy::{NpyKind, read_any};
use crate::{EvalError, Result};

fn bad(path: &Path, reason: String) -> EvalError {
    EvalError::Predictions {
        path: path.to_owned(),
        line: None,
        reason,
    }
}

fn bad_line(path: &Path, line: usize, reason: String) -> EvalError {
    EvalError::Predictions {
        path: path.to_owned(),
        line: Some(line),
        reason,
    }
}

/// The rows of a text table, with their 1-based line numbers; the
/// delimiter is the first of `,`, tab and space found on the first line.
fn text_rows(path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e.to_string()))?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first.contains(',') {
        b','
    } else if first.contains('\t') {
        b'\t'
    } else {
        b' '
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(path, e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        // Runs of spaces make empty fields; blank lines none at all.
        let fields: Vec<String> = rec
            .iter()
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        if !fields.is_empty() {
            rows.push((line, fields));
        }
    }
    Ok(rows)
}

/// Logits: a float `.npy` of shape `[n]` or `[n, k]`, or text rows of
/// finite numbers (the same count on each row). `[n]` becomes `[n, 1]`.
pub fn read_logits(path: &Path) -> Result<Array2<f64>> {
    if path.extension().is_some_and(|e| e == "npy") {
        let not = || {
            bad(
                path,
                "not a float32/float64 NumPy array of shape [n] or [n, k]".into(),
            )
        };
        let (a, kind) = read_any(path).ok_or_else(not)?;
        if kind != NpyKind::Float {
            return Err(not());
        }
        return match a.ndim() {
            1 => Ok(a.into_dimensionality::<Ix1>()?.insert_axis(Axis(1))),
            2 => Ok(a.into_dimensionality::<Ix2>()?),
            _ => Err(not()),
        };
    }
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (k, (line, fields)) in text_rows(path)?.into_iter().enumerate() {
        let vals: std::result::Result<Vec<f64>, _> =
            fields.iter().map(|f| f.parse::<f64>()).collect();
        match vals {
            Ok(v) if v.iter().all(|x| x.is_finite()) => rows.push(v),
            _ if k == 0 && line == 1 => continue, // a header
            _ => {
                return Err(bad_line(path, line, "not a row of finite numbers".into()));
            }
        }
    }
    let k = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || rows.iter().any(|r| r.len() != k) {
        return Err(bad(path, "needs rows of the same number of columns".into()));
    }
    Ok(Array2::from_shape_fn((rows.len(), k), |(i, j)| rows[i][j]))
}

/// Integer labels in `0..max(classes, 2)`: an integer `.npy` of shape
/// `[n]`, or text with one integer per line.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<usize>> {
    let raw: Vec<i64> = if path.extension().is_some_and(|e| e == "npy") {
        let not = || bad(path, "not a 1-D NumPy array of integers".into());
        let (a, kind) = read_any(path).ok_or_else(not)?;
        if kind == NpyKind::Float || a.ndim() != 1 {
            return Err(not());
        }
        a.iter().map(|&v| v as i64).collect()
    } else {
        let mut v = Vec::new();
        for (k, (line, fields)) in text_rows(path)?.into_iter().enumerate() {
            let t = fields.join(" ");
            match t.parse::<i64>() {
                Ok(x) => v.push(x),
                Err(_) if k == 0 && line == 1 => continue, // a header
                Err(_) => {
                    return Err(bad_line(
                        path,
                        line,
                        format!("{t:?} is not an integer label"),
                    ));
                }
            }
        }
        v
    };
    let k = classes.max(2) as i64;
    if let Some((i, &l)) = raw.iter().enumerate().find(|(_, l)| **l < 0 || **l >= k) {
        return Err(bad(
            path,
            format!("label {l} of row {} is not one of {k} classes", i + 1),
        ));
    }
    Ok(raw.into_iter().map(|l| l as usize).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn text_layouts_agree() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("a.csv", "z0,z1\n0.5,-1\n2,3\n"),
            ("b.txt", "0.5\t-1\n2\t3\n"),
            ("c.txt", "  0.5   -1\n\n2 3\n"),
        ] {
            let m = read_logits(&file(dir.path(), name, text)).unwrap();
            assert_eq!(m, ndarray::array![[0.5, -1.0], [2.0, 3.0]], "{name}");
        }
        let e = read_logits(&file(dir.path(), "d.csv", "1,2\n3,x\n")).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 2: not a row of finite numbers"),
            "{e}"
        );
        let e = read_logits(&file(dir.path(), "e.csv", "1,2\n3\n")).unwrap_err();
        assert!(e.to_string().contains("same number of columns"), "{e}");
    }

    #[test]
    fn labels_text_and_npy() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_labels(&file(dir.path(), "l.txt", "label\n0\n1\n1\n"), 2).unwrap(),
            [0, 1, 1]
        );
        let e = read_labels(&file(dir.path(), "m.txt", "0\n2\n"), 2).unwrap_err();
        assert!(
            e.to_string()
                .contains("label 2 of row 2 is not one of 2 classes"),
            "{e}"
        );
        let npy = dir.path().join("l.npy");
        ndarray_npy::write_npy(&npy, &ndarray::array![1i32, 0, 2]).unwrap();
        assert_eq!(read_labels(&npy, 3).unwrap(), [1, 0, 2]);
        let f = dir.path().join("f.npy");
        ndarray_npy::write_npy(&f, &ndarray::array![1.0f64, 0.0]).unwrap();
        assert!(read_labels(&f, 2).is_err());
        assert_eq!(read_logits(&f).unwrap().dim(), (2, 1));
    }
}
