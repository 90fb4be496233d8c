// Reading small constant tensors as values (the numbers shape arithmetic works on).
import { DataType } from '../ir/dtype.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from './context.js';

/** Values bigger than this are not tracked (they are data, not shapes). */
export const MAX_VALUE_SIZE = 1024;

/** The tensor's elements as numbers, or undefined for big, string or undecodable tensors. */
export function tensorValue(t: Tensor): Value | undefined {
  if (t.size > MAX_VALUE_SIZE || t.dataType === DataType.STRING || t.dataType === DataType.UNDEFINED) return undefined;
  try {
    return t.toNumbers();
  } catch {
    return undefined; // complex or exotic storage: not a shape
  }
}
