// Deterministic random inputs for a model, from its graph input types: symbolic or unknown dimensions are
// resolved to small sizes (per name, per input, or a default), values come from a seeded generator; and the
// onnxruntime session that equivalence checks run them in.
import type { Model } from '../../src/ir/model.js';
import { encodeModel } from '../../src/io/save.js';
import { ort } from '../../src/runtime/ort.js';

export { rng, randomTensor, randomFeeds, type InputSpec, type FeedOptions } from '../../src/runtime/feeds.js';

/**
 * A session for equivalence checks: graph optimizations off, one thread, and no weight prepacking (onnxruntime
 * prepacks constant MatMul/Conv weights even with optimizations off, so a weight that a pass turned into an
 * initializer would take another kernel and round differently). Warnings are off; `quiet` silences errors too.
 */
export function equivalenceSession(model: Model | Uint8Array | string, quiet = false): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    extra: { session: { disable_prepacking: '1' } },
    logSeverityLevel: quiet ? 4 : 3,
  };
  // A path lets onnxruntime resolve external data itself.
  if (typeof model === 'string') return ort.InferenceSession.create(model, options);
  return ort.InferenceSession.create(model instanceof Uint8Array ? model : encodeModel(model), options);
}
