// Static shape and element-type inference over the IR.
export { type ShapeInferenceResult, inferGraphTypes, inferModelTypes, withValueInfo } from './infer.js';
export { coveredOps, hasShapeRule, ruleKey } from './registry.js';
export type { InferContext, OpRule, OutputTypes, RuleSet, Value } from './context.js';
export { broadcastShapes, broadcastDim } from './dims.js';
