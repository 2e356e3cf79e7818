//! Pixel formats the preprocessor reads, and a validated view of one mapped frame.

use std::fmt;

/// Raw video formats accepted by `imgclassify`; the names follow GStreamer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Nv12,
    I420,
    Yuy2,
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
    Xrgb,
    Xbgr,
    Argb,
    Abgr,
    Gray8,
    Nv21,
    Uyvy,
    Yvyu,
    /// Planar 4:2:2.
    Y42b,
    /// Planar 4:4:4.
    Y444,
    /// I420 with 10-bit samples in the low bits of little-endian 16-bit words.
    I420p10,
    /// NV12 with 10-bit samples in the high bits of little-endian 16-bit words.
    P010,
    /// Y444 with 10-bit samples in the low bits of little-endian 16-bit words.
    Y444p10,
    /// I420 with the chroma planes swapped: Y, V, U.
    Yv12,
}

impl PixelFormat {
    /// In the order the element's caps list them, which is the order of preference when
    /// a converter upstream has to choose: formats added later go last so that existing
    /// pipelines keep negotiating what they did.
    pub const ALL: [PixelFormat; 23] = [
        PixelFormat::Nv12,
        PixelFormat::I420,
        PixelFormat::Yuy2,
        PixelFormat::Rgb,
        PixelFormat::Bgr,
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Rgbx,
        PixelFormat::Bgrx,
        PixelFormat::Xrgb,
        PixelFormat::Xbgr,
        PixelFormat::Argb,
        PixelFormat::Abgr,
        PixelFormat::Gray8,
        PixelFormat::Nv21,
        PixelFormat::Uyvy,
        PixelFormat::Yvyu,
        PixelFormat::Y42b,
        PixelFormat::Y444,
        PixelFormat::I420p10,
        PixelFormat::P010,
        PixelFormat::Y444p10,
        PixelFormat::Yv12,
    ];

    /// GStreamer's name of the format, as used in caps strings.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Nv12 => "NV12",
            PixelFormat::I420 => "I420",
            PixelFormat::Yuy2 => "YUY2",
            PixelFormat::Rgb => "RGB",
            PixelFormat::Bgr => "BGR",
            PixelFormat::Rgba => "RGBA",
            PixelFormat::Bgra => "BGRA",
            PixelFormat::Rgbx => "RGBx",
            PixelFormat::Bgrx => "BGRx",
            PixelFormat::Xrgb => "xRGB",
            PixelFormat::Xbgr => "xBGR",
            PixelFormat::Argb => "ARGB",
            PixelFormat::Abgr => "ABGR",
            PixelFormat::Gray8 => "GRAY8",
            PixelFormat::Nv21 => "NV21",
            PixelFormat::Uyvy => "UYVY",
            PixelFormat::Yvyu => "YVYU",
            PixelFormat::Y42b => "Y42B",
            PixelFormat::Y444 => "Y444",
            PixelFormat::I420p10 => "I420_10LE",
            PixelFormat::P010 => "P010_10LE",
            PixelFormat::Y444p10 => "Y444_10LE",
            PixelFormat::Yv12 => "YV12",
        }
    }

    pub fn from_name(name: &str) -> Option<PixelFormat> {
        PixelFormat::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn is_yuv(self) -> bool {
        !matches!(self, PixelFormat::Gray8) && !self.is_rgb()
    }

    pub fn is_rgb(self) -> bool {
        self.rgb_layout().is_some()
    }

    /// Whether samples are 16-bit words holding 10 bits rather than bytes.
    pub fn is_10bit(self) -> bool {
        matches!(
            self,
            PixelFormat::I420p10 | PixelFormat::P010 | PixelFormat::Y444p10
        )
    }

    /// Byte offsets of R, G, B and the pixel size, for packed RGB-family formats.
    pub(crate) fn rgb_layout(self) -> Option<([usize; 3], usize)> {
        Some(match self {
            PixelFormat::Rgb => ([0, 1, 2], 3),
            PixelFormat::Bgr => ([2, 1, 0], 3),
            PixelFormat::Rgba | PixelFormat::Rgbx => ([0, 1, 2], 4),
            PixelFormat::Bgra | PixelFormat::Bgrx => ([2, 1, 0], 4),
            PixelFormat::Argb | PixelFormat::Xrgb => ([1, 2, 3], 4),
            PixelFormat::Abgr | PixelFormat::Xbgr => ([3, 2, 1], 4),
            _ => return None,
        })
    }

    /// For each plane: (bytes per row for `width`, number of rows for `height`).
    /// Subsampled planes round odd sizes up, as GStreamer's plane sizes do.
    pub fn plane_extents(self, width: usize, height: usize) -> Vec<(usize, usize)> {
        let cw = width.div_ceil(2);
        let ch = height.div_ceil(2);
        match self {
            PixelFormat::Nv12 | PixelFormat::Nv21 => vec![(width, height), (cw * 2, ch)],
            PixelFormat::I420 | PixelFormat::Yv12 => vec![(width, height), (cw, ch), (cw, ch)],
            PixelFormat::Yuy2 | PixelFormat::Uyvy | PixelFormat::Yvyu => vec![(cw * 4, height)],
            PixelFormat::Y42b => vec![(width, height), (cw, height), (cw, height)],
            PixelFormat::Y444 => vec![(width, height); 3],
            PixelFormat::I420p10 => vec![(width * 2, height), (cw * 2, ch), (cw * 2, ch)],
            PixelFormat::P010 => vec![(width * 2, height), (cw * 4, ch)],
            PixelFormat::Y444p10 => vec![(width * 2, height); 3],
            PixelFormat::Gray8 => vec![(width, height)],
            other => {
                let (_, px) = other.rgb_layout().unwrap_or(([0, 1, 2], 3));
                vec![(width * px, height)]
            }
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How Y'CbCr values map to RGB; ignored for RGB and GRAY formats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YuvMatrix {
    /// Luma weight of red (Kr) and blue (Kb): BT.601 0.299/0.114, BT.709 0.2126/0.0722.
    pub kr: f32,
    pub kb: f32,
    /// Limited ("TV", 16–235) range rather than full range.
    pub limited: bool,
}

impl YuvMatrix {
    pub const BT601: YuvMatrix = YuvMatrix {
        kr: 0.299,
        kb: 0.114,
        limited: true,
    };
    pub const BT709: YuvMatrix = YuvMatrix {
        kr: 0.2126,
        kb: 0.0722,
        limited: true,
    };
    pub const BT2020: YuvMatrix = YuvMatrix {
        kr: 0.2627,
        kb: 0.0593,
        limited: true,
    };
}

impl Default for YuvMatrix {
    fn default() -> Self {
        YuvMatrix::BT601
    }
}

/// A mapped frame: up to three planes with their strides, checked to be large enough
/// for `width` x `height` so the sampling loops cannot read out of bounds.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
    pub matrix: YuvMatrix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    Empty {
        width: usize,
        height: usize,
    },
    MissingPlane {
        format: PixelFormat,
        plane: usize,
    },
    StrideTooSmall {
        plane: usize,
        stride: usize,
        needed: usize,
    },
    PlaneTooSmall {
        plane: usize,
        len: usize,
        needed: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Empty { width, height } => {
                write!(
                    f,
                    "frame of {width}x{height} pixels has nothing to classify"
                )
            }
            FrameError::MissingPlane { format, plane } => {
                write!(f, "{format} frame lacks plane {plane}")
            }
            FrameError::StrideTooSmall {
                plane,
                stride,
                needed,
            } => write!(
                f,
                "plane {plane} has stride {stride} bytes but a row needs {needed}"
            ),
            FrameError::PlaneTooSmall { plane, len, needed } => write!(
                f,
                "plane {plane} holds {len} bytes but the frame needs {needed}"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

impl<'a> FrameView<'a> {
    /// Checks that every plane the format needs is present and large enough.
    pub fn new(
        format: PixelFormat,
        (width, height): (usize, usize),
        planes: &[&'a [u8]],
        strides: &[usize],
        matrix: YuvMatrix,
    ) -> Result<FrameView<'a>, FrameError> {
        if width == 0 || height == 0 {
            return Err(FrameError::Empty { width, height });
        }
        let mut view = FrameView {
            format,
            width,
            height,
            planes: [&[], &[], &[]],
            strides: [0; 3],
            matrix,
        };
        for (i, (row_bytes, rows)) in format.plane_extents(width, height).into_iter().enumerate() {
            let (Some(data), Some(&stride)) = (planes.get(i), strides.get(i)) else {
                return Err(FrameError::MissingPlane { format, plane: i });
            };
            if stride < row_bytes {
                return Err(FrameError::StrideTooSmall {
                    plane: i,
                    stride,
                    needed: row_bytes,
                });
            }
            // The last row need not be padded to the full stride.
            let needed = stride * (rows - 1) + row_bytes;
            if data.len() < needed {
                return Err(FrameError::PlaneTooSmall {
                    plane: i,
                    len: data.len(),
                    needed,
                });
            }
            view.planes[i] = data;
            view.strides[i] = stride;
        }
        Ok(view)
    }
}
