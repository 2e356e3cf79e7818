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
