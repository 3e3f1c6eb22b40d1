#!/bin/sh
# bench/convert.sh STCHECK [DIR] - stcheck convert and compare on a 1 GiB checkpoint (issue #15).
#
# Makes a 1 GiB torch.save zip checkpoint (16 float32 tensors of 64 MiB, Debian's python3-torch),
# then, from the page cache, times: cp of the checkpoint; stcheck convert (check + write + fsync
# + strict validation + read-back comparison); stcheck compare of the checkpoint with its
# conversion. Peak RSS from GNU time. Figures are recorded in README.md.
set -eu
STCHECK=$1
DIR=${2:-/tmp/stcheck-convert-bench}
mkdir -p "$DIR"
CK="$DIR/model.bin"
if [ ! -f "$CK" ]; then
  /usr/bin/python3 -c "
import torch, collections
sd = collections.OrderedDict()
for i in range(16):
    sd['layer%02d.weight' % i] = torch.full((4096, 4096), float(i))
torch.save(sd, '$CK')
"
fi
cat "$CK" > /dev/null # page cache
size=$(stat -c %s "$CK")
t() { /usr/bin/time -f "%e s elapsed, %U+%S s CPU, max RSS %M KiB" "$@" 2>&1 >/dev/null | tail -1; }
rm -f "$DIR/copy.bin" "$DIR/model.safetensors"
echo "checkpoint: $size bytes"
echo "cp:               $(t cp "$CK" "$DIR/copy.bin")"
echo "cp + sync:        $(t sh -c "cp '$CK' '$DIR/copy2.bin' && sync '$DIR/copy2.bin'")"
echo "stcheck convert:  $(t "$STCHECK" convert -q "$CK" "$DIR/model.safetensors")"
echo "stcheck compare:  $(t "$STCHECK" compare -q "$CK" "$DIR/model.safetensors")"
echo "compare st/st:    $(t "$STCHECK" compare -q "$DIR/model.safetensors" "$DIR/model.safetensors")"
rm -f "$DIR/copy.bin" "$DIR/copy2.bin"
