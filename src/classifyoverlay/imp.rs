//! GStreamer glue: properties, negotiation of `meta:GstVideoOverlayComposition`, and the
//! per-frame path meta → text lines → (cached) overlay → attach or blend.

use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::Position;
use super::layout::{self, RenderKey, Rgba};
use super::render::{self, Image, Style};
use crate::core::lock::lock;
use crate::property;
use crate::result::{Classification, Target};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "classifyoverlay",
        gst::DebugColorFlags::empty(),
        Some("Draws imgclassify labels on the video"),
    )
});

const OVERLAY_FEATURE: &glib::GStr = gst_video::CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION;

const DEFAULT_FONT_DESC: &str = "Sans 14";
const DEFAULT_TEXT_COLOR: u32 = 0xffff_ffff;
const DEFAULT_BACKGROUND_COLOR: u32 = 0xa000_0000;
const DEFAULT_SHOW_SCORES: bool = true;
const DEFAULT_MIN_SCORE: f64 = 0.0;

#[derive(Debug, Clone)]
struct Settings {
    font_desc: String,
    position: Position,
    text_color: u32,
    background_color: u32,
    show_scores: bool,
    min_score: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            font_desc: DEFAULT_FONT_DESC.to_string(),
            position: Position::default(),
            text_color: DEFAULT_TEXT_COLOR,
            background_color: DEFAULT_BACKGROUND_COLOR,
            show_scores: DEFAULT_SHOW_SCORES,
            min_score: DEFAULT_MIN_SCORE,
        }
    }
}

/// The last rendering, reused for every frame whose key is the same.
struct Rendered {
    key: RenderKey,
    /// None when the key has nothing to draw (no entry above `min-score`).
    composition: Option<gst_video::VideoOverlayComposition>,
}

#[derive(Default)]
struct State {
    info: Option<gst_video::VideoInfo>,
    /// Downstream takes `GstVideoOverlayCompositionMeta`: attach instead of blending.
    attach: bool,
    rendered: Option<Rendered>,
    renders: u64,
    warned_render: bool,
    warned_blend: bool,
}

#[derive(Default)]
pub struct ClassifyOverlay {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

fn has_overlay_feature(features: &gst::CapsFeaturesRef) -> bool {
    !features.is_any() && features.contains(OVERLAY_FEATURE)
}

/// Wraps rendered pixels as an overlay rectangle.
fn rectangle(image: Image) -> Result<gst_video::VideoOverlayRectangle, String> {
    let Image { rect, pixels } = image;
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    #[cfg(target_endian = "little")]
    let format = gst_video::VideoFormat::Bgra;
    #[cfg(target_endian = "big")]
    let format = gst_video::VideoFormat::Argb;
    gst_video::VideoMeta::add(
        buffer.make_mut(),
        gst_video::VideoFrameFlags::empty(),
        format,
        rect.width,
        rect.height,
    )
    .map_err(|e| e.to_string())?;
    Ok(gst_video::VideoOverlayRectangle::new_raw(
        &buffer,
        rect.x,
        rect.y,
        rect.width,
        rect.height,
        gst_video::VideoOverlayFormatFlags::PREMULTIPLIED_ALPHA,
    ))
}

/// Wraps rendered images as one composition, drawn in their order (later ones on top).
fn composition(images: Vec<Image>) -> Result<Option<gst_video::VideoOverlayComposition>, String> {
    let rectangles = images
        .into_iter()
        .map(rectangle)
        .collect::<Result<Vec<_>, _>>()?;
    if rectangles.is_empty() {
        return Ok(None);
    }
    gst_video::VideoOverlayComposition::new(&rectangles)
        .map(Some)
        .map_err(|e| e.to_string())
}

impl ClassifyOverlay {
    /// Asks downstream, with the caps we would output, whether it takes the
    /// overlay composition meta (the ALLOCATION query lists the meta API).
    fn downstream_takes_meta(&self, caps: &gst::Caps) -> bool {
        let mut query = gst::query::Allocation::new(Some(caps), false);
        if !self.obj().src_pad().peer_query(&mut query) {
            gst::debug!(CAT, imp = self, "ALLOCATION query for {} failed", caps);
            return false;
        }
        let takes = query
            .find_allocation_meta::<gst_video::VideoOverlayCompositionMeta>()
            .is_some();
        gst::debug!(
            CAT,
            imp = self,
            "downstream {} GstVideoOverlayCompositionMeta",
            if takes { "takes" } else { "does not take" }
        );
        takes
    }

    /// Draws `key` (pango + cairo) into a composition: each region's outline and label
    /// box, then the top-k box on top. `Ok(None)` when there is nothing to draw.
    fn render(
        &self,
        key: &RenderKey,
    ) -> Result<Option<gst_video::VideoOverlayComposition>, String> {
        let style = Style {
            font_desc: key.font_desc.clone(),
            corner: key.corner,
            text: Rgba::from_argb(key.text_color),
            background: Rgba::from_argb(key.background_color),
        };
        let (width, height) = (key.frame_width, key.frame_height);
        let started = Instant::now();
        let mut images = Vec::new();
        let thickness = layout::outline_width(height);
        for region in &key.regions {
            for band in layout::outline(region.rect, thickness) {
                images.push(render::fill(band, style.text));
            }
            images.extend(render::render_region_label(
                &region.label,
                region.rect,
                &style,
                width,
                height,
            )?);
        }
        let top_k = render::render(&key.lines, &style, width, height)?;
        let top_k_rect = top_k.as_ref().map(|image| image.rect);
        images.extend(top_k);
        let composition = composition(images)?;
        gst::debug!(
            CAT,
            imp = self,
            "rendered {} lines (box {:?}) and {} regions into {} rectangles in {} µs",
            key.lines.len(),
            top_k_rect,
            key.regions.len(),
            composition.as_ref().map_or(0, |c| c.n_rectangles()),
            started.elapsed().as_micros()
        );
        Ok(composition)
    }

    fn attach(&self, buf: &mut gst::BufferRef, composition: &gst_video::VideoOverlayComposition) {
        // An overlay already on the buffer keeps its rectangles; ours goes on top.
        if let Some(mut meta) = buf.meta_mut::<gst_video::VideoOverlayCompositionMeta>() {
            let mut merged = meta.overlay_owned();
            {
                let merged = merged.make_mut();
                for rectangle in composition.iter() {
                    merged.add_rectangle(&rectangle);
                }
            }
            meta.set_overlay(&merged);
        } else {
            gst_video::VideoOverlayCompositionMeta::add(buf, composition);
        }
    }

    fn blend(
        &self,
        buf: &mut gst::BufferRef,
        info: &gst_video::VideoInfo,
        composition: &gst_video::VideoOverlayComposition,
    ) -> Result<(), String> {
        let started = Instant::now();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buf, info)
            .map_err(|_| "the buffer could not be mapped as a writable video frame".to_string())?;
        composition.blend(&mut frame).map_err(|e| e.to_string())?;
        gst::trace!(
            CAT,
            imp = self,
            "blended in {} µs",
            started.elapsed().as_micros()
        );
        Ok(())
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ClassifyOverlay {
    const NAME: &'static str = "GstClassifyOverlay";
    type Type = super::ClassifyOverlay;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ClassifyOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("font-desc")
                    .nick("Font description")
                    .blurb("Pango font of the labels, e.g. 'Sans Bold 14' or 'Monospace 20px'; the size is for a 480-line frame and grows with taller frames (1080p: x2.25)")
                    .default_value(Some(DEFAULT_FONT_DESC))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("position", Position::default())
                    .nick("Position")
                    .blurb("Frame corner of the label box")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("text-color")
                    .nick("Text colour")
                    .blurb("Colour of the labels as 0xAARRGGBB (alpha in the top byte)")
                    .default_value(DEFAULT_TEXT_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("background-color")
                    .nick("Background colour")
                    .blurb("Colour of the box behind the labels as 0xAARRGGBB; the default is black at 63% opacity, 0 removes the box")
                    .default_value(DEFAULT_BACKGROUND_COLOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-scores")
                    .nick("Show scores")
                    .blurb("Write each label's probability as a whole percentage after it")
                    .default_value(DEFAULT_SHOW_SCORES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-score")
                    .nick("Minimum score")
                    .blurb("Labels with a lower probability are not drawn, nor regions whose best label is below it; when nothing is left, the frame passes untouched")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_SCORE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("renders")
                    .nick("Renders")
                    .blurb("How many times the labels (and region boxes) were drawn with pango/cairo since the element started; frames whose shown text, regions, properties and size are unchanged reuse the last drawing")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "font-desc" => match property::text(value) {
                Ok(font) => {
                    s.font_desc = font
                        .filter(|f| !f.trim().is_empty())
                        .unwrap_or_else(|| DEFAULT_FONT_DESC.to_string())
                }
                Err(e) => {
                    drop(s);
                    property::refuse(
                        self.obj().upcast_ref(),
                        *CAT,
                        &e.message("font-desc", false),
                    );
                }
            },
            "position" => s.position = value.get().unwrap_or_default(),
            "text-color" => s.text_color = value.get().unwrap_or(DEFAULT_TEXT_COLOR),
            "background-color" => {
                s.background_color = value.get().unwrap_or(DEFAULT_BACKGROUND_COLOR)
            }
            "show-scores" => s.show_scores = value.get().unwrap_or(DEFAULT_SHOW_SCORES),
            "min-score" => s.min_score = value.get().unwrap_or(DEFAULT_MIN_SCORE),
            name => gst::warning!(CAT, imp = self, "unknown property '{}'", name),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "font-desc" => s.font_desc.to_value(),
            "position" => s.position.to_value(),
            "text-color" => s.text_color.to_value(),
            "background-color" => s.background_color.to_value(),
            "show-scores" => s.show_scores.to_value(),
            "min-score" => s.min_score.to_value(),
            "renders" => lock(&self.state).renders.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for ClassifyOverlay {}

impl ElementImpl for ClassifyOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Classification overlay",
                "Filter/Editor/Video",
                "Draws the labels of ImgClassifyMeta (from imgclassify) in a box on the video and \
                 outlines classified regions with their labels, or attaches them as GstVideoOverlayCompositionMeta when downstream draws overlays",
                "imgclassify developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = crate::pads::raw_video(None);
            let mut src = crate::pads::raw_video(None);
            {
                let src = src.make_mut();
                let sysmem = gst::CAPS_FEATURE_MEMORY_SYSTEM_MEMORY;
                src.append(crate::pads::raw_video(Some(&[sysmem, OVERLAY_FEATURE])));
                src.append(crate::pads::raw_video(Some(&[OVERLAY_FEATURE])));
            }
            [
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &src,
                ),
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &sink,
                ),
            ]
            .into_iter()
            .filter_map(Result::ok)
            .collect()
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for ClassifyOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = State::default();
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Keep the count readable after the pipeline stopped; drop the rest.
        let mut state = lock(&self.state);
        let renders = state.renders;
        *state = State {
            renders,
            ..State::default()
        };
        Ok(())
    }

    /// Downstream of us, every input caps can also carry the overlay meta (offered first);
    /// upstream of us, the overlay feature is removed.
    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        if caps.is_any() {
            return Some(caps.clone());
        }
        let sysmem = || gst::CapsFeatures::new([gst::CAPS_FEATURE_MEMORY_SYSTEM_MEMORY]);
        let mut out = gst::Caps::new_empty();
        {
            if direction == gst::PadDirection::Sink {
                for (s, f) in caps.iter_with_features() {
                    if f.is_any() {
                        continue;
                    }
                    let mut with_meta = f.to_owned();
                    with_meta.add(OVERLAY_FEATURE);
                    out.merge_structure_full(s.to_owned(), Some(with_meta));
                    if f.is_equal(&sysmem()) {
                        out.merge_structure_full(
                            s.to_owned(),
                            Some(gst::CapsFeatures::new([OVERLAY_FEATURE])),
                        );
                    }
                }
                for (s, f) in caps.iter_with_features() {
                    out.merge_structure_full(s.to_owned(), Some(f.to_owned()));
                }
            } else {
                for (s, f) in caps.iter_with_features() {
                    let mut features = if f.is_any() { sysmem() } else { f.to_owned() };
                    features.remove(OVERLAY_FEATURE);
                    if features.is_empty() {
                        features = sysmem();
                    }
                    out.merge_structure_full(s.to_owned(), Some(features));
                }
            }
        }
        gst::trace!(CAT, imp = self, "{:?}: {} -> {}", direction, caps, out);
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&out, gst::CapsIntersectMode::First),
            None => out,
        })
    }

    /// Picks caps with the overlay meta only when downstream also lists the meta in its
    /// ALLOCATION answer (or accepts nothing else); otherwise plain caps, and we blend.
    fn fixate_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        othercaps: gst::Caps,
    ) -> gst::Caps {
        if direction != gst::PadDirection::Sink {
            return self.parent_fixate_caps(direction, caps, othercaps);
        }
        let mut featured = gst::Caps::new_empty();
        let mut plain = gst::Caps::new_empty();
        for (s, f) in othercaps.iter_with_features() {
            let target = if has_overlay_feature(f) {
                featured.make_mut()
            } else {
                plain.make_mut()
            };
            target.append_structure_full(s.to_owned(), Some(f.to_owned()));
        }
        if featured.is_empty() || plain.is_empty() {
            return self.parent_fixate_caps(direction, caps, othercaps);
        }
        let candidate = self.parent_fixate_caps(direction, caps, featured);
        if self.downstream_takes_meta(&candidate) {
            candidate
        } else {
            self.parent_fixate_caps(direction, caps, plain)
        }
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "caps {} are not raw video", incaps))?;
        let attach = outcaps.features(0).is_some_and(has_overlay_feature);
        gst::info!(
            CAT,
            imp = self,
            "{} {}x{}: {}",
            info.format(),
            info.width(),
            info.height(),
            if attach {
                "attaching GstVideoOverlayCompositionMeta"
            } else {
                "blending into the frames"
            }
        );
        let mut state = lock(&self.state);
        state.info = Some(info);
        state.attach = attach;
        state.warned_blend = false;
        Ok(())
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let results = Classification::all_from_buffer(buf);
        if results.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let settings = lock(&self.settings).clone();
        let mut state = lock(&self.state);
        let Some(info) = state.info.clone() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["no caps negotiated"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        let blocks: Vec<(String, Vec<String>)> = results
            .iter()
            .map(|r| {
                let lines = layout::lines(
                    &r.labels,
                    &r.scores,
                    settings.show_scores,
                    settings.min_score,
                );
                (r.classifier.clone(), lines)
            })
            .collect();
        let region_settings = layout::RegionSettings {
            show_scores: settings.show_scores,
            min_score: settings.min_score,
            frame_width: info.width(),
            frame_height: info.height(),
        };
        let key = RenderKey {
            lines: layout::stacked_lines(&blocks),
            font_desc: settings.font_desc,
            corner: settings.position.into(),
            text_color: settings.text_color,
            background_color: settings.background_color,
            frame_width: info.width(),
            frame_height: info.height(),
            regions: layout::merged_regions(results.iter().flat_map(|result| {
                result.regions.iter().filter_map(|r| {
                    let (labels, scores) = (&r.labels, &r.scores);
                    let shown = if result.target == Target::Zones {
                        layout::zone_box(&r.roi_type, r.rect, labels, scores, &region_settings)
                    } else {
                        layout::region_box(r.rect, labels, scores, &region_settings)
                    }?;
                    Some((r.roi_id, shown))
                })
            })),
        };
        if state.rendered.as_ref().map(|r| &r.key) != Some(&key) {
            let composition = if key.is_empty() {
                None
            } else {
                state.renders += 1;
                match self.render(&key) {
                    Ok(c) => c,
                    Err(why) => {
                        if !state.warned_render {
                            state.warned_render = true;
                            gst::element_imp_warning!(
                                self,
                                gst::LibraryError::Failed,
                                ("cannot draw the labels: {}", why),
                                ["frames pass through without labels"]
                            );
                        }
                        None
                    }
                }
            };
            state.rendered = Some(Rendered { key, composition });
        }
        let Some(composition) = state.rendered.as_ref().and_then(|r| r.composition.clone()) else {
            return Ok(gst::FlowSuccess::Ok);
        };
        if state.attach {
            drop(state);
            self.attach(buf, &composition);
        } else {
            drop(state);
            if let Err(why) = self.blend(buf, &info, &composition) {
                let mut state = lock(&self.state);
                if !state.warned_blend {
                    state.warned_blend = true;
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Format,
                        ("cannot draw the labels into the frame: {}", why),
                        ["frames pass through without labels"]
                    );
                }
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
