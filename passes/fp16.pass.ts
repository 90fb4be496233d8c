// fp16: float32 → float16. An analysis decides per node whether it runs in float16 (from inferred element types,
// the block lists, onnxruntime's float16 kernels, shape arithmetic and variance chains); one rewrite per graph then
// retypes values, converts float constants once (shared by all readers), and inserts Casts where float16 and
// float32 regions meet. Graph inputs/outputs stay float32 by default; subgraph boundaries always do.
import { castDraft, produce } from 'immer';
import { definePass } from '../src/passes/pass.js';
import { allclose } from '../src/passes/contract.js';
import { opsetVersion } from '../src/ir/model.js';
import { freshNamer, valueNames } from '../src/rewrite/rename.js';
import { applyRules } from '../src/rewrite/driver.js';
import { removeDeadCode } from '../src/rewrite/dead-code.js';
import { fp16Rules } from '../rules/fp16/index.js';
import { convertMainGraph, type ConvertContext } from './fp16/transform.js';
import { DEFAULT_OP_BLOCK_LIST, nodeNameMatcher } from './fp16/policy.js';

export { DEFAULT_OP_BLOCK_LIST, ORT_FLOAT16_SINCE } from './fp16/policy.js';

export const fp16 = definePass({
  name: 'fp16',
  description: 'float32 to float16 (weights and activations), float32 kept where fp16 overflows or has no kernel',
  options: {
    keep_io_types: { type: 'boolean', default: true, description: 'graph inputs and outputs stay float32 (Casts at the boundary)' },
    op_block_list: { type: 'list', default: DEFAULT_OP_BLOCK_LIST, description: 'op types kept float32' },
    node_block_list: { type: 'list', default: [], description: 'nodes kept float32: exact names or /regex/' },
    min_positive_val: { type: 'number', default: 5.96e-8, min: 0, description: 'float constants with smaller nonzero magnitude are raised to it' },
    max_finite_val: { type: 'number', default: 65504, min: 1, max: 65504, description: 'finite float constants with larger magnitude are clamped to it' },
  },
  // fp16 keeps 11 significant bits (unit roundoff 2^-11 ≈ 4.9e-4): ~20 roundings on a path stay within 1% of the
  // value; atol covers results that cancel to near 0 from operands up to ~16 (normalized activations; the property
  // test's precondition). Larger activations lose absolute precision in proportion (fp16's spacing at 1024 is 1).
  contract: allclose(1e-2, 1e-2),
  configSections: ['FP16', 'Float16'],
  run: {
    kind: 'transform',
    transform(model, options, ctx) {
      // Rules first (exact in float32): constants that would not survive float16 are reshaped to fit.
      const { model: folded, stats } = applyRules(model, fp16Rules({ maxFinite: options.max_finite_val }), ctx.driver);
      for (const [rule, n] of stats.applied) ctx.note(rule, n);
      const start = stats.applied.size ? removeDeadCode(folded) : model;
      const taken = new Set(valueNames(start.graph));
      const counts: ConvertContext['counts'] = { fp16Nodes: 0, casts: 0, constants: 0, kept: new Map() };
      const graph = convertMainGraph(start.graph, {
        model: start,
        settings: {
          keepIoTypes: options.keep_io_types,
          opBlockList: new Set(options.op_block_list),
          nodeBlocked: nodeNameMatcher(options.node_block_list),
          opset: opsetVersion(start) ?? 1,
          irVersion: Number(start.irVersion),
          maxFinite: options.max_finite_val,
        },
        range: { minPositive: options.min_positive_val, maxFinite: options.max_finite_val },
        fresh: freshNamer(taken),
        counts,
      });
      ctx.note('nodes in float16', counts.fp16Nodes);
      ctx.note('constants converted', counts.constants);
      ctx.note('casts inserted', counts.casts);
      for (const [why, n] of counts.kept) ctx.note(`float32 (${why})`, n);
      return graph === start.graph ? start : produce(start, (d) => { d.graph = castDraft(graph); });
    },
  },
});
