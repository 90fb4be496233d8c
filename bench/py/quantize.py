#!/usr/bin/env python3
"""onnxruntime's own post-training quantizer, the peer bench/quant.bench.ts compares onnx-slim's `quant` with.

    python3 bench/py/quantize.py check
    python3 bench/py/quantize.py dynamic IN.onnx OUT.onnx
    python3 bench/py/quantize.py static IN.onnx OUT.onnx --activation QInt8|QUInt8 [--batches 4] [--seq 128]
                                        [--vocab 30522] [--seed 0]

Prints one JSON line on stdout: the onnxruntime version, the seconds the imports took, and the seconds the
quantize_dynamic / quantize_static call took (its own load, calibration and save included), so the caller can
tell python's start-up from the quantizer's work. Exit status 0 on success; anything else is a failure whose
reason is on stderr.
"""
import argparse
import json
import os
import sys
import tempfile
import time

T_START = time.perf_counter()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "dynamic", "static"])
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--activation", choices=["QInt8", "QUInt8"], default="QInt8")
    ap.add_argument("--weight", choices=["QInt8", "QUInt8"], default="QInt8")
    ap.add_argument("--batches", type=int, default=4, help="calibration batches (static)")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--input-name", default="input_ids")
    args = ap.parse_args()

    import numpy as np
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    import_s = time.perf_counter() - T_START
    report = {"onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "importS": import_s}
    if args.mode == "check":
        print(json.dumps(report))
        return 0
    if not args.input or not args.output:
        ap.error(f"{args.mode} needs IN.onnx and OUT.onnx")

    weight_type = getattr(QuantType, args.weight)
    t = time.perf_counter()
    if args.mode == "dynamic":
        quantize_dynamic(args.input, args.output, weight_type=weight_type)
    else:

        class RandomIds(CalibrationDataReader):
            """A few batches of random token ids: what a calibration set without data looks like."""

            def __init__(self) -> None:
                rng = np.random.default_rng(args.seed)
                self.batches = iter(
                    [
                        {args.input_name: rng.integers(0, args.vocab, size=(args.batch, args.seq), dtype=np.int64)}
                        for _ in range(args.batches)
                    ]
                )

            def get_next(self):
                return next(self.batches, None)

        # The calibrator writes its augmented model next to a temporary folder; keep it on the same disk.
        with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.output))) as tmp:
            os.environ["TMPDIR"] = tmp
            tempfile.tempdir = tmp
            quantize_static(
                args.input,
                args.output,
                RandomIds(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["MatMul"],
                activation_type=getattr(QuantType, args.activation),
                weight_type=weight_type,
            )
            tempfile.tempdir = None
    report["quantizeS"] = time.perf_counter() - t
    report["totalS"] = time.perf_counter() - T_START
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
