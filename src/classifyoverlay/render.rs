//! Draws the label box with pango and cairo into premultiplied ARGB pixels. No GStreamer
//! here: `imp.rs` wraps the pixels into a `GstVideoOverlayRectangle`.

use pango::prelude::*;

use super::layout::{self, Corner, Rect, Rgba};

/// Size used when `font-desc` names no size, in points (for a 480-line frame).
pub const DEFAULT_FONT_SIZE: i32 = 14;

/// How the box looks.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    pub font_desc: String,
    pub corner: Corner,
    pub text: Rgba,
    pub background: Rgba,
}

/// One rendered box: `rect` in frame coordinates and its pixels, `rect.width` × `rect.height`,
/// rows of `rect.width * 4` bytes, in cairo's ARGB32 layout (a native-endian u32
/// 0xAARRGGBB, premultiplied alpha): GStreamer's BGRA on little-endian machines, ARGB on
/// big-endian ones.
#[derive(Debug, Clone)]
pub struct Image {
    pub rect: Rect,
    pub pixels: Vec<u8>,
}

/// The font of `font_desc` with its size scaled for a frame `frame_height` lines tall.
pub fn scaled_font(font_desc: &str, frame_height: u32) -> pango::FontDescription {
    let mut font = pango::FontDescription::from_string(font_desc);
    let scale = layout::font_scale(frame_height);
    let size = match font.size() {
        s if s > 0 => f64::from(s),
        _ => f64::from(DEFAULT_FONT_SIZE * pango::SCALE),
    };
    if font.is_size_absolute() {
        font.set_absolute_size(size * scale);
    } else {
        font.set_size((size * scale).round().min(f64::from(i32::MAX)) as i32);
    }
    font
}

/// Renders `lines` (one per entry, best first) as a box anchored in `style.corner` of a
/// `frame_width`×`frame_height` frame. `Ok(None)` when there is nothing to draw or the
/// frame has no room for it.
pub fn render(
    lines: &[String],
    style: &Style,
    frame_width: u32,
    frame_height: u32,
) -> Result<Option<Image>, String> {
    text_box(lines, style, frame_width, frame_height, |width, height| {
        layout::place(style.corner, frame_width, frame_height, width, height)
    })
}

/// Renders the one-line `label` of a region outlined at `region` as a small box at the
/// region's top-left corner, kept inside the frame (`layout::place_region_label`).
pub fn render_region_label(
    label: &str,
    region: Rect,
    style: &Style,
    frame_width: u32,
    frame_height: u32,
) -> Result<Option<Image>, String> {
    let lines = [label.to_string()];
    text_box(&lines, style, frame_width, frame_height, |width, height| {
        layout::place_region_label(region, width, height, frame_width, frame_height)
    })
}

/// A `rect` filled with `colour` (for region outlines).
pub fn fill(rect: Rect, colour: Rgba) -> Image {
    let premultiply = |c: f64| (c * colour.a * 255.0).round() as u32;
    let argb = ((colour.a * 255.0).round() as u32) << 24
        | premultiply(colour.r) << 16
        | premultiply(colour.g) << 8
        | premultiply(colour.b);
    let pixels = argb
        .to_ne_bytes()
        .repeat(rect.width as usize * rect.height as usize);
    Image { rect, pixels }
}

/// `text` laid out in `font`, left to right whatever script it starts with: a line is a
/// label followed by its score, and a right-to-left label (isolated by
/// `layout::entry_text`) must not put the score first.
fn text_layout(font: &pango::FontDescription, text: &str) -> pango::Layout {
    // The thread's default font map: fonts stay loaded between renderings.
    let fontmap = pangocairo::FontMap::default();
    let context = fontmap.create_context();
    context.set_base_dir(pango::Direction::Ltr);
    let layout = pango::Layout::new(&context);
    layout.set_auto_dir(false);
    layout.set_font_description(Some(font));
    layout.set_text(text);
    layout
}

/// Lays out `lines` in the style's font, sizes a box around them (`layout::box_size`),
/// asks `place` where a box of that size goes and draws it.
fn text_box(
    lines: &[String],
    style: &Style,
    frame_width: u32,
    frame_height: u32,
    place: impl FnOnce(u32, u32) -> Rect,
) -> Result<Option<Image>, String> {
    if lines.is_empty() {
        return Ok(None);
    }
    let text = text_layout(
        &scaled_font(&style.font_desc, frame_height),
        &lines.join("\n"),
    );
    let (_, logical) = text.pixel_extents();
    let line_height = logical.height().max(1) as u32 / lines.len() as u32;
    let padding = (line_height / 4).max(2);
    let Some((width, height)) = layout::box_size(
        logical.width().max(0) as u32,
        logical.height().max(0) as u32,
        padding,
        frame_width,
        frame_height,
    ) else {
        return Ok(None);
    };
    let rect = place(width, height);

    let too_big = |_| format!("a {width}x{height} label box is too large");
    let mut surface = cairo::ImageSurface::create(
        cairo::Format::ARgb32,
        i32::try_from(width).map_err(too_big)?,
        i32::try_from(height).map_err(too_big)?,
    )
    .map_err(|e| format!("cannot create a {width}x{height} cairo surface: {e}"))?;
    {
        let cr = cairo::Context::new(&surface).map_err(|e| format!("cairo: {e}"))?;
        let bg = style.background;
        cr.set_operator(cairo::Operator::Source);
        cr.set_source_rgba(bg.r, bg.g, bg.b, bg.a);
        cr.paint().map_err(|e| format!("cairo: {e}"))?;
        cr.set_operator(cairo::Operator::Over);
        let fg = style.text;
        cr.set_source_rgba(fg.r, fg.g, fg.b, fg.a);
        pangocairo::functions::update_layout(&cr, &text);
        cr.move_to(
            f64::from(padding as i32 - logical.x()),
            f64::from(padding as i32 - logical.y()),
        );
        pangocairo::functions::show_layout(&cr, &text);
    }
    surface.flush();
    let stride = usize::try_from(surface.stride()).map_err(|_| "negative cairo stride")?;
    let row = width as usize * 4;
    let data = surface
        .data()
        .map_err(|e| format!("cannot read the cairo surface: {e}"))?;
    let mut pixels = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        pixels.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    Ok(Some(Image { rect, pixels }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(corner: Corner) -> Style {
        Style {
            font_desc: "Sans 14".into(),
            corner,
            text: Rgba::from_argb(0xffffffff),
            background: Rgba::from_argb(0x80000000),
        }
    }

    fn argb(image: &Image, x: u32, y: u32) -> u32 {
        let i = (y * image.rect.width + x) as usize * 4;
        u32::from_ne_bytes(image.pixels[i..i + 4].try_into().unwrap())
    }

    #[test]
    fn draws_text_on_the_background() {
        let lines = vec!["espresso  99%".to_string(), "cup  1%".to_string()];
        let image = render(&lines, &style(Corner::TopRight), 640, 480)
            .unwrap()
            .unwrap();
        let r = image.rect;
        assert_eq!(image.pixels.len(), (r.width * r.height * 4) as usize);
        assert!(r.width > 60 && r.height > 20, "{r:?}");
        assert_eq!((r.width % 2, r.height % 2, r.x % 2, r.y % 2), (0, 0, 0, 0));
        assert_eq!(r.x as u32 + r.width, 640 - 10);
        assert_eq!(r.y, 10);
        // Corners are pure background (premultiplied 50% black); the text is white.
        assert_eq!(argb(&image, 0, 0), 0x80000000);
        assert_eq!(argb(&image, r.width - 1, r.height - 1), 0x80000000);
        let white = (0..r.height)
            .flat_map(|y| (0..r.width).map(move |x| (x, y)))
            .filter(|&(x, y)| argb(&image, x, y) == 0xffffffff)
            .count();
        assert!(white > 50, "{white} white pixels");
    }

    #[test]
    fn the_box_grows_with_the_frame_height() {
        let lines = vec!["espresso  99%".to_string()];
        let small = render(&lines, &style(Corner::TopLeft), 640, 480)
            .unwrap()
            .unwrap();
        let large = render(&lines, &style(Corner::TopLeft), 1920, 1080)
            .unwrap()
            .unwrap();
        let ratio = f64::from(large.rect.height) / f64::from(small.rect.height);
        assert!((2.0..2.5).contains(&ratio), "{ratio}");
    }

    #[test]
    fn nothing_to_draw() {
        assert!(
            render(&[], &style(Corner::TopLeft), 640, 480)
                .unwrap()
                .is_none()
        );
        let lines = vec!["x".to_string()];
        assert!(
            render(&lines, &style(Corner::TopLeft), 1, 1)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_font_without_size_gets_the_default() {
        let font = scaled_font("Sans", 480);
        assert_eq!(font.size(), DEFAULT_FONT_SIZE * pango::SCALE);
        let font = scaled_font("Serif Bold 10", 960);
        assert_eq!(font.size(), 20 * pango::SCALE);
        let font = scaled_font("Sans 20px", 960);
        assert!(font.is_size_absolute());
        assert_eq!(font.size(), 40 * pango::SCALE);
    }

    #[test]
    fn region_labels_are_one_line_at_the_region_corner() {
        let region = Rect {
            x: 100,
            y: 80,
            width: 200,
            height: 150,
        };
        let image = render_region_label("tabby  62%", region, &style(Corner::TopRight), 640, 480)
            .unwrap()
            .unwrap();
        let r = image.rect;
        assert_eq!((r.x, r.y), (100, 80));
        assert!(r.width > 40 && r.height > 10 && r.height < 40, "{r:?}");
        assert_eq!(argb(&image, 0, 0), 0x80000000);
        // At the bottom-right corner of the frame the label moves inside.
        let corner = Rect {
            x: 630,
            y: 470,
            width: 10,
            height: 10,
        };
        let image = render_region_label("tabby  62%", corner, &style(Corner::TopLeft), 640, 480)
            .unwrap()
            .unwrap();
        let r = image.rect;
        assert_eq!(
            (r.x as u32 + r.width, r.y as u32 + r.height),
            (640, 480),
            "{r:?}"
        );
    }

    /// The x of the character at byte `index` of `text` as pango lays it out.
    fn x_of(text: &str, index: usize) -> i32 {
        text_layout(&scaled_font("Sans 14", 480), text)
            .index_to_pos(index as i32)
            .x()
    }

    #[test]
    fn a_label_does_not_turn_its_percentage_around() {
        // An override, and right-to-left letters, in front of the score.
        for label in ["cup\u{202E}", "\u{5e7}\u{5e4}\u{5d4}"] {
            let text = layout::entry_text(label, 0.62, true);
            let six = text.rfind("62%").expect("the score");
            let (six, two, percent) =
                (x_of(&text, six), x_of(&text, six + 1), x_of(&text, six + 2));
            assert!(
                six < two && two < percent,
                "{label:?}: 6 at {six}, 2 at {two}, % at {percent}"
            );
            let rightmost = text
                .char_indices()
                .map(|(i, _)| x_of(&text, i))
                .max()
                .unwrap_or(0);
            assert_eq!(percent, rightmost, "{label:?}: the score is not last");
        }
        // The override draws nothing at all.
        let drawn = |label| {
            render(
                &[layout::entry_text(label, 0.62, true)],
                &style(Corner::TopLeft),
                640,
                480,
            )
            .unwrap()
            .unwrap()
            .pixels
        };
        assert!(drawn("cup\u{202E}") == drawn("cup"));
    }

    #[test]
    fn fills_are_premultiplied() {
        let rect = Rect {
            x: 2,
            y: 2,
            width: 3,
            height: 2,
        };
        let image = fill(rect, Rgba::from_argb(0xffffffff));
        assert_eq!(image.pixels.len(), 3 * 2 * 4);
        assert_eq!(argb(&image, 2, 1), 0xffffffff);
        let image = fill(rect, Rgba::from_argb(0x80ff0000));
        assert_eq!(argb(&image, 0, 0), 0x80800000);
    }
}
