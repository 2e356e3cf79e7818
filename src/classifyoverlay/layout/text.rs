//! The text `classifyoverlay` draws: one line per label, the score as a percentage,
//! and labels that cannot change the direction of their line.

/// Text of one entry: the label, and the score as a whole percentage when `show_scores`.
pub fn entry_text(label: &str, score: f64, show_scores: bool) -> String {
    // One entry is one line: control characters (a newline in a labels file) become spaces.
    // Bidi controls go: an override in a label would reverse the score after it.
    let label: String = label
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    let label = match label.as_str() {
        "" => "?".to_string(),
        // A right-to-left label would also make its line right-to-left and put the score
        // first; in an isolate its direction stays its own. ASCII has no right-to-left
        // letters, so the usual labels are drawn as they are.
        l if !l.is_ascii() => format!("{FSI}{l}{PDI}"),
        l => l.to_string(),
    };
    if show_scores {
        format!("{label}  {:.0}%", (score * 100.0).clamp(0.0, 100.0))
    } else {
        label.to_string()
    }
}

/// Unicode's first strong isolate and pop directional isolate.
const FSI: char = '\u{2068}';
const PDI: char = '\u{2069}';

/// The characters that change the direction of the text after them: embeddings and
/// overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the marks (U+200E, U+200F,
/// U+061C).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The lines to draw for one classification, best first: entries scoring below
/// `min_score` (or not a number) are left out. Empty when there is nothing to show.
pub fn lines(labels: &[String], scores: &[f64], show_scores: bool, min_score: f64) -> Vec<String> {
    labels
        .iter()
        .zip(scores)
        .filter(|(_, score)| score.is_finite() && **score >= min_score)
        .map(|(label, &score)| entry_text(label, score, show_scores))
        .collect()
}

/// The top-level lines for the results of several classifiers, each `(id, lines)` in the
/// order the classifiers ran. With more than one classifier showing lines, each block
/// starts with a line naming its classifier, so the stacked labels can be told apart.
pub fn stacked_lines(blocks: &[(String, Vec<String>)]) -> Vec<String> {
    let shown: Vec<&(String, Vec<String>)> = blocks.iter().filter(|(_, l)| !l.is_empty()).collect();
    if shown.len() <= 1 {
        return shown.first().map(|(_, l)| l.clone()).unwrap_or_default();
    }
    shown
        .iter()
        .flat_map(|(id, lines)| {
            std::iter::once(format!("{}:", entry_text(id, 0.0, false))).chain(lines.iter().cloned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_show_percentages_best_first() {
        let got = lines(
            &strings(&["espresso", "cup", "soup bowl"]),
            &[0.994, 0.0051, 0.0004],
            true,
            0.0,
        );
        assert_eq!(got, strings(&["espresso  99%", "cup  1%", "soup bowl  0%"]));
    }

    #[test]
    fn lines_without_scores_are_just_labels() {
        let got = lines(&strings(&["espresso", "cup"]), &[0.9, 0.1], false, 0.0);
        assert_eq!(got, strings(&["espresso", "cup"]));
    }

    #[test]
    fn min_score_hides_entries_below_it_but_keeps_equal_ones() {
        let got = lines(&strings(&["a", "b", "c"]), &[0.5, 0.25, 0.2499], true, 0.25);
        assert_eq!(got, strings(&["a  50%", "b  25%"]));
        assert!(lines(&strings(&["a"]), &[0.1], true, 0.5).is_empty());
    }

    #[test]
    fn broken_entries_are_safe() {
        // NaN scores are hidden, mismatched lengths stop at the shorter list, empty or
        // multi-line labels stay on one line.
        let got = lines(
            &strings(&["", "two\nlines", "nan", "extra"]),
            &[0.5, 1.5, f64::NAN],
            true,
            0.0,
        );
        assert_eq!(got, strings(&["?  50%", "two lines  100%"]));
    }

    #[test]
    fn labels_cannot_change_the_direction_of_their_line() {
        // The override, embedding, isolate and mark characters are dropped; what is left
        // of a label that is not ASCII is isolated.
        let controls = "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}";
        assert_eq!(
            entry_text(&format!("cup{controls}"), 0.62, true),
            "cup  62%"
        );
        assert_eq!(entry_text(controls, 0.62, true), "?  62%");
        assert_eq!(
            entry_text("\u{202E}\u{5e7}\u{5e4}\u{5d4} ", 0.62, true),
            "\u{2068}\u{5e7}\u{5e4}\u{5d4}\u{2069}  62%"
        );
        assert_eq!(
            entry_text("caf\u{e9}", 0.5, false),
            "\u{2068}caf\u{e9}\u{2069}"
        );
    }

    #[test]
    fn rounding_decides_whether_the_text_changes() {
        // Scores that differ only below the shown precision give the same text, so the
        // overlay is not re-rendered for them.
        assert_eq!(entry_text("x", 0.9912, true), entry_text("x", 0.9938, true));
        assert_ne!(entry_text("x", 0.9912, true), entry_text("x", 0.9951, true));
    }

    #[test]
    fn one_classifier_is_drawn_as_before_several_are_named() {
        let one = vec![("mobilenet".to_string(), vec!["espresso  90%".to_string()])];
        assert_eq!(stacked_lines(&one), vec!["espresso  90%"]);
        let two = vec![
            ("vehicle".to_string(), vec!["car  80%".to_string()]),
            ("empty".to_string(), vec![]),
            (
                "colour".to_string(),
                vec!["red  70%".to_string(), "blue  20%".to_string()],
            ),
        ];
        assert_eq!(
            stacked_lines(&two),
            vec!["vehicle:", "car  80%", "colour:", "red  70%", "blue  20%"]
        );
        assert!(stacked_lines(&[]).is_empty());
    }
}
