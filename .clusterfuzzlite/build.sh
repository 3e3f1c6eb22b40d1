#!/bin/bash -eu
# ClusterFuzzLite uses the same build as OSS-Fuzz.
exec "$SRC/stcheck/ci/oss-fuzz/build.sh"
