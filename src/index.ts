// onnx-slim's public API: load/save, the immutable IR and its analyses, the rule API, passes and `compile`.
export { loadModel, decodeModel, type LoadOptions } from './io/load.js';
export { saveModel, encodeModel, type SaveOptions, type ExternalDataOptions } from './io/save.js';
export { ExternalDataError, resolveExternalLocation } from './io/external-data.js';
export { ModelFormatError } from './ir/convert.js';

export type { Model, Graph, Node, Attribute, AttributeValue, ValueInfo, FunctionDef, OpsetId } from './ir/model.js';
export { getAttribute, attrInt, attrInts, attrFloat, attrFloats, attrString, attrTensor, subgraphsOf, opsetVersion } from './ir/model.js';
export { Tensor, type TensorStorage, type ExternalSource } from './ir/tensor.js';
export { DataType, floatToHalf, halfToFloat } from './ir/dtype.js';
export { type Dim, type TensorType, tensorTypeOf, makeTensorType, formatType } from './ir/types.js';
export { attr, makeNode, makeGraph, makeModel, makeValueInfo, GraphBuilder } from './ir/builder.js';
export { graphIndex, constantOf, topologicalOrder, outerNames, modelStats, type GraphIndex } from './ir/analysis.js';
export { verifyModel, assertValid, VerifyError } from './ir/verify.js';
export { printModel, printGraph } from './ir/print.js';

export { op, v, constant, type Match, type NodePattern, type ValuePattern } from './rewrite/pattern.js';
export { defineRule, RuleSet, type Rule, type RuleContext, type Replacement, type RewriteBuilder, type CheckResult } from './rewrite/rule.js';
export { applyRules, provenanceOf, RewriteLoopError, RewriteError, type DriverOptions, type RewriteStats } from './rewrite/driver.js';
export { replaceUses, mapGraphs, editGraph } from './rewrite/edit.js';

export { definePass, type Pass, type PassSpec, type PassFactory, type PassContext } from './passes/pass.js';
export { type Contract, exact, allclose, quantError, outputsSuperset, checkContract } from './passes/contract.js';
export { type OptionsSchema, type OptionSpec, OptionError } from './passes/options.js';
export { compile, formatReport, type CompileOptions, type CompileResult, type PassReport } from './passes/compile.js';

export { cleanup, quant, fp16, opset, prune, distill, grad, PASSES } from '../passes/index.js';
export { differentiate, gradName, GradientError } from '../passes/grad/differentiate.js';
export { runModel, createSession } from './runtime/ort.js';
export { estimateFlops, formatFlops, type FlopsEstimate, type FlopsOptions } from './analysis/flops.js';
export * from './train/index.js';
