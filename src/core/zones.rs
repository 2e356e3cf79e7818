//! The `zones` property: fixed, named rectangles of the frame to classify without a
//! detector (`target=zones`). Plain parsing and clipping, so every rule is unit-tested
//! without GStreamer.
//!
//! The value is `NAME:X,Y,W,H;NAME:X,Y,W,H;…` in frame pixels. Blanks around each part
//! are ignored, and so is an empty entry (a trailing `;`). X and Y may be negative (a zone
//! partly left of or above the frame); W and H must be positive. At most [`MAX_ZONES`]
//! zones.

use std::collections::HashSet;

use crate::core::preprocess::Region;
use crate::core::regions::RegionInput;

/// Most zones one value may hold. Each zone is an inference on every classified frame,
/// and the property is parsed while the element's settings are locked (the streaming
/// thread waits for them): a bound keeps both short.
pub const MAX_ZONES: usize = 256;

/// One zone as the user drew it, in frame pixels; it may reach outside the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub name: String,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// Why a `zones` value was refused; each names the entry (or the part of it) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("'{0}' has no name (write NAME:X,Y,W,H)")]
    MissingName(String),
    #[error("'{0}' is not NAME:X,Y,W,H")]
    NotNameAndRect(String),
    #[error("zone '{name}': '{rect}' is not four numbers X,Y,W,H")]
    NotFourNumbers { name: String, rect: String },
    #[error("zone '{name}': '{part}' is not a number")]
    NotANumber { name: String, part: String },
    #[error("zone '{name}': {what} {value} is not positive")]
    NotPositive {
        name: String,
        what: &'static str,
        value: i64,
    },
    #[error("zone '{0}' is named twice")]
    Duplicate(String),
    #[error("{count} zones, more than the {cap} allowed; merge zones or use several elements")]
    TooMany { count: usize, cap: usize },
}

/// The zones of one `zones` value, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zones {
    pub zones: Vec<Zone>,
}

/// What `Zones::inputs` gives for one frame size: the zones to classify, clipped to the
/// frame, and the names of those with no pixel in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub inputs: Vec<RegionInput>,
    pub outside: Vec<String>,
}

impl Zones {
    /// Parses a `zones` value; the empty string is no zone. Linear in the text: more
    /// than [`MAX_ZONES`] entries are counted, not parsed.
    pub fn parse(text: &str) -> Result<Zones, ZoneError> {
        let entries = text.split(';').map(str::trim).filter(|e| !e.is_empty());
        let count = entries.clone().count();
        if count > MAX_ZONES {
            return Err(ZoneError::TooMany {
                count,
                cap: MAX_ZONES,
            });
        }
        let mut zones: Vec<Zone> = Vec::with_capacity(count);
        let mut names = HashSet::with_capacity(count);
        for entry in entries {
            let zone = parse_zone(entry)?;
            if !names.insert(zone.name.clone()) {
                return Err(ZoneError::Duplicate(zone.name));
            }
            zones.push(zone);
        }
        Ok(Zones { zones })
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zones on a `frame_w` x `frame_h` frame, clipped to it, in the order given.
    /// A zone's ROI id is its place in the list: results name zones by `roi_type` (the
    /// zone's name), the id only tells zones apart where a reader expects one.
    pub fn inputs(&self, frame_w: usize, frame_h: usize) -> Placed {
        let mut placed = Placed {
            inputs: Vec::with_capacity(self.zones.len()),
            outside: Vec::new(),
        };
        for (i, z) in self.zones.iter().enumerate() {
            match Region::clipped((z.x, z.y, z.width, z.height), (frame_w, frame_h)) {
                Some(region) => placed.inputs.push(RegionInput {
                    roi_id: i32::try_from(i).unwrap_or(i32::MAX),
                    roi_type: z.name.clone(),
                    region,
                }),
                None => placed.outside.push(z.name.clone()),
            }
        }
        placed
    }
}

fn parse_zone(entry: &str) -> Result<Zone, ZoneError> {
    let Some((name, rect)) = entry.split_once(':') else {
        // "10,10,5,5" alone is a zone without a name; anything else is not a zone.
        return Err(if entry.contains(',') {
            ZoneError::MissingName(entry.to_string())
        } else {
            ZoneError::NotNameAndRect(entry.to_string())
        });
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(ZoneError::MissingName(entry.to_string()));
    }
    let parts: Vec<&str> = rect.split(',').map(str::trim).collect();
    let [x, y, w, h] = parts[..] else {
        return Err(ZoneError::NotFourNumbers {
            name: name.to_string(),
            rect: rect.trim().to_string(),
        });
    };
    let number = |part: &str| {
        part.parse::<i64>().map_err(|_| ZoneError::NotANumber {
            name: name.to_string(),
            part: part.to_string(),
        })
    };
    let (x, y, width, height) = (number(x)?, number(y)?, number(w)?, number(h)?);
    for (what, value) in [("width", width), ("height", height)] {
        if value <= 0 {
            return Err(ZoneError::NotPositive {
                name: name.to_string(),
                what,
                value,
            });
        }
    }
    Ok(Zone {
        name: name.to_string(),
        x,
        y,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, x: i64, y: i64, width: i64, height: i64) -> Zone {
        Zone {
            name: name.into(),
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn zones_parse_with_blanks_negative_origins_and_a_trailing_separator() {
        let z = Zones::parse(" gate : 10, 20 ,300,200 ; bay 3:-5,-6,40,50;").expect("valid");
        assert_eq!(
            z.zones,
            vec![
                zone("gate", 10, 20, 300, 200),
                zone("bay 3", -5, -6, 40, 50)
            ]
        );
        assert_eq!(Zones::parse("").expect("empty"), Zones::default());
        assert_eq!(Zones::parse(" ; ").expect("blank"), Zones::default());
    }

    #[test]
    fn malformed_values_name_the_bad_part() {
        let err = |text: &str| Zones::parse(text).expect_err(text).to_string();
        assert_eq!(
            err("10,10,5,5"),
            "'10,10,5,5' has no name (write NAME:X,Y,W,H)"
        );
        assert_eq!(
            err("a:1,1,2,2; :1,2,3,4"),
            "':1,2,3,4' has no name (write NAME:X,Y,W,H)"
        );
        assert_eq!(err("door"), "'door' is not NAME:X,Y,W,H");
        assert_eq!(
            err("door:1,2,3"),
            "zone 'door': '1,2,3' is not four numbers X,Y,W,H"
        );
        assert_eq!(
            err("door:1,2,wide,4"),
            "zone 'door': 'wide' is not a number"
        );
        assert_eq!(err("door:1,2,3.5,4"), "zone 'door': '3.5' is not a number");
        assert_eq!(err("door:1,2,0,4"), "zone 'door': width 0 is not positive");
        assert_eq!(
            err("door:1,2,3,-4"),
            "zone 'door': height -4 is not positive"
        );
        assert_eq!(
            err("door:1,2,3,4;gate:0,0,9,9;door:5,5,5,5"),
            "zone 'door' is named twice"
        );
    }

    #[test]
    fn more_than_the_cap_are_counted_and_refused_and_the_cap_is_taken() {
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("z{i}:0,0,1,1"))
                .collect::<Vec<_>>()
                .join(";")
        };
        let taken = Zones::parse(&list(MAX_ZONES)).expect("the cap");
        assert_eq!(taken.zones.len(), MAX_ZONES);
        assert_eq!(taken.zones[255], zone("z255", 0, 0, 1, 1));
        // Counted, however malformed the entries past the cap.
        let over = format!("{};bad;;", list(100_000));
        assert_eq!(
            Zones::parse(&over),
            Err(ZoneError::TooMany {
                count: 100_001,
                cap: MAX_ZONES
            })
        );
        assert_eq!(
            ZoneError::TooMany {
                count: 257,
                cap: 256
            }
            .to_string(),
            "257 zones, more than the 256 allowed; merge zones or use several elements"
        );
    }

    #[test]
    fn zones_are_clipped_and_those_outside_are_listed() {
        let z = Zones::parse("in:10,10,20,20;edge:90,-10,30,30;out:200,0,10,10;left:-20,0,20,5")
            .expect("valid");
        let placed = z.inputs(100, 80);
        let rects: Vec<(&str, i32, Region)> = placed
            .inputs
            .iter()
            .map(|r| (r.roi_type.as_str(), r.roi_id, r.region))
            .collect();
        let region = |x, y, width, height| Region {
            x,
            y,
            width,
            height,
        };
        assert_eq!(
            rects,
            vec![
                ("in", 0, region(10, 10, 20, 20)),
                ("edge", 1, region(90, 0, 10, 20)),
            ]
        );
        assert_eq!(placed.outside, vec!["out", "left"]);
        // A smaller frame: the zone stays where it is in pixels, cut at the new edge.
        let small = z.inputs(20, 15);
        assert_eq!(small.inputs[0].region, region(10, 10, 10, 5));
        assert_eq!(small.outside, vec!["edge", "out", "left"]);
    }
}
