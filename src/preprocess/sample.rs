//! Per-format pixel fetchers. Each returns three components at an integer position:
//! R, G, B for RGB-family formats, Y, U, V for YUV formats (chroma of the covering block).
//! `FrameView::new` has checked the plane sizes, so the positions used here stay in bounds.

use super::format::FrameView;

pub(crate) trait Sampler {
    /// Whether `fetch` returns Y'CbCr that still needs conversion to RGB.
    const YUV: bool;
    fn fetch(&self, x: usize, y: usize) -> [f32; 3];
}

pub(crate) struct Packed<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub pixel: usize,
    pub offsets: [usize; 3],
}

impl Sampler for Packed<'_> {
    const YUV: bool = false;
    #[inline(always)]
    fn fetch(&self, x: usize, y: usize) -> [f32; 3] {
        let i = y * self.stride + x * self.pixel;
        [
            self.data[i + self.offsets[0]] as f32,
            self.data[i + self.offsets[1]] as f32,
            self.data[i + self.offsets[2]] as f32,
        ]
    }
}

pub(crate) struct Gray<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

impl Sampler for Gray<'_> {
    const YUV: bool = false;
    #[inline(always)]
    fn fetch(&self, x: usize, y: usize) -> [f32; 3] {
        let v = self.data[y * self.stride + x] as f32;
        [v, v, v]
    }
}

pub(crate) struct Nv12<'a> {
    pub luma: &'a [u8],
    pub luma_stride: usize,
    pub chroma: &'a [u8],
    pub chroma_stride: usize,
}

impl Sampler for Nv12<'_> {
    const YUV: bool = true;
    #[inline(always)]
    fn fetch(&self, x: usize, y: usize) -> [f32; 3] {
        let c = (y / 2) * self.chroma_stride + (x / 2) * 2;
        [
            self.luma[y * self.luma_stride + x] as f32,
            self.chroma[c] as f32,
            self.chroma[c + 1] as f32,
        ]
    }
}

pub(crate) struct I420<'a> {
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
}

impl Sampler for I420<'_> {
    const YUV: bool = true;
    #[inline(always)]
    fn fetch(&self, x: usize, y: usize) -> [f32; 3] {
        let (cx, cy) = (x / 2, y / 2);
        [
            self.planes[0][y * self.strides[0] + x] as f32,
            self.planes[1][cy * self.strides[1] + cx] as f32,
            self.planes[2][cy * self.strides[2] + cx] as f32,
        ]
    }
}

pub(crate) struct Yuy2<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

impl Sampler for Yuy2<'_> {
    const YUV: bool = true;
    #[inline(always)]
    fn fetch(&self, x: usize, y: usize) -> [f32; 3] {
        let row = y * self.stride;
        let pair = row + (x / 2) * 4;
        [
            self.data[row + x * 2] as f32,
            self.data[pair + 1] as f32,
            self.data[pair + 3] as f32,
        ]
    }
}

/// Calls `body` with the sampler that fits the frame's format, so the hot loop is
/// compiled once per format with the fetch inlined.
pub(crate) fn with_sampler<R>(frame: &FrameView<'_>, body: impl SamplerVisitor<Output = R>) -> R {
    use super::format::PixelFormat as F;
    match frame.format {
        F::Nv12 => body.visit(Nv12 {
            luma: frame.planes[0],
            luma_stride: frame.strides[0],
            chroma: frame.planes[1],
            chroma_stride: frame.strides[1],
        }),
        F::I420 => body.visit(I420 {
            planes: frame.planes,
            strides: frame.strides,
        }),
        F::Yuy2 => body.visit(Yuy2 {
            data: frame.planes[0],
            stride: frame.strides[0],
        }),
        F::Gray8 => body.visit(Gray {
            data: frame.planes[0],
            stride: frame.strides[0],
        }),
        packed => {
            let (offsets, pixel) = packed.rgb_layout().unwrap_or(([0, 1, 2], 3));
            body.visit(Packed {
                data: frame.planes[0],
                stride: frame.strides[0],
                pixel,
                offsets,
            })
        }
    }
}

pub(crate) trait SamplerVisitor {
    type Output;
    fn visit<S: Sampler>(self, sampler: S) -> Self::Output;
}
