// Reading .onnx files: one read of the file, tensors stay views on its bytes, external data read lazily.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { freeze } from 'immer';
import { decodeMessage, type ProtoMessage } from '../proto/codec.js';
import { messageSpec } from '../proto/schema.js';
import { DecodeError } from '../proto/wire.js';
import { ModelFormatError, modelFromProto } from '../ir/convert.js';
import type { Model } from '../ir/model.js';
import { externalSource } from './external-data.js';

const MAX_PROTO_BYTES = 2 ** 31 - 1;

export interface LoadOptions {
  /** Folder that external data locations are relative to (default: the model file's folder). */
  readonly baseDir?: string;
}

/** Decodes model bytes. `baseDir` enables external data; without it, external tensors are an error. */
export function decodeModel(bytes: Uint8Array, options: LoadOptions = {}, label = 'input'): Model {
  let proto: ProtoMessage;
  try {
    proto = decodeMessage(bytes, messageSpec('ModelProto'));
  } catch (e) {
    if (e instanceof DecodeError) throw new ModelFormatError(`${label} is not a valid ONNX model (${e.message})`);
    throw e;
  }
  // Random bytes often decode as some protobuf; a model must at least carry a graph and an IR version.
  if (!proto.graph || proto.ir_version === undefined) {
    throw new ModelFormatError(`${label} is not an ONNX model (no ${proto.graph ? 'ir_version' : 'graph'})`);
  }
  const baseDir = options.baseDir;
  const model = modelFromProto(proto, baseDir === undefined ? {} : {
    external: (entries, name) => externalSource(baseDir, entries, name),
  });
  return freeze(model, true);
}

export function loadModel(file: string, options: LoadOptions = {}): Model {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ModelFormatError(`${file} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > MAX_PROTO_BYTES) {
    throw new ModelFormatError(`${file} is ${size} bytes; protobuf files stop at 2 GiB — store the weights as external data`);
  }
  if (size === 0) throw new ModelFormatError(`${file} is empty`);
  const bytes = readFileSync(file);
  return decodeModel(bytes, { baseDir: options.baseDir ?? path.dirname(path.resolve(file)) }, file);
}
