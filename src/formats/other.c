/*
 * other.c - model formats stcheck identifies but does not check: TensorFlow Lite, ExecuTorch,
 * Core ML and OpenVINO IR. Each is named precisely in a could-not-check finding (ST530-ST533),
 * never "unknown format", and never skipped by a folder walk (docs/formats/other.md).
 *
 * Identified by content first:
 *   - TensorFlow Lite: a FlatBuffer whose file identifier (bytes 4..7) is "TFL3"
 *     (tensorflow/compiler/mlir/lite/schema/schema.fbs: file_identifier "TFL3");
 *   - ExecuTorch: "ET" and two ASCII digits at byte 4 (schema/program.fbs: file_identifier
 *     "ET12"; runtime/executor/program.cpp Program::check_header treats any "ET??" as an
 *     ExecuTorch program), "FT" and two digits for a .ptd data file, "BP" and two digits for a
 *     .bpte bundled program. A .pte is not a zip: nothing in it is read as one;
 *   - Core ML: an .mlmodel is a protobuf Model (coremltools mlmodel/format/Model.proto:
 *     specificationVersion = 1, description = 2, isUpdatable = 10, the model type a oneof at
 *     field numbers 200 and above): every top-level field is walked with the bounded protobuf
 *     walker and must be one of those, exactly one type field, the fields tiling the file. An
 *     .mlpackage folder holds Manifest.json (fileFormatVersion, itemInfoEntries) and
 *     Data/com.apple.CoreML/{model.mlmodel, weights/weight.bin};
 *   - OpenVINO IR: XML whose root element is <net name=... version=...> (the IR's .xml; its
 *     weights, the raw NAME.bin beside NAME.xml, are named when the folder is known).
 * Names only decide for files with no content of their own to recognise (an .mlpackage's
 * weight.bin) and then only at the lowest confidence: any format that claims the content wins.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/escape.h"
#include "format.h"
#include "onnx/protobuf.h"

enum {
    K_NONE,
    K_TFLITE,
    K_EXECUTORCH,
    K_COREML,
    K_COREML_PKG,
    K_COREML_WEIGHTS,
    K_OPENVINO,
    K_OPENVINO_WEIGHTS
};

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The first occurrence of needle in p[0..n), or NULL (memmem is not C11). */
static const unsigned char *find(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(p + i, needle, k) == 0)
            return p + i;
    return NULL;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* A FlatBuffer's identifier at byte 4, with a root table offset inside the file. */
static int flatbuffer_id(const st_input *in, const char *id, size_t n)
{
    if (in->head_len < 8 || memcmp(in->head + 4, id, n) != 0)
        return 0;
    uint32_t root = le32(in->head);
    return root >= 8 && root < in->src->size;
}

/* "XX" and two ASCII digits at byte 4, as ExecuTorch's identifiers are versioned. */
static int versioned_id(const st_input *in, const char *two)
{
    return flatbuffer_id(in, two, 2) && is_digit(in->head[6]) && is_digit(in->head[7]);
}

/* ---- Core ML's Model protobuf ------------------------------------------------------------ */

static int coreml_field_ok(const st_pb_field *f, unsigned *types)
{
    if (f->number == 1 || f->number == 10)
        return f->wire == ST_PB_VARINT;
    if (f->number == 2)
        return f->wire == ST_PB_LEN;
    if (f->number >= 200 && f->number < 4000 && f->wire == ST_PB_LEN) {
        (*types)++;
        return 1;
    }
    return 0;
}

/* Nonzero when the whole input frames as a Model message: known top-level fields only, a
 * specificationVersion first (every writer emits field 1 first) and exactly one model type. */
static int coreml_frames(const st_input *in)
{
    if (in->head_len < 2 || in->head[0] != 0x08)
        return 0;
    st_pb_cursor *c = malloc(sizeof(*c));
    if (c == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
        return 0;  /* GCOVR_EXCL_LINE: malloc failure: not claimed (another format or unknown) */
    st_pb_init(c, in->src, 0, in->src->size);
    st_pb_field f;
    st_pb_status s;
    unsigned types = 0;
    int ok = 1;
    while (ok && (s = st_pb_next(c, &f)) == ST_PB_FIELD)
        ok = coreml_field_ok(&f, &types);
    free(c);
    return ok && s == ST_PB_END && types == 1;
}

/* ---- OpenVINO's XML ---------------------------------------------------------------------- */

static int xml_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips what may precede the root element: a BOM, white space, the XML declaration, comments
 * and processing instructions. Returns the offset of the root's '<', or the head length. */
static size_t xml_root(const unsigned char *p, size_t n)
{
    size_t i = n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    while (i < n) {
        if (xml_space(p[i])) {
            i++;
            continue;
        }
        const char *close = i + 1 < n && p[i] == '<' && p[i + 1] == '?'  ? "?>"
                            : i + 3 < n && memcmp(p + i, "<!--", 4) == 0 ? "-->"
                                                                         : NULL;
        if (close == NULL)
            return i;
        const unsigned char *e = find(p + i + 2, n - i - 2, close);
        if (e == NULL)
            return n;
        i = (size_t)(e - p) + strlen(close);
    }
    return n;
}

/* Nonzero when the tag text p[0..n) has the attribute (e.g. "name=") after white space. */
static int has_attribute(const unsigned char *p, size_t n, const char *attr)
{
    size_t k = strlen(attr);
    for (size_t i = 1; k < n && i <= n - k; i++)
        if (xml_space(p[i - 1]) && memcmp(p + i, attr, k) == 0)
            return 1;
    return 0;
}

/* The root start tag is <net ...> with name= and version= attributes before its end. */
static int is_openvino_xml(const unsigned char *p, size_t n)
{
    size_t i = xml_root(p, n);
    if (n - i < 5 || memcmp(p + i, "<net", 4) != 0 || !xml_space(p[i + 4]))
        return 0;
    const unsigned char *gt = memchr(p + i, '>', n - i);
    size_t end = gt != NULL ? (size_t)(gt - p) : n;
    return has_attribute(p + i, end - i, "name=") && has_attribute(p + i, end - i, "version=");
}

static int is_openvino(const st_input *in)
{
    return is_openvino_xml(in->head, in->head_len);
}

/* An IR's weights have no magic number: NAME.bin is OpenVINO's when NAME.xml beside it (the
 * file read_model pairs it with by default) is an IR. Only where the scanner knows the folder
 * (a walk, a path); the XML is opened as index.c opens shards, and only its first bytes read. */
static int is_openvino_weights(const st_input *in)
{
    const char *slash = in->name != NULL ? strrchr(in->name, '/') : NULL;
    const char *base = slash != NULL ? slash + 1 : in->name;
    if (in->open_dir == NULL || !st_name_has_suffix(base, ".bin"))
        return 0;
    char xml[256];
    size_t n = strlen(base) - 4;
    if (n == 0)
        return 0;
    if (n + 5 > sizeof(xml)) /* GCOVR_EXCL_BR_LINE: a file name is at most 255 bytes (NAME_MAX) */
        return 0;            /* GCOVR_EXCL_LINE: as said */
    memcpy(xml, base, n);
    memcpy(xml + n, ".xml", 5);
    int dirfd = in->open_dir(in->dir_arg);
    if (dirfd < 0) /* GCOVR_EXCL_BR_LINE: the scanner's own folder could not be reopened */
        return 0;  /* GCOVR_EXCL_LINE: as said */
    int fd = openat(dirfd, xml, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    close(dirfd);
    if (fd < 0)
        return 0;
    unsigned char head[ST_HEAD_BYTES];
    struct stat st;
    ssize_t got =
        fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, head, sizeof(head), 0) : -1;
    close(fd);
    return got > 0 && is_openvino_xml(head, (size_t)got);
}

/* ---- identification ---------------------------------------------------------------------- */

static int is_coreml_manifest(const st_input *in)
{
    return in->head_len > 0 && in->head[0] == '{' &&
           find(in->head, in->head_len, "\"fileFormatVersion\"") != NULL &&
           find(in->head, in->head_len, "\"itemInfoEntries\"") != NULL;
}

/* An .mlpackage's weights (Data/com.apple.CoreML/weights/weight.bin): by its path only. */
static int is_coreml_weights(const st_input *in)
{
    return in->name != NULL && strstr(in->name, ".mlpackage/") != NULL &&
           st_name_has_suffix(in->name, "/weight.bin");
}

static int which(const st_input *in, int *confidence)
{
    int kind = K_NONE, c = 0;
    if (flatbuffer_id(in, "TFL3", 4))
        kind = K_TFLITE, c = 85;
    else if (versioned_id(in, "ET") ||
             (versioned_id(in, "FT") && st_name_has_suffix(in->name, ".ptd")) ||
             (versioned_id(in, "BP") && st_name_has_suffix(in->name, ".bpte")))
        kind = K_EXECUTORCH, c = 85;
    else if (coreml_frames(in))
        kind = K_COREML, c = st_name_has_suffix(in->name, ".mlmodel") ? 90 : 80;
    else if (is_openvino(in))
        kind = K_OPENVINO, c = 80;
    else if (is_coreml_manifest(in))
        kind = K_COREML_PKG, c = 70;
    else if (is_coreml_weights(in))
        kind = K_COREML_WEIGHTS, c = 10;
    else if (is_openvino_weights(in))
        kind = K_OPENVINO_WEIGHTS, c = 10;
    *confidence = c;
    return kind;
}

/* One sniff per table row (formats.c), so that each format has its own name there. */
static int sniff_kind(const st_input *in, int a, int b)
{
    int confidence, kind = which(in, &confidence);
    return kind == a || kind == b ? confidence : 0;
}

int st_tflite_sniff(const st_input *in)
{
    return sniff_kind(in, K_TFLITE, K_TFLITE);
}

int st_executorch_sniff(const st_input *in)
{
    return sniff_kind(in, K_EXECUTORCH, K_EXECUTORCH);
}

int st_coreml_sniff(const st_input *in)
{
    return sniff_kind(in, K_COREML, K_COREML_PKG) + sniff_kind(in, K_COREML_WEIGHTS, K_NONE);
}

int st_openvino_sniff(const st_input *in)
{
    return sniff_kind(in, K_OPENVINO, K_OPENVINO_WEIGHTS);
}

/* ExecuTorch's optional extended header at byte 8: "eh" and two digits, its size, then the
 * program data size and the segment base offset (docs/source/pte-file-format.md). */
static void executorch_detail(const st_input *in, char *out, size_t size)
{
    const unsigned char *h = in->head;
    out[0] = '\0';
    if (in->head_len >= 32 && h[8] == 'e' && h[9] == 'h' && is_digit(h[10]) && is_digit(h[11])) {
        unsigned long long prog = 0, seg = 0;
        for (int i = 7; i >= 0; i--) {
            prog = prog << 8 | h[16 + i];
            seg = seg << 8 | h[24 + i];
        }
        snprintf(out, size, ", extended header: program data %llu bytes, segments at %llu", prog,
                 seg);
    }
}

st_error st_other_check(st_input *in)
{
    int confidence, kind = which(in, &confidence);
    char id[8], detail[128] = "";
    uint64_t version = 0;
    switch (kind) {
    case K_TFLITE:
        in->report->format = "tflite";
        st_report_add(in->report, ST_R_TFLITE, 0, 8,
                      "TensorFlow Lite model (FlatBuffer \"TFL3\"): the interpreter runs its "
                      "operators, custom and Flex ones through native code the application "
                      "registers; stcheck does not read its graph: could not check");
        return ST_E_UNSUPPORTED;
    case K_EXECUTORCH:
        in->report->format = "executorch";
        memcpy(id, in->head + 4, 4);
        id[4] = '\0';
        executorch_detail(in, detail, sizeof(detail));
        st_report_add(in->report, ST_R_EXECUTORCH, 0, 8,
                      "ExecuTorch file (FlatBuffer \"%s\"%s): a program of kernel calls and "
                      "delegate blobs that native backends execute; it is no zip and no pickle, "
                      "and stcheck does not read its program: could not check",
                      id, detail);
        return ST_E_UNSUPPORTED;
    case K_COREML:
        in->report->format = "coreml";
        st_pb_varint(in->head + 1, in->head_len - 1, &version); /* framed by the sniff */
        st_report_add(in->report, ST_R_COREML, 0, in->src->size,
                      "Core ML model (protobuf Model, specificationVersion %llu): its layers, "
                      "custom layers and linked models are not checked: could not check",
                      (unsigned long long)version);
        return ST_E_UNSUPPORTED;
    case K_COREML_PKG:
    case K_COREML_WEIGHTS:
        in->report->format = "coreml";
        st_report_add(in->report, ST_R_COREML, 0, in->head_len,
                      "Core ML package %s (.mlpackage): the package's model is not checked: "
                      "could not check",
                      kind == K_COREML_PKG ? "manifest" : "weights");
        return ST_E_UNSUPPORTED;
    case K_OPENVINO:
        in->report->format = "openvino";
        st_report_add(in->report, ST_R_OPENVINO, 0, in->head_len,
                      "OpenVINO IR model (XML <net>): its layers, custom operations and the "
                      "weights .bin it names are not checked: could not check");
        return ST_E_UNSUPPORTED;
    case K_OPENVINO_WEIGHTS:
        in->report->format = "openvino";
        st_report_add(in->report, ST_R_OPENVINO, 0, in->head_len,
                      "OpenVINO IR weights (the raw .bin beside an IR .xml of the same name): "
                      "the model is not checked: could not check");
        return ST_E_UNSUPPORTED;
    default: /* GCOVR_EXCL_LINE: check is called only for input its sniff claimed */
        return ST_E_UNSUPPORTED; /* GCOVR_EXCL_LINE: as said */
    }
}
