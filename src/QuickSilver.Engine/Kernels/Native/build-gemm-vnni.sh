#!/bin/sh
# Regenerates ../GemmVnniCode.Bytes.cs from gemm_vnni.c (see build-machine-code.sh).
exec "$(dirname "$0")/build-machine-code.sh" gemm_vnni.c GemmVnniCode blocks32=Blocks32Offset kblocks=KBlocksOffset
