//! The ring protocol on heap memory against a simulated kernel, including
//! `u32` index wrap-around and corrupt indices. Runs under Miri.

use super::sim;

/// Iterations of the threaded tests (Miri is slow).
const N: u64 = if cfg!(miri) { 300 } else { 200_000 };

#[test]
fn reserve_is_bounded_by_free_space_and_submit_publishes() {
    let (mut p, k) = sim::producer::<u64>(8, 0);
    let r = p.reserve(20);
    assert_eq!(r.len(), 8, "never more than the ring holds");
    for i in 0..8 {
        p.write(&r, i, 100 + u64::from(i));
    }
    assert!(k.consume(8).is_empty(), "nothing is visible before submit");
    p.submit(r);
    assert_eq!(p.reserve(1).len(), 0, "full until the kernel consumes");
    assert_eq!(k.consume(3), vec![100, 101, 102]);
    let r = p.reserve(5);
    assert_eq!(r.len(), 3, "exactly what the kernel released");
    p.cancel(r);
    let r = p.reserve(2);
    p.write(&r, 0, 7);
    p.write(&r, 1, 8);
    p.submit(r);
    assert_eq!(k.consume(10), vec![103, 104, 105, 106, 107, 7, 8]);
}

#[test]
fn peek_sees_only_what_was_produced_and_release_frees_it() {
    let (mut c, k) = sim::consumer::<u64>(4, 0);
    assert_eq!(c.peek(4).len(), 0);
    assert_eq!(k.produce(&[1, 2, 3]), 3);
    let a = c.peek(2);
    let b = c.peek(8);
    assert_eq!((a.len(), b.len()), (2, 1));
    assert_eq!((c.read(&a, 0), c.read(&a, 1), c.read(&b, 0)), (1, 2, 3));
    assert_eq!(k.produce(&[4, 5, 6]), 1, "the kernel cannot overwrite unreleased entries");
    c.release(a);
    assert_eq!(k.produce(&[5, 6, 7]), 2);
    c.release(b);
    let d = c.peek(8);
    assert_eq!((0..d.len()).map(|i| c.read(&d, i)).collect::<Vec<_>>(), vec![4, 5, 6]);
    c.release(d);
}

#[test]
#[should_panic(expected = "outside a reservation")]
fn writes_outside_a_reservation_panic() {
    let (mut p, _k) = sim::producer::<u64>(8, 0);
    let r = p.reserve(2);
    p.write(&r, 2, 0);
}

#[test]
#[should_panic(expected = "outside a peeked range")]
fn reads_outside_a_peeked_range_panic() {
    let (mut c, k) = sim::consumer::<u64>(8, 0);
    k.produce(&[1, 2, 3]);
    let p = c.peek(2);
    c.read(&p, 2);
}

#[test]
#[should_panic(expected = "another ring")]
fn tokens_of_another_ring_panic() {
    let (mut c1, k1) = sim::consumer::<u64>(8, 0);
    let (c2, _k2) = sim::consumer::<u64>(8, 0);
    k1.produce(&[1]);
    let p = c1.peek(1);
    c2.read(&p, 0);
}

#[test]
#[should_panic(expected = "in order")]
fn releases_out_of_order_panic() {
    let (mut c, k) = sim::consumer::<u64>(8, 0);
    k.produce(&[1, 2]);
    let _a = c.peek(1);
    let b = c.peek(1);
    c.release(b);
}

#[test]
fn indices_wrap_around_u32() {
    // Start three entries before the wrap: every operation crosses it.
    let start = u32::MAX - 2;
    let (mut p, k) = sim::producer::<u64>(4, start);
    for round in 0..5u64 {
        let r = p.reserve(4);
        assert_eq!(r.len(), 4, "round {round}");
        for i in 0..4 {
            p.write(&r, i, round * 10 + u64::from(i));
        }
        p.submit(r);
        assert_eq!(k.consume(4), (0..4).map(|i| round * 10 + i).collect::<Vec<_>>());
    }
    assert_eq!(k.producer_index(), start.wrapping_add(20));

    let (mut c, k) = sim::consumer::<u64>(4, start);
    for round in 0..5u64 {
        assert_eq!(k.produce(&[round, round + 1, round + 2]), 3);
        let got = c.peek(4);
        assert_eq!(got.len(), 3);
        assert_eq!(c.read(&got, 2), round + 2);
        c.release(got);
    }
}

#[test]
fn corrupt_producer_index_reads_nothing() {
    let (mut c, k) = sim::consumer::<u64>(8, 0);
    k.produce(&[1, 2]);
    let p = c.peek(1);
    // The "kernel" claims nine entries in an eight-entry ring.
    k.set_producer(9);
    let q = c.peek(8);
    assert_eq!(q.len(), 1, "only the entry a sane index had shown");
    assert_eq!(c.corrupt_indices(), 1);
    c.release(p);
    c.release(q);
    // An index that moved backwards is just as corrupt.
    k.set_producer(1);
    assert_eq!(c.peek(8).len(), 0);
    assert_eq!(c.corrupt_indices(), 2);
}

#[test]
fn corrupt_consumer_index_frees_nothing() {
    let (mut p, k) = sim::producer::<u64>(8, 0);
    let r = p.reserve(8);
    for i in 0..8 {
        p.write(&r, i, 0);
    }
    p.submit(r);
    k.set_consumer(100); // ahead of everything produced
    assert_eq!(p.reserve(8).len(), 0);
    assert_eq!(p.corrupt_indices(), 1);
}

#[test]
fn need_wakeup_flag_is_read_from_the_ring() {
    let (p, k) = sim::producer::<u64>(8, 0);
    assert!(!p.needs_wakeup());
    k.set_flags(crate::sys::xdp::XDP_RING_NEED_WAKEUP);
    assert!(p.needs_wakeup());
}

#[test]
fn pending_counts_what_the_kernel_has_not_consumed() {
    let (mut p, k) = sim::producer::<u64>(8, 0);
    let r = p.reserve(5);
    for i in 0..5 {
        p.write(&r, i, 0);
    }
    p.submit(r);
    assert_eq!(p.pending(), 5);
    k.consume(2);
    p.refresh();
    assert_eq!(p.pending(), 3);
}

/// A user-space producer and a kernel thread consuming, concurrently,
/// across the u32 wrap: every value arrives once, in order.
#[test]
fn producer_against_a_kernel_thread() {
    let (mut p, k) = sim::producer::<u64>(16, u32::MAX - 40);
    let kernel = std::thread::spawn(move || {
        let mut next = 0u64;
        while next < N {
            for v in k.consume(7) {
                assert_eq!(v, next, "in order, none lost or doubled");
                next += 1;
            }
            std::thread::yield_now();
        }
    });
    let mut v = 0u64;
    while v < N {
        let r = p.reserve(5.min((N - v) as u32));
        for i in 0..r.len() {
            p.write(&r, i, v + u64::from(i));
        }
        v += u64::from(r.len());
        p.submit(r);
        std::thread::yield_now();
    }
    kernel.join().unwrap();
}

/// A kernel thread producing `xdp_desc`s and user space consuming them,
/// concurrently, across the u32 wrap.
#[test]
fn consumer_against_a_kernel_thread() {
    use crate::sys::xdp::xdp_desc;
    let (mut c, k) = sim::consumer::<xdp_desc>(16, u32::MAX - 40);
    let kernel = std::thread::spawn(move || {
        let mut v = 0u64;
        while v < N {
            let batch: Vec<_> =
                (v..N.min(v + 6)).map(|i| xdp_desc { addr: i * 2048, len: i as u32, options: 0 }).collect();
            v += k.produce(&batch) as u64;
            std::thread::yield_now();
        }
    });
    let mut next = 0u64;
    while next < N {
        let got = c.peek(5);
        for i in 0..got.len() {
            let d = c.read(&got, i);
            assert_eq!((d.addr, d.len), (next * 2048, next as u32));
            next += 1;
        }
        c.release(got);
        std::thread::yield_now();
    }
    kernel.join().unwrap();
    assert_eq!(c.corrupt_indices(), 0);
}
