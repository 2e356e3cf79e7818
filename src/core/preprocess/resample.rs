//! The separable resize. For each output row, the plane rows it covers are weighted
//! into one line (long contiguous loops that vectorise); then each output reads its
//! few taps from the line. On x86-64 with AVX2 that is eight outputs per hardware
//! gather; the compiler does not emit gathers by itself, and scalar reads cost about
//! five times as much here (0.5 ms against 0.1 ms per 1080p frame). Where three
//! components sit side by side in the line (packed RGB, interleaved 4:4:4 planes), a
//! tap of one output is one 4-value load instead: three gathers fewer per tap.

use multiversion::multiversion;

use super::format::FrameView;
use super::geometry::AxisTaps;
use super::kernel::Kernel;
use super::layout::{INTERLEAVED, Pass, Sample, passes};

/// Values read past a pixel's first component by `weigh_pixels`: the line is padded
/// by this much so that the last pixel of a 3-value step stays inside.
const PIXEL: usize = 4;

/// Kernels and spans for one frame size, format and placement; built once, reused.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    passes: Vec<Pass>,
    vertical: Vec<Kernel>,
    /// Per pass, its readers of the line.
    horizontal: Vec<Vec<Horizontal>>,
    /// Per pass: the samples [first, end) of each plane row that its groups read.
    spans: Vec<(usize, usize)>,
    pub width: usize,
    pub height: usize,
}

/// The three component planes of the resized picture, row-major.
#[derive(Debug, Clone, Default)]
pub(crate) struct Components {
    pub planes: [Vec<f32>; 3],
    /// A pass's current output row, vertically weighted: one value per sample read,
    /// on the 8-bit scale (10-bit samples keep their fraction).
    line: Vec<f32>,
}

#[derive(Debug, Clone)]
enum Horizontal {
    /// One component, read with gathers.
    Component(Gather),
    /// Three components side by side, read together.
    Pixel(Gather, PixelLanes),
}

/// For a `Horizontal::Pixel`: which of a pixel's four values goes to component slot
/// 0, 1, 2, and the weights spread for the AVX2 loop.
#[derive(Debug, Clone)]
struct PixelLanes {
    lane: [usize; 3],
    /// Per block of 8 outputs, per tap, per k in 0..4: the weights of outputs k and
    /// k + 4, each four times (one 8-lane vector).
    spread: Vec<f32>,
}

impl PixelLanes {
    /// None unless `components` fill slots 0, 1, 2 from offsets within one 4-value load.
    fn new(components: &[(usize, usize)], g: &Gather) -> Option<PixelLanes> {
        let mut lane = [usize::MAX; 3];
        for &(slot, offset) in components {
            if offset >= PIXEL || *lane.get(slot)? != usize::MAX {
                return None;
            }
            lane[slot] = offset;
        }
        if lane.contains(&usize::MAX) {
            return None;
        }
        let width = g.first.len();
        let mut spread = Vec::with_capacity(width / 8 * g.taps * 32);
        for x0 in (0..width - width % 8).step_by(8) {
            for t in 0..g.taps {
                for k in 0..4 {
                    for x in [x0 + k, x0 + k + 4] {
                        spread.extend([g.weight[t * width + x]; 4]);
                    }
                }
            }
        }
        Some(PixelLanes { lane, spread })
    }
}

/// One component's horizontal taps, laid out for gathers.
#[derive(Debug, Clone)]
struct Gather {
    slot: usize,
    /// Line position of output x's first tap.
    first: Vec<i32>,
    /// Line positions from one tap to the next.
    step: usize,
    taps: usize,
    /// Tap-major: `weight[t * width + x]`.
    weight: Vec<f32>,
    /// The furthest line position any tap reads.
    reach: usize,
}

impl Gather {
    fn new(kernel: &Kernel, slot: usize, step: usize, offset: usize, origin: usize) -> Gather {
        let width = kernel.start.len();
        let taps = kernel.taps;
        let mut weight = vec![0.0; taps * width];
        for x in 0..width {
            for (t, w) in kernel.weights(x).iter().enumerate() {
                weight[t * width + x] = *w;
            }
        }
        let first: Vec<i32> = kernel
            .start
            .iter()
            .map(|&s| (s as usize * step + offset - origin) as i32)
            .collect();
        let reach = first.iter().max().copied().unwrap_or(0) as usize + (taps - 1) * step;
        Gather {
            slot,
            first,
            step,
            taps,
            weight,
            reach,
        }
    }
}

impl Plan {
    /// `xs`/`ys` are the full-resolution taps of the placement (width/height outputs).
    /// With `luma_only`, component slot 0 is filled and the others are left as they are
    /// wherever that saves a pass or a gather.
    pub fn new(frame: &FrameView<'_>, xs: &AxisTaps, ys: &AxisTaps, luma_only: bool) -> Plan {
        let fills_luma = |pass: &&Pass| {
            pass.groups
                .iter()
                .any(|g| g.components.iter().any(|c| c.0 == 0))
        };
        let passes: Vec<Pass> = passes(frame.format)
            .iter()
            .filter(|pass| !luma_only || fills_luma(pass))
            .copied()
            .collect();
        let samples = |total: usize, halved: bool| {
            if halved { total.div_ceil(2) } else { total }
        };
        let mut plan = Plan {
            passes: Vec::with_capacity(passes.len()),
            vertical: Vec::with_capacity(passes.len()),
            horizontal: Vec::with_capacity(passes.len()),
            spans: Vec::with_capacity(passes.len()),
            width: xs.index.len() / xs.taps.max(1),
            height: ys.index.len() / ys.taps.max(1),
        };
        for pass in &passes {
            plan.vertical.push(Kernel::new(
                ys,
                pass.halved as u32,
                samples(frame.height, pass.halved),
            ));
            let kernels: Vec<Kernel> = pass
                .groups
                .iter()
                .map(|g| Kernel::new(xs, g.halved as u32, samples(frame.width, g.halved)))
                .collect();
            // Samples of a row that any group reads, counted from the first one read.
            let mut first = usize::MAX;
            let mut end = 0;
            for (g, k) in pass.groups.iter().zip(&kernels) {
                let (lo, hi) = k.span();
                first = first.min(lo * g.step);
                let last_offset = g.components.iter().map(|c| c.1).max().unwrap_or(0);
                end = end.max((hi - 1) * g.step + last_offset + 1);
            }
            // An interleaved line holds whole samples of the three planes.
            if pass.interleaved {
                first /= INTERLEAVED;
                end = end.div_ceil(INTERLEAVED);
            }
            plan.spans.push((first, end));
            let origin = if pass.interleaved {
                first * INTERLEAVED
            } else {
                first
            };
            let mut readers = Vec::new();
            for (g, k) in pass.groups.iter().zip(&kernels) {
                let pixel = Gather::new(k, 0, g.step, 0, origin);
                if let Some(lanes) = PixelLanes::new(g.components, &pixel) {
                    readers.push(Horizontal::Pixel(pixel, lanes));
                    continue;
                }
                for &(slot, offset) in g.components {
                    if luma_only && slot != 0 {
                        continue;
                    }
                    readers.push(Horizontal::Component(Gather::new(
                        k, slot, g.step, offset, origin,
                    )));
                }
            }
            plan.horizontal.push(readers);
        }
        plan.passes = passes;
        plan
    }

    /// Resizes `frame` into `into`; None when a row the plan needs is not in the frame
    /// (which `FrameView::new` rules out for the size the plan was made for).
    pub fn run(&self, frame: &FrameView<'_>, into: &mut Components) -> Option<()> {
        let size = self.width * self.height;
        for plane in &mut into.planes {
            plane.resize(size, 0.0);
        }
        for (p, pass) in self.passes.iter().enumerate() {
            let (first, end) = self.spans[p];
            let count = if pass.interleaved { 3 } else { 1 };
            let mut sources = [(&[][..], 0); 3];
            for (i, source) in sources.iter_mut().take(count).enumerate() {
                let plane = pass.plane + i;
                *source = (*frame.planes.get(plane)?, *frame.strides.get(plane)?);
            }
            let vertical = &self.vertical[p];
            let bytes = pass.sample.bytes();
            // 10-bit samples are weighted as they are and scaled to the 8-bit range by
            // the weights, so the resize keeps their two extra bits.
            let scale = if pass.sample == Sample::U8 { 1.0 } else { 0.25 };
            let mut rows: [Vec<&[u8]>; 3] = Default::default();
            let mut weights: Vec<f32> = Vec::with_capacity(vertical.taps);
            let used = (end - first) * if pass.interleaved { INTERLEAVED } else { 1 };
            into.line.resize(used + PIXEL, 0.0);
            for oy in 0..self.height {
                rows.iter_mut().for_each(Vec::clear);
                weights.clear();
                let top = vertical.start[oy] as usize;
                // Runs shorter than the kernel are padded with zero weights; skip them.
                for (r, &w) in (top..).zip(vertical.weights(oy)) {
                    if w != 0.0 {
                        for ((data, stride), rows) in sources.iter().zip(&mut rows).take(count) {
                            let row = r * stride;
                            rows.push(data.get(row + first * bytes..row + end * bytes)?);
                        }
                        weights.push(w * scale);
                    }
                }
                let line = &mut into.line[..used];
                match (pass.interleaved, pass.sample) {
                    (false, Sample::U8) => weigh_rows(line, &rows[0], &weights),
                    (false, Sample::Low10) => weigh_words(line, &rows[0], &weights, 0),
                    (false, Sample::High10) => weigh_words(line, &rows[0], &weights, 6),
                    (true, Sample::U8) => weigh_planes::<false, 0>(line, &rows, &weights),
                    (true, Sample::Low10) => weigh_planes::<true, 0>(line, &rows, &weights),
                    (true, Sample::High10) => weigh_planes::<true, 6>(line, &rows, &weights),
                }
                let span = oy * self.width..(oy + 1) * self.width;
                for reader in &self.horizontal[p] {
                    match reader {
                        Horizontal::Component(gather) => {
                            let plane = into.planes.get_mut(gather.slot)?;
                            weigh_line(&mut plane[span.clone()], &into.line, gather);
                        }
                        Horizontal::Pixel(gather, lanes) => {
                            let [a, b, c] = &mut into.planes;
                            let outs = [
                                &mut a[span.clone()],
                                &mut b[span.clone()],
                                &mut c[span.clone()],
                            ];
                            weigh_pixels(outs, &into.line, gather, lanes);
                        }
                    }
                }
            }
        }
        Some(())
    }
}

/// Starts of `chunk`-long windows that cover `0..n`; none when `n < chunk`. When `n` is
/// not a multiple of `chunk`, the last window overlaps the one before: a loop whose
/// body only writes its window then writes the same values twice, which costs less
/// than a scalar tail (for 945-value lines that tail was a tenth of `weigh_rows`).
pub(crate) fn chunk_starts(n: usize, chunk: usize) -> impl Iterator<Item = usize> {
    let full = if n < chunk { 0 } else { n - n % chunk };
    let tail = (n > chunk && !n.is_multiple_of(chunk)).then(|| n - chunk);
    (0..full).step_by(chunk).chain(tail)
}

/// `line[j] = Σ weights[r] * rows[r][j]`, kept in registers across rows.
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma", "aarch64+neon"))]
fn weigh_rows(line: &mut [f32], rows: &[&[u8]], weights: &[f32]) {
    const CHUNK: usize = 32;
    let n = line.len();
    if n < CHUNK {
        for (j, v) in line.iter_mut().enumerate() {
            *v = rows.iter().zip(weights).map(|(r, w)| w * r[j] as f32).sum();
        }
        return;
    }
    for base in chunk_starts(n, CHUNK) {
        let mut acc = [0.0f32; CHUNK];
        for (row, &w) in rows.iter().zip(weights) {
            let src = &row[base..base + CHUNK];
            for l in 0..CHUNK {
                acc[l] += w * src[l] as f32;
            }
        }
        line[base..base + CHUNK].copy_from_slice(&acc);
    }
}

/// `weigh_rows` for rows of little-endian 16-bit words holding 10 bits from bit
/// `shift`; bits outside those 10 are ignored, so a stray high bit cannot overflow.
fn weigh_words(line: &mut [f32], rows: &[&[u8]], weights: &[f32], shift: u32) {
    // A constant shift lets the compiler turn the word decode into one vector shift.
    if shift == 0 {
        weigh_words_from::<0>(line, rows, weights)
    } else {
        weigh_words_from::<6>(line, rows, weights)
    }
}

#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma", "aarch64+neon"))]
fn weigh_words_from<const SHIFT: u32>(line: &mut [f32], rows: &[&[u8]], weights: &[f32]) {
    const CHUNK: usize = 64;
    let n = line.len();
    let word = |row: &[u8], j: usize| {
        let v = u16::from_le_bytes([row[2 * j], row[2 * j + 1]]);
        ((v >> SHIFT) & 0x3ff) as f32
    };
    if n < CHUNK {
        for (j, v) in line.iter_mut().enumerate() {
            *v = rows.iter().zip(weights).map(|(r, w)| w * word(r, j)).sum();
        }
        return;
    }
    for base in chunk_starts(n, CHUNK) {
        let mut acc = [0.0f32; CHUNK];
        for (row, &w) in rows.iter().zip(weights) {
            let src = &row[2 * base..2 * (base + CHUNK)];
            let mut words = [0u16; CHUNK];
            for (d, b) in words.iter_mut().zip(src.chunks_exact(2)) {
                *d = u16::from_le_bytes([b[0], b[1]]);
            }
            for (a, &v) in acc.iter_mut().zip(&words) {
                *a += w * ((v >> SHIFT) & 0x3ff) as f32;
            }
        }
        line[base..base + CHUNK].copy_from_slice(&acc);
    }
}

/// `weigh_rows` (bytes) or `weigh_words` (`WORD`) for three planes at once, written
/// interleaved: `line[INTERLEAVED * j + c] = Σ weights[r] * rows[c][r][j]`.
#[multiversion(targets("x86_64+avx512f+avx512bw", "x86_64+avx2+fma", "aarch64+neon"))]
fn weigh_planes<const WORD: bool, const SHIFT: u32>(
    line: &mut [f32],
    rows: &[Vec<&[u8]>; 3],
    weights: &[f32],
) {
    const CHUNK: usize = 32;
    let bytes = if WORD { 2 } else { 1 };
    let mask = if WORD { 0x3ff } else { 0xff };
    let n = line.len() / INTERLEAVED;
    // One instruction instead of two where the CPU has FMA; without it `mul_add` would
    // be a library call per value.
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    let sample = |row: &[u8], j: usize| {
        let v = if WORD {
            u16::from_le_bytes([row[2 * j], row[2 * j + 1]])
        } else {
            row[j] as u16
        };
        ((v >> SHIFT) & mask) as f32
    };
    if n < CHUNK {
        for (j, px) in line.chunks_exact_mut(INTERLEAVED).enumerate() {
            for (c, v) in px.iter_mut().enumerate() {
                *v = rows.get(c).map_or(0.0, |rows| {
                    rows.iter()
                        .zip(weights)
                        .map(|(r, w)| w * sample(r, j))
                        .sum()
                });
            }
        }
        return;
    }
    for base in chunk_starts(n, CHUNK) {
        let mut acc = [[0.0f32; CHUNK]; 3];
        for (acc, rows) in acc.iter_mut().zip(rows) {
            for (row, &w) in rows.iter().zip(weights) {
                let src = &row[bytes * base..bytes * (base + CHUNK)];
                let mut words = [0u16; CHUNK];
                if WORD {
                    for (d, b) in words.iter_mut().zip(src.chunks_exact(2)) {
                        *d = u16::from_le_bytes([b[0], b[1]]);
                    }
                } else {
                    for (d, &b) in words.iter_mut().zip(src) {
                        *d = b as u16;
                    }
                }
                for (a, &v) in acc.iter_mut().zip(&words) {
                    let v = ((v >> SHIFT) & mask) as f32;
                    *a = if fused { w.mul_add(v, *a) } else { *a + w * v };
                }
            }
        }
        // Indexed stores with a constant stride: the form the compiler interleaves
        // with vector shuffles (a per-pixel copy became single-value stores).
        let out: &mut [f32; INTERLEAVED * CHUNK] = (&mut line
            [base * INTERLEAVED..(base + CHUNK) * INTERLEAVED])
            .try_into()
            .expect("a window of CHUNK pixels");
        for l in 0..CHUNK {
            out[INTERLEAVED * l] = acc[0][l];
            out[INTERLEAVED * l + 1] = acc[1][l];
            out[INTERLEAVED * l + 2] = acc[2][l];
            out[INTERLEAVED * l + 3] = 0.0;
        }
    }
}

/// Three components of each output from one `Horizontal::Pixel` reader:
/// `outs[s][x] = Σ_t weight[t][x] * line[first[x] + t * step + lane[s]]`.
fn weigh_pixels(mut outs: [&mut [f32]; 3], line: &[f32], g: &Gather, lanes: &PixelLanes) {
    #[cfg(target_arch = "x86_64")]
    {
        let width = g.first.len();
        if g.reach + PIXEL <= line.len()
            && outs.iter().all(|o| o.len() == width)
            && lanes.spread.len() == width / 8 * g.taps * 32
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, every load of PIXEL values starts at
            // most at `reach`, the outputs and the spread weights have the sizes the
            // loop assumes.
            unsafe { weigh_pixels_avx2(&mut outs, line, g, lanes) };
            return;
        }
    }
    weigh_pixels_scalar(&mut outs, line, g, lanes, 0);
}

#[multiversion(targets("x86_64+avx2+fma", "aarch64+neon"))]
fn weigh_pixels_scalar(
    outs: &mut [&mut [f32]; 3],
    line: &[f32],
    g: &Gather,
    lanes: &PixelLanes,
    from: usize,
) {
    let width = g.first.len();
    for x in from..width {
        let first = g.first[x] as usize;
        for (out, &lane) in outs.iter_mut().zip(&lanes.lane) {
            let v = (0..g.taps)
                .map(|t| {
                    let v = line.get(first + t * g.step + lane).copied().unwrap_or(0.0);
                    g.weight[t * width + x] * v
                })
                .sum();
            if let Some(o) = out.get_mut(x) {
                *o = v;
            }
        }
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA, every `outs[s]` must have `g.first.len()` entries,
/// `lanes.spread` the size `PixelLanes::new` gives it, and `g.reach + PIXEL` must not
/// exceed `line.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weigh_pixels_avx2(
    outs: &mut [&mut [f32]; 3],
    line: &[f32],
    g: &Gather,
    lanes: &PixelLanes,
) {
    use std::arch::x86_64::*;
    let width = g.first.len();
    let full = width - width % 8;
    let mut spread = lanes.spread.as_ptr();
    for x0 in (0..full).step_by(8) {
        // SAFETY (this block): x0 + 8 <= width; a load at `at[k] + t * step` starts at
        // most at `reach` and reads PIXEL values; `spread` holds taps * 32 values per
        // block of 8 outputs; the stores write x0..x0 + 8 of outputs of `width` values.
        unsafe {
            let at: [*const f32; 8] =
                std::array::from_fn(|k| line.as_ptr().add(g.first[x0 + k] as usize));
            // acc[k] holds the four values of output x0 + k, then those of x0 + k + 4.
            let mut acc = [_mm256_setzero_ps(); 4];
            for t in 0..g.taps {
                let off = t * g.step;
                for (k, acc) in acc.iter_mut().enumerate() {
                    let v = _mm256_set_m128(
                        _mm_loadu_ps(at[k + 4].add(off)),
                        _mm_loadu_ps(at[k].add(off)),
                    );
                    *acc = _mm256_fmadd_ps(v, _mm256_loadu_ps(spread), *acc);
                    spread = spread.add(8);
                }
            }
            // 4x4 transposes within each half: by_lane[l] is value l of outputs x0..x0+8.
            let t0 = _mm256_unpacklo_ps(acc[0], acc[1]);
            let t1 = _mm256_unpackhi_ps(acc[0], acc[1]);
            let t2 = _mm256_unpacklo_ps(acc[2], acc[3]);
            let t3 = _mm256_unpackhi_ps(acc[2], acc[3]);
            let (t0, t1, t2, t3) = (
                _mm256_castps_pd(t0),
                _mm256_castps_pd(t1),
                _mm256_castps_pd(t2),
                _mm256_castps_pd(t3),
            );
            let by_lane = [
                _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2)),
                _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2)),
                _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3)),
                _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3)),
            ];
            for (out, &lane) in outs.iter_mut().zip(&lanes.lane) {
                _mm256_storeu_ps(out.as_mut_ptr().add(x0), by_lane[lane]);
            }
        }
    }
    weigh_pixels_scalar(outs, line, g, lanes, full);
}

/// `out[x] = Σ_t weight[t][x] * line[first[x] + t * step]`.
fn weigh_line(out: &mut [f32], line: &[f32], g: &Gather) {
    #[cfg(target_arch = "x86_64")]
    if g.reach < line.len()
        && g.first.len() == out.len()
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX2 and FMA, and every position read is below `reach`,
        // which is inside `line`.
        unsafe { weigh_line_avx2(out, line, g) };
        return;
    }
    weigh_line_scalar(out, line, g, 0);
}

#[multiversion(targets("x86_64+avx2+fma", "aarch64+neon"))]
fn weigh_line_scalar(out: &mut [f32], line: &[f32], g: &Gather, from: usize) {
    let width = out.len();
    for (x, o) in out.iter_mut().enumerate().skip(from) {
        let first = g.first[x] as usize;
        *o = (0..g.taps)
            .map(|t| {
                let v = line.get(first + t * g.step).copied().unwrap_or(0.0);
                g.weight[t * width + x] * v
            })
            .sum();
    }
}

/// # Safety
/// The CPU must have AVX2 and FMA, `g.first` must have `out.len()` entries, and
/// `g.reach` must be below `line.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn weigh_line_avx2(out: &mut [f32], line: &[f32], g: &Gather) {
    use std::arch::x86_64::*;
    const LANES: usize = 8;
    let width = out.len();
    let full = width - width % LANES;
    let step = _mm256_set1_epi32(g.step as i32);
    for x0 in (0..full).step_by(LANES) {
        // SAFETY: x0 + LANES <= width = g.first.len().
        let mut index = unsafe { _mm256_loadu_si256(g.first.as_ptr().add(x0).cast()) };
        let mut acc = _mm256_setzero_ps();
        for t in 0..g.taps {
            // SAFETY: lane x reads first[x] + t * step <= reach < line.len(); the
            // weights row t has `width` entries.
            unsafe {
                let values = _mm256_i32gather_ps::<4>(line.as_ptr(), index);
                let weights = _mm256_loadu_ps(g.weight.as_ptr().add(t * width + x0));
                acc = _mm256_fmadd_ps(values, weights, acc);
            }
            index = _mm256_add_epi32(index, step);
        }
        // SAFETY: x0 + LANES <= out.len().
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(x0), acc) };
    }
    weigh_line_scalar(out, line, g, full);
}
