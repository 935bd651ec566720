#!/bin/sh
# Regenerates ../DecodeVnniCode.Bytes.cs from decode_vnni.c (see build-machine-code.sh).
# -fno-tree-vectorize: the intrinsics are the vector code; auto-vectorized scalar loops would load their constants from .rodata.
EXTRA_CFLAGS=-fno-tree-vectorize exec "$(dirname "$0")/build-machine-code.sh" decode_vnni.c DecodeVnniCode decode_rows=DecodeRowsOffset
