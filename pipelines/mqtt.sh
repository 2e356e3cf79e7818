#!/usr/bin/env bash
# Publishes each classified frame as one MQTT message and shows them arriving:
#   pipelines/mqtt.sh [BROKER] [CAMERA] [FRAMES]
# BROKER is mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS (default mqtt://127.0.0.1:1883).
# Topics follow the Home Assistant / Frigate habit of one subtree per camera,
#   imgclassify/<camera>/classification
# so one subscription to imgclassify/+/classification sees every camera.
# Environment: MQTT_USER, MQTT_PASSWORD (credentials), MQTT_CA_FILE (the broker's CA for
# mqtts://; unset: the system's). Needs mosquitto_sub (Debian: mosquitto-clients).
# The password is passed on the gst-launch-1.0 line, so it is visible in the process list
# and in gst-launch's own parser log (GST_DEBUG=GST_PIPELINE:5); an application that sets
# the property in code avoids both. Exits with the pipeline's status.
set -euo pipefail
source "$(dirname "$0")/common.sh"
broker=${1:-mqtt://127.0.0.1:1883}
camera=${2:-camera1}
frames=${3:-30}
topic="imgclassify/$camera/classification"
hostport=${broker#*://}
host=${hostport%:*}
port=${hostport##*:}

sub=(-h "$host" -p "$port")
status=0
props=()
[ -n "${MQTT_USER:-}" ] && { sub+=(-u "$MQTT_USER"); props+=(username="$MQTT_USER"); }
[ -n "${MQTT_PASSWORD:-}" ] && { sub+=(-P "$MQTT_PASSWORD"); props+=(password="$MQTT_PASSWORD"); }
if [[ $broker == mqtts://* ]]; then
    sub+=(--cafile "${MQTT_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}")
    [ -n "${MQTT_CA_FILE:-}" ] && props+=(ca-file="$MQTT_CA_FILE")
fi

# Every camera's results: prints "topic {json}" per message; ends after FRAMES messages
# or at the latest after 60 s.
mosquitto_sub "${sub[@]}" -t 'imgclassify/+/classification' -v -C "$frames" -W 60 &
subscriber=$!
trap 'kill "$subscriber" 2>/dev/null || true' EXIT

gst-launch-1.0 -q videotestsrc num-buffers="$frames" is-live=true \
    ! video/x-raw,width=320,height=240,framerate=10/1 \
    ! imgclassify ! classifyjson location="$broker/$topic" ${props[@]+"${props[@]}"} ! fakesink \
    || status=$?
# On success the subscriber ends by itself once it has seen every message.
[ "$status" -eq 0 ] || kill "$subscriber" 2>/dev/null || true
wait "$subscriber" 2>/dev/null || true
exit "$status"
