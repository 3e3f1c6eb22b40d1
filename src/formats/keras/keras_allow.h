/*
 * keras/keras_allow.h - the Keras names a configuration may reference (keras_allow.c is
 * generated from Keras's source by keras_allow_gen.py; both lists sorted by byte value).
 */
#ifndef ST_KERAS_ALLOW_H
#define ST_KERAS_ALLOW_H

#include <stddef.h>

/* "keras.layers.Dense", "keras.src.layers.core.dense.Dense", "keras.activations.relu", ... */
extern const char *const st_keras_names[];
extern const size_t st_keras_names_count;
/* Public class names without module ("Dense"): legacy configs carry no module. */
extern const char *const st_keras_bare[];
extern const size_t st_keras_bare_count;

#endif /* ST_KERAS_ALLOW_H */
