# shellcheck shell=bash
# Sourced by the pipeline scripts: finds the plugin built in this checkout (an installed
# plugin is found by GStreamer anyway) and formats imgclassify messages for the terminal.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# A GST_PLUGIN_PATH that already holds the plugin (a test's fresh build, another
# checkout) is left as it is: this checkout's release build must not shadow it.
plugin_on_path() {
    local dir
    local IFS=:
    for dir in ${GST_PLUGIN_PATH:-}; do
        [ -f "$dir/libgstimgclassify.so" ] && return 0
    done
    return 1
}
if [ -f "$ROOT/target/release/libgstimgclassify.so" ] && ! plugin_on_path; then
    export GST_PLUGIN_PATH="$ROOT/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi

# Reads `gst-launch-1.0 -m` output, prints "model: label score, ..." per imgclassify
# message. One awk for the whole run: a process per message (as a Python formatter was)
# cannot keep up with a 25 fps camera on a small machine. awk is in every Debian base
# system, so running the pipelines needs no Python. LC_ALL=C makes the octal escapes
# GStreamer writes for non-ASCII bytes come out as those bytes; fflush so each line shows
# as its frame is classified, not when a pipe buffer fills.
show_labels() {
    LC_ALL=C awk '
        # The n-th "name=(type)value" field of a serialized structure, value as written.
        function field(line, name,    i, rest) {
            i = index(line, " " name "=(")
            if (i == 0) return ""
            rest = substr(line, i + length(name) + 2)
            return substr(rest, index(rest, ")") + 1)
        }
        # "< a, \"b\\ c\", d >" -> items[1..n] without quotes and escapes; returns n.
        function list(value, items,    n, i, c, q, cur) {
            n = 0; q = 0; cur = ""
            for (i = index(value, "<") + 1; i <= length(value); i++) {
                c = substr(value, i, 1)
                if (c == "\\") {
                    if (substr(value, i + 1, 3) ~ /^[0-7][0-7][0-7]$/) {
                        cur = cur sprintf("%c", oct(substr(value, i + 1, 3))); i += 3
                    } else { cur = cur substr(value, i + 1, 1); i++ }
                } else if (c == "\"") {
                    q = !q
                } else if (!q && (c == "," || c == ">")) {
                    sub(/^ +/, "", cur); sub(/ +$/, "", cur)
                    if (cur != "") items[++n] = cur
                    cur = ""
                    if (c == ">") break
                } else {
                    cur = cur c
                }
            }
            return n
        }
        function oct(s) { return substr(s, 1, 1) * 64 + substr(s, 2, 1) * 8 + substr(s, 3, 1) }
        /\): imgclassify, / {
            model = field($0, "model"); sub(/,.*/, "", model)
            n = list(field($0, "labels"), labels)
            list(field($0, "scores"), scores)
            out = sprintf("%18s: ", model)
            for (i = 1; i <= n; i++) out = out (i > 1 ? ", " : "") sprintf("%s %.2f", labels[i], scores[i])
            print out
            fflush()
        }'
}

# Reads classifyjson's JSON lines, prints one line per classified region of the first
# classifier, "face 0 (175,64 97x97): suit 0.41, lab coat 0.12", labels and scores as
# show_labels prints them ("-" for a region without labels). Frames without regions
# print nothing. A small JSON reader in awk (strings with their escapes, any nesting),
# so that a label with a quote, a comma or a bracket in it comes out whole; the
# top-level "regions" is the first classifier's, the copy under "classifications" is
# skipped with the rest.
show_regions() {
    LC_ALL=C awk '
        function ws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1)) > 0) pos++ }
        function hex(h,    i, v) {
            v = 0
            for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
            return v
        }
        # A code point as UTF-8; control characters as a space, so that a line stays one line.
        function utf8(v) {
            if (v < 32) return " "
            if (v < 128) return sprintf("%c", v)
            if (v < 2048) return sprintf("%c%c", 192 + int(v / 64), 128 + v % 64)
            if (v >= 55296 && v < 57344) return "?"
            return sprintf("%c%c%c", 224 + int(v / 4096), 128 + int(v / 64) % 64, 128 + v % 64)
        }
        # The string that starts at pos (a double quote), decoded; pos moves past it.
        function str(    out, c) {
            out = ""; pos++
            while (pos <= n) {
                c = substr(s, pos, 1)
                if (c == "\"") { pos++; return out }
                if (c == "\\") {
                    c = substr(s, pos + 1, 1); pos += 2
                    if (c == "u") { out = out utf8(hex(substr(s, pos, 4))); pos += 4 }
                    else if (c == "n" || c == "r" || c == "t" || c == "b" || c == "f") out = out " "
                    else out = out c
                } else { out = out c; pos++ }
            }
            return out
        }
        # A string, number, true, false or null, as text.
        function scalar(    start) {
            ws()
            if (substr(s, pos, 1) == "\"") return str()
            start = pos
            while (pos <= n && index(",:{}[] \t\r\n", substr(s, pos, 1)) == 0) pos++
            return substr(s, start, pos - start)
        }
        # Any value, skipped.
        function skip(    c, depth) {
            ws(); c = substr(s, pos, 1)
            if (c != "{" && c != "[") { scalar(); return }
            depth = 0
            while (pos <= n) {
                c = substr(s, pos, 1)
                if (c == "\"") { str(); continue }
                if (c == "{" || c == "[") depth++
                else if (c == "}" || c == "]") depth--
                pos++
                if (depth == 0) return
            }
        }
        # The array of scalars at pos into the global array named by which; returns the count.
        function list(which,    k, c, start) {
            k = 0; ws()
            if (substr(s, pos, 1) != "[") { skip(); return 0 }
            pos++
            while (pos <= n) {
                ws(); c = substr(s, pos, 1)
                if (c == "]") { pos++; break }
                if (c == ",") { pos++; continue }
                start = pos
                if (which == "labels") labels[++k] = scalar(); else scores[++k] = scalar()
                if (pos == start) pos++
            }
            return k
        }
        # One region object: its line.
        function region(    key, nl, out, i, c, start) {
            split("", f); split("", labels); split("", scores); nl = 0
            ws()
            if (substr(s, pos, 1) != "{") { skip(); return }
            pos++
            while (pos <= n) {
                ws(); c = substr(s, pos, 1)
                if (c == "}") { pos++; break }
                if (c == ",") { pos++; continue }
                start = pos
                key = scalar(); ws()
                if (substr(s, pos, 1) == ":") pos++
                if (key == "labels") nl = list("labels")
                else if (key == "scores") list("scores")
                else if (key == "embedding" || key == "class-ids") skip()
                else f[key] = scalar()
                if (pos == start) pos++
            }
            out = sprintf("%s %s (%s,%s %sx%s): ", f["roi-type"], f["roi-id"], f["x"], f["y"], f["width"], f["height"])
            if (nl == 0) out = out "-"
            for (i = 1; i <= nl; i++) out = out (i > 1 ? ", " : "") sprintf("%s %.2f", labels[i], scores[i])
            print out
        }
        {
            s = $0; n = length(s); pos = 1
            ws()
            if (substr(s, pos, 1) != "{") next
            pos++
            while (pos <= n) {
                ws(); c = substr(s, pos, 1)
                if (c == "}") break
                if (c == ",") { pos++; continue }
                start = pos
                key = scalar(); ws()
                if (substr(s, pos, 1) == ":") pos++
                if (key == "regions") {
                    ws()
                    if (substr(s, pos, 1) != "[") break
                    pos++
                    while (pos <= n) {
                        ws(); c = substr(s, pos, 1)
                        if (c == "]") break
                        if (c == ",") { pos++; continue }
                        start = pos
                        region()
                        if (pos == start) pos++
                    }
                    break
                }
                skip()
                if (pos == start) pos++
            }
            fflush()
        }'
}
