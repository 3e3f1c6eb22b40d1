/*
 * onnx_int.h - state shared by the ONNX walk (onnx.c) and the checks of the files it names
 * (onnx_files.c): external data tensors and EPContext cache files.
 */
#ifndef ST_ONNX_INT_H
#define ST_ONNX_INT_H

#include <stdint.h>

#include "../format.h"
#include "onnx_facts.h"
#include "protobuf.h"

#define LOC_MAX 4096
#define DOMAIN_MAX 256
#define DOMAINS_KEPT 32

/* A tensor's (or an EPContext node's) data in a file next to the model. */
typedef struct {
    char *loc;                /* the location, NUL-free, judged a relative path inside the folder */
    uint64_t off;             /* offset in the file */
    uint64_t len;             /* bytes: `length`, else dims x element size */
    uint64_t where;           /* the tensor's (node's) offset in the model, for findings */
    unsigned char has_len;    /* len is known (`length` or the dims); else: to the end */
    unsigned char ep_context; /* an EPContext ep_cache_context file (off 0, whole file) */
} st_onnx_ext;

/* A (domain, op_type) pair: a node's operator, or a model-local function's domain and name
 * (onnxruntime keys model functions by both: function_utils::GetFunctionIdentifier). */
typedef struct {
    char name[DOMAIN_MAX + 1];
    char op[DOMAIN_MAX + 1];
    uint64_t off;
} domain_seen;

/* Per message level: what a NodeProto, AttributeProto or OperatorSetIdProto holds so far
 * (their fields may come in any order, so they are judged when the message ends). */
typedef struct {
    unsigned char has_domain, is_ep, has_embed, has_ctx;
    uint64_t embed, ctx_off, ctx_len;
    /* attribute: name kind (1 embed_mode, 2 ep_cache_context), int, string payload */
    unsigned char attr_kind, has_i, has_s;
    uint64_t i, s_off, s_len;
    /* opset: version */
    uint64_t version;
    uint64_t start;
    /* node: a custom domain (judged with op_type when the node ends); function: domain, name */
    unsigned char custom, op_bad;
    uint64_t dom_off;
    char dom[DOMAIN_MAX + 1], op[DOMAIN_MAX + 1];
} frame;

typedef struct {
    st_input *in;
    st_pb_cursor cur;
    unsigned char types[ST_PB_MAX_DEPTH + 1];
    uint64_t seen[ST_PB_MAX_DEPTH + 1];
    frame fr[ST_PB_MAX_DEPTH + 1];
    char opset_domain[DOMAIN_MAX + 1]; /* opsets do not nest */
    int opset_domain_bad;
    /* the tensor being read (tensors never nest in tensors) */
    uint64_t t_off, t_product, raw_len;
    int t_overflow, t_negative, has_raw, location_seen;
    uint64_t data_type, data_location;
    /* its external data: the location (if judged sound), offset and length */
    char t_loc[LOC_MAX + 1];
    int t_loc_ok, t_numbers_bad, t_has_offset, t_has_length;
    uint64_t t_offset, t_length;
    /* the external_data entry being read */
    char key[16];
    unsigned char value[LOC_MAX + 1];
    uint64_t value_len;
    int has_key, has_value;
    /* node domains outside the allowlist, judged at the end against local functions */
    domain_seen custom[DOMAINS_KEPT];
    size_t n_custom;
    domain_seen funcs[DOMAINS_KEPT];
    size_t n_funcs;
    /* files named by tensors and EPContext nodes */
    st_onnx_ext *ext;
    size_t n_ext, cap_ext;
    int nomem, ext_limited;
    struct st_onnx_facts *facts;
} walk;

/* Records a file reference (loc copied); nonzero when the tensors limit was reached. */
int st_onnx_ext_add(walk *w, const char *loc, uint64_t off, uint64_t len, int has_len,
                    uint64_t where, int ep_context);
/* Opens every referenced file in the model's folder (or through the sibling opener) and
 * checks ranges and overlaps; findings ST812-ST816. ST_OK, or why the check is incomplete. */
st_error st_onnx_check_files(walk *w);
void st_onnx_ext_free(walk *w);

#endif /* ST_ONNX_INT_H */
