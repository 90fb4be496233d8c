// The transfer functions by op type: how each op carries channels from its inputs to its outputs.
import type { Transfer } from '../analysis.js';
import { ELEMENTWISE } from './elementwise.js';
import { LINEAR } from './linear.js';
import { RESHAPE } from './reshape.js';
import { AXES } from './axes.js';
import { REDUCE } from './reduce.js';

export const TRANSFERS: Readonly<Record<string, Transfer>> = { ...ELEMENTWISE, ...LINEAR, ...RESHAPE, ...AXES, ...REDUCE };
