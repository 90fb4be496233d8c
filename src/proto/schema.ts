// The ONNX schema as field tables, read once from the vendored onnx-ml.proto (IR 14) by protobufjs.
// The codec walks these tables instead of generated classes so that it can keep unknown fields
// and decode bytes as zero-copy views.
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

export type ScalarKind =
  | 'double' | 'float' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'sint32' | 'sint64'
  | 'fixed32' | 'fixed64' | 'sfixed32' | 'sfixed64' | 'bool' | 'string' | 'bytes' | 'enum';

export interface FieldSpec {
  readonly id: number;
  readonly name: string;
  readonly kind: ScalarKind | 'message';
  readonly repeated: boolean;
  readonly packed: boolean;
  /** Set for kind 'message'; filled after all messages are known (recursive types). */
  message?: MessageSpec;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly byId: ReadonlyMap<number, FieldSpec>;
}

const SCALARS = new Set<string>([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]);

export const PROTO_PATH = fileURLToPath(new URL('./onnx-ml.proto', import.meta.url));

function buildSpecs(root: protobuf.Root): Map<string, MessageSpec> {
  const specs = new Map<string, MessageSpec>();
  const pending: Array<[FieldSpec, protobuf.Type]> = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const fields: FieldSpec[] = nested.fieldsArray
          .map((f): FieldSpec => {
            const isMessage = f.resolvedType instanceof protobuf.Type;
            const kind = isMessage ? 'message' : f.resolvedType instanceof protobuf.Enum ? 'enum' : f.type;
            if (kind !== 'message' && kind !== 'enum' && !SCALARS.has(kind)) throw new Error(`unsupported proto type ${f.type}`);
            const spec: FieldSpec = {
              id: f.id, name: f.name, kind: kind as FieldSpec['kind'], repeated: f.repeated,
              packed: f.repeated && !isMessage && kind !== 'string' && kind !== 'bytes' && f.packed,
            };
            if (isMessage) pending.push([spec, f.resolvedType as protobuf.Type]);
            return spec;
          })
          .sort((a, b) => a.id - b.id);
        specs.set(nested.fullName.replace(/^\./, ''), {
          name: nested.name, fields, byId: new Map(fields.map((f) => [f.id, f])),
        });
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  for (const [field, type] of pending) field.message = specs.get(type.fullName.replace(/^\./, ''));
  return specs;
}

let cached: Map<string, MessageSpec> | undefined;

/** Message specs by full name, e.g. `onnx.ModelProto`. */
export function onnxSchema(): ReadonlyMap<string, MessageSpec> {
  if (!cached) {
    // keepCase: field names as the ONNX spec writes them (raw_data, not rawData).
    const { root } = protobuf.parse(readFileSync(PROTO_PATH, 'utf8'), { keepCase: true });
    root.resolveAll();
    cached = buildSpecs(root);
  }
  return cached;
}

export function messageSpec(name: string): MessageSpec {
  const spec = onnxSchema().get(name.includes('.') ? name : `onnx.${name}`);
  if (!spec) throw new Error(`unknown message ${name}`);
  return spec;
}
