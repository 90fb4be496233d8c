// Weight quantization for rewrite rules: a constant float weight becomes integer codes plus scale and zero
// point tensors. Results are cached per tensor object, so a weight tied between several nodes is quantized
// once and its quantized tensors are shared.
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { channelAbsMax, channelMinMax, quantize, tensorAbsMax, tensorMinMax } from './math.js';
import { paramsFromRange, paramsFromRanges, type QuantParams, type QuantType } from './params.js';

export interface WeightQuantOptions {
  readonly dataType: QuantType;
  /** Quantization axis for per-channel scales; undefined: one scale for the tensor. */
  readonly axis?: number;
  readonly symmetric: boolean;
}

export interface QuantizedWeight {
  readonly codes: Tensor;
  /** Shape [] (per tensor) or [dims[axis]] (per channel). */
  readonly scale: Tensor;
  readonly zeroPoint: Tensor;
  readonly params: QuantParams;
}

const cache = new WeakMap<Tensor, Map<string, QuantizedWeight>>();

export function quantizeWeight(weight: Tensor, options: WeightQuantOptions): QuantizedWeight {
  const key = `${options.dataType}:${options.axis}:${options.symmetric}`;
  let perTensor = cache.get(weight);
  const hit = perTensor?.get(key);
  if (hit) return hit;
  const values = floatValues(weight);
  const { dataType, axis, symmetric } = options;
  let params: QuantParams;
  if (axis === undefined) {
    const { min, max } = symmetric ? absRange(tensorAbsMax(values)) : tensorMinMax(values);
    const p = paramsFromRange(min, max, dataType, { symmetric });
    params = { scale: Float32Array.of(p.scale), zeroPoint: Int32Array.of(p.zeroPoint), dataType };
  } else if (symmetric) {
    const absmax = channelAbsMax(values, weight.dims, axis);
    params = paramsFromRanges(absmax.map((a) => -a), absmax, dataType, axis, { symmetric });
  } else {
    const { min, max } = channelMinMax(values, weight.dims, axis);
    params = paramsFromRanges(min, max, dataType, axis, { symmetric });
  }
  const codes = Tensor.fromArray(dataType, weight.dims, quantize(values, params, weight.dims));
  const channels = axis === undefined ? [] : [weight.dims[axis]];
  const zpArray = dataType === DataType.UINT8 ? Uint8Array.from(params.zeroPoint) : Int8Array.from(params.zeroPoint);
  const result: QuantizedWeight = {
    codes,
    scale: Tensor.fromArray(DataType.FLOAT, channels, params.scale),
    zeroPoint: Tensor.fromArray(dataType, channels, zpArray),
    params,
  };
  if (!perTensor) cache.set(weight, (perTensor = new Map()));
  perTensor.set(key, result);
  return result;
}

const absRange = (absmax: number): { min: number; max: number } => ({ min: -absmax, max: absmax });

let scratch = new Float32Array(0);

/**
 * The weight as float32. Misaligned raw bytes (most weights in a protobuf file) are copied into one reused scratch
 * buffer rather than into a fresh array the tensor would keep: quantization reads each weight once.
 */
function floatValues(weight: Tensor): Float32Array {
  const s = weight.storage;
  if (weight.dataType !== DataType.FLOAT || s.kind !== 'raw' || s.bytes.byteOffset % 4 === 0) return weight.toFloat32();
  if (scratch.length < weight.size) scratch = new Float32Array(weight.size);
  new Uint8Array(scratch.buffer, 0, s.bytes.length).set(s.bytes);
  return scratch.subarray(0, weight.size);
}
