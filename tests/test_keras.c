/*
 * test_keras.c - the Keras configuration judge (src/formats/keras/keras.c): each rule with its
 * exact ids and verdict, configurations written the way Keras writes them (cited per test from
 * keras-team/keras at 3422977a, keras/src/saving/serialization_lib.py serialize_keras_object and
 * the layers' get_config), the published gadgets, the policy's keras.allow, and .keras archives
 * built here byte by byte (stored members; weights members are covered by tests/gen_keras.py,
 * which writes them with h5py).
 *
 * Configs are written with single quotes for readability; q() turns them into JSON.
 */
#include "test_util.h"

#include <zlib.h>

#include "core/report.h"
#include "core/source.h"
#include "formats/keras/keras.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR

/* ' -> " (no test config holds an apostrophe). */
static char *q(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static st_report *judge(st_ctx *ctx, const char *cfg, st_error *err)
{
    char *json = q(cfg);
    st_report *r = st_report_new(ctx, "t.json");
    assert_non_null(r);
    st_input in = {.ctx = ctx, .report = r};
    *err = st_keras_check_config(&in, (const unsigned char *)json, strlen(json), "config.json");
    if (*err != ST_OK)
        st_report_fail(r, *err);
    free(json);
    return r;
}

#define EXPECT(ctx, cfg, ids, verdict)                                                             \
    do {                                                                                           \
        st_error e_;                                                                               \
        st_report *r_ = judge((ctx), (cfg), &e_);                                                  \
        tu_assert_ids(r_, (ids));                                                                  \
        assert_int_equal(st_report_verdict(r_), (verdict));                                        \
        st_report_free(r_);                                                                        \
    } while (0)

/* ---- configurations as Keras 3 writes them --------------------------------------------- */

/* Dense.get_config (keras/src/layers/core/dense.py) inside serialize_keras_object's envelope:
 * module from the public name "keras.layers", registered_name None; dtype policies and
 * initializers as their own objects (keras.DTypePolicy, keras.initializers.GlorotUniform). */
#define DTYPE                                                                                      \
    "{'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, "             \
    "'registered_name': null}"
#define DENSE(name, units, act)                                                                    \
    "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {'name': '" name "', "            \
    "'trainable': true, 'dtype': " DTYPE ", 'units': " units ", 'activation': '" act "', "         \
    "'use_bias': true, 'kernel_initializer': {'module': 'keras.initializers', 'class_name': "      \
    "'GlorotUniform', 'config': {'seed': null}, 'registered_name': null}, 'bias_initializer': "    \
    "{'module': 'keras.initializers', 'class_name': 'Zeros', 'config': {}, 'registered_name': "    \
    "null}, 'kernel_regularizer': null, 'bias_regularizer': null, 'kernel_constraint': null, "     \
    "'bias_constraint': null}, 'registered_name': null, 'build_config': {'input_shape': [null, "   \
    "4]}}"

/* Sequential (keras/src/models/sequential.py get_config: name, trainable, dtype, layers,
 * build_input_shape) exported as keras.Sequential; compile_config from Trainer.compile. */
static const char sequential[] =
    "{'module': 'keras', 'class_name': 'Sequential', 'config': {'name': 'sequential', "
    "'trainable': true, 'dtype': " DTYPE ", 'layers': [{'module': 'keras.layers', 'class_name': "
    "'InputLayer', 'config': {'batch_shape': [null, 4], 'dtype': 'float32', 'sparse': false, "
    "'ragged': false, 'name': 'input_layer'}, 'registered_name': null}, " DENSE(
        "dense", "8",
        "relu") ", " DENSE("dense_1", "1",
                           "linear") "], 'build_input_shape': [null, 4]}, 'registered_name': null, "
                                     "'build_config': "
                                     "{'input_shape': [null, 4]}, 'compile_config': {'optimizer': "
                                     "{'module': "
                                     "'keras.optimizers', 'class_name': 'Adam', 'config': {'name': "
                                     "'adam', "
                                     "'learning_rate': 0.0010000000474974513, 'weight_decay': "
                                     "null, 'clipnorm': "
                                     "null, 'global_clipnorm': null, 'clipvalue': null, 'use_ema': "
                                     "false, "
                                     "'ema_momentum': 0.99, 'ema_overwrite_frequency': null, "
                                     "'loss_scale_factor': "
                                     "null, 'gradient_accumulation_steps': null, 'beta_1': 0.9, "
                                     "'beta_2': 0.999, "
                                     "'epsilon': 1e-07, 'amsgrad': false}, 'registered_name': "
                                     "null}, 'loss': "
                                     "{'module': 'keras.losses', 'class_name': 'MeanSquaredError', "
                                     "'config': "
                                     "{'name': 'mean_squared_error', 'reduction': "
                                     "'sum_over_batch_size'}, "
                                     "'registered_name': null}, 'loss_weights': null, 'metrics': "
                                     "['mae', "
                                     "{'module': 'keras.metrics', 'class_name': 'AUC', 'config': "
                                     "{'name': 'auc'}, "
                                     "'registered_name': null}], 'weighted_metrics': null, "
                                     "'run_eagerly': false, "
                                     "'steps_per_execution': 1, 'jit_compile': false}}";

/* Functional (keras/src/models/functional.py, not exported: module is its __module__ and
 * registered_name its class name), nodes' KerasTensors as __keras_tensor__, an op call as an
 * Operation of keras.src.ops.numpy (registered_name its class name), a built-in function by
 * name (serialize_with_public_fn: registered_name is the function's name). */
static const char functional[] =
    "{'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {'name': "
    "'functional', 'trainable': true, 'layers': [{'module': 'keras.layers', 'class_name': "
    "'InputLayer', 'config': {'batch_shape': [null, 4], 'dtype': 'float32', 'sparse': false, "
    "'ragged': false, 'name': 'input_layer'}, 'registered_name': null, 'name': 'input_layer', "
    "'inbound_nodes': []}, {'module': 'keras.src.ops.numpy', 'class_name': 'Add', 'config': "
    "{'name': 'add'}, 'registered_name': 'Add', 'name': 'add', 'inbound_nodes': [{'args': "
    "[{'class_name': '__keras_tensor__', 'config': {'shape': [null, 4], 'dtype': 'float32', "
    "'keras_history': ['input_layer', 0, 0]}}, {'class_name': '__keras_tensor__', 'config': "
    "{'shape': [null, 4], 'dtype': 'float32', 'keras_history': ['input_layer', 0, 0]}}], "
    "'kwargs': {}}]}, {'module': 'keras.layers', 'class_name': 'Activation', 'config': {'name': "
    "'activation', 'activation': {'module': 'keras.activations', 'class_name': 'function', "
    "'config': 'gelu', 'registered_name': 'gelu'}}, 'registered_name': null, 'name': "
    "'activation', 'inbound_nodes': []}, {'module': 'keras.layers', 'class_name': 'Rescaling', "
    "'config': {'name': 'r', 'scale': {'class_name': '__numpy__', 'config': {'value': [1.0], "
    "'dtype': 'float32'}}, 'offset': 0.0}, 'registered_name': null}], 'input_layers': "
    "[['input_layer', 0, 0]], 'output_layers': [['add', 0, 0]]}, 'registered_name': "
    "'Functional', 'build_config': {'input_shape': null}}";

/* A tf.keras 2 model_config (legacy h5, keras_metadata.pb): class names without module
 * (keras/src/legacy/saving/serialization.py resolves them among Keras's objects), a 2.11+
 * optimizer registered as Custom>Adam, a TFOpLambda for `x + 1` (__operators__.add). */
static const char legacy[] =
    "{'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': [{'class_name': "
    "'InputLayer', 'config': {'batch_input_shape': [null, 4], 'dtype': 'float32', 'sparse': "
    "false, 'ragged': false, 'name': 'dense_input'}}, {'class_name': 'Dense', 'config': "
    "{'name': 'dense', 'trainable': true, 'units': 8, 'activation': 'relu', "
    "'kernel_initializer': {'class_name': 'GlorotUniform', 'config': {'seed': null}}, "
    "'kernel_regularizer': {'class_name': 'L2', 'config': {'l2': 0.01}}}}, {'class_name': "
    "'TFOpLambda', 'config': {'name': 'tf.__operators__.add', 'function': "
    "'__operators__.add'}}, {'class_name': 'TFOpLambda', 'config': {'name': 'tf.reshape', "
    "'function': 'reshape'}}, {'class_name': 'Functional', 'config': {'name': 'inner', "
    "'layers': []}}], 'optimizer': {'class_name': 'Custom>Adam', 'config': {}}, 'loss': "
    "{'class_name': 'function', 'config': 'mean_squared_error'}}}";

static void test_real_configs_pass(void **state)
{
    EXPECT(*state, sequential, "", PASS);
    EXPECT(*state, functional, "", PASS);
    EXPECT(*state, legacy, "", PASS);
    /* json.dumps writes NaN and Infinity for such floats; json.loads reads them */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'ReLU', 'config': {'max_value': Infinity, "
           "'negative_slope': -Infinity, 'threshold': NaN, 'name': 'NaN Infinity'}}",
           "", PASS);
    /* a string holding an escaped quote before a word Python would read as a constant */
    EXPECT(*state, "{'a': '\\\\\\'NaN', 'b': [NaN]}", "", PASS);
}

/* ---- ST851: Lambda bytecode ------------------------------------------------------------ */

static void test_lambda(void **state)
{
    /* keras/src/layers/core/lambda_layer.py _serialize_function_to_config */
    EXPECT(
        *state,
        "{'module': 'keras.layers', 'class_name': 'Lambda', 'config': {'name': 'lambda', "
        "'function': {'class_name': '__lambda__', 'config': {'code': '4wEAAAAAAAAAAAAAAAEAAAAD', "
        "'defaults': null, 'closure': null}}}, 'registered_name': null}",
        "ST851", FAIL);
    /* serialization_lib.py serialize_keras_object: {'class_name': '__lambda__', value} */
    EXPECT(*state, "{'a': {'class_name': '__lambda__', 'config': {'value': ['x', null, null]}}}",
           "ST851", FAIL);
    /* tf.keras 2 Lambda: function_type lambda, base64 marshal in function, module __main__
     * (CVE-2025-9905: load_model ignored safe_mode for .h5) */
    EXPECT(*state,
           "{'class_name': 'Lambda', 'config': {'name': 'lambda', 'function': ['4wEAAAAA', null, "
           "null], 'function_type': 'lambda', 'module': '__main__', 'output_shape': null, "
           "'output_shape_type': 'raw', 'arguments': {}}}",
           "ST851", FAIL);
    /* the same without function_type (or with another): legacy/saving/saving_utils.py
     * model_from_config pops function_type and turns any list into a __lambda__ */
    EXPECT(*state,
           "{'class_name': 'Lambda', 'config': {'name': 'lambda', 'function': ['4wEAAAAA', null, "
           "null], 'arguments': {}}}",
           "ST851", FAIL);
    EXPECT(*state,
           "{'class_name': 'Lambda', 'config': {'name': 'l', 'function_type': 'function', "
           "'function': ['4wEAAAAA', null, null]}}",
           "ST851", FAIL);
    /* output_shape as a list is a shape, not bytecode */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'Lambda', 'config': {'name': 'l', "
           "'function': {'module': 'keras.ops', 'class_name': 'function', 'config': 'relu', "
           "'registered_name': 'relu'}, 'output_shape': [2, 3]}, 'registered_name': null}",
           "", PASS);
    /* a Lambda over a Keras function is fine; over a function of another module is not */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'Lambda', 'config': {'name': 'l', "
           "'function': {'module': 'keras.ops', 'class_name': 'function', 'config': 'relu', "
           "'registered_name': 'relu'}}, 'registered_name': null}",
           "", PASS);
    EXPECT(*state,
           "{'class_name': 'Lambda', 'config': {'name': 'l', 'function': 'system', "
           "'function_type': 'function', 'module': 'os'}}",
           "ST852", FAIL);
}

/* ---- ST852: outside Keras -------------------------------------------------------------- */

static void test_custom_objects(void **state)
{
    /* CVE-2025-1550: any module + function, imported by _retrieve_class_or_fn before 3.9 */
    EXPECT(*state,
           "{'module': 'os', 'class_name': 'function', 'config': 'system', 'registered_name': "
           "null}",
           "ST852", FAIL);
    EXPECT(*state, "{'module': 'subprocess', 'class_name': 'Popen', 'config': {}}", "ST852", FAIL);
    /* builtins: only Keras's built-in functions (BUILTIN_MODULES) */
    EXPECT(*state, "{'module': 'builtins', 'class_name': 'function', 'config': 'eval'}", "ST852",
           FAIL);
    EXPECT(*state, "{'module': 'builtins', 'class_name': 'function', 'config': 'relu'}", "", PASS);
    /* a registered name is looked up before the module, whatever module is claimed */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {}, 'registered_name': "
           "'evil>Dense'}",
           "ST852", FAIL);
    /* custom objects, registered as Keras writes them (package>name) */
    EXPECT(*state,
           "{'module': 'my_pkg.layers', 'class_name': 'MyLayer', 'config': {}, "
           "'registered_name': 'my_pkg>MyLayer'}",
           "ST852", FAIL);
    /* no module: a legacy custom class or function name */
    EXPECT(*state, "{'class_name': 'MyLayer', 'config': {}}", "ST852", FAIL);
    EXPECT(*state, "{'class_name': 'function', 'config': 'my_loss'}", "ST852", FAIL);
    /* KerasHub and other packages Keras imports: outside Keras's own (policy may allow) */
    EXPECT(*state,
           "{'module': 'keras_hub.src.models.gemma.gemma_backbone', 'class_name': "
           "'GemmaBackbone', 'config': {}, 'registered_name': 'keras_hub>GemmaBackbone'}",
           "ST852", FAIL);
    /* a name longer than any Keras name */
    EXPECT(*state,
           "{'module': 'keras.layers.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaa', 'class_name': 'Dense', 'config': {}}",
           "ST852", FAIL);
    /* a class-less object naming a module: allowed when Keras names something in it */
    EXPECT(*state, "{'x': {'module': 'keras.layers'}, 'y': {'module': 'not a module'}}", "", PASS);
    EXPECT(*state, "{'x': {'module': 'numpy.lib'}}", "ST852", FAIL);
    /* a module is Keras's when a listed name starts with it (found by binary search): the
     * first and last listed packages, a prefix that is no package, a name past the list */
    EXPECT(*state,
           "{'a': {'module': 'keras'}, 'b': {'module': 'keras.src.regularizers.regularizers'}, "
           "'c': {'module': 'keras.activations'}}",
           "", PASS);
    EXPECT(*state, "{'x': {'module': 'keras.layer'}}", "ST852", FAIL);
    EXPECT(*state, "{'x': {'module': 'zzz.a'}}", "ST852", FAIL);
}

/* ---- ST853: Keras names outside modeling ----------------------------------------------- */

static void test_keras_api(void **state)
{
    EXPECT(*state, "{'module': 'keras.layers', 'class_name': 'NoSuchLayer', 'config': {}}", "ST853",
           FAIL);
    EXPECT(*state,
           "{'module': 'keras.src.trainers.compile_utils', 'class_name': 'MetricsList', "
           "'config': {}, 'registered_name': 'MetricsList'}",
           "ST853", FAIL);
    /* functions of keras.models are not modeling functions */
    EXPECT(*state,
           "{'module': 'keras.src.models.model', 'class_name': 'function', 'config': "
           "'model_from_json'}",
           "ST853", FAIL);
}

/* ---- ST854: published gadgets ---------------------------------------------------------- */

static void test_gadgets(void **state)
{
    /* CVE-2026-1462: TFSMLayer loads a SavedModel from filepath (keras/src/export/tfsm_layer.py) */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'TFSMLayer', 'config': {'filepath': "
           "'/tmp/evil', 'call_endpoint': 'serve'}, 'registered_name': null}",
           "ST854", FAIL);
    /* keras/src/utils/torch_utils.py from_config: torch.load(base64 pickle) */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'TorchModuleWrapper', 'config': {'name': "
           "'t', 'module': 'gASVKAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg=='}, "
           "'registered_name': null}",
           "ST854", FAIL);
    EXPECT(*state, "{'class_name': 'JaxLayer', 'config': {}}", "ST854", FAIL);
    EXPECT(*state, "{'module': 'keras.src.utils.jax_layer', 'class_name': 'FlaxLayer'}", "ST854",
           FAIL);
    /* CVE-2025-8747 / CVE-2025-9906: keras.utils.get_file reached through module + class_name */
    EXPECT(*state,
           "{'module': 'keras.utils', 'class_name': 'function', 'config': 'get_file', "
           "'registered_name': 'get_file'}",
           "ST854", FAIL);
    EXPECT(*state,
           "{'module': 'keras.src.saving.serialization_lib', 'class_name': 'function', "
           "'config': 'deserialize_keras_object'}",
           "ST854", FAIL);
    EXPECT(*state, "{'module': 'keras.models', 'class_name': 'function', 'config': 'load_model'}",
           "ST854", FAIL);
    EXPECT(*state,
           "{'module': 'keras.config', 'class_name': 'function', 'config': "
           "'enable_unsafe_deserialization'}",
           "ST854", FAIL);
    /* a legacy Lambda naming a function of keras.utils by module */
    EXPECT(*state,
           "{'class_name': 'Lambda', 'config': {'function': 'get_file', 'function_type': "
           "'function', 'module': 'keras.utils'}}",
           "ST854", FAIL);
    EXPECT(*state, "{'x': {'module': 'keras.src.saving'}}", "ST854", FAIL);
}

/* ---- ST855: vocabulary paths (CVE-2025-12058) ------------------------------------------ */

static void test_vocabulary(void **state)
{
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'StringLookup', 'config': {'name': 's', "
           "'vocabulary': '/etc/passwd', 'max_tokens': null}, 'registered_name': null}",
           "ST855", FAIL);
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'TextVectorization', 'config': "
           "{'vocabulary': 'https://example.invalid/v.txt'}}",
           "ST855", FAIL);
    /* IndexLookup keeps a list vocabulary in its config; a path is saved as an asset (null) */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'IntegerLookup', 'config': {'vocabulary': "
           "[1, 2, 3]}}",
           "", PASS);
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'StringLookup', 'config': {'vocabulary': "
           "null}}",
           "", PASS);
}

/* ---- ST856: names that are paths ------------------------------------------------------- */

static void test_names(void **state)
{
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'Dense', 'config': {'name': "
           "'../../.ssh/authorized_keys', 'units': 1}}",
           "ST856", FAIL);
    EXPECT(*state, "{'class_name': 'Dense', 'config': {'name': '..'}}", "ST856", FAIL);
    EXPECT(*state, "{'class_name': 'Dense', 'config': {'name': 'a\\\\b'}}", "ST856", FAIL);
    EXPECT(*state, "{'class_name': 'Dense', 'config': {'name': 'a\\u0000'}}", "ST856", FAIL);
    EXPECT(*state, "{'class_name': 'Dense', 'config': {'name': '...'}}", "", PASS);
}

/* ---- ST857: legacy TFOpLambda ops ------------------------------------------------------ */

static void test_tf_ops(void **state)
{
    EXPECT(*state, "{'class_name': 'TFOpLambda', 'config': {'function': 'io.write_file'}}", "ST857",
           FAIL);
    /* tf.print's output_stream may name a file */
    EXPECT(*state, "{'class_name': 'TFOpLambda', 'config': {'function': 'print'}}", "ST857", FAIL);
    EXPECT(*state, "{'class_name': 'SlicingOpLambda', 'config': {'function': 7}}", "ST857", FAIL);
    EXPECT(*state, "{'class_name': 'TFOpLambda', 'config': {'function': 'math.add()'}}", "ST857",
           FAIL);
    EXPECT(*state, "{'class_name': 'TFOpLambda', 'config': {'function': 'nn.relu'}}", "", PASS);
}

/* ---- ST860: objects Keras refuses ------------------------------------------------------ */

static void test_structure(void **state)
{
    EXPECT(*state, "{'class_name': 5, 'config': {}}", "ST860", PASS);
    EXPECT(*state, "{'class_name': 'function', 'config': {'a': 1}}", "ST860", PASS);
    EXPECT(*state, "{'module': 5, 'class_name': 'Dense', 'config': {}}", "ST860", PASS);
    EXPECT(*state, "{'module': null, 'class_name': 'Dense', 'config': {}}", "", PASS);
    EXPECT(*state,
           "{'class_name': '__typespec__', 'spec_name': 'TensorSpec', 'module': "
           "'tensorflow.python.framework.tensor_spec', 'config': []}",
           "ST852", FAIL);
    EXPECT(*state, "{'class_name': '__typespec__', 'config': []}", "ST852", FAIL);
    EXPECT(*state, "[1, 'x', true, null, {}]", "", PASS);
}

/* ---- ST850 and limits ------------------------------------------------------------------ */

static void test_malformed(void **state)
{
    st_error e;
    st_report *r = judge(*state, "{'class_name': 'Dense', 'config': {},}", &e);
    assert_int_equal(e, ST_E_UNSUPPORTED);
    tu_assert_ids(r, "ST850");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    /* Python keeps the last duplicate: refused so no reader sees another class */
    r = judge(*state, "{'class_name': 'Dense', 'class_name': 'X'}", &e);
    assert_int_equal(e, ST_E_UNSUPPORTED);
    tu_assert_ids(r, "ST850");
    st_report_free(r);
    /* deeper than json_depth: could not check */
    char deep[300];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    deep[200] = '\0';
    r = judge(*state, deep, &e);
    assert_int_equal(e, ST_E_LIMIT);
    tu_assert_ids(r, "ST901");
    st_report_free(r);
}

/* ---- policy: keras.allow --------------------------------------------------------------- */

static void test_policy_allow(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[256];
    assert_int_equal(st_ctx_load_policy_text(ctx,
                                             "{\"keras\": {\"allow\": [\"my_pkg.*\", "
                                             "\"other.mod.Thing\", \"evil>Dense\", \"MyLayer\", "
                                             "\"keras.src.trainers.compile_utils.MetricsList\"]}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    EXPECT(ctx,
           "{'module': 'my_pkg.layers', 'class_name': 'MyLayer', 'config': {}, "
           "'registered_name': 'my_pkg>MyLayer'}",
           "ST852", FAIL); /* the registered name is not allowed, the module is */
    EXPECT(ctx, "{'module': 'my_pkg.layers', 'class_name': 'MyLayer', 'config': {}}", "", PASS);
    EXPECT(ctx, "{'module': 'my_pkg', 'class_name': 'function', 'config': 'f'}", "", PASS);
    EXPECT(ctx, "{'module': 'my_pkgx', 'class_name': 'function', 'config': 'f'}", "ST852", FAIL);
    EXPECT(ctx, "{'module': 'other.mod', 'class_name': 'Thing', 'config': {}}", "", PASS);
    EXPECT(ctx, "{'module': 'other.mod', 'class_name': 'Thing2', 'config': {}}", "ST852", FAIL);
    EXPECT(ctx,
           "{'module': 'keras.layers', 'class_name': 'Dense', 'registered_name': 'evil>Dense'}", "",
           PASS);
    EXPECT(ctx, "{'class_name': 'MyLayer', 'config': {}}", "", PASS);
    EXPECT(ctx, "{'module': 'keras.src.trainers.compile_utils', 'class_name': 'MetricsList'}", "",
           PASS);
    EXPECT(ctx, "{'x': {'module': 'my_pkg.sub'}}", "", PASS);
    EXPECT(ctx, "{'module': 'builtins', 'class_name': 'function', 'config': 'eval'}", "ST852",
           FAIL);
    st_ctx_free(ctx);

    /* an allow entry never lifts a gadget, bytecode or a vocabulary path */
    ctx = st_ctx_new();
    assert_int_equal(st_ctx_load_policy_text(ctx,
                                             "{\"keras\": {\"allow\": [\"keras.*\", "
                                             "\"TFSMLayer\", \"builtins.eval\"]}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    EXPECT(ctx, "{'module': 'keras.utils', 'class_name': 'function', 'config': 'get_file'}",
           "ST854", FAIL);
    EXPECT(ctx, "{'class_name': 'TFSMLayer', 'config': {}}", "ST854", FAIL);
    EXPECT(ctx, "{'class_name': '__lambda__', 'config': {}}", "ST851", FAIL);
    EXPECT(ctx, "{'module': 'builtins', 'class_name': 'function', 'config': 'eval'}", "", PASS);
    EXPECT(ctx, "{'module': 'keras.layers', 'class_name': 'Nope', 'config': {}}", "", PASS);
    char *pj = st_ctx_policy_json(ctx);
    assert_non_null(strstr(pj, "\"TFSMLayer\""));
    st_free(pj);
    st_ctx_free(ctx);

    /* refused policies name the key */
    static const char *const bad[] = {
        "{\"keras\": []}",
        "{\"keras\": {\"deny\": []}}",
        "{\"keras\": {\"allow\": \"x\"}}",
        "{\"keras\": {\"allow\": [\"*\"]}}",
        "{\"keras\": {\"allow\": [\"a*\"]}}",
        "{\"keras\": {\"allow\": [\"a.*.b\"]}}",
        "{\"keras\": {\"allow\": [\"a.**\"]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ctx = st_ctx_new();
        assert_int_equal(st_ctx_load_policy_text(ctx, bad[i], NULL, err, sizeof(err)), ST_E_INVAL);
        assert_non_null(strstr(err, "keras"));
        st_ctx_free(ctx);
    }
}

/* ---- value types, NULs, names and other branches ---------------------------------------- */

static void test_value_kinds(void **state)
{
    /* keys whose values are not strings, or strings holding a NUL */
    EXPECT(*state,
           "{'class_name': 'Dense', 'module': null, 'registered_name': 5, 'config': 5, "
           "'vocabulary': 1, 'function_type': 1, 'name': 1, 'function': 1, 'spec_name': 1}",
           "", PASS);
    EXPECT(*state, "{'class_name': 'a\\u0000', 'config': {}}", "ST860", PASS);
    EXPECT(*state, "{'module': 'x\\u0000', 'class_name': 'Dense', 'config': {}}", "ST860", PASS);
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'Dense', 'registered_name': 'a\\u0000'}", "",
           PASS);
    EXPECT(*state, "{'class_name': 'function', 'config': 'r\\u0000'}", "ST860", PASS);
    EXPECT(*state, "{'class_name': 'TFOpLambda', 'config': {'function': 'm\\u0000'}}", "ST857",
           FAIL);
    EXPECT(*state, "{'class_name': 'Lambda', 'config': {'function_type': 'lambdas'}}", "", PASS);
    /* facts of the object itself and of its config: the first is shown, both judged */
    EXPECT(*state,
           "{'class_name': 'StringLookup', 'vocabulary': '/a', 'name': '../x', 'function': 'f', "
           "'config': {'vocabulary': '/b', 'name': '../y', 'function': 'g'}}",
           "ST855,ST856", FAIL);
    /* a builtins class (not a function) is outside Keras */
    EXPECT(*state, "{'module': 'builtins', 'class_name': 'eval', 'config': {}}", "ST852", FAIL);
    EXPECT(*state, "{'class_name': 'Custom>NotKeras', 'config': {}}", "ST852", FAIL);
    EXPECT(
        *state,
        "{'class_name': 'TFOpLambda', 'config': {'function': 'math.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'}}",
        "ST857", FAIL);
    /* long names and paths shown cut do not make the class unknown */
    EXPECT(*state,
           "{'module': 'keras.layers', 'class_name': 'StringLookup', 'config': {'name': "
           "'../"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', "
           "'vocabulary': "
           "'/"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}}",
           "ST855,ST856", FAIL);
    EXPECT(
        *state,
        "{'class_name': 'Lambda', 'config': {'function_type': 'function', 'module': 'os', "
        "'function': "
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}}",
        "ST852", FAIL);
    /* a function object whose registered_name is its class name */
    EXPECT(*state,
           "{'module': 'keras.activations', 'class_name': 'function', 'config': 'relu', "
           "'registered_name': 'function'}",
           "", PASS);
    /* module spellings that are no dotted identifier are not judged as modules */
    EXPECT(*state,
           "[{'module': ''}, {'module': '.a'}, {'module': 'a..b'}, {'module': 'a.'}, {'module': "
           "'1a'}, {'module': 'a-b'}]",
           "", PASS);
    EXPECT(*state, "[{'module': 'a1._b'}]", "ST852", FAIL);
    /* no where: the default origin */
    st_report *r = st_report_new(*state, "t");
    st_input in = {.ctx = *state, .report = r};
    assert_int_equal(st_keras_check_config(&in, (const unsigned char *)"[]", 2, NULL), ST_OK);
    /* 2 GiB and more: refused before anything is read */
    assert_int_equal(st_keras_check_config(&in, (const unsigned char *)"[]", 0x80000000u, "x"),
                     ST_E_LIMIT);
    tu_assert_ids(r, "ST901");
    st_report_free(r);
}

static void test_policy_module_star(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"keras\": {\"allow\": [\"pkg.*\"]}}", NULL, NULL, 0),
        ST_OK);
    EXPECT(ctx, "{'x': {'module': 'pkg'}}", "", PASS);
    EXPECT(ctx, "{'x': {'module': 'pkgx'}}", "ST852", FAIL);
    EXPECT(ctx, "{'x': {'module': 'pk'}}", "ST852", FAIL);
    st_ctx_free(ctx);
}

/* A read that fails: the configuration given alone. */
static st_error fail_read(void *arg, uint64_t off, void *buf, size_t len)
{
    (void)arg, (void)off, (void)buf, (void)len;
    return ST_E_IO;
}

static void test_config_file(void **state)
{
    /* identification: a .json whose object starts with module or class_name */
    static const struct {
        const char *name, *text, *format;
    } cases[] = {
        {"config.json", " \n{ \"module\": \"keras\", \"class_name\": \"Sequential\"}",
         "keras-config"},
        {"c.json", "{\"class_name\": \"Dense\"}", "keras-config"},
        {"c.txt", "{\"class_name\": \"Dense\"}", "unknown"},
        {"c.json", "{\"model_type\": \"bert\"}", "unknown"},
        {"c.json", "[\"class_name\"]", "unknown"},
        {"c.json", "   ", "unknown"},
        {"c.json", "{", "unknown"},
        {"c.json", "{\"modul", "unknown"},
        /* json.loads ignores key order: a Keras key anywhere at the top level */
        {"c.json", "{\"config\": {}, \"class_name\": \"Lambda\"}", "keras-config"},
        {"c.json", "{\"a\": 1, \"module\": \"os\"}", "keras-config"},
        {"c.json", "{\"a\": {\"class_name\": \"Dense\"}}", "unknown"},
        /* not strict JSON (Python's NaN): claimed when "class_name" occurs at all */
        {"c.json", "{\"a\": NaN, \"class_name\": \"Dense\"}", "keras-config"},
        {"c.json", "{\"a\": NaN}", "unknown"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_report *r = st_check_buffer(*state, cases[i].text, strlen(cases[i].text), cases[i].name);
        assert_non_null(r);
        if (strcmp(st_report_format(r), cases[i].format) != 0)
            fail_msg("case %zu: format %s", i, st_report_format(r));
        st_report_free(r);
    }
    st_input none = {.name = NULL};
    assert_int_equal(st_keras_config_sniff(&none), 0);
    /* a reordered config is judged as any other */
    const char *reordered = "{\"config\": {\"name\": \"l\", \"function\": {\"class_name\": "
                            "\"__lambda__\", \"config\": {\"code\": \"4wE\"}}}, \"class_name\": "
                            "\"Lambda\", \"module\": \"keras.layers\"}";
    tu_expect_buf(*state, reordered, strlen(reordered), "config.json", "ST851", FAIL);
    /* over header_bytes */
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"limits\": {\"header_bytes\": 10}}", NULL, NULL, 0), ST_OK);
    const char *big = "{\"class_name\": \"Dense\", \"config\": {}}";
    st_report *r = st_check_buffer(ctx, big, strlen(big), "c.json");
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    const char *later = "{\"a\": 1, \"class_name\": \"Dense\"}"; /* not read past the limit */
    r = st_check_buffer(ctx, later, strlen(later), "c.json");
    assert_string_equal(st_report_format(r), "unknown");
    st_report_free(r);
    st_ctx_free(ctx);
    /* a read error while identifying: not claimed */
    st_src_cb fcb = {fail_read, NULL};
    st_src fsrc;
    st_src_callback(&fsrc, &fcb, 20);
    st_input sn = {.ctx = *state,
                   .src = &fsrc,
                   .name = "c.json",
                   .head = (const unsigned char *)"{\"a\": 1}",
                   .head_len = 8};
    assert_int_equal(st_keras_config_sniff(&sn), 0);
    sn.src = NULL; /* an input without a source (a probe of bytes only) */
    assert_int_equal(st_keras_config_sniff(&sn), 0);
    st_src empty = {-1, (const unsigned char *)"", 0};
    sn.src = &empty;
    assert_int_equal(st_keras_config_sniff(&sn), 0);
    /* a read error */
    r = st_report_new(*state, "c.json");
    st_src_cb cb = {fail_read, NULL};
    st_src src;
    st_src_callback(&src, &cb, 20);
    st_input in = {.ctx = *state, .report = r, .src = &src, .name = "c.json"};
    assert_int_equal(st_keras_config_check(&in), ST_E_IO);
    tu_assert_ids(r, "ST902");
    st_report_free(r);
}

/* st_keras_is_archive without a name (a buffer or member checked without one). */
static void test_is_archive_unnamed(void **state)
{
    (void)state;
    unsigned char cd[] = "config.json";
    st_zip_entry e = {.name_off = 0, .name_len = 11};
    st_zip z = {.e = &e, .n = 1, .cd = cd};
    st_input in = {.name = NULL};
    assert_int_equal(st_keras_is_archive(&in, &z), 0);
    z.n = 0;
    assert_int_equal(st_keras_is_archive(&in, &z), 0);
}

/* ---- .keras archives ------------------------------------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t n, cap;
    unsigned char cd[8192];
    size_t cdn;
    unsigned count;
} zipw;

static void zput(zipw *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 256;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A member with a name of nl bytes, method (0 stored, 8 deflate: data is then the raw stream),
 * its CRC xor'ed with crc_xor (0: right). */
static void zmember_x(zipw *w, const char *name, size_t nl, const char *data, int method,
                      uint32_t crc_xor)
{
    size_t dl = strlen(data);
    uint32_t crc = (uint32_t)crc32(0, (const unsigned char *)data, (unsigned)dl) ^ crc_xor;
    unsigned char h[30] = {'P', 'K', 3, 4, 20, 0};
    h[8] = (unsigned char)method;
    le(h + 14, crc, 4);
    le(h + 18, (uint32_t)dl, 4);
    le(h + 22, (uint32_t)dl, 4);
    le(h + 26, (uint32_t)nl, 2);
    unsigned char *c = w->cd + w->cdn;
    assert_true(w->cdn + 46 + nl < sizeof(w->cd));
    memset(c, 0, 46);
    memcpy(c, "PK\1\2", 4);
    c[4] = 20;
    c[6] = 20;
    c[10] = (unsigned char)method;
    le(c + 16, crc, 4);
    le(c + 20, (uint32_t)dl, 4);
    le(c + 24, (uint32_t)dl, 4);
    le(c + 28, (uint32_t)nl, 2);
    le(c + 42, (uint32_t)w->n, 4);
    memcpy(c + 46, name, nl);
    w->cdn += 46 + nl;
    w->count++;
    zput(w, h, 30);
    zput(w, name, nl);
    zput(w, data, dl);
}

/* A stored member (as Keras's zipfile.ZipFile writes them: ZIP_STORED). */
static void zmember(zipw *w, const char *name, const char *data)
{
    zmember_x(w, name, strlen(name), data, 0, 0);
}

static st_report *zfinish(zipw *w, const char *name)
{
    unsigned char e[22] = {'P', 'K', 5, 6};
    le(e + 8, w->count, 2);
    le(e + 10, w->count, 2);
    le(e + 12, (uint32_t)w->cdn, 4);
    le(e + 16, (uint32_t)w->n, 4);
    zput(w, w->cd, w->cdn);
    zput(w, e, 22);
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_check_buffer(ctx, w->b, w->n, name);
    assert_non_null(r);
    st_ctx_free(ctx);
    free(w->b);
    memset(w, 0, sizeof(*w));
    return r;
}

#define META "{\"keras_version\": \"3.11.3\", \"date_saved\": \"2026-01-01@00:00:00\"}"

static void expect_zip(zipw *w, const char *name, const char *ids, st_verdict v, const char *fmt)
{
    static int n;
    st_report *r = zfinish(w, name);
    n++;
    tu_assert_ids(r, ids);
    if (st_report_verdict(r) != v)
        fail_msg("archive case %d: verdict %d, expected %d", n, (int)st_report_verdict(r), (int)v);
    assert_string_equal(st_report_format(r), fmt);
    st_report_free(r);
}

static void test_archive(void **state)
{
    (void)state;
    zipw w = {0};
    char *cfg = q(sequential);
    /* no weights member: Keras refuses it after building the model (ST859, a warning) */
    zmember(&w, "metadata.json", META);
    zmember(&w, "config.json", cfg);
    expect_zip(&w, "m.bin", "ST859", PASS, "keras");
    /* metadata.json missing, not JSON, not an object, without date_saved */
    zmember(&w, "config.json", cfg);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST858", PASS, "keras");
    zmember(&w, "config.json", cfg);
    zmember(&w, "metadata.json", "{\"keras_version\": 3,}");
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST858", PASS, "keras");
    zmember(&w, "config.json", cfg);
    zmember(&w, "metadata.json", "[\"keras_version\"]");
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST858", PASS, "keras");
    zmember(&w, "config.json", cfg);
    zmember(&w, "metadata.json", "{\"keras_version\": \"3\", \"x\": {\"date_saved\": \"d\"}}");
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST858", PASS, "keras");
    /* named .keras without config.json */
    zmember(&w, "metadata.json", META);
    expect_zip(&w, "m.keras", "ST859", PASS, "keras");
    /* a zip with a config.json alone is not Keras's */
    zmember(&w, "config.json", "{\"model_type\": \"bert\"}");
    expect_zip(&w, "m.zip", "", PASS, "zip");
    /* config.json: the last copy is the one zipfile opens (ST301: duplicate names) */
    zmember(&w, "config.json", cfg);
    zmember(&w, "config.json",
            "{\"module\": \"os\", \"class_name\": \"function\", \"config\": "
            "\"system\"}");
    zmember(&w, "metadata.json", META);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST301,ST852", FAIL, "keras");
    /* config.json that is not strict JSON: could not check */
    zmember(&w, "config.json", "{\"class_name\": \"Dense\",}");
    zmember(&w, "metadata.json", META);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST850", NOCHECK, "keras");
    /* members that cannot be read: config.json and metadata.json compressed with an unknown
     * method, and model.weights.h5 (ST305) */
    zmember_x(&w, "config.json", 11, cfg, 99, 0);
    zmember(&w, "metadata.json", META);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST305", NOCHECK, "keras");
    zmember(&w, "config.json", cfg);
    zmember_x(&w, "metadata.json", 13, META, 99, 0);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST305", NOCHECK, "keras");
    zmember(&w, "config.json", cfg);
    zmember(&w, "metadata.json", META);
    zmember_x(&w, "model.weights.h5", 16, "\xff\xff\xff\xff", 99, 0);
    expect_zip(&w, "m.keras", "ST305", NOCHECK, "keras");
    /* a name zipfile cuts at its NUL is config.json to Keras */
    zmember_x(&w, "config.json\0x", 13, "{\"module\": \"os\", \"class_name\": \"system\"}", 0, 0);
    zmember(&w, "metadata.json", META);
    zmember(&w, "model.weights.npz", "");
    expect_zip(&w, "m.keras", "ST309,ST852", FAIL, "keras"); /* ST309: the NUL in a name */
    free(cfg);
}

/* The JSON report lists the layer classes (docs/report-json.md). */
static void test_report_fields(void **state)
{
    zipw w = {0};
    char *cfg = q(sequential);
    zmember(&w, "metadata.json", META);
    zmember(&w, "config.json", cfg);
    zmember(&w, "model.weights.npz", "");
    st_report *r = zfinish(&w, "m.keras");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(st_write_jsonl(f, r), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"keras\":{\"layer_classes\":[\"InputLayer\",\"Dense\","
                                "\"Sequential\"],\"layer_classes_truncated\":false,"
                                "\"keras_version\":\"3.11.3\"}"));
    free(buf);
    st_report_free(r);
    free(cfg);

    /* more distinct classes than the report keeps */
    size_t cap = 64 + 300 * 64;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, cap, "{'class_name': 'Sequential', 'config': {'layers': [");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s{'class_name': 'L%d', 'config': {}}",
                              i ? ", " : "", i);
    snprintf(big + n, cap - n, "]}}");
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"keras\": {\"allow\": [\"L*\"]}}", NULL, NULL, 0),
        ST_E_INVAL);
    st_error e;
    r = judge(ctx, big, &e);
    assert_int_equal(r->n_keras_layers, ST_KERAS_MAX_LAYER_CLASSES);
    assert_int_equal(r->keras_layers_truncated, 1);
    f = open_memstream(&buf, &len);
    assert_int_equal(st_write_jsonl(f, r), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"layer_classes_truncated\":true,\"keras_version\":null"));
    free(buf);
    st_report_free(r);
    st_ctx_free(ctx);
    free(big);

    /* a second configuration of the same report (model_config, then training_config) lists
     * only classes the first did not; repeated classes are listed once */
    ctx = st_ctx_new();
    r = judge(ctx,
              "{'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Dense'}, "
              "{'class_name': 'Dense'}, {'class_name': 'Conv2D'}]}}",
              &e);
    const char *second = "{\"class_name\": \"Dense\", \"config\": {\"layers\": "
                         "[{\"class_name\": \"Conv2D\"}, {\"class_name\": \"Flatten\"}]}}";
    st_input in = {.ctx = ctx, .report = r};
    assert_int_equal(
        st_keras_check_config(&in, (const unsigned char *)second, strlen(second), "second"), ST_OK);
    assert_string_equal(r->keras_layers, "Dense\nConv2D\nSequential\nFlatten");
    assert_int_equal(r->n_keras_layers, 4);
    assert_int_equal(r->keras_layers_truncated, 0);
    st_report_free(r);
    st_ctx_free(ctx);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_real_configs_pass, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_lambda, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_custom_objects, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_keras_api, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_gadgets, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_vocabulary, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_names, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_tf_ops, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_structure, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test(test_policy_allow),
        cmocka_unit_test_setup_teardown(test_value_kinds, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test(test_policy_module_star),
        cmocka_unit_test_setup_teardown(test_config_file, tu_ctx_setup, tu_ctx_teardown),
        cmocka_unit_test(test_is_archive_unnamed),
        cmocka_unit_test(test_archive),
        cmocka_unit_test(test_report_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
