/*
 * keras/keras.h - Keras model configurations, judged wherever they are stored.
 *
 * One judge for the three places a Keras model's configuration lives: config.json in a
 * Keras 3 .keras archive (keras.c), the model_config attribute of a legacy .h5 full-model file
 * (hdf5.c), and the metadata strings of a TF SavedModel's keras_metadata.pb (savedmodel.c).
 */
#ifndef ST_KERAS_H
#define ST_KERAS_H

#include "../format.h"
#include "../zip.h"

/* Judges the Keras configuration JSON in json[0..len) (untrusted; read with the project's strict
 * JSON scanner) and records findings in in->report: modules, classes and functions outside
 * Keras's own, Lambda bytecode, the published safe_mode bypass gadgets. where names the origin
 * in messages (e.g. "config.json", "model_config attribute of /"). Returns ST_OK when judged
 * (whatever was found), an error when it could not be read (the scanner's "could not check"). */
st_error st_keras_check_config(st_input *in, const unsigned char *json, size_t len,
                               const char *where);

/* A Keras model folder's config.json given alone (format "keras-config"). */
int st_keras_config_sniff(const st_input *in);
st_error st_keras_config_check(st_input *in);

/* Nonzero when Python's zipfile finds config.json at the top of the archive next to
 * metadata.json or model.weights.h5/.npz (saving_lib.py's names), or the file is named .keras. */
int st_keras_is_archive(const st_input *in, const st_zip *z);

/* Checks a Keras 3 .keras archive read as z: config.json (st_keras_check_config),
 * metadata.json, and model.weights.h5 (st_hdf5_check_src). Sets the report's format to
 * "keras". The zip reader still judges every member by content. */
st_error st_keras_check_archive(st_input *in, const st_zip *z);

#endif /* ST_KERAS_H */
