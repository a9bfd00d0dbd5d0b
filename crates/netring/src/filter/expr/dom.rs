//! Dominators of the code generator's block graph, for the pull-ups.

use std::collections::HashMap;

/// The dominator tree of the live blocks (Cooper, Harvey and Kennedy's
/// intersection over immediate dominators): linear in the number of
/// blocks, where a set of dominators per block is quadratic (a 2,000-port
/// alternation has some 40,000 blocks).
pub(super) struct Dominators {
    /// Position of each block in program order; `usize::MAX`: not live.
    pos: Vec<usize>,
    /// Entry and exit times of a walk of the dominator tree.
    enter: Vec<usize>,
    exit: Vec<usize>,
}

impl Dominators {
    /// `order` is topological (every jump goes forward), its first block the entry.
    pub(super) fn new(order: &[usize], preds: &HashMap<usize, Vec<usize>>, n: usize) -> Self {
        let mut pos = vec![usize::MAX; n];
        for (i, &b) in order.iter().enumerate() {
            pos[b] = i;
        }
        let mut idom = vec![usize::MAX; n];
        for &b in order {
            let Some(ps) = preds.get(&b) else {
                idom[b] = b;
                continue;
            };
            let mut d = ps[0];
            for &p in &ps[1..] {
                let (mut x, mut y) = (d, p);
                while x != y {
                    while pos[x] > pos[y] {
                        x = idom[x];
                    }
                    while pos[y] > pos[x] {
                        y = idom[y];
                    }
                }
                d = x;
            }
            idom[b] = d;
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut roots = Vec::new();
        for &b in order {
            if idom[b] == b { roots.push(b) } else { children[idom[b]].push(b) }
        }
        let (mut enter, mut exit) = (vec![0; n], vec![0; n]);
        let mut clock = 0;
        let mut stack: Vec<(usize, bool)> = roots.into_iter().map(|r| (r, false)).collect();
        while let Some((b, done)) = stack.pop() {
            clock += 1;
            if done {
                exit[b] = clock;
                continue;
            }
            enter[b] = clock;
            stack.push((b, true));
            stack.extend(children[b].iter().map(|&c| (c, false)));
        }
        Self { pos, enter, exit }
    }

    pub(super) fn is_live(&self, b: usize) -> bool {
        self.pos[b] != usize::MAX
    }

    /// Whether every path from the entry to live block `i` passes `b`.
    pub(super) fn dominates(&self, b: usize, i: usize) -> bool {
        self.is_live(b) && self.enter[b] <= self.enter[i] && self.exit[i] <= self.exit[b]
    }
}
