/*
 * format.h - what a format module receives and the table of formats.
 *
 * A format module gets an st_input (context, report, bounded source, the first bytes already
 * read) and appends findings. It never prints, exits or opens files. It returns ST_OK when it
 * finished (whatever it found) or an error when it could not finish; the scanner turns an error
 * into the verdict "could not check".
 */
#ifndef ST_FORMAT_H
#define ST_FORMAT_H

#include "../core/report.h"
#include "../core/source.h"

#define ST_HEAD_BYTES 4096 /* bytes read once for identification */

typedef struct {
    const st_ctx *ctx;
    st_report *report;
    const st_src *src;
    const unsigned char *head; /* first min(size, ST_HEAD_BYTES) bytes */
    size_t head_len;
    const unsigned char *tail; /* last min(size, ST_HEAD_BYTES) bytes */
    size_t tail_len;
    const char *name; /* path as given (for extension hints only; never trusted) */
    unsigned depth;   /* archives this input is nested in */
    /* Opens the folder holding the file (a descriptor the caller closes, or -1), when the
     * scanner knows it: a shard index names sibling files, and only index.c opens plain names
     * beneath it. NULL: unknown (a buffer, a member of an archive). */
    int (*open_dir)(const void *arg);
    const void *dir_arg;
    /* Where there is no folder descriptor (a remote source): opens the sibling of a plain name
     * into *src, the findings of fetching it recorded in r. ST_OK; ST_E_NOTFILE when the server
     * says it does not exist; another error otherwise. close_sibling is called with *handle
     * (which may be NULL) in every case. NULL: siblings cannot be opened. */
    st_error (*open_sibling)(void *arg, const char *name, st_report *r, st_src *src, void **handle);
    void (*close_sibling)(void *arg, void *handle);
    void *sibling_arg;
    /* When set, called for each tensor entry of a safetensors header: its name (unescaped) and
     * data size (UINT64_MAX when its offsets are unusable). index.c lists shards with it. */
    void (*on_tensor)(void *arg, const char *name, size_t len, uint64_t nbytes);
    void *tensor_arg;
    /* --digest: the file's SHA-256 under way. A module that reads the whole file anyway (the
     * --deep tensor pass) feeds it every byte in order and sets digest_done; otherwise the
     * scanner reads the file for it after the checks. */
    struct st_sha256 *digest;
    int digest_done;
} st_input;

typedef struct {
    const char *name;
    /* Confidence 0..100 that the input is this format; 0 = not this format. */
    int (*sniff)(const st_input *in);
    st_error (*check)(st_input *in);
    int second_view; /* may be checked as a second view of bytes another format claims */
} st_format;

/* Confidence from which a format that is not the primary one is checked as a second view of
 * the same bytes (polyglots: a pickle at the start and a zip at the end). */
#define ST_VIEW_CONFIDENCE 60

/* The format with the highest confidence, or NULL when none claims the input. */
const st_format *st_format_identify(const st_input *in);

/* Every other format claiming the input with at least ST_VIEW_CONFIDENCE, in table order;
 * returns how many were written to out (at most max). */
size_t st_format_other_views(const st_input *in, const st_format *primary, const st_format **out,
                             size_t max);

/* libmagic's description of bytes stcheck does not recognise (a second opinion, for messages
 * only; the text is escaped by the report). */
void st_magic_describe(const unsigned char *buf, size_t len, char *out, size_t size);

/* Nonzero when name ends with suffix (ASCII case-insensitive). */
int st_name_has_suffix(const char *name, const char *suffix);

/* Format modules */
int st_safetensors_sniff(const st_input *in);
st_error st_safetensors_check(st_input *in);
int st_rawpickle_sniff(const st_input *in);
st_error st_rawpickle_check(st_input *in);
int st_numpy_sniff(const st_input *in);
/* Nonzero when the bytes start with the .npy magic (a file, or an .npz member). */
int st_npy_sniff_bytes(const unsigned char *p, size_t n);
st_error st_numpy_check(st_input *in);
/* Checks the .npy held in src (a file, or a member of an .npz named member). */
st_error st_npy_check_src(st_input *in, const st_src *src, const char *member);
int st_compressed_sniff(const st_input *in);
st_error st_compressed_check(st_input *in);
/* Checks bytes found inside another input (decompressed, or an archive member) as an input of
 * their own, identified by content, within the nesting limit. */
st_error st_check_nested(st_input *outer, const unsigned char *buf, size_t len, const char *what);
/* The same for bytes [off, off+len) of the input itself, read in place (a zip member stored
 * uncompressed: a llamafile's GGUF weights, too large to copy). */
st_error st_check_nested_range(st_input *outer, uint64_t off, uint64_t len, const char *what);
/* The same for a stream decompressed from the input itself: its siblings are the input's
 * (joblib.load reads old-joblib sibling files from the compressed file's folder). */
st_error st_check_nested_in_folder(st_input *outer, const unsigned char *buf, size_t len,
                                   const char *what);
/* joblib.c: old joblib "ZF" compressed pickles (numpy_pickle_compat.py read_zfile). */
int st_zfile_sniff(const st_input *in);
st_error st_zfile_check(st_input *in);
int st_tar_sniff(const st_input *in);
int st_tar_header_valid(const unsigned char *h, size_t n);
st_error st_tar_check(st_input *in);
/* gguf/gguf.c: GGUF (llama.cpp) */
int st_gguf_sniff(const st_input *in);
st_error st_gguf_check(st_input *in);
/* convert: the data of a torch tar checkpoint's four parts (tar.c) */
st_error st_tar_torch_parts(st_input *in, uint64_t off[4], uint64_t size[4]);
/* onnx/onnx.c: ONNX ModelProto */
int st_onnx_sniff(const st_input *in);
st_error st_onnx_check(st_input *in);
/* keras/hdf5.c: HDF5 files (Keras .h5 weights and legacy full models) */
int st_hdf5_sniff(const st_input *in);
st_error st_hdf5_check(st_input *in);
int st_opaque_sniff(const st_input *in);
st_error st_opaque_check(st_input *in);
/* other.c: TensorFlow Lite, ExecuTorch, Core ML, OpenVINO IR: identified, could not check */
int st_tflite_sniff(const st_input *in);
int st_executorch_sniff(const st_input *in);
int st_coreml_sniff(const st_input *in);
int st_openvino_sniff(const st_input *in);
st_error st_other_check(st_input *in);
/* other_exec.c: native executables (llamafile, ELF, PE, Mach-O) */
int st_exec_sniff(const st_input *in);
st_error st_exec_check(st_input *in);
/* keras/savedmodel.c: TensorFlow SavedModel files and Keras 2 keras_metadata.pb */
int st_savedmodel_sniff(const st_input *in);
st_error st_savedmodel_check(st_input *in);
int st_index_sniff(const st_input *in);
st_error st_index_check(st_input *in);
int st_ziparchive_sniff(const st_input *in);
st_error st_ziparchive_check(st_input *in);
/* views.c: the pickle view (byte 0, as pickle.load) and the tar view every file gets. */
int st_pickle_view_sniff(const st_input *in);
st_error st_pickle_view_check(st_input *in);
int st_tar_view_sniff(const st_input *in);
st_error st_tar_view_check(st_input *in);
/* scan.c: checks an input like a file given alone (identification, checks, other views); its
 * head and tail must be read. index.c checks each shard with it. */
void st_scan_input(st_input *in);
/* textual.c: folder walks. Content no format claims: skipped only when identified as a
 * non-model type after its pickle view was ruled out; otherwise checked as a pickle, or could
 * not check (ST506). */
st_error st_nonmodel_check(st_input *in);
/* Nonzero (ST507 recorded, the report failed) when the content is a git-lfs pointer. */
int st_lfs_pointer_check(st_input *in);

#endif /* ST_FORMAT_H */
