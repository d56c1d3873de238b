//! A hand-written f32 matrix product for CPUs with AVX-512, used by [`super::matmul`] and
//! [`super::linear`].
//!
//! Why: the `gemm` crate builds its AVX-512 kernels only on a nightly compiler, so on stable
//! it runs its AVX2 kernels (8 lanes) on the small, skinny products the layers make
//! (K = 64…256, N = 64…256). This is the textbook (BLIS) design, kept small:
//! - a `12×32` register-blocked microkernel (`12×16` for panels 16 columns wide or less) keeps
//!   its 24 accumulators in zmm registers, broadcasting A and loading B two registers wide;
//! - A is packed one 12-row panel at a time (16×16 transposes in registers), which stays in L1
//!   while the microkernel sweeps it across B's column panels; a B four panels wide or less
//!   stays in L1 instead while A's rows, read in place, stream past it;
//! - B is read in place when its rows are contiguous, else packed into `KC×32` panels per
//!   block (a transpose `Wᵀ` by 16×16 blocks in registers, any other stride with gathers), or
//!   packed once for good by [`pack_weights`], so a layer's weights are not packed per call;
//! - a bias is added as the tile is first stored.
//!
//! When threaded, the rows (or, for short products with a packed `B`, the columns) of `dst` are
//! split over rayon's workers, each packing into its own thread-local buffers.

use core::arch::x86_64::*;
use std::cell::RefCell;

/// Rows of the microkernel's tile (one zmm register per 16 columns per row): 24 accumulators,
/// two loads of B and 12 broadcasts of A per 24 multiply-adds.
const MR: usize = 12;
/// Columns of the microkernel's tile: two zmm registers.
const NR: usize = 32;
/// Depth of one packed block: a `MR×KC` panel of A (18 KiB) stays in L1.
const KC: usize = 384;
/// Columns of `B` packed at once: a `KC×NC` block (768 KiB) stays in L2.
const NC: usize = 512;
/// Rows up to which a product with a packed `B` counts as short when threaded (see `gemm_f32`).
const SHORT: usize = 512;

thread_local! {
    /// This thread's packed panel of A and block of B.
    static PACK: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Whether this CPU can run [`gemm_f32`].
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// A raw pointer that rayon's workers may share; each writes a disjoint block through it.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: the tasks given one of these write disjoint parts of `dst` (see `gemm_f32`).
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so that closures capture the whole `SendPtr`, not its field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Where the product reads `B` from.
#[derive(Clone, Copy)]
pub(crate) enum Panels<'a> {
    /// `b[l·rs + j]`, rows contiguous: read in place (masked loads at the right edge).
    InPlace { b: &'a [f32], rs: usize },
    /// `b[l·rs + j·cs]`, `cs ≠ 1`: packed into `KC×NR` panels block by block, on every call.
    Strided { b: &'a [f32], rs: usize, cs: usize },
    /// Packed once, by [`pack_weights`], for many products.
    Packed(&'a [f32]),
}

/// `Wᵀ` for the products `x Wᵀ`, `W` `(n, k)` row-major, packed once as the microkernel reads
/// it: panels of NR columns over the whole depth, `out[panel·k·NR + l·NR + j] = W[panel·NR + j, l]`
/// (zeros past column `n`), so any `KC` block of a panel is one contiguous run.
pub(crate) fn pack_weights(w: &[f32], n: usize, k: usize) -> Vec<f32> {
    assert!(
        available() && w.len() >= n * k,
        "pack_weights: {n}×{k} from {} values",
        w.len()
    );
    let mut out = vec![0.0; n.next_multiple_of(NR) * k];
    // SAFETY: avx512f is present; out holds ⌈n/NR⌉·NR·k values; W's rows j < n of length k are
    // inside w (both asserted above).
    unsafe { pack_b_transposed(&mut out, w, k, 0, k, 0, n) };
    out
}

/// `dst[i·dst_rs + j] = [dst +] Σ_l a[i·a_rs + l·a_cs] · B[l, j] [+ bias[j]]`.
///
/// # Safety
/// The CPU has avx512f; `m, n, k > 0`; every index above is inside its slice, a `Packed` B holds
/// `⌈n/NR⌉·NR·k` values and `bias`, when given, `n` (the caller, `matmul`, checks this).
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_f32(
    (m, k, n): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: Panels,
    bias: Option<&[f32]>,
    threaded: bool,
) {
    let threads = if threaded { rayon::current_num_threads() } else { 1 };
    let product = Product {
        k,
        c: SendPtr(dst.as_mut_ptr()),
        ldc: dst_rs,
        accumulate,
        a,
        a_strides,
        b,
        bias,
    };
    let work = 2 * m * n * k;
    if threads <= 1 || work < 1 << 17 {
        // SAFETY: the caller's contract, over the whole of dst.
        unsafe { product.block(0..m, 0..n) };
        return;
    }
    // A short product splits its columns: each worker then packs (or reads) only its own
    // panels of B, and a few hundred rows split in two would waste part of a 12-row tile on
    // each side; else the rows, when there are enough for every worker.
    let split_cols = !matches!(b, Panels::InPlace { .. }) && n >= 2 * NR * threads && m <= SHORT;
    let split_rows = !split_cols && (m >= 2 * MR * threads || m >= n);
    let (len, unit) = if split_rows { (m, MR) } else { (n, NR) };
    let units = len.div_ceil(unit);
    let tasks = threads.min(units);
    use rayon::prelude::*;
    (0..tasks).into_par_iter().for_each(|t| {
        let lo = (units * t / tasks * unit).min(len);
        let hi = (units * (t + 1) / tasks * unit).min(len);
        let (rows, cols) = if split_rows {
            (lo..hi, 0..n)
        } else {
            (0..m, lo..hi)
        };
        // SAFETY: the tasks' row (or column) ranges are disjoint, so no two write the same
        // element of dst; the rest is the caller's contract.
        unsafe { product.block(rows, cols) };
    });
}

/// One product's operands, shared by the workers that compute its blocks.
struct Product<'a> {
    k: usize,
    c: SendPtr,
    ldc: usize,
    accumulate: bool,
    a: &'a [f32],
    a_strides: (usize, usize),
    b: Panels<'a>,
    bias: Option<&'a [f32]>,
}

impl Product<'_> {
    /// The product restricted to `dst[rows, cols]`, on this thread.
    ///
    /// # Safety
    /// As [`gemm_f32`]; nothing else writes `dst[rows, cols]` meanwhile; `cols.start` is a
    /// multiple of NR.
    unsafe fn block(&self, rows: std::ops::Range<usize>, cols: std::ops::Range<usize>) {
        // Each 12-row panel of A is packed once per block of B and then swept across all its
        // column panels: the A panel (12·KC values) stays in L1 while B's panels stream
        // through from L2.
        let k = self.k;
        PACK.with(|packs| {
            let (pa, pb) = &mut *packs.borrow_mut();
            if let Panels::Strided { .. } = self.b {
                let b_need = NC.min(cols.len().next_multiple_of(NR)) * KC.min(k);
                if pb.len() < b_need {
                    pb.resize(b_need, 0.0);
                }
            }
            if pa.len() < MR * KC.min(k) {
                pa.resize(MR * KC.min(k), 0.0);
            }
            let mut jc = cols.start;
            while jc < cols.end {
                let nc = NC.min(cols.end - jc);
                let mut pc = 0;
                while pc < k {
                    let kc = KC.min(k - pc);
                    if let Panels::Strided { b, rs, cs } = self.b {
                        // SAFETY: pb holds ⌈nc/NR⌉·NR·kc values; the rest is the caller's
                        // contract.
                        unsafe { pack_strided(pb, b, (rs, cs), pc, kc, jc, nc) };
                    }
                    // The bias goes in with the first block of depth, as the tile is first written.
                    let step = Step {
                        jc,
                        nc,
                        pc,
                        kc,
                        load_c: self.accumulate || pc > 0,
                        bias: self.bias.filter(|_| pc == 0),
                        pb,
                    };
                    if nc > PACK_A_FROM * NR {
                        // Each 12-row panel of A, packed, stays in L1 while B's panels stream
                        // past it from L2.
                        for ir in rows.clone().step_by(MR) {
                            let mr = MR.min(rows.end - ir);
                            // SAFETY: A's rows ir..ir+mr and columns pc..pc+kc are inside a
                            // (checked by the caller); pa holds MR·kc values; avx512f is present.
                            unsafe { pack_a(pa, self.a, self.a_strides, ir, mr, pc, kc) };
                            for jr in (0..nc).step_by(NR) {
                                // SAFETY: pa holds the packed panel; the rest as `block`'s.
                                unsafe { self.tile(&step, (ir, mr), jr, (pa.as_ptr(), (1, MR)), true) };
                            }
                        }
                    } else {
                        // B a few panels wide: packing A would cost more than it saves, so
                        // each panel of B stays in L1 while A's rows, read in place, stream
                        // past it.
                        let (rs, cs) = self.a_strides;
                        for jr in (0..nc).step_by(NR) {
                            for ir in rows.clone().step_by(MR) {
                                let mr = MR.min(rows.end - ir);
                                // SAFETY: the element (ir, pc) is inside a (checked by the
                                // caller), and so are the tile's rows; the rest as `block`'s.
                                unsafe {
                                    let ap = self.a.as_ptr().add(ir * rs + pc * cs);
                                    self.tile(&step, (ir, mr), jr, (ap, self.a_strides), false)
                                };
                            }
                        }
                    }
                    pc += kc;
                }
                jc += nc;
            }
        })
    }
}

/// Where one sweep of the microkernel stands: the column block `jc..jc+nc` at the depth
/// block `pc..pc+kc`, with B's packed panels (when packed per call) in `pb`.
struct Step<'p> {
    jc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
    load_c: bool,
    bias: Option<&'p [f32]>,
    pb: &'p [f32],
}

impl Product<'_> {
    /// The tile of `dst` at rows `ir..ir+mr`, columns `jc+jr..` (up to NR of them), over the
    /// step's depth block, reading A from `a` with the strides given.
    ///
    /// # Safety
    /// As [`Product::block`]; `a` reads the tile's rows of A at the step's depth (a packed
    /// panel when `packed_a`); `jr` is a multiple of NR below the step's `nc`.
    unsafe fn tile(
        &self,
        step: &Step,
        (ir, mr): (usize, usize),
        jr: usize,
        (a, a_strides): (*const f32, (usize, usize)),
        packed_a: bool,
    ) {
        let Step { jc, nc, pc, kc, .. } = *step;
        let j = jc + jr; // the tile's first column
        let nr = NR.min(nc - jr);
        // SAFETY: the element (pc, j) of B, or the panel holding it, is inside its slice (the
        // caller's contract; j is a multiple of NR).
        let (bp, ldb) = unsafe {
            match self.b {
                Panels::InPlace { b, rs } => (b.as_ptr().add(pc * rs + j), rs),
                Panels::Strided { .. } => (step.pb.as_ptr().add(jr * kc), NR),
                Panels::Packed(p) => (p.as_ptr().add(j * self.k + pc * NR), NR),
            }
        };
        let bias = step.bias.map_or(std::ptr::null(), |b| b[j..].as_ptr());
        // Packed panels are padded to NR columns, so their rows load whole.
        let packed_b = !matches!(self.b, Panels::InPlace { .. });
        let micro = pick_micro(nr, packed_a, packed_b);
        // SAFETY: the tile dst[ir.., j..] of mr×nr elements is inside dst[rows, cols] (the
        // caller's contract); B's kc rows of nr columns from bp are inside their slice, and so
        // are the bias's nr values; avx512f is present.
        unsafe {
            micro(
                kc,
                a,
                a_strides,
                bp,
                ldb,
                self.c.get().add(ir * self.ldc + j),
                self.ldc,
                (mr, nr),
                step.load_c,
                bias,
            )
        };
    }
}

/// Packs `b[p0..p0+kc, j0..j0+nc]` (`cs ≠ 1`) as panels of NR columns, the fastest way its
/// strides allow.
///
/// # Safety
/// avx512f is present; `out` holds `⌈nc/NR⌉·NR·kc` values; `b[(p0 + l)·rs + (j0 + j)·cs]` is
/// inside `b` for `l < kc`, `j < nc`.
unsafe fn pack_strided(
    out: &mut [f32],
    b: &[f32],
    (rs, cs): (usize, usize),
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) {
    if rs == 1 {
        // SAFETY: the columns j0..j0+nc of B are rows of length ≥ p0 + kc in b (the contract).
        unsafe { pack_b_transposed(out, b, cs, p0, kc, j0, nc) };
    } else if cs * NR <= i32::MAX as usize {
        // SAFETY: the contract, and the gathers' offsets fit i32.
        unsafe { pack_b_gather(out, b.as_ptr(), (rs, cs), p0, kc, j0, nc) };
    } else {
        pack_b(out, b, (rs, cs), p0, kc, j0, nc);
    }
}

/// Packs `a[i0..i0+mr, p0..p0+kc]` as `out[l·MR + r]` (row `r` of the panel at depth `l`), zeros
/// past row `mr`, so the microkernel reads A as one stream.
///
/// # Safety
/// avx512f is present; `out` holds `MR·kc` values; `a[(i0 + r)·rs + (p0 + l)·cs]` is inside `a`
/// for `r < mr ≤ MR`, `l < kc`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_a(
    out: &mut [f32],
    a: &[f32],
    (rs, cs): (usize, usize),
    i0: usize,
    mr: usize,
    p0: usize,
    kc: usize,
) {
    let out = &mut out[..MR * kc];
    let base = i0 * rs + p0 * cs;
    if cs == 1 {
        // Rows contiguous (x in x Wᵀ): 16 columns of 12 rows at a time, transposed in registers.
        for l in (0..kc).step_by(16) {
            let depth = (kc - l).min(16);
            let mask = lane_mask(depth);
            // SAFETY: rows below mr and columns l..l+depth are inside a (the contract); the
            // stores write depth·MR values from l·MR, inside out.
            unsafe {
                let rows: [__m512; 16] = std::array::from_fn(|r| {
                    if r < mr {
                        _mm512_maskz_loadu_ps(mask, a.as_ptr().add(base + r * rs + l))
                    } else {
                        _mm512_setzero_ps()
                    }
                });
                let t = transpose16(rows);
                for (d, v) in t.iter().enumerate().take(depth) {
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add((l + d) * MR), lane_mask(MR), *v);
                }
            }
        }
    } else if rs == 1 {
        // Columns contiguous (Aᵀ in the backward products): each depth is one masked load.
        for l in 0..kc {
            // SAFETY: the mr values from base + l·cs are inside a; the store writes MR values.
            unsafe {
                let v = _mm512_maskz_loadu_ps(lane_mask(mr), a.as_ptr().add(base + l * cs));
                _mm512_mask_storeu_ps(out.as_mut_ptr().add(l * MR), lane_mask(MR), v);
            }
        }
    } else {
        for (l, depth) in out.chunks_exact_mut(MR).enumerate() {
            for (r, d) in depth.iter_mut().enumerate() {
                *d = if r < mr { a[base + r * rs + l * cs] } else { 0.0 };
            }
        }
    }
}

/// Packs `b[p0..p0+kc, j0..j0+nc]` as panels of NR columns: `out[panel·kc·NR + l·NR + c]`,
/// with zeros past column `nc`.
fn pack_b(out: &mut [f32], b: &[f32], (rs, cs): (usize, usize), p0: usize, kc: usize, j0: usize, nc: usize) {
    for (jr, panel) in (0..nc).step_by(NR).zip(out.chunks_exact_mut(NR * kc)) {
        let nr = NR.min(nc - jr);
        let base = p0 * rs + (j0 + jr) * cs;
        if nr < NR {
            panel.fill(0.0);
        }
        for c in 0..nr {
            let col = &b[base + c * cs..];
            let col = &col[..=(kc - 1) * rs];
            for (l, d) in panel[c..].iter_mut().step_by(NR).take(kc).enumerate() {
                *d = col[l * rs];
            }
        }
    }
}

/// As [`pack_b`], 16 columns at a time with AVX-512 gathers (masked past column `nc`).
///
/// # Safety
/// avx512f is present; `out` holds `⌈nc/NR⌉·NR·kc` values; `b[(p0 + l)·rs + (j0 + j)·cs]` is
/// readable for `l < kc`, `j < nc`; `NR·cs` fits in an `i32`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b_gather(
    out: &mut [f32],
    b: *const f32,
    (rs, cs): (usize, usize),
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) {
    let lanes = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(cs as i32),
    );
    for (jr, panel) in (0..nc).step_by(NR).zip(out.chunks_exact_mut(NR * kc)) {
        for h in 0..NR / 16 {
            let mask = lane_mask(nc.saturating_sub(jr + 16 * h));
            // SAFETY: the gathered lanes are columns below nc and rows below kc, inside b (the
            // contract above); the masked lanes are not read. The stores stay in this panel.
            unsafe {
                let col = b.add(p0 * rs + (j0 + jr + 16 * h) * cs);
                for l in 0..kc {
                    let v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, lanes, col.add(l * rs));
                    _mm512_storeu_ps(panel.as_mut_ptr().add(l * NR + 16 * h), v);
                }
            }
        }
    }
}

/// As [`pack_b`] for `B = Sᵀ` with `S` row-major (`b[l + j·cs]`, the weights of `x Wᵀ` and the
/// keys of `Q Kᵀ`): each 16×16 block of `S` is loaded as 16 rows and transposed in registers,
/// four to five times faster than gathering its columns.
///
/// # Safety
/// avx512f is present; `out` holds `⌈nc/NR⌉·NR·kc` values; `b[p0 + l + (j0 + j)·cs]` is
/// readable for `l < kc`, `j < nc`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_b_transposed(
    out: &mut [f32],
    b: &[f32],
    cs: usize,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
) {
    for (jr, panel) in (0..nc).step_by(NR).zip(out.chunks_exact_mut(NR * kc)) {
        for h in 0..NR / 16 {
            let j = jr + 16 * h; // this block's first column of B
            let cols = nc.saturating_sub(j).min(16);
            for l in (0..kc).step_by(16) {
                let depth = (kc - l).min(16);
                let mask = lane_mask(depth);
                // SAFETY: rows below `cols` are columns of B below nc, read from p0 + l for
                // `depth` values (masked), inside b by the contract; the stores write rows
                // l..l+depth of this panel.
                unsafe {
                    let rows: [__m512; 16] = std::array::from_fn(|r| {
                        if r < cols {
                            _mm512_maskz_loadu_ps(mask, b.as_ptr().add((j0 + j + r) * cs + p0 + l))
                        } else {
                            _mm512_setzero_ps()
                        }
                    });
                    let t = transpose16(rows);
                    for (d, v) in t.iter().enumerate().take(depth) {
                        _mm512_storeu_ps(panel.as_mut_ptr().add((l + d) * NR + 16 * h), *v);
                    }
                }
            }
        }
    }
}

/// The 16×16 transpose of `r` (row `i` in `r[i]`): pairs interleaved (32-bit, then 64-bit)
/// within 128-bit lanes, then the lanes regrouped twice.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // t[2p], t[2p+1]: rows 2p and 2p+1 interleaved, columns 4q, 4q+1 and 4q+2, 4q+3 of lane q.
    let t: [__m512; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // u[4g + c]: rows 4g..4g+4 of column 4q + c in lane q.
    let u: [__m512; 16] = std::array::from_fn(|i| {
        let (g, c) = (i / 4, i % 4);
        let (a, b) = (
            _mm512_castps_pd(t[4 * g + c / 2]),
            _mm512_castps_pd(t[4 * g + 2 + c / 2]),
        );
        _mm512_castpd_ps(if c % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        })
    });
    // Column l = c + 4q gathers lane q of u[c], u[4 + c], u[8 + c], u[12 + c].
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let even = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]); // lanes 0, 2 of each
        let odd = _mm512_shuffle_f32x4::<0xdd>(u[c], u[4 + c]); // lanes 1, 3
        let even_hi = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        let odd_hi = _mm512_shuffle_f32x4::<0xdd>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(even, even_hi);
        out[c + 8] = _mm512_shuffle_f32x4::<0xdd>(even, even_hi);
        out[c + 4] = _mm512_shuffle_f32x4::<0x88>(odd, odd_hi);
        out[c + 12] = _mm512_shuffle_f32x4::<0xdd>(odd, odd_hi);
    }
    out
}

/// The mask of a 16-lane register's first `cols` lanes (all 16 when `cols ≥ 16`).
fn lane_mask(cols: usize) -> __mmask16 {
    if cols >= 16 {
        0xffff
    } else {
        (1u16 << cols) - 1
    }
}

/// How many steps ahead the microkernel prefetches B's rows.
const PREFETCH: usize = 8;

/// A is packed for a block of B more than this many panels (128 columns) wide. A narrower one
/// (attention's `Q Kᵀ` and `P V` over 128 tokens, a convolution's few output channels) reads A
/// in place: packing would cost more than it saves (measured on the book's CNN and MiniLM).
const PACK_A_FROM: usize = 4;

/// The microkernel for a tile `nr` columns wide. A panel 16 columns wide or less runs one
/// register wide: the 12×32 tile would spend half its multiplies on masked-off columns. B's
/// rows are loaded unmasked where they hold whole registers: a masked load costs an extra
/// shuffle-port µop, which the multiply-adds need (about 5 % of the kernel's speed).
fn pick_micro(nr: usize, packed_a: bool, packed_b: bool) -> Micro {
    let one = nr <= 16;
    let whole = packed_b || nr == NR || nr == 16;
    match (one, packed_a, whole) {
        (true, true, true) => micro::<1, true, true>,
        (true, true, false) => micro::<1, true, false>,
        (true, false, true) => micro::<1, false, true>,
        (true, false, false) => micro::<1, false, false>,
        (false, true, true) => micro::<2, true, true>,
        (false, true, false) => micro::<2, true, false>,
        (false, false, true) => micro::<2, false, true>,
        (false, false, false) => micro::<2, false, false>,
    }
}

/// A microkernel's signature (see [`micro`]).
type Micro = unsafe fn(
    usize,
    *const f32,
    (usize, usize),
    *const f32,
    usize,
    *mut f32,
    usize,
    (usize, usize),
    bool,
    *const f32,
);

/// The `MR×16V` tile `c[0..mr, 0..nr] = [c +] a · b [+ bias]` over `kc` steps, reading A as
/// `a[r·a_rs + l·a_cs]` (packed: `(1, MR)`, read as `a[l·MR + r]`) and `b[l·ldb + j]`; `MR·V`
/// zmm accumulators.
///
/// # Safety
/// avx512f is present; `a[r·a_rs + l·a_cs]` is readable for `r < mr` (all MR rows when
/// packed), `l < kc`; `b[l·ldb + j]` is readable for `l < kc`,
/// `j < nr` (`j < 16V` when `WHOLE_B`); `c[r·ldc + j]` is writable for `r < mr ≤ MR`, `j < nr ≤ 16V`; `bias` is null or
/// holds `nr` values.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<const V: usize, const PACKED_A: bool, const WHOLE_B: bool>(
    kc: usize,
    a: *const f32,
    (a_rs, a_cs): (usize, usize),
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    (mr, nr): (usize, usize),
    load_c: bool,
    bias: *const f32,
) {
    let masks: [__mmask16; V] = std::array::from_fn(|v| lane_mask(nr.saturating_sub(16 * v)));
    let mut acc = [[_mm512_setzero_ps(); V]; MR];
    // SAFETY (whole body): a packed A holds MR rows (zeros past `mr`); read in place, rows past
    // `mr` re-read row `mr - 1`; either way their sums are dropped. The masked loads and stores
    // touch only columns below `nr`, so every access is inside the contract above.
    unsafe {
        // The tile of C is written (and read back when accumulating) only after the loop: ask
        // for its lines now, so their cache misses overlap the multiplies.
        for r in 0..mr {
            for v in 0..V {
                _mm_prefetch::<_MM_HINT_ET0>(c.add(r * ldc + 16 * v) as *const i8);
            }
        }
        let rows: [*const f32; MR] = std::array::from_fn(|r| a.wrapping_add(r.min(mr - 1) * a_rs));
        for l in 0..kc {
            // A packed B streams in from L2: ask for its rows a few steps ahead.
            if WHOLE_B {
                for v in 0..V {
                    _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add((l + PREFETCH) * ldb + 16 * v) as *const i8);
                }
            }
            let bv: [__m512; V] = std::array::from_fn(|v| {
                if WHOLE_B {
                    _mm512_loadu_ps(b.add(l * ldb + 16 * v))
                } else {
                    _mm512_maskz_loadu_ps(masks[v], b.add(l * ldb + 16 * v))
                }
            });
            let al = a.add(l * MR);
            for (r, acc) in acc.iter_mut().enumerate() {
                let ar = _mm512_set1_ps(if PACKED_A {
                    *al.add(r)
                } else {
                    *rows[r].add(l * a_cs)
                });
                for v in 0..V {
                    acc[v] = _mm512_fmadd_ps(ar, bv[v], acc[v]);
                }
            }
        }
        let bias: [__m512; V] = std::array::from_fn(|v| {
            if bias.is_null() {
                _mm512_setzero_ps()
            } else {
                _mm512_maskz_loadu_ps(masks[v], bias.add(16 * v))
            }
        });
        for (r, acc) in acc.iter().enumerate().take(mr) {
            let p = c.add(r * ldc);
            for v in 0..V {
                let mut x = _mm512_add_ps(acc[v], bias[v]);
                if load_c {
                    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(masks[v], p.add(16 * v)));
                }
                _mm512_mask_storeu_ps(p.add(16 * v), masks[v], x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{matmul, Mat, MatMut, Threads, Write};

    #[allow(clippy::too_many_arguments)]
    fn naive(
        (m, k, n): (usize, usize, usize),
        dst: &mut [f64],
        dst_rs: usize,
        acc: bool,
        a: &[f32],
        (ars, acs): (usize, usize),
        b: &[f32],
        (brs, bcs): (usize, usize),
    ) {
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|l| a[i * ars + l * acs] as f64 * b[l * brs + j * bcs] as f64)
                    .sum();
                let d = &mut dst[i * dst_rs + j];
                *d = if acc { *d + s } else { s };
            }
        }
    }

    /// A small deterministic generator (xorshift), values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn check(m: usize, k: usize, n: usize, seed: u64) {
        for a_t in [false, true] {
            for b_t in [false, true] {
                for acc in [false, true] {
                    for pad in [0, 3] {
                        for threaded in [false, true] {
                            let a = values(m * k, seed);
                            let b = values(k * n, seed + 1);
                            let a_s = if a_t { (1, m) } else { (k, 1) };
                            let b_s = if b_t { (1, k) } else { (n, 1) };
                            let rs = n + pad;
                            let init = values(m * rs, seed + 2);
                            let mut got = init.clone();
                            let a_m = if a_t {
                                Mat::new(&a, k, m).t()
                            } else {
                                Mat::new(&a, m, k)
                            };
                            let b_m = if b_t {
                                Mat::new(&b, n, k).t()
                            } else {
                                Mat::new(&b, k, n)
                            };
                            let c = MatMut::new(&mut got, m, n).row_stride(rs);
                            let write = if acc { Write::Add } else { Write::Set };
                            let threads = if threaded { Threads::Pool } else { Threads::Caller };
                            matmul(c, write, a_m, b_m, threads);
                            let mut want: Vec<f64> = init.iter().map(|&x| x as f64).collect();
                            naive((m, k, n), &mut want, rs, acc, &a, a_s, &b, b_s);
                            for i in 0..m {
                                for j in 0..rs {
                                    let (g, w) = (got[i * rs + j] as f64, want[i * rs + j]);
                                    let tol = 1e-4 * (1.0 + w.abs());
                                    assert!(
                                        (g - w).abs() <= tol,
                                        "({m},{k},{n}) a_t={a_t} b_t={b_t} acc={acc} pad={pad} \
                                         threaded={threaded} at ({i},{j}): {g} vs {w}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn all_shapes() {
        let dims = [1, 15, 16, 17, 33, 64, 100];
        let mut seed = 1;
        for &m in &dims {
            for &k in &dims {
                for &n in &dims {
                    check(m, k, n, seed);
                    seed += 3;
                }
            }
        }
        // The layers' shapes: long rows, long depth (several KC blocks), wide columns.
        check(2048, 64, 192, 7);
        check(64, 2050, 64, 8);
        check(257, 300, 1030, 9);
        check(3, 40, 2100, 10);
    }

    #[test]
    fn gathered_b_panels_match_the_scalar_packing() {
        for (k, n, p0, kc, j0, nc) in [
            (40usize, 70usize, 3, 30usize, 5, 60usize),
            (16, 17, 0, 16, 0, 17),
            (5, 1, 1, 4, 0, 1),
            (300, 40, 7, 260, 3, 37),
        ] {
            let b = values(k * n, 11);
            let need = nc.next_multiple_of(super::NR) * kc;
            let (mut want, mut got) = (vec![9.0; need], vec![9.0; need]);
            super::pack_b(&mut want, &b, (1, k), p0, kc, j0, nc);
            if super::available() {
                // SAFETY: avx512f was detected; the indices read are inside b (l + k·j < k·n).
                unsafe { super::pack_b_gather(&mut got, b.as_ptr(), (1, k), p0, kc, j0, nc) };
                assert_eq!(got, want);
                let mut transposed = vec![9.0; need];
                // SAFETY: as above.
                unsafe { super::pack_b_transposed(&mut transposed, &b, k, p0, kc, j0, nc) };
                assert_eq!(transposed, want);
            }
        }
    }

    #[test]
    fn f32_gemm_matches_naive_in_pools_of_1_and_3() {
        for threads in [1, 3] {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(all_shapes);
        }
    }
}

#[cfg(test)]
mod speed {
    use super::super::{matmul, Mat, MatMut, Threads, Write};
    use std::time::Instant;

    /// The microkernel's ceiling: one tile over and over, everything in L1.
    #[test]
    #[ignore = "a measurement, run by hand"]
    fn microkernel_in_l1() {
        if !super::available() {
            return;
        }
        let kc = 384;
        let a = vec![0.5f32; super::MR * kc];
        let b = vec![0.25f32; super::NR * kc];
        let mut c = vec![0.0f32; super::MR * super::NR];
        let reps = 200_000;
        let t = Instant::now();
        for _ in 0..reps {
            // SAFETY: avx512f is present; a, b and c hold the MR×kc, kc×NR and MR×NR values read
            // and written.
            unsafe {
                super::micro::<2, true, true>(
                    kc,
                    a.as_ptr(),
                    (1, super::MR),
                    b.as_ptr(),
                    super::NR,
                    c.as_mut_ptr(),
                    super::NR,
                    (12, 32),
                    false,
                    std::ptr::null(),
                )
            };
        }
        let s = t.elapsed().as_secs_f64();
        let flops = 2.0 * (super::MR * super::NR * kc * reps) as f64;
        println!("micro in L1: {:.1} GFLOP/s", flops / s / 1e9);
    }

    /// GFLOP/s of `x Wᵀ` on the encoder's shapes, run by hand:
    /// `cargo test --release --lib gemm512::speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, run by hand"]
    fn encoder_shapes() {
        let shapes = [
            (4096, 384, 384),
            (4096, 384, 1536),
            (4096, 1536, 384),
            (128, 384, 384),
            (128, 384, 1536),
            (128, 1536, 384),
        ];
        // Best of five rounds, the shapes interleaved: on a shared machine the slow rounds are
        // the neighbours, not the code.
        let mut best = [0.0f64; 6];
        for _ in 0..5 {
            for (&(m, k, n), best) in shapes.iter().zip(&mut best) {
                let x = vec![0.5f32; m * k];
                let w = vec![0.25f32; n * k];
                let mut c = vec![0.0f32; m * n];
                let mut run = || {
                    matmul(
                        MatMut::new(&mut c, m, n),
                        Write::Set,
                        Mat::new(&x, m, k),
                        Mat::new(&w, n, k).t(),
                        Threads::Pool,
                    )
                };
                run();
                let reps = (4e9 / (2.0 * (m * k * n) as f64)).ceil() as usize;
                let t = Instant::now();
                for _ in 0..reps {
                    run();
                }
                let s = t.elapsed().as_secs_f64() / reps as f64;
                *best = best.max(2.0 * (m * k * n) as f64 / s / 1e9);
            }
        }
        for ((m, k, n), best) in shapes.iter().zip(best) {
            println!("({m}, {k}, {n}): {best:.1} GFLOP/s");
        }
    }
}
