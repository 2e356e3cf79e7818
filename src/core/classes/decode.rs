//! Example photos → RGB pixels, upright: JPEG and PNG through the `image` crate, with
//! the EXIF orientation a camera wrote applied, as photo viewers show them.

use std::io::{BufReader, Cursor};

use image::{DynamicImage, ImageDecoder, ImageReader};

/// Larger files are refused: an example photo is a few megabytes.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// An upright 8-bit RGB image, rows packed (stride = 3 × width).
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Decodes a JPEG or PNG file's bytes; the error says why it is no usable image.
pub fn decode(bytes: &[u8]) -> Result<Rgb, String> {
    let reader = ImageReader::new(BufReader::new(Cursor::new(bytes)))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not a JPEG or PNG image".to_string());
    }
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    // A missing or unreadable EXIF block leaves the image as stored.
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
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
            "not a JPEG or PNG image"
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
}
