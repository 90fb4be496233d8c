// Reading and building TypeProto messages (value types). Value infos keep the decoded TypeProto verbatim
// (denotations included); these helpers give the tensor view that passes and shape inference use.
import type { ProtoMessage } from '../proto/codec.js';
import { DataType } from './dtype.js';

/** A dimension: a size, a symbolic name (kept symbolic), or unknown. */
export type Dim = number | string | undefined;

export interface TensorType {
  readonly elemType: DataType;
  /** undefined: rank unknown. */
  readonly shape?: readonly Dim[];
}

export function tensorTypeOf(type: ProtoMessage | undefined): TensorType | undefined {
  const t = type?.tensor_type as ProtoMessage | undefined;
  if (!t) return undefined;
  const shape = t.shape as ProtoMessage | undefined;
  return {
    elemType: (t.elem_type as number | undefined) ?? DataType.UNDEFINED,
    shape: shape ? ((shape.dim as ProtoMessage[] | undefined) ?? []).map(dimOf) : undefined,
  };
}

function dimOf(d: ProtoMessage): Dim {
  if (d.dim_value !== undefined) return Number(d.dim_value);
  if (typeof d.dim_param === 'string' && d.dim_param !== '') return d.dim_param;
  return undefined;
}

export function makeTensorType(elemType: DataType, shape?: readonly Dim[]): ProtoMessage {
  const tensor_type: ProtoMessage = { elem_type: elemType };
  if (shape) {
    tensor_type.shape = {
      dim: shape.map((d): ProtoMessage => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})),
    };
  }
  return { tensor_type };
}

export function formatDim(d: Dim): string {
  return d === undefined ? '?' : String(d);
}

export function formatType(type: ProtoMessage | undefined): string {
  if (!type) return '?';
  const t = tensorTypeOf(type);
  if (t) {
    const name = DataType[t.elemType]?.toLowerCase() ?? `dtype${t.elemType}`;
    return t.shape ? `${name}[${t.shape.map(formatDim).join(',')}]` : `${name}[*]`;
  }
  if (type.sequence_type) return `seq(${formatType((type.sequence_type as ProtoMessage).elem_type as ProtoMessage)})`;
  if (type.optional_type) return `optional(${formatType((type.optional_type as ProtoMessage).elem_type as ProtoMessage)})`;
  if (type.map_type) return 'map';
  if (type.sparse_tensor_type) return 'sparse_tensor';
  return 'opaque';
}

/** Two tensor types agree where both are known: same element type, same rank, equal static dims. */
export function tensorTypesCompatible(a: TensorType, b: TensorType): boolean {
  if (a.elemType !== DataType.UNDEFINED && b.elemType !== DataType.UNDEFINED && a.elemType !== b.elemType) return false;
  if (!a.shape || !b.shape) return true;
  if (a.shape.length !== b.shape.length) return false;
  return a.shape.every((d, i) => typeof d !== 'number' || typeof b.shape![i] !== 'number' || d === b.shape![i]);
}
