/* Reads imgclassify's results from a live source the two ways an application usually
 * does: buffers pulled from an appsink (the ImgClassifyMeta on each, with its regions)
 * and element messages popped from the bus. Both run in one loop on the main thread,
 * so no callback runs on a streaming thread and nothing needs a lock.
 *
 *   cc examples/live_appsink.c -o live_appsink $(pkg-config --cflags --libs gstreamer-1.0)
 *   GST_PLUGIN_PATH=target/release ./live_appsink
 *   GST_PLUGIN_PATH=target/release ./live_appsink \
 *       "v4l2src ! videoconvert ! facedetect display=false ! videoconvert" target=regions
 *
 * Arguments: the source (a gst-launch description, default a live 25 fps test pattern
 * of 50 frames), then imgclassify properties (default mode=async threads=1, as for any
 * live source). Prints per buffer
 *   buffer PTS CLASSIFIER: LABEL SCORE [fresh|carried]
 *   region ROI-TYPE XxY+W+H: LABEL SCORE          (target=regions, one per region)
 * and per element message
 *   message CLASSIFIER: LABEL SCORE
 * Exits 1 on a pipeline error or when no result arrived. The appsink is only
 * gstreamer-1.0's element driven through its action signals, so no other library
 * (gstreamer-app-1.0) is linked.
 */
#include <gst/gst.h>

#define META_NAME "ImgClassifyMeta"
/* The meta layout this reader was written for (docs/consumers.md). */
#define KNOWN_META_VERSION 1

static void
print_top (const GstStructure * s)
{
  const GValue *labels = gst_structure_get_value (s, "labels");
  const GValue *scores = gst_structure_get_value (s, "scores");
  if (labels == NULL || scores == NULL || gst_value_array_get_size (labels) == 0) {
    g_print ("-");
    return;
  }
  g_print ("%s %.2f",
      g_value_get_string (gst_value_array_get_value (labels, 0)),
      g_value_get_double (gst_value_array_get_value (scores, 0)));
}

/* One line per ImgClassifyMeta, then one per classified region. Returns how many
 * metas the buffer carried. */
static guint
print_buffer (GstBuffer * buf, const GstMetaInfo * info)
{
  guint found = 0;
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state, info->api))) {
    const GstStructure *s = gst_custom_meta_get_structure ((GstCustomMeta *) meta);
    guint version = 0;
    gboolean fresh = FALSE;
    if (!gst_structure_get_uint (s, "meta-version", &version)
        || version != KNOWN_META_VERSION) {
      g_printerr ("warning: ImgClassifyMeta layout %u, this reader knows %d\n",
          version, KNOWN_META_VERSION);
    }
    gst_structure_get_boolean (s, "fresh", &fresh);
    g_print ("buffer %" GST_TIME_FORMAT " %s: ", GST_TIME_ARGS (GST_BUFFER_PTS (buf)),
        gst_structure_get_string (s, "classifier"));
    print_top (s);
    g_print (" %s\n", fresh ? "fresh" : "carried");

    const GValue *regions = gst_structure_get_value (s, "regions");
    for (guint i = 0; regions && i < gst_value_array_get_size (regions); i++) {
      const GstStructure *r =
          gst_value_get_structure (gst_value_array_get_value (regions, i));
      guint x = 0, y = 0, w = 0, h = 0;
      gst_structure_get (r, "x", G_TYPE_UINT, &x, "y", G_TYPE_UINT, &y,
          "width", G_TYPE_UINT, &w, "height", G_TYPE_UINT, &h, NULL);
      g_print ("region %s %ux%u+%u+%u: ", gst_structure_get_string (r, "roi-type"),
          w, h, x, y);
      print_top (r);
      g_print ("\n");
    }
    found++;
  }
  return found;
}

/* Handles every message waiting on the bus. Returns FALSE at EOS or an error. */
static gboolean
drain_bus (GstBus * bus, guint * messages, int *status)
{
  GstMessage *msg;
  gboolean running = TRUE;
  while (running && (msg = gst_bus_pop_filtered (bus,
              GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error (msg, &error, &debug);
      g_printerr ("error: %s (%s)\n", error->message, debug ? debug : "");
      g_clear_error (&error);
      g_free (debug);
      *status = 1;
      running = FALSE;
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      running = FALSE;
    } else if (s && gst_structure_has_name (s, "imgclassify")) {
      g_print ("message %s: ", gst_structure_get_string (s, "classifier"));
      print_top (s);
      g_print ("\n");
      (*messages)++;
    }
    gst_message_unref (msg);
  }
  return running;
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int status = 0;
  guint metas = 0, messages = 0;

  gst_init (&argc, &argv);
  const char *source = argc > 1 ? argv[1]
      : "videotestsrc is-live=true num-buffers=50 "
      "! video/x-raw,width=320,height=240,framerate=25/1";
  GString *description = g_string_new (source);
  g_string_append (description, " ! imgclassify post-messages=true");
  if (argc > 2) {
    for (int i = 2; i < argc; i++)
      g_string_append_printf (description, " %s", argv[i]);
  } else {
    g_string_append (description, " mode=async threads=1");
  }
  /* max-buffers and drop: a slow reader sees the newest buffers instead of holding the
   * live source back; sync=false: the source already paces the stream. */
  g_string_append (description,
      " ! appsink name=sink max-buffers=4 drop=true sync=false");
  GstElement *pipeline = gst_parse_launch (description->str, &error);
  g_string_free (description, TRUE);
  if (pipeline == NULL) {
    g_printerr ("error: %s\n", error->message);
    g_clear_error (&error);
    return 1;
  }
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason is on the bus. */
    drain_bus (bus, &messages, &status);
    status = 1;
  }
  while (status == 0 && drain_bus (bus, &messages, &status)) {
    GstSample *sample = NULL;
    /* At most 100 ms per wait, so bus messages are never far behind. */
    g_signal_emit_by_name (sink, "try-pull-sample", 100 * GST_MSECOND, &sample);
    if (sample == NULL)
      continue;
    const GstMetaInfo *info = gst_meta_get_info (META_NAME);
    if (info != NULL)
      metas += print_buffer (gst_sample_get_buffer (sample), info);
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);

  g_printerr ("%u results on buffers, %u messages\n", metas, messages);
  if (status == 0 && (metas == 0 || messages == 0)) {
    g_printerr ("error: no result arrived\n");
    status = 1;
  }
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return status;
}
