/*
 * keras/savedmodel.c - TensorFlow SavedModel folders (tf.saved_model.save, Keras 2 model.save)
 * and the Keras 2 metadata saved beside them (docs/formats/other.md).
 *
 * A SavedModel folder holds saved_model.pb (or saved_model.pbtxt), keras_metadata.pb (Keras 2),
 * fingerprint.pb (TF 2.12+) and variables/variables.{index,data-NNNNN-of-NNNNN}. TensorFlow
 * loads the files by those names, so they are identified by name and their content framed:
 *   - saved_model.pb: protobuf SavedModel (tensorflow/core/protobuf/saved_model.proto:
 *     saved_model_schema_version = 1, repeated MetaGraphDef meta_graphs = 2; meta_graph.proto:
 *     meta_info_def = 1 {tags = 4, tensorflow_version = 5}, graph_def = 2 {node = 1, library = 2
 *     {function = 1}}). Walked to describe it; the graph itself is "could not check" (ST885):
 *     its operations run when it is loaded and TensorFlow's op set (file I/O, Python callbacks,
 *     custom ops from shared libraries) is too large to vouch for. The text form
 *     saved_model.pbtxt likewise.
 *   - keras_metadata.pb: protobuf SavedMetadata {repeated SavedObject nodes = 1}, SavedObject
 *     {VersionDef version = 1, int32 node_id = 2, string node_path = 3, string identifier = 4,
 *     string metadata = 5} (keras/protobuf/saved_metadata.proto). Each node's metadata is the JSON
 *     Keras 2 revives the layer from (keras/saving/legacy/saved_model/load.py): every copy of it
 *     (protobuf keeps the last of a repeated singular field; all are judged) goes to the Keras
 *     config judge (keras.c): a Lambda's bytecode, modules outside Keras' own.
 *   - fingerprint.pb: FingerprintDef (tensorflow/core/protobuf/fingerprint.proto: five uint64
 *     hashes = 1..5, VersionDef version = 6): numbers only, framed (ST888, info).
 *   - variables/: tensor data the graph's RestoreV2 ops read (a tensor bundle: an SSTable index
 *     and raw data shards). Not framed here: could not check (ST887), as the graph that reads
 *     them is; a folder walk never skips them.
 * Wire data that does not frame as its message is ST886 (TensorFlow refuses it).
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/escape.h"
#include "../onnx/protobuf.h"
#include "keras.h"

enum { SM_NONE, SM_GRAPH, SM_GRAPH_TEXT, SM_KERAS, SM_FINGERPRINT, SM_VARIABLES };

static const char *base_name(const char *name)
{
    const char *slash = name != NULL ? strrchr(name, '/') : NULL;
    return slash != NULL ? slash + 1 : name != NULL ? name : "";
}

/* Ends in variables.data-00000-of-00001: the shard names tensor_bundle.cc DataFilename writes. */
static int is_data_shard(const char *base)
{
    static const char pattern[] = "variables.data-#####-of-#####";
    size_t p = sizeof(pattern) - 1, n = strlen(base);
    if (n < p)
        return 0;
    for (size_t i = 0; i < p; i++) {
        char c = base[n - p + i];
        if (pattern[i] == '#' ? !(c >= '0' && c <= '9') : c != pattern[i])
            return 0;
    }
    return 1;
}

static int kind_of(const st_input *in)
{
    const char *b = base_name(in->name);
    if (st_name_has_suffix(b, "saved_model.pb"))
        return SM_GRAPH;
    if (st_name_has_suffix(b, "saved_model.pbtxt"))
        return SM_GRAPH_TEXT;
    if (st_name_has_suffix(b, "keras_metadata.pb"))
        return SM_KERAS;
    if (st_name_has_suffix(b, "fingerprint.pb"))
        return SM_FINGERPRINT;
    if (st_name_has_suffix(b, "variables.index") || is_data_shard(b))
        return SM_VARIABLES;
    return SM_NONE;
}

/* By name, as TensorFlow finds the files; the variables lowest, their content being anything
 * (a format that recognises the content wins, and the pickle view is taken anyway). */
int st_savedmodel_sniff(const st_input *in)
{
    static const int confidence[] = {0, 90, 75, 90, 90, 30};
    return confidence[kind_of(in)];
}

/* ---- walking ---------------------------------------------------------------------------- */

typedef struct {
    st_input *in;
    st_pb_cursor c;
    st_pb_status bad; /* the first status that stopped a walk, or ST_PB_END */
    uint64_t metagraphs, nodes, functions, keras_nodes;
    char tags[96], version[40];
    st_error err;
} walk;

/* Records why the framing failed and returns nonzero, or 0 when s is a field. The first
 * failure ends the walk, so nothing overwrites it. */
static int failed(walk *w, st_pb_status s)
{
    if (s == ST_PB_FIELD)
        return 0;
    w->bad = s;
    return 1;
}

/* A string field's text, escaped, appended to out (tags are joined with ','). */
static void append_text(walk *w, const st_pb_field *f, char *out, size_t size)
{
    unsigned char raw[64];
    char shown[80];
    size_t n = f->len < sizeof(raw) ? (size_t)f->len : sizeof(raw);
    if (failed(w, st_pb_bytes(&w->c, f, raw, n)))
        return;
    size_t used = strlen(out);
    if (used > 0 && used + 1 < size)
        out[used++] = ',', out[used] = '\0';
    st_escape((const char *)raw, n, shown, sizeof(shown), 40);
    snprintf(out + used, size - used, "%s", shown);
}

/* Enters f, walks its fields with visit (which may enter one level deeper itself) and leaves. */
static int sub(walk *w, const st_pb_field *f, int (*visit)(walk *, const st_pb_field *))
{
    st_pb_field g;
    st_pb_status s;
    /* GCOVR_EXCL_START: entering fails only past ST_PB_MAX_DEPTH; this walk goes 3 deep */
    if (failed(w, st_pb_enter(&w->c, f)))
        return -1;
    /* GCOVR_EXCL_STOP */
    while ((s = st_pb_next(&w->c, &g)) == ST_PB_FIELD)
        if (visit(w, &g) != 0)
            return -1;
    if (s != ST_PB_END) {
        failed(w, s);
        return -1;
    }
    st_pb_leave(&w->c);
    return 0;
}

static int visit_meta_info(walk *w, const st_pb_field *f)
{
    if (f->wire != ST_PB_LEN) /* every MetaInfoDef field we read is a string */
        return f->number == 4 || f->number == 5 ? failed(w, ST_PB_BAD) : 0;
    if (f->number == 4)
        append_text(w, f, w->tags, sizeof(w->tags));
    else if (f->number == 5) {
        w->version[0] = '\0'; /* a singular field: the last copy wins */
        append_text(w, f, w->version, sizeof(w->version));
    }
    return w->bad == ST_PB_END ? 0 : -1;
}

static int visit_library(walk *w, const st_pb_field *f)
{
    w->functions += f->number == 1;
    return 0;
}

static int visit_graph(walk *w, const st_pb_field *f)
{
    if (f->wire != ST_PB_LEN)
        return f->number == 1 || f->number == 2 ? failed(w, ST_PB_BAD) : 0;
    w->nodes += f->number == 1;
    return f->number == 2 ? sub(w, f, visit_library) : 0;
}

static int visit_metagraph(walk *w, const st_pb_field *f)
{
    if (f->wire != ST_PB_LEN)
        return f->number <= 7 ? failed(w, ST_PB_BAD) : 0; /* field numbers start at 1 */
    if (f->number == 1)
        return sub(w, f, visit_meta_info);
    return f->number == 2 ? sub(w, f, visit_graph) : 0;
}

static int visit_savedmodel(walk *w, const st_pb_field *f)
{
    if (f->number == 1)
        return f->wire == ST_PB_VARINT ? 0 : failed(w, ST_PB_BAD);
    if (f->number != 2)
        return 0; /* an unknown field: protobuf parsers skip it */
    if (f->wire != ST_PB_LEN)
        return failed(w, ST_PB_BAD);
    w->metagraphs++;
    return sub(w, f, visit_metagraph);
}

/* ---- Keras 2 metadata ------------------------------------------------------------------- */

/* Reads a string field's whole payload (bounded by the file: the walker checked the length). */
static unsigned char *payload(walk *w, const st_pb_field *f)
{
    unsigned char *buf = malloc(f->len > 0 ? (size_t)f->len : 1);
    if (buf == NULL) {       /* GCOVR_EXCL_BR_LINE: malloc failure */
        w->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
        return NULL;         /* GCOVR_EXCL_LINE: malloc failure */
    }
    if (f->len > 0 && st_src_read(w->in->src, f->off, buf, (size_t)f->len) != ST_OK) {
        free(buf);
        failed(w, ST_PB_IO);
        return NULL;
    }
    return buf;
}

static int visit_keras_node(walk *w, const st_pb_field *f)
{
    if (f->number > 5) /* field numbers start at 1 */
        return 0;
    if (f->wire != (f->number == 2 ? ST_PB_VARINT : ST_PB_LEN))
        return failed(w, ST_PB_BAD);
    if (f->number != 5)
        return 0;
    unsigned char *json = payload(w, f);
    if (json == NULL)
        return -1;
    char where[64];
    snprintf(where, sizeof(where), "keras_metadata.pb node %llu",
             (unsigned long long)w->keras_nodes - 1);
    st_error e = st_keras_check_config(w->in, json, (size_t)f->len, where);
    if (w->err == ST_OK)
        w->err = e;
    free(json);
    return 0;
}

static int visit_keras(walk *w, const st_pb_field *f)
{
    if (f->number != 1)
        return 0;
    if (f->wire != ST_PB_LEN)
        return failed(w, ST_PB_BAD);
    w->keras_nodes++;
    return sub(w, f, visit_keras_node);
}

static int visit_fingerprint(walk *w, const st_pb_field *f)
{
    if (f->number <= 5) /* field numbers start at 1 */
        return f->wire == ST_PB_VARINT ? 0 : failed(w, ST_PB_BAD);
    return f->number == 6 && f->wire != ST_PB_LEN ? failed(w, ST_PB_BAD) : 0;
}

/* Walks the whole file as one message; 0 when it framed. */
static int walk_file(walk *w, int (*visit)(walk *, const st_pb_field *))
{
    st_pb_field f;
    st_pb_status s;
    st_pb_init(&w->c, w->in->src, 0, w->in->src->size);
    w->bad = ST_PB_END;
    while ((s = st_pb_next(&w->c, &f)) == ST_PB_FIELD)
        if (visit(w, &f) != 0)
            return -1;
    if (s == ST_PB_END)
        return 0;
    failed(w, s);
    return -1;
}

/* Why a walk stopped, by st_pb_status (BAD -1, LIMIT -2, IO -3): a table, not branches. */
static const struct {
    st_rule_id rule;
    st_error err;
    const char *why;
} stops[] = {
    {ST_R_SAVEDMODEL_MALFORMED, ST_E_UNSUPPORTED, "does not frame as its protobuf message"},
    {ST_R_LIMIT, ST_E_LIMIT, "has more fields than the protobuf walker's limit (2^26)"},
    {ST_R_IO, ST_E_IO, "could not be read"},
};

static st_error malformed(walk *w, const char *what)
{
    size_t i = (size_t)(-(int)w->bad - 1);
    st_report_add(w->in->report, stops[i].rule, w->c.bad_off, 0,
                  "%s %s (stopped at offset %llu): could not check", what, stops[i].why,
                  (unsigned long long)w->c.bad_off);
    return stops[i].err;
}

static st_error check_graph(walk *w)
{
    if (walk_file(w, visit_savedmodel) != 0)
        return malformed(w, "saved_model.pb");
    st_report_add(w->in->report, ST_R_SAVEDMODEL_GRAPH, 0, w->in->src->size,
                  "TensorFlow SavedModel graph (%llu meta graph%s, tags \"%s\", TensorFlow "
                  "\"%s\", %llu nodes, %llu library functions): its operations run when it is "
                  "loaded and TensorFlow's op set (file I/O, Python callbacks, custom ops from "
                  "shared libraries) is too large to vouch for: could not check",
                  (unsigned long long)w->metagraphs, w->metagraphs == 1 ? "" : "s", w->tags,
                  w->version, (unsigned long long)w->nodes, (unsigned long long)w->functions);
    return ST_E_UNSUPPORTED;
}

static st_error check_file(walk *w, int kind)
{
    switch (kind) {
    case SM_GRAPH:
        return check_graph(w);
    case SM_GRAPH_TEXT:
        st_report_add(w->in->report, ST_R_SAVEDMODEL_GRAPH, 0, w->in->src->size,
                      "TensorFlow SavedModel graph in protobuf text form (saved_model.pbtxt): "
                      "its operations run when it is loaded and TensorFlow's op set is too large "
                      "to vouch for: could not check");
        return ST_E_UNSUPPORTED;
    case SM_KERAS:
        if (walk_file(w, visit_keras) != 0)
            return malformed(w, "keras_metadata.pb");
        return w->err;
    case SM_FINGERPRINT:
        if (walk_file(w, visit_fingerprint) != 0)
            return malformed(w, "fingerprint.pb");
        st_report_add(w->in->report, ST_R_SAVEDMODEL_FINGERPRINT, 0, w->in->src->size,
                      "SavedModel fingerprint (hashes and a version, no code path): framing "
                      "checked");
        return ST_OK;
    default:
        st_report_add(w->in->report, ST_R_SAVEDMODEL_VARIABLES, 0, w->in->src->size,
                      "SavedModel variables (a tensor bundle the graph's restore operations "
                      "read): not checked: could not check");
        return ST_E_UNSUPPORTED;
    }
}

st_error st_savedmodel_check(st_input *in)
{
    int kind = kind_of(in);
    in->report->format = kind == SM_KERAS ? "keras-metadata" : "savedmodel";
    walk *w = calloc(1, sizeof(*w));
    if (w == NULL)         /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    w->in = in;
    st_error err = check_file(w, kind);
    free(w);
    return err;
}
