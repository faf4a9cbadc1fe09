//! Exact nearest-neighbour distances between points of one voxel lattice.
//!
//! The surface metrics ask, for every surface voxel of one mask, for the
//! distance in mm to the nearest surface voxel of the other. The points are
//! integer `[z, y, x]` indices and the spacing may differ per axis, so the
//! squared distance of two points is `w_z dz^2 + w_y dy^2 + w_x dx^2` with
//! integer differences and `w` the squared spacing. Everything here, from
//! the pruning bounds to the reported distance, is that one formula, so the
//! nearest point found is the one the formula ranks first and the distance
//! is exact up to one rounding per term.
//!
//! The points sit in a bounding-volume tree: median splits along the axis
//! longest in mm, every node keeping the tight box of its points. Tight
//! boxes keep a query far from the surface cheap (a plain k-d tree's cells
//! reach into the empty space between the two surfaces, and such a query
//! then opens most of them). Queries run in the caller's order, which for
//! surface points is z, then y, then x: the answers of the last few queries
//! are near the next one, and the best of them starts the search with a
//! tight bound.
use crate::Spacing;
use rayon::prelude::*;

/// Points per leaf.
const LEAF: usize = 16;
/// Earlier answers tried as a first bound.
const SEEDS: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Node {
    lo: [i32; 3],
    hi: [i32; 3],
    start: u32,
    end: u32,
    /// Index of the first child (the second follows it); 0 for a leaf.
    child: u32,
}

/// A tree over lattice points with spacing weights.
#[derive(Debug, Clone)]
pub(crate) struct LatticeTree {
    /// Squared spacing per axis (z, y, x), mm^2.
    weight: [f64; 3],
    /// The points, reordered so that every node owns a contiguous range.
    points: Vec<[i32; 3]>,
    nodes: Vec<Node>,
}

impl LatticeTree {
    /// Builds the tree over `points` (`[z, y, x]` indices; must not be
    /// empty) with `spacing` in mm per axis.
    pub(crate) fn new(points: &[[u32; 3]], spacing: Spacing) -> Self {
        let mut pts: Vec<[i32; 3]> = points
            .iter()
            .map(|p| [p[0] as i32, p[1] as i32, p[2] as i32])
            .collect();
        let weight = spacing.zyx().map(|s| s * s);
        let mut nodes = vec![Node {
            lo: [0; 3],
            hi: [0; 3],
            start: 0,
            end: pts.len() as u32,
            child: 0,
        }];
        let mut todo = vec![0usize];
        while let Some(n) = todo.pop() {
            let (start, end) = (nodes[n].start as usize, nodes[n].end as usize);
            let part = &mut pts[start..end];
            let (mut lo, mut hi) = ([i32::MAX; 3], [i32::MIN; 3]);
            for p in part.iter() {
                for a in 0..3 {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a]);
                }
            }
            nodes[n].lo = lo;
            nodes[n].hi = hi;
            if part.len() <= LEAF {
                continue;
            }
            let extent = |a: usize| f64::from(hi[a] - lo[a]) * spacing.along(a);
            let axis = (0..3)
                .max_by(|&a, &b| extent(a).total_cmp(&extent(b)))
                .unwrap_or(0);
            let mid = part.len() / 2;
            part.select_nth_unstable_by_key(mid, |p| p[axis]);
            let child = nodes.len();
            nodes[n].child = child as u32;
            let split = (start + mid) as u32;
            for (s, e) in [(start as u32, split), (split, end as u32)] {
                nodes.push(Node {
                    lo: [0; 3],
                    hi: [0; 3],
                    start: s,
                    end: e,
                    child: 0,
                });
            }
            todo.push(child);
            todo.push(child + 1);
        }
        LatticeTree {
            weight,
            points: pts,
            nodes,
        }
    }

    fn squared(&self, p: [i32; 3], q: [i32; 3]) -> f64 {
        let d = |a: usize| f64::from(p[a] - q[a]);
        self.weight[0] * (d(0) * d(0))
            + self.weight[1] * (d(1) * d(1))
            + self.weight[2] * (d(2) * d(2))
    }

    /// A lower bound of [`Self::squared`] from `p` to any point of the node.
    fn squared_to_box(&self, p: [i32; 3], n: &Node) -> f64 {
        let gap = |a: usize| f64::from((n.lo[a] - p[a]).max(p[a] - n.hi[a]).max(0));
        self.weight[0] * (gap(0) * gap(0))
            + self.weight[1] * (gap(1) * gap(1))
            + self.weight[2] * (gap(2) * gap(2))
    }

    /// The squared distance from `p` to its nearest point, and that point's
    /// position in `self.points`, starting from the bound of `seeds`.
    fn nearest(&self, p: [i32; 3], seeds: &[usize]) -> (f64, usize) {
        let (mut best, mut at) = (f64::INFINITY, 0);
        for &s in seeds {
            let d = self.squared(p, self.points[s]);
            if d < best {
                (best, at) = (d, s);
            }
        }
        // Depth is about log2(points / LEAF); 64 entries cover any input.
        let mut stack = [(0u32, 0f64); 64];
        let mut top = 1;
        stack[0] = (0, self.squared_to_box(p, &self.nodes[0]));
        while top > 0 {
            top -= 1;
            let (n, bound) = stack[top];
            if bound >= best {
                continue;
            }
            let node = &self.nodes[n as usize];
            if node.child == 0 {
                for i in node.start as usize..node.end as usize {
                    let d = self.squared(p, self.points[i]);
                    if d < best {
                        (best, at) = (d, i);
                    }
                }
                continue;
            }
            let (a, b) = (node.child, node.child + 1);
            let (da, db) = (
                self.squared_to_box(p, &self.nodes[a as usize]),
                self.squared_to_box(p, &self.nodes[b as usize]),
            );
            // The nearer child goes on top, to be opened first.
            let (near, far) = if da <= db {
                ((a, da), (b, db))
            } else {
                ((b, db), (a, da))
            };
            if far.1 < best {
                stack[top] = far;
                top += 1;
            }
            if near.1 < best {
                stack[top] = near;
                top += 1;
            }
        }
        (best, at)
    }

    /// Distances in mm from every point of `from` to its nearest point in
    /// the tree, in `from`'s order; parallel over chunks of `from`.
    pub(crate) fn distances(&self, from: &[[u32; 3]]) -> Vec<f64> {
        from.par_chunks(2048)
            .flat_map_iter(|chunk| {
                let mut seeds = [0usize; SEEDS];
                let mut known = 0;
                chunk.iter().enumerate().map(move |(k, p)| {
                    let p = [p[0] as i32, p[1] as i32, p[2] as i32];
                    let (d, at) = self.nearest(p, &seeds[..known]);
                    seeds[k % SEEDS] = at;
                    known = (known + 1).min(SEEDS);
                    d.sqrt()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nearest_is_the_brute_force_minimum(
            to in proptest::collection::vec((0u32..40, 0u32..40, 0u32..40), 1..300),
            from in proptest::collection::vec((0u32..60, 0u32..60, 0u32..60), 1..100),
            sz in 0.3f64..4.0, sy in 0.3f64..4.0, sx in 0.3f64..4.0,
        ) {
            let to: Vec<[u32; 3]> = to.into_iter().map(|(z, y, x)| [z, y, x]).collect();
            let from: Vec<[u32; 3]> = from.into_iter().map(|(z, y, x)| [z, y, x]).collect();
            let s = [sz, sy, sx];
            let tree = LatticeTree::new(&to, crate::Spacing::from_zyx(s));
            let got = tree.distances(&from);
            for (p, g) in from.iter().zip(&got) {
                let want = to
                    .iter()
                    .map(|q| {
                        let d = |a: usize| (f64::from(p[a]) - f64::from(q[a])) * s[a];
                        (d(0) * d(0) + d(1) * d(1) + d(2) * d(2)).sqrt()
                    })
                    .fold(f64::INFINITY, f64::min);
                prop_assert!((g - want).abs() <= 1e-12 * want.max(1.0), "{g} vs {want}");
            }
        }
    }
}
