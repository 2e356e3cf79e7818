//! How frames become the model input and its output becomes scores.

use gst::glib;
use gst::prelude::*;

use super::*;

pub(super) fn properties() -> Vec<Property> {
    use glib::{ParamSpecEnum as Enum, ParamSpecString as Str};
    vec![
        prop(
            Enum::builder_with_default("resize-mode", ResizeMode::default())
                .nick("Resize mode")
                .blurb("How the frame is fitted to the model's input size")
                .mutable_playing()
                .build(),
            |s| s.frame.resize_mode.to_value(),
            |s, v| put(&mut s.frame.resize_mode, get(v)?),
        ),
        prop(
            Str::builder("output-name")
                .nick("Output name")
                .blurb(&read_at_ready("The model output holding class scores; empty = the first that fits"))
                .build(),
            |s| s.load.model.output_name.to_value(),
            |s, v| put(&mut s.load.model.output_name, optional("output-name", v)?),
        ),
        prop(
            Str::builder("input-mean")
                .nick("Input mean")
                .blurb(&read_at_ready("value = (pixel − mean) / std, pixels 0–255: one number or three, e.g. 127; empty = the model's metadata, else ImageNet"))
                .build(),
            |s| s.written.input_mean.to_value(),
            |s, v| set_normalisation(s, v, false),
        ),
        prop(
            Str::builder("input-std")
                .nick("Input standard deviation")
                .blurb(&read_at_ready("See input-mean; positive, one number or three, e.g. 128"))
                .build(),
            |s| s.written.input_std.to_value(),
            |s, v| set_normalisation(s, v, true),
        ),
        prop(
            Enum::builder_with_default("color-order", ColorOrder::Auto)
                .nick("Colour order")
                .blurb(&read_at_ready("Channel order the model wants: auto (its metadata, else RGB), rgb or bgr"))
                .build(),
            |s| color_order(s.load.model.normalisation.order).to_value(),
            |s, v| put(&mut s.load.model.normalisation.order, get::<ColorOrder>(v)?.into()),
        ),
        prop(
            Enum::builder_with_default("output-activation", OutputActivation::Auto)
                .nick("Output activation")
                .blurb(&read_at_ready("What turns the model's output into scores"))
                .build(),
            |s| requested_activation(s.load.model.activation).to_value(),
            |s, v| put(&mut s.load.model.activation, get::<OutputActivation>(v)?.into()),
        ),
    ]
}
