//! Predecessors and dominance of the code generator's live blocks, kept up
//! to date through the pull-ups of one round.
//!
//! libpcap recomputes its dominator sets after every pull-up; recomputing
//! them over the whole graph made a long alternation quadratic (a
//! 300-port alternation makes some 30,000 pull-ups over 3,600 blocks).
//! Here a pull-up updates the predecessor lists of the few blocks it
//! relinks and moves the pulled block in a topological order kept with
//! gaps, and dominance is decided on demand by walking predecessors back
//! to the candidate dominator, remembering answers while the graph does
//! not change.

use std::collections::HashMap;

/// Room between two positions at first: a block can be moved between two
/// others some 40 times before the order is renumbered.
const GAP: u64 = 1 << 40;

pub(super) struct Flow {
    /// Position of each live block in a topological order (every edge goes
    /// to a higher position); `u64::MAX`: not live.
    pos: Vec<u64>,
    /// Predecessors of each live block, once per edge.
    preds: Vec<Vec<usize>>,
    /// The dominator tree, while no edge has changed since it was built.
    tree: Option<Tree>,
    /// Blocks visited by walks back since the last change: past the number
    /// of live blocks, the tree is built (linear), so a round that tries
    /// many blocks without pulling any stays linear.
    walked: usize,
    live: usize,
}

/// Entry and exit times of a walk of the dominator tree.
struct Tree {
    enter: Vec<usize>,
    exit: Vec<usize>,
}

impl Flow {
    /// `order` is topological (every jump goes forward), its first block
    /// the entry; `succ` gives a block's successor blocks.
    pub(super) fn new(order: &[usize], succ: impl Fn(usize) -> [Option<usize>; 2], n: usize) -> Self {
        let mut preds = vec![Vec::new(); n];
        for &b in order {
            for s in succ(b).into_iter().flatten() {
                preds[s].push(b);
            }
        }
        let mut f = Self { pos: vec![u64::MAX; n], preds, tree: None, walked: 0, live: order.len() };
        f.renumber(order);
        f
    }

    /// Positions anew from a topological `order`.
    pub(super) fn renumber(&mut self, order: &[usize]) {
        self.pos.fill(u64::MAX);
        self.live = order.len();
        for (i, &b) in order.iter().enumerate() {
            self.pos[b] = (i as u64 + 1) * GAP;
        }
    }

    pub(super) fn is_live(&self, b: usize) -> bool {
        self.pos[b] != u64::MAX
    }

    /// Predecessors of `b`, once per edge.
    pub(super) fn preds(&self, b: usize) -> &[usize] {
        &self.preds[b]
    }

    /// One edge of `from` now goes to `new` instead of `old`.
    pub(super) fn relink(&mut self, from: usize, old: Option<usize>, new: Option<usize>) {
        self.tree = None;
        self.walked = 0;
        if let Some(o) = old {
            let ps = &mut self.preds[o];
            if let Some(i) = ps.iter().position(|&p| p == from) {
                ps.swap_remove(i);
            }
        }
        if let Some(n) = new {
            self.preds[n].push(from);
        }
    }

    /// Put `b` just before `next` in the order, after all its predecessors.
    /// `false` if there is no room: the caller renumbers.
    pub(super) fn move_before(&mut self, b: usize, next: usize) -> bool {
        let after = self.preds[b].iter().map(|&p| self.pos[p]).max().unwrap_or(0);
        let before = self.pos[next];
        if after >= before || before - after < 2 {
            return false;
        }
        self.pos[b] = after + (before - after) / 2;
        true
    }

    /// Whether every path from the entry to live block `i` passes `b`.
    /// `memo` holds answers for `b` while the graph is unchanged.
    pub(super) fn dominates(&mut self, b: usize, i: usize, memo: &mut HashMap<usize, bool>) -> bool {
        if !self.is_live(b) || !self.is_live(i) {
            return false;
        }
        if self.tree.is_none() && self.walked > self.live {
            self.tree = Some(self.build_tree());
        }
        if let Some(t) = &self.tree {
            return t.enter[b] <= t.enter[i] && t.exit[i] <= t.exit[b];
        }
        let mut stack = vec![i];
        while let Some(&x) = stack.last() {
            self.walked += 1;
            if memo.contains_key(&x) {
                stack.pop();
                continue;
            }
            // A block before `b` in a topological order is not dominated by
            // it, nor is the entry.
            let known = if x == b {
                Some(true)
            } else if self.pos[x] <= self.pos[b]
                || self.preds[x].is_empty()
                || self.preds[x].iter().any(|p| memo.get(p) == Some(&false))
            {
                Some(false)
            } else {
                let open: Vec<usize> = self.preds[x].iter().copied().filter(|p| !memo.contains_key(p)).collect();
                if open.is_empty() {
                    Some(true)
                } else {
                    stack.extend(open);
                    None
                }
            };
            if let Some(k) = known {
                memo.insert(x, k);
                stack.pop();
            }
        }
        memo[&i]
    }

    /// The dominator tree of the live blocks (Cooper, Harvey and Kennedy's
    /// intersection over immediate dominators, in topological order):
    /// linear in the number of blocks.
    fn build_tree(&self) -> Tree {
        let n = self.pos.len();
        let mut order: Vec<usize> = (0..n).filter(|&b| self.is_live(b)).collect();
        order.sort_by_key(|&b| self.pos[b]);
        let pos = &self.pos;
        let mut idom = vec![usize::MAX; n];
        for &b in &order {
            let ps = &self.preds[b];
            let Some((&first, rest)) = ps.split_first() else {
                idom[b] = b;
                continue;
            };
            let mut d = first;
            for &p in rest {
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
        for &b in &order {
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
        Tree { enter, exit }
    }
}
