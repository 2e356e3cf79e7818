/* Classifies a picture with imgclassify and prints the top-1 label read from
 * ImgClassifyMeta, one line per classified frame; the whole top-k with scores goes to
 * standard error. With models named after the picture, one imgclassify per model runs
 * in a row (each named after its model, which its results carry as `classifier`), and
 * every ImgClassifyMeta on the buffer is read: one line `classifier: label` each.
 * Only GStreamer's own headers are needed:
 *
 *   cc examples/read_meta.c -o read_meta $(pkg-config --cflags --libs gstreamer-1.0)
 *   GST_PLUGIN_PATH=target/release ./read_meta tests/data/coffee.png
 *   GST_PLUGIN_PATH=target/release ./read_meta tests/data/coffee.png mobilenet efficientnet
 */
#include <gst/gst.h>

#define META_NAME "ImgClassifyMeta"

struct reader
{
  guint found;
  gboolean named;
};

static void
print_result (const GstStructure * s, gboolean named)
{
  const GValue *labels = gst_structure_get_value (s, "labels");
  const GValue *scores = gst_structure_get_value (s, "scores");
  if (labels == NULL || scores == NULL || gst_value_array_get_size (labels) == 0)
    return;

  if (named)
    g_print ("%s: ", gst_structure_get_string (s, "classifier"));
  g_print ("%s\n", g_value_get_string (gst_value_array_get_value (labels, 0)));
  for (guint i = 0; i < gst_value_array_get_size (labels); i++) {
    g_printerr ("%s%s %.2f", i ? ", " : "",
        g_value_get_string (gst_value_array_get_value (labels, i)),
        g_value_get_double (gst_value_array_get_value (scores, i)));
  }
  g_printerr (" (%s on %s)\n", gst_structure_get_string (s, "model"),
      gst_structure_get_string (s, "provider"));
}

static void
on_buffer (G_GNUC_UNUSED GstElement * sink, GstBuffer * buf,
    G_GNUC_UNUSED GstPad * pad, gpointer user_data)
{
  struct reader *reader = user_data;
  const GstMetaInfo *info = gst_meta_get_info (META_NAME);
  if (info == NULL)
    return;
  /* Every classifier adds its own meta; gst_buffer_get_custom_meta would return only
   * the first. */
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state, info->api))) {
    print_result (gst_custom_meta_get_structure ((GstCustomMeta *) meta),
        reader->named);
    reader->found++;
  }
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  struct reader reader = { 0, argc > 2 };
  int status = 0;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s PICTURE [MODEL...]\n", argv[0]);
    return 2;
  }
  GString *description = g_string_new ("filesrc name=src ! decodebin ! videoconvert");
  if (argc == 2)
    g_string_append (description, " ! imgclassify");
  for (int i = 2; i < argc; i++)
    g_string_append_printf (description, " ! imgclassify model=%s name=%s",
        argv[i], argv[i]);
  g_string_append (description, " ! fakesink name=sink signal-handoffs=true");
  GstElement *pipeline = gst_parse_launch (description->str, &error);
  g_string_free (description, TRUE);
  if (pipeline == NULL) {
    g_printerr ("error: %s\n", error->message);
    g_clear_error (&error);
    return 1;
  }
  /* Set as a property, not inside the description, so any file name works. */
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (src, "location", argv[1], NULL);
  g_signal_connect (sink, "handoff", G_CALLBACK (on_buffer), &reader);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *debug = NULL;
    gst_message_parse_error (msg, &error, &debug);
    g_printerr ("error: %s (%s)\n", error->message, debug ? debug : "");
    g_clear_error (&error);
    g_free (debug);
    status = 1;
  } else if (reader.found == 0) {
    g_printerr ("error: no buffer carried %s\n", META_NAME);
    status = 1;
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return status;
}
