//! From a [`Cond`] tree to classic BPF.
//!
//! 1. **Blocks.** Each test becomes a block (its loads, then one conditional
//!    jump with a true and a false successor), compiled back to front with
//!    short-circuit targets, so every jump goes forward and `and`/`or` test
//!    their left side first.
//! 2. **Threading.** A jump into a block that tests the same value (same
//!    loads) whose outcome the jump already decided goes straight to that
//!    outcome: after `ldh [12]; jeq #0x800` is false, a later
//!    `ldh [12]; jeq #0x800` is known false, and after it is true a
//!    `jeq #0x86dd` is known false. Skipped loads were done before with the
//!    same result, so no packet's verdict changes.
//! 3. **Redundant loads.** A block whose every predecessor leaves in A (or
//!    X) exactly what the block would load drops that load.
//! 4. A block whose two successors are the same is bypassed, and an
//!    expression that can only reject is refused, both as libpcap does.
//!
//! This is not libpcap's optimizer (that is part 2), but it keeps the tests
//! in libpcap's order, which is what makes verdicts equal on every packet,
//! truncated ones included.

use std::collections::HashMap;

use super::Optimize;
use super::ast::{Cond, Load, Test, XValue};
use super::dom::Flow;
use super::emit::Emitter;
use crate::error::{Error, Result};
use crate::filter::builder::{Label, ProgramBuilder};
use crate::filter::code::*;
use crate::filter::{Instruction, MAX_INSNS, Program};

/// A jump target: a block or one of the two returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Block(usize),
    Accept,
    Reject,
}

#[derive(Debug, Clone)]
struct Block {
    test: Test,
    jt: Node,
    jf: Node,
    /// Drop the A load (A already holds the value).
    skip_a: bool,
    /// Drop the X load.
    skip_x: bool,
}

/// What a register holds: the instructions that produced it.
type Value = Vec<Instruction>;

fn a_insns(t: &Test) -> Value {
    let mut v = Vec::with_capacity(2);
    match &t.load {
        Load::Abs { size, off } => v.push(Instruction::stmt(BPF_LD | size | BPF_ABS, *off)),
        Load::AfterIpv4 { size, off, .. } => v.push(Instruction::stmt(BPF_LD | size | BPF_IND, *off)),
        Load::Len => v.push(Instruction::stmt(BPF_LD | BPF_W | BPF_LEN, 0)),
        Load::Imm(k) => v.push(Instruction::stmt(BPF_LD | BPF_IMM, *k)),
        Load::Chain { ip6, net, proto } => v.extend(super::chain::code(*ip6, *net, *proto)),
        Load::Code(code) => v.extend(code.iter().copied()),
        Load::Arith(a) => {
            let mut e = Emitter { out: v, x: None, next_mem: 0 };
            match &t.x {
                Some(XValue::Arith(x)) => e.pair(a, x),
                _ => e.value(a),
            }
            v = e.out;
        }
    }
    if let Some(m) = t.mask {
        v.push(Instruction::stmt(BPF_ALU | BPF_AND | BPF_K, m));
    }
    v
}

/// What the test needs in X, as one instruction (computed values load X
/// themselves, inside their A code).
fn x_insn(t: &Test) -> Option<Instruction> {
    match (&t.load, &t.x) {
        (_, Some(XValue::Len)) => Some(Instruction::stmt(BPF_LDX | BPF_W | BPF_LEN, 0)),
        (Load::AfterIpv4 { msh, .. }, None) => Some(Instruction::stmt(BPF_LDX | BPF_B | BPF_MSH, *msh)),
        _ => None,
    }
}

/// Whether the A code of a test changes X.
fn writes_x(v: &[Instruction]) -> bool {
    v.iter().any(|i| i.class() == BPF_LDX || i.code == BPF_MISC | BPF_TAX)
}

/// Where to go, in each state of the program: state 0 is the start; the
/// first live `vlan` moves to state 1 ([`Cond::Mark`]).
type Pair = Vec<Node>;

#[derive(Default)]
struct Graph {
    blocks: Vec<Block>,
    /// Same test, same targets: reuse the block.
    memo: HashMap<(Test, Node, Node), usize>,
    /// More than [`MAX_BLOCKS`] were asked for: the graph is incomplete.
    overflow: bool,
}

impl Graph {
    /// Blocks for `c` going to `t` on success and `f` on failure; one
    /// entry per state (see [`Pair`]): the first `vlan` of a live program
    /// has not run on the path / has run ([`Cond::Mark`], [`Cond::Dual`]).
    /// Without them there is one state.
    ///
    /// The left operand of `and`/`or` and the operand of `not` are
    /// followed in a loop, so a chain of any length (the parser builds
    /// them leaning left) takes no stack per term; only right operands,
    /// whose depth the parser limits ([`super::MAX_DEPTH`]), recurse.
    fn compile(&mut self, c: &Cond, t: Pair, f: Pair) -> Pair {
        let (mut c, mut t, mut f) = (c, t, f);
        loop {
            match c {
                Cond::True => return t,
                Cond::False => return f,
                Cond::Not(a) => {
                    std::mem::swap(&mut t, &mut f);
                    c = a;
                }
                Cond::And(a, b) => {
                    t = self.compile(b, t, f.clone());
                    c = a;
                }
                Cond::Or(a, b) => {
                    f = self.compile(b, t.clone(), f);
                    c = a;
                }
                Cond::Test(test) => return t.iter().zip(&f).map(|(&t, &f)| self.block(test, t, f)).collect(),
                Cond::Dual(before, after) => {
                    let mut ways = self.compile(before, t.clone(), f.clone());
                    let after = self.compile(after, t, f);
                    ways[1..].copy_from_slice(&after[1..]);
                    return ways;
                }
                Cond::Mark(v) => {
                    let n = t.len();
                    let ran = self.compile(v, vec![t[1]; n], vec![f[1]; n])[1];
                    return vec![ran; n];
                }
            }
        }
    }

    fn block(&mut self, test: &Test, t: Node, f: Node) -> Node {
        if t == f && t == Node::Reject {
            // Rejected whether the load succeeds or not.
            return t;
        }
        if let Some(&i) = self.memo.get(&(test.clone(), t, f)) {
            return Node::Block(i);
        }
        if self.blocks.len() >= MAX_BLOCKS {
            self.overflow = true;
            return Node::Reject;
        }
        self.blocks.push(Block { test: test.clone(), jt: t, jf: f, skip_a: false, skip_x: false });
        let i = self.blocks.len() - 1;
        self.memo.insert((test.clone(), t, f), i);
        Node::Block(i)
    }

    /// The outcome of block `b`'s jump if `facts` decide it.
    fn decide(&self, b: usize, facts: &Facts) -> Option<bool> {
        let t = &self.blocks[b].test;
        if t.x.is_some() {
            return None;
        }
        let f = facts.get(&a_insns(t))?;
        let k = t.k;
        if let Some(&(_, _, outcome)) = f.seen.iter().find(|(op, kk, _)| *op == t.op && *kk == k) {
            return Some(outcome);
        }
        match (t.op, f.eq) {
            (BPF_JEQ, Some(v)) => Some(v == k),
            (BPF_JGT, Some(v)) => Some(v > k),
            (BPF_JGE, Some(v)) => Some(v >= k),
            (BPF_JSET, Some(v)) => Some(v & k != 0),
            (BPF_JEQ, None) if f.ne.contains(&k) => Some(false),
            _ => None,
        }
    }

    /// Follow `target` while `facts` decide its outcome; returns where the
    /// edge really goes and what is known on arrival.
    fn thread(&self, mut target: Node, mut facts: Facts) -> (Node, Facts) {
        while let Node::Block(b) = target {
            let Some(outcome) = self.decide(b, &facts) else { break };
            let blk = &self.blocks[b];
            learn(&mut facts, &blk.test, outcome);
            target = if outcome { blk.jt } else { blk.jf };
        }
        (target, facts)
    }

    fn optimize(&mut self, entry: Node) -> Result<Node> {
        let mut entry = entry;
        // As libpcap's optimizer loop: thread jumps, then pull comparisons
        // of one value together, until nothing changes. (This loop decides
        // verdicts on truncated frames as libpcap's does: the pull-ups it
        // finds depend on the threading, so it runs at every level.)
        // Each round makes every pull-up it finds, as libpcap's does (a
        // 300-port alternation takes 9 rounds). After 64 rounds a program
        // would be left longer than libpcap's, never different in verdict.
        let mut rounds = 0usize;
        loop {
            entry = self.thread_jumps(entry);
            entry = self.bypass(entry);
            let live = self.live(entry).len();
            if live > MAX_TESTS {
                return Err(Error::InvalidFilter {
                    reason: format!(
                        "the expression needs {live} tests after removing those whose outcome is known; \
                         the compiler takes at most {MAX_TESTS} ({} times the kernel's limit of {MAX_INSNS} \
                         instructions)",
                        MAX_TESTS / MAX_INSNS
                    ),
                });
            }
            rounds += 1;
            if !self.pull_up(entry) {
                break;
            }
            if rounds >= 64 {
                // Stopped, not finished: tidy up after the last pull-up.
                entry = self.thread_jumps(entry);
                entry = self.bypass(entry);
                break;
            }
        }
        Ok(entry)
    }

    /// Jump threading, in program order: what is known about packet values
    /// on entry to a block is what all its incoming edges agree on. Values
    /// are packet loads, which stay true along a path whatever A holds later.
    fn thread_jumps(&mut self, entry: Node) -> Node {
        let (entry, _) = self.thread(entry, Facts::new());
        let mut known: HashMap<usize, Facts> = HashMap::new();
        if let Node::Block(e) = entry {
            known.insert(e, Facts::new());
        }
        for b in self.live(entry) {
            let Some(facts) = known.get(&b).cloned() else { continue };
            let test = self.blocks[b].test.clone();
            for outcome in [true, false] {
                let mut f = facts.clone();
                learn(&mut f, &test, outcome);
                let old = if outcome { self.blocks[b].jt } else { self.blocks[b].jf };
                let (new, arrived) = self.thread(old, f);
                if outcome {
                    self.blocks[b].jt = new;
                } else {
                    self.blocks[b].jf = new;
                }
                if let Node::Block(t) = new {
                    match known.get_mut(&t) {
                        Some(k) => meet(k, &arrived),
                        None => {
                            known.insert(t, arrived);
                        }
                    }
                }
            }
        }
        entry
    }

    /// Bypass blocks whose two successors are the same (libpcap's optimizer
    /// removes them, loads included).
    fn bypass(&mut self, entry: Node) -> Node {
        let resolve = |n: Node, blocks: &[Block]| match n {
            // A block that stores `geneve` offsets stays.
            Node::Block(i) if blocks[i].jt == blocks[i].jf && !matches!(blocks[i].test.load, Load::Code(_)) => {
                blocks[i].jt
            }
            n => n,
        };
        for b in self.live(entry).into_iter().rev() {
            let (jt, jf) = (resolve(self.blocks[b].jt, &self.blocks), resolve(self.blocks[b].jf, &self.blocks));
            self.blocks[b].jt = jt;
            self.blocks[b].jf = jf;
        }
        resolve(entry, &self.blocks)
    }

    /// One of libpcap's `or_pullup`/`and_pullup` moves, if one applies: in a
    /// chain of tests that all go to the same place on success (`or`) or on
    /// failure (`and`), a later test of the value A already holds is moved
    /// up to just after the tests of that value. Returns whether the graph
    /// changed.
    fn pull_up(&mut self, entry: Node) -> bool {
        let order = self.live(entry);
        let mut flow = self.flow(&order);
        // The value each live block's test leaves in A, as a small number
        // (computing and comparing the loads anew is what made a pass slow).
        let mut ids: HashMap<Value, usize> = HashMap::new();
        let mut vals: Vec<Option<usize>> = vec![None; self.blocks.len()];
        for &b in &order {
            let t = &self.blocks[b].test;
            if t.x.is_none() {
                let n = ids.len();
                vals[b] = Some(*ids.entry(a_insns(t)).or_insert(n));
            }
        }
        // Levels: distance from the returns; libpcap works bottom up, and
        // tries every block of the round (levels as the round began).
        let mut level: HashMap<usize, usize> = HashMap::new();
        for &b in order.iter().rev() {
            let l = |n: Node| if let Node::Block(i) = n { level[&i] } else { 0 };
            level.insert(b, 1 + l(self.blocks[b].jt).max(l(self.blocks[b].jf)));
        }
        let mut by_level = order.clone();
        by_level.sort_by_key(|b| level[b]);
        let mut changed = false;
        for b in by_level {
            for or in [true, false] {
                if let Some((pull, next)) = self.pull_one(b, or, &mut flow, &vals) {
                    changed = true;
                    if !flow.move_before(pull, next) {
                        flow.renumber(&self.live(entry));
                    }
                }
            }
        }
        changed
    }

    /// Predecessors and positions of the blocks in `order` (program order).
    fn flow(&self, order: &[usize]) -> Flow {
        let block = |n: Node| if let Node::Block(i) = n { Some(i) } else { None };
        Flow::new(order, |b| [block(self.blocks[b].jt), block(self.blocks[b].jf)], self.blocks.len())
    }

    /// One pull-up at block `b`, if one applies: returns the pulled block
    /// and the block it now jumps to.
    fn pull_one(&mut self, b: usize, or: bool, flow: &mut Flow, vals: &[Option<usize>]) -> Option<(usize, usize)> {
        let ps = flow.preds(b).to_vec();
        let value = |i: usize| vals[i];
        // Every predecessor leaves the same value in A.
        let val = value(*ps.first()?);
        if val.is_none() || ps.iter().any(|&p| value(p) != val) {
            return None;
        }
        // `or`: follow failures, all succeeding to the same place; `and`:
        // the mirror image.
        let same = |i: usize| if or { self.blocks[i].jt } else { self.blocks[i].jf };
        let next = |i: usize| if or { self.blocks[i].jf } else { self.blocks[i].jt };
        let goal = same(b);
        let mut memo = HashMap::new();
        // (Only live blocks are dominated.)
        let mut fits = |i: usize| same(i) == goal && flow.dominates(b, i, &mut memo);
        let (mut prev, mut d, mut at_top) = (None, b, true);
        loop {
            if !fits(d) {
                return None;
            }
            if value(d) != val {
                break;
            }
            let Node::Block(n) = next(d) else { return None };
            prev = Some(d);
            d = n;
            at_top = false;
        }
        let (mut sprev, mut s) = (d, next(d));
        loop {
            let Node::Block(i) = s else { return None };
            if !fits(i) {
                return None;
            }
            if value(i) == val {
                break;
            }
            sprev = i;
            s = next(i);
        }
        let Node::Block(pull) = s else { return None };
        // Unlink `pull`, then put it in front of `d`.
        let after = next(pull);
        let block = |n: Node| if let Node::Block(i) = n { Some(i) } else { None };
        self.set_next(sprev, or, after);
        flow.relink(sprev, Some(pull), block(after));
        self.set_next(pull, or, Node::Block(d));
        flow.relink(pull, block(after), Some(d));
        if at_top {
            for &p in &ps {
                if self.blocks[p].jt == Node::Block(b) {
                    self.blocks[p].jt = Node::Block(pull);
                    flow.relink(p, Some(b), Some(pull));
                }
                if self.blocks[p].jf == Node::Block(b) {
                    self.blocks[p].jf = Node::Block(pull);
                    flow.relink(p, Some(b), Some(pull));
                }
            }
        } else if let Some(p) = prev {
            self.set_next(p, or, Node::Block(pull));
            flow.relink(p, Some(d), Some(pull));
        }
        Some((pull, d))
    }

    fn set_next(&mut self, i: usize, or: bool, to: Node) {
        if or {
            self.blocks[i].jf = to;
        } else {
            self.blocks[i].jt = to;
        }
    }

    /// Blocks reachable from `entry` in program order: every jump goes
    /// forward, and among blocks that could come next the one written
    /// first in the expression does (a block is created after its
    /// successors, so: the highest index).
    fn live(&self, entry: Node) -> Vec<usize> {
        let Node::Block(e) = entry else { return Vec::new() };
        let mut indegree = vec![0usize; self.blocks.len()];
        let mut seen = vec![false; self.blocks.len()];
        let mut stack = vec![e];
        seen[e] = true;
        while let Some(b) = stack.pop() {
            for s in [self.blocks[b].jt, self.blocks[b].jf] {
                if let Node::Block(s) = s {
                    indegree[s] += 1;
                    if !seen[s] {
                        seen[s] = true;
                        stack.push(s);
                    }
                }
            }
        }
        let mut ready = std::collections::BinaryHeap::from([e]);
        let mut out = Vec::new();
        while let Some(b) = ready.pop() {
            out.push(b);
            for s in [self.blocks[b].jt, self.blocks[b].jf] {
                if let Node::Block(s) = s {
                    indegree[s] -= 1;
                    if indegree[s] == 0 {
                        ready.push(s);
                    }
                }
            }
        }
        out
    }

    /// Mark loads that every predecessor has already done.
    fn drop_redundant_loads(&mut self, order: &[usize], entry: Node) {
        // (A, X) at entry of each block, agreed by all predecessors so far;
        // `None` inside: unknown.
        let mut state: HashMap<usize, (Option<Value>, Option<Instruction>)> = HashMap::new();
        if let Node::Block(e) = entry {
            state.insert(e, (None, None));
        }
        for &b in order {
            let (a_in, x_in) = state.get(&b).cloned().unwrap_or((None, None));
            let blk = &self.blocks[b];
            let a_val = a_insns(&blk.test);
            let x_val = x_insn(&blk.test);
            // A computed value with its own X code is never skipped.
            let skip_a = a_in.as_ref() == Some(&a_val) && !matches!(blk.test.x, Some(XValue::Arith(_)));
            let skip_x = x_val.is_some() && x_in == x_val;
            let x_out = if writes_x(&a_val) && !skip_a { None } else { x_val.or(x_in) };
            let (jt, jf) = (blk.jt, blk.jf);
            self.blocks[b].skip_a = skip_a;
            self.blocks[b].skip_x = skip_x;
            for succ in [jt, jf] {
                if let Node::Block(s) = succ {
                    let incoming = (Some(a_val.clone()), x_out);
                    state
                        .entry(s)
                        .and_modify(|(a, x)| {
                            if *a != incoming.0 {
                                *a = None;
                            }
                            if *x != incoming.1 {
                                *x = None;
                            }
                        })
                        .or_insert(incoming);
                }
            }
        }
    }
}

/// What is known about one loaded value on a path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Known {
    eq: Option<u32>,
    ne: Vec<u32>,
    /// Outcomes of other tests of the value: (op, k, outcome).
    seen: Vec<(u16, u32, bool)>,
}

/// What is known about packet values on a path, by the loads that read them.
type Facts = HashMap<Value, Known>;

/// Most tests the optimizer takes on, once the tests whose outcome is
/// known are gone: a program with more could never be brought under
/// [`MAX_INSNS`] by this optimizer (a 600-port alternation has some
/// 7,200 tests and becomes 3,370 instructions, as libpcap's 3,372), and
/// refusing it at once keeps a 5,000-port alternation under a second.
const MAX_TESTS: usize = 2 * MAX_INSNS;

/// Most blocks built from one expression before any is removed (a chain
/// of 55,000 `ip` terms, each one block, collapses to one test and is
/// fine; 55,000 `port` alternatives would be 1.3 million blocks).
const MAX_BLOCKS: usize = 16 * MAX_TESTS;

/// Most outcomes remembered per value (see [`learn`]).
const MAX_FACTS: usize = 32;

/// Record the outcome of `t`'s jump.
fn learn(facts: &mut Facts, t: &Test, outcome: bool) {
    if t.x.is_some() || matches!(t.load, Load::Imm(_)) {
        return;
    }
    let k = facts.entry(a_insns(t)).or_default();
    // Facts are copied per block: lists without a bound make a long
    // alternation (`port 1 or port 2 …`) quadratic. Forgetting a fact only
    // leaves a test in place (never changes a verdict); no expression of
    // the corpus comes near the bound.
    if t.op != BPF_JEQ {
        if k.seen.len() < MAX_FACTS && !k.seen.contains(&(t.op, t.k, outcome)) {
            k.seen.push((t.op, t.k, outcome));
        }
        return;
    }
    if outcome {
        k.eq = Some(t.k);
    } else if k.ne.len() < MAX_FACTS && !k.ne.contains(&t.k) {
        k.ne.push(t.k);
    }
}

/// Keep in `a` only what `b` knows too.
fn meet(a: &mut Facts, b: &Facts) {
    a.retain(|v, ka| match b.get(v) {
        None => false,
        Some(kb) => {
            if ka.eq != kb.eq {
                ka.eq = None;
            }
            ka.ne.retain(|x| kb.ne.contains(x) || kb.eq.is_some_and(|e| e != *x));
            ka.seen.retain(|x| kb.seen.contains(x));
            ka.eq.is_some() || !ka.ne.is_empty() || !ka.seen.is_empty()
        }
    });
}

/// How many states `cond` moves between (see [`Pair`]), and the scratch
/// cells `geneve` code stores into (zeroed before the program).
fn states(cond: &Cond) -> (usize, Vec<u32>) {
    let mut n = 1;
    let mut cells = Vec::new();
    let mut stack = vec![cond];
    while let Some(c) = stack.pop() {
        match c {
            Cond::True | Cond::False => {}
            Cond::Test(t) => {
                if let Load::Code(code) = &t.load {
                    cells.extend(super::geneve::stored(code));
                }
            }
            Cond::Not(a) => stack.push(a),
            Cond::And(a, b) | Cond::Or(a, b) => stack.extend([&**a, &**b]),
            Cond::Mark(a) => {
                n = n.max(2);
                stack.push(a);
            }
            Cond::Dual(a, b) => {
                n = n.max(2);
                stack.extend([&**a, &**b]);
            }
        }
    }
    cells.sort_unstable();
    cells.dedup();
    (n, cells)
}

/// Compile `cond`, accepting `snaplen` bytes.
///
/// # Errors
/// [`Error::InvalidFilter`] if the expression can only reject (as libpcap:
/// "expression rejects all packets") or the program outgrows the kernel's
/// limit.
pub(crate) fn generate(cond: &Cond, snaplen: u32, level: Optimize) -> Result<Program> {
    let mut g = Graph::default();
    let (n, cells) = states(cond);
    let entry = g.compile(cond, vec![Node::Accept; n], vec![Node::Reject; n])[0];
    if g.overflow {
        return Err(Error::InvalidFilter {
            reason: format!(
                "the expression needs more than {MAX_BLOCKS} tests before optimization; the compiler takes at \
                 most {MAX_BLOCKS} ({} times the kernel's limit of {MAX_INSNS} instructions)",
                MAX_BLOCKS / MAX_INSNS
            ),
        });
    }
    let entry = g.optimize(entry)?;
    if entry == Node::Reject {
        return Err(Error::InvalidFilter { reason: "the expression rejects all packets".into() });
    }
    let order = g.live(entry);
    if level == Optimize::Off {
        return g.emit(&order, snaplen, false, &cells);
    }
    g.drop_redundant_loads(&order, entry);
    g.emit(&order, snaplen, true, &cells)
}

impl Graph {
    /// The program: blocks in `order`, merged where identical if `merge`.
    fn emit(&self, order: &[usize], snaplen: u32, merge: bool, cells: &[u32]) -> Result<Program> {
        let g = self;
        let order = order.to_vec();

        // Each block as emitted: loads that are still needed, then the jump.
        let emitted = |blk: &Block| {
            let mut v = Vec::new();
            if let Some(x) = x_insn(&blk.test)
                && !blk.skip_x
            {
                v.push(x);
            }
            if !blk.skip_a {
                v.extend(a_insns(&blk.test));
            }
            let src = if blk.test.x.is_some() { BPF_X } else { BPF_K };
            v.push(Instruction::stmt(BPF_JMP | blk.test.op | src, blk.test.k));
            v
        };
        // Merge blocks that emit the same code to the same places (libpcap
        // interns them too). Successors first; the copy latest in program
        // order stays, so every predecessor still comes before it.
        let mut rep: HashMap<usize, usize> = HashMap::new();
        let mut seen: HashMap<(Vec<Instruction>, Node, Node), usize> = HashMap::new();
        let canon = |n: Node, rep: &HashMap<usize, usize>| match n {
            Node::Block(i) if merge => Node::Block(rep[&i]),
            n => n,
        };
        for &i in order.iter().rev() {
            let blk = &g.blocks[i];
            let key = (emitted(blk), canon(blk.jt, &rep), canon(blk.jf, &rep));
            let r = *seen.entry(key).or_insert(i);
            rep.insert(i, r);
        }
        let order: Vec<usize> = order.into_iter().filter(|i| !merge || rep[i] == *i).collect();

        let mut b = ProgramBuilder::new();
        let labels: HashMap<usize, Label> = order.iter().map(|&i| (i, b.label())).collect();
        let (accept, reject) = (b.label(), b.label());
        if !order.is_empty() && !cells.is_empty() {
            // `geneve` cells read where no `geneve` stored them hold zero,
            // as in tcpdump's interpreter (and the kernel wants them written).
            b.stmt(BPF_LD | BPF_IMM, 0);
            for &m in cells {
                b.stmt(BPF_ST, m);
            }
        }
        let target = |n: Node| match canon(n, &rep) {
            Node::Block(i) => labels[&i],
            Node::Accept => accept,
            Node::Reject => reject,
        };
        for &i in &order {
            let blk = &g.blocks[i];
            b.bind(labels[&i]);
            let code = emitted(blk);
            let (jump, loads) = code.split_last().expect("a jump");
            for insn in loads {
                // A `protochain` walk jumps inside its own code: keep jt/jf.
                b.raw(*insn);
            }
            b.jump(jump.code, jump.k, target(blk.jt), target(blk.jf));
        }
        b.bind(accept).stmt(BPF_RET | BPF_K, snaplen);
        if order.is_empty() {
            // Accepts everything: a single return, as libpcap emits.
            return b.build();
        }
        b.bind(reject).stmt(BPF_RET | BPF_K, 0);
        b.build()
    }
}
