// Equivalence contracts: what a pass promises about the outputs of the model it returns. Property tests run
// both models and check the promise with `checkContract`.
import type { Tensor } from '../ir/tensor.js';

export type Contract =
  /** Outputs bitwise equal. */
  | { readonly kind: 'exact' }
  /** |a - b| <= atol + rtol * |a| elementwise. */
  | { readonly kind: 'allclose'; readonly rtol: number; readonly atol: number }
  /** Error bounded by k x the quantization scale in effect at each output. */
  | { readonly kind: 'quantError'; readonly k: number }
  /** The original outputs keep `base`; new outputs may be added. */
  | { readonly kind: 'outputsSuperset'; readonly base: Contract };

export const exact: Contract = { kind: 'exact' };
export const allclose = (rtol = 1e-5, atol = 1e-6): Contract => ({ kind: 'allclose', rtol, atol });
export const quantError = (k: number): Contract => ({ kind: 'quantError', k });
export const outputsSuperset = (base: Contract = exact): Contract => ({ kind: 'outputsSuperset', base });

export interface ContractContext {
  /** Per output, the quantization scale the contract `quantError` measures against. */
  readonly scales?: Readonly<Record<string, number>>;
}

/** Checks `after` against `before`; returns undefined when the contract holds, else what broke. */
export function checkContract(
  contract: Contract, before: Readonly<Record<string, Tensor>>, after: Readonly<Record<string, Tensor>>, ctx: ContractContext = {},
): string | undefined {
  if (contract.kind === 'outputsSuperset') return checkContract(contract.base, before, after, ctx);
  for (const [name, a] of Object.entries(before)) {
    const b = after[name];
    if (!b) return `output '${name}' is missing`;
    if (a.dataType !== b.dataType) return `output '${name}' changed type ${a.dataType} -> ${b.dataType}`;
    if (a.dims.join(',') !== b.dims.join(',')) return `output '${name}' changed shape [${a.dims}] -> [${b.dims}]`;
    if (a.dataType === 8) continue;
    if (contract.kind === 'exact') {
      const x = a.rawBytes(), y = b.rawBytes();
      if (Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) !== 0) {
        return `output '${name}' is not bitwise equal`;
      }
      continue;
    }
    const xs = a.toFloat32(), ys = b.toFloat32();
    const bound = contract.kind === 'allclose'
      ? (x: number) => contract.atol + contract.rtol * Math.abs(x)
      : () => contract.k * (ctx.scales?.[name] ?? NaN);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i], y = ys[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      if (!(Math.abs(x - y) <= bound(x))) return `output '${name}'[${i}]: ${x} vs ${y} breaks ${contract.kind}`;
    }
  }
  return undefined;
}
