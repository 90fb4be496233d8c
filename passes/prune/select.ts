// Importance of each channel over the whole group and the choice of channels to keep.
import type { ChannelGroup, ChannelSlice } from './groups.js';

export type Criterion = 'l1_norm' | 'l2_norm';

/** Per channel: the sum over the group's tensors of the norm of that channel's slice. */
export function channelImportance(group: Pick<ChannelGroup, 'channels' | 'slices'>, criterion: Criterion): Float64Array {
  const total = new Float64Array(group.channels);
  for (const s of group.slices) {
    const acc = sliceSums(s, group.channels, criterion);
    for (let c = 0; c < total.length; c++) total[c] += criterion === 'l2_norm' ? Math.sqrt(acc[c]) : acc[c];
  }
  return total;
}

/** Sum of |x| (l1) or x² (l2) per channel of one tensor. */
function sliceSums(s: ChannelSlice, channels: number, criterion: Criterion): Float64Array {
  const data = s.tensor.toFloat32();
  const dims = s.tensor.dims;
  const inner = dims.slice(s.axis + 1).reduce((a, b) => a * b, 1);
  const acc = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const x = data[i];
    acc[c] += criterion === 'l2_norm' ? x * x : Math.abs(x);
  }
  return acc;
}

/**
 * The channels to keep, ascending: drop floor(channels × ratio) of the least important (ties: lower index
 * first), then round the kept count up to a multiple of `roundTo` (never above the channel count).
 */
export function selectChannels(importance: ArrayLike<number>, ratio: number, roundTo: number): number[] {
  const n = importance.length;
  let keep = Math.max(1, n - Math.floor(n * ratio));
  if (roundTo > 1) keep = Math.min(n, Math.ceil(keep / roundTo) * roundTo);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => importance[a] - importance[b] || a - b);
  return order.slice(n - keep).sort((a, b) => a - b);
}
