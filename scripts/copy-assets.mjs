// The ONNX schema is read at run time by protobufjs, so it ships next to the compiled codec.
import { copyFileSync, mkdirSync } from 'node:fs';
mkdirSync('dist/src/proto', { recursive: true });
copyFileSync('src/proto/onnx-ml.proto', 'dist/src/proto/onnx-ml.proto');
