#!/bin/sh
# Checks the hardening of a built stcheck binary with readelf (binutils):
#   PIE         ELF type DYN with the PIE flag in DT_FLAGS_1
#   full RELRO  a GNU_RELRO segment and BIND_NOW (DT_FLAGS BIND_NOW or DT_FLAGS_1 NOW)
#   canary      imports __stack_chk_fail (-fstack-protector-strong)
#   FORTIFY     imports glibc's checked functions (__*_chk), unless --no-fortify (-O0 builds)
# Usage: hardening_test.sh STCHECK [--no-fortify]
set -u
BIN=$1
FORTIFY=1
[ "${2:-}" = "--no-fortify" ] && FORTIFY=0
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

command -v readelf >/dev/null || { echo "FAIL readelf not found (binutils)"; exit 1; }
[ -f "$BIN" ] || { echo "FAIL no binary at $BIN"; exit 1; }
hdr=$(readelf -h "$BIN") || { echo "FAIL readelf -h $BIN"; exit 1; }
dyn=$(readelf -d "$BIN")
phdr=$(readelf -lW "$BIN")
syms=$(readelf --dyn-syms -W "$BIN")

if echo "$hdr" | grep -q 'Type:[[:space:]]*DYN' && echo "$dyn" | grep -q 'FLAGS_1.*PIE'; then
    ok "PIE"
else
    bad "PIE (ELF type $(echo "$hdr" | sed -n 's/^ *Type: *//p'))"
fi
if echo "$phdr" | grep -q 'GNU_RELRO' &&
    echo "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'; then
    ok "full RELRO"
else
    bad "full RELRO (GNU_RELRO segment and BIND_NOW)"
fi
if echo "$syms" | grep -q '__stack_chk_fail'; then
    ok "stack protector (__stack_chk_fail)"
else
    bad "stack protector: __stack_chk_fail not imported"
fi
chk=$(echo "$syms" | grep -v __stack_chk_fail | grep -Eo '__[a-z0-9_]+_chk' | sort -u | tr '\n' ' ')
if [ "$FORTIFY" -eq 1 ]; then
    if [ -n "$chk" ]; then ok "FORTIFY ($chk)"; else bad "FORTIFY: no __*_chk function imported"; fi
fi
exit $fail
