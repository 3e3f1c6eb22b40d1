/*
 * keras/hdf5.h - a bounded reader of the HDF5 subset h5py writes for Keras.
 *
 * Keras 3 stores a model's weights as model.weights.h5 inside a .keras archive, and Keras 2
 * stores whole models as .h5 files whose root group carries the model's configuration JSON in
 * the model_config attribute. hdf5.c walks the superblock, groups, attributes and dataset
 * layouts of that subset iteratively with limits; anything outside it is "could not check".
 */
#ifndef ST_HDF5_H
#define ST_HDF5_H

#include "../format.h"

/* Walks the HDF5 file held in src (a file, or the member of an archive named member, which may be
 * NULL) and records findings in in->report. A model_config or training_config attribute on the
 * root group is judged by st_keras_check_config. Returns ST_OK when the file was walked
 * (whatever was found), an error when it could not be (the scanner's "could not check"). */
st_error st_hdf5_check_src(st_input *in, const st_src *src, const char *member);

/* Bob Jenkins' lookup3 hashlittle of k[0..length), the checksum libhdf5 puts on version 2
 * metadata (H5checksum.c H5_checksum_lookup3); tests build checksummed files with it (the e2e
 * files h5py writes check it against libhdf5's own). */
uint32_t st_hdf5_lookup3(const unsigned char *k, size_t length);

#endif /* ST_HDF5_H */
