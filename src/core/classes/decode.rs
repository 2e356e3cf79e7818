//! Example photos → RGB pixels, upright: JPEG and PNG through the `image` crate, with
//! the EXIF orientation a camera wrote applied, as photo viewers show them.
//!
//! An image's header says how large it is before a pixel is decoded, and a few hundred
//! bytes can claim 100000×100000 pixels: the size is checked against the limits below
//! before anything is allocated for the pixels. Neither decoder in the `image` crate
//! (0.25, zune-jpeg 0.5) can decode a JPEG at a reduced scale, so a large photo is
//! decoded whole and the preprocessing scales it down.

use std::io::{BufReader, Cursor};

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

/// Larger files are refused: an example photo is a few megabytes.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The most pixels a side: twice a 32-megapixel camera's long side.
pub const MAX_SIDE: u32 = 16384;

/// The most pixels in all, 64 megapixels (8192×8192): more than a phone or a DSLR takes.
pub const MAX_PIXELS: u64 = 64 << 20;

/// The most bytes a decoder may allocate: 64 megapixels at 8 bytes each (16-bit RGBA,
/// the widest PNG), so the pixel limit, not this one, is what a photo meets first.
pub const MAX_DECODED_BYTES: u64 = MAX_PIXELS * 8;

/// An upright 8-bit RGB image, rows packed (stride = 3 × width).
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Why `width`×`height` is refused, or None if it fits the limits.
fn too_large(width: u32, height: u32) -> Option<String> {
    let fits = width <= MAX_SIDE
        && height <= MAX_SIDE
        && u64::from(width) * u64::from(height) <= MAX_PIXELS;
    (!fits).then(|| {
        format!(
            "is {width}x{height} pixels, more than an example photo may have ({MAX_SIDE} a \
             side, {} megapixels); scale it down",
            MAX_PIXELS >> 20
        )
    })
}

/// Decodes a JPEG or PNG file's bytes; the error says why it is no usable image and what
/// to do about it.
pub fn decode(bytes: &[u8]) -> Result<Rgb, String> {
    let bad = |e: image::ImageError| format!("{e}; use JPEG or PNG photos");
    let mut reader = ImageReader::new(BufReader::new(Cursor::new(bytes)))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a JPEG or PNG image; use JPEG or PNG photos".to_string());
    }
    // The sides are checked below, with a message of our own; the allocation limit
    // also bounds what the PNG decoder allocates for itself.
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(bad)?;
    let (width, height) = decoder.dimensions();
    if let Some(why) = too_large(width, height) {
        return Err(why);
    }
    // `from_decoder` allocates the whole image without asking the limits; within the
    // sides and pixels above that is at most MAX_DECODED_BYTES.
    // A missing or unreadable EXIF block leaves the image as stored.
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(bad)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let rgb = image.into_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    if width == 0 || height == 0 {
        return Err("the image has no pixels".to_string());
    }
    Ok(Rgb {
        width,
        height,
        pixels: rgb.into_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 5) as u8 * 50, 0, 0]));
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
            .expect("encode");
        out
    }

    #[test]
    fn png_decodes_to_packed_rgb() {
        let rgb = decode(&png(3, 2)).expect("decodes");
        assert_eq!((rgb.width, rgb.height), (3, 2));
        assert_eq!(&rgb.pixels[..9], &[0, 0, 0, 50, 0, 0, 100, 0, 0]);
    }

    #[test]
    fn text_and_truncated_files_are_refused() {
        assert_eq!(
            decode(b"just some notes").expect_err("text"),
            "not a JPEG or PNG image; use JPEG or PNG photos"
        );
        let whole = png(16, 16);
        assert!(decode(&whole[..whole.len() / 2]).is_err());
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise" comes out turned: 2x1 stored,
    /// 1x2 shown.
    #[test]
    fn exif_orientation_is_applied() {
        let img = RgbImage::from_fn(2, 1, |x, _| image::Rgb([x as u8 * 255; 3]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .expect("encode");
        // APP1 Exif, big-endian TIFF, one IFD entry: Orientation (0x0112) = 6.
        let tiff: [u8; 26] = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0,
        ];
        let mut app1 = vec![0xFF, 0xE1];
        let len = (2 + 6 + tiff.len()) as u16;
        app1.extend(len.to_be_bytes());
        app1.extend(b"Exif\0\0");
        app1.extend(tiff);
        let mut with_exif = jpeg[..2].to_vec();
        with_exif.extend(app1);
        with_exif.extend(&jpeg[2..]);
        let plain = decode(&jpeg).expect("decodes");
        assert_eq!((plain.width, plain.height), (2, 1));
        let turned = decode(&with_exif).expect("decodes");
        assert_eq!((turned.width, turned.height), (1, 2));
    }

    /// A small PNG whose header claims `width`×`height`, with a valid header checksum,
    /// so only its size is wrong.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        // Signature (8), IHDR length (4) and type (4), then width and height.
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32fast::hash(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    /// A small JPEG whose frame header claims `width`×`height`.
    fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
        let img = RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([(x * 16) as u8, (y * 16) as u8, 0])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90)
            .encode_image(&img)
            .expect("encode");
        let sof = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline frame header");
        bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    }

    /// A few hundred bytes claiming 100000×100000 pixels took 30 GB and aborted the
    /// process; now the size is refused before any pixel is allocated.
    #[test]
    fn images_claiming_a_huge_size_are_refused_before_decoding() {
        let why = |bytes: &[u8]| decode(bytes).expect_err("too large");
        assert_eq!(
            why(&png_claiming(100_000, 100_000)),
            "is 100000x100000 pixels, more than an example photo may have (16384 a side, \
             64 megapixels); scale it down"
        );
        assert!(why(&png_claiming(16385, 1)).starts_with("is 16385x1 pixels, more than"));
        // Each side allowed, but 256 megapixels in all.
        assert!(why(&png_claiming(16384, 16384)).starts_with("is 16384x16384 pixels"));
        assert!(why(&jpeg_claiming(65000, 65000)).starts_with("is 65000x65000 pixels"));
        assert!(why(&jpeg_claiming(8193, 8192)).starts_with("is 8193x8192 pixels"));
    }

    /// The limits are inclusive: 8192x8192 and 16384x4096 are 64 megapixels exactly.
    /// (Checked on the sizes alone: decoding 64 megapixels takes half a minute unoptimised.)
    #[test]
    fn sizes_at_the_limits_are_decoded() {
        for (w, h) in [(8192, 8192), (16384, 4096), (1, 16384), (16, 16)] {
            assert_eq!(too_large(w, h), None, "{w}x{h}");
        }
        for (w, h) in [
            (16385, 1),
            (8193, 8192),
            (16384, 4097),
            (u32::MAX, u32::MAX),
        ] {
            assert!(too_large(w, h).is_some(), "{w}x{h}");
        }
        assert_eq!(
            decode(&jpeg_claiming(16, 16)).map(|rgb| (rgb.width, rgb.height)),
            Ok((16, 16))
        );
    }
}
