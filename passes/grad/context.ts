// The emitter behind a gradient rule's `ctx`: typed helpers over a GraphExtension (constants of the right element
// type, cached Shape nodes, broadcast reductions), shared by all rules of one differentiation.
import type { Graph, Model, Node } from '../../src/ir/model.js';
import { opsetVersion } from '../../src/ir/model.js';
import { constantOf, graphIndex } from '../../src/ir/analysis.js';
import { DataType } from '../../src/ir/dtype.js';
import { GraphExtension } from '../../src/ir/extend.js';
import { Tensor } from '../../src/ir/tensor.js';
import type { Dim, TensorType } from '../../src/ir/types.js';
import type { GradContext } from '../../rules/grad/rule.js';

/** The model cannot be differentiated as asked (no rule for an op on the path, bad loss or wrt, ...). */
export class GradientError extends Error {}

/** Element types the backward graph is built in (the rules' scalar constants come in these). */
export const GRADIENT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE]);

/** What every node's context shares: the graph, its inferred types and the extension with its caches. */
export class BackwardEmitter {
  readonly emit: GraphExtension;
  readonly opset: number;
  private readonly ints = new Map<string, string>();
  private readonly scalars = new Map<string, string>();
  private readonly shapes = new Map<string, string>();

  constructor(readonly model: Model, readonly types: ReadonlyMap<string, TensorType>) {
    this.emit = new GraphExtension(model.graph, 'grad/');
    this.opset = opsetVersion(model) ?? 0;
  }

  get graph(): Graph {
    return this.model.graph;
  }

  dtype(name: string, fail: (r: string) => never): DataType {
    const t = this.types.get(name)?.elemType;
    return t !== undefined && t !== DataType.UNDEFINED ? t : fail(`element type of '${name}' is unknown`);
  }

  dims(name: string): readonly Dim[] | undefined {
    return this.types.get(name)?.shape;
  }

  staticShape(name: string): number[] | undefined {
    const s = this.dims(name);
    return s?.every((d): d is number => typeof d === 'number') ? [...s] : undefined;
  }

  intConstant(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.ints.get(key);
    if (!name) {
      name = this.emit.constant('grad_ints', Tensor.fromArray(DataType.INT64, [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
      this.ints.set(key, name);
    }
    return name;
  }

  scalarConstant(value: number, dtype: DataType): string {
    const key = `${dtype}:${value}`;
    let name = this.scalars.get(key);
    if (!name) {
      if (!GRADIENT_TYPES.has(dtype)) throw new GradientError(`gradients in ${DataType[dtype]} are not supported (float and double are)`);
      name = this.emit.constant('grad_scalar', Tensor.scalar(dtype, value));
      this.scalars.set(key, name);
    }
    return name;
  }

  shapeOf(name: string): string {
    const s = this.staticShape(name);
    if (s) return this.intConstant(s);
    let shape = this.shapes.get(name);
    if (!shape) {
      shape = this.emit.op('Shape', [name]);
      this.shapes.set(name, shape);
    }
    return shape;
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.emit.op('ReduceSum', [x, this.intConstant(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return axes.length === 0 ? x : this.emit.op('Unsqueeze', [x, this.intConstant(axes)]);
  }

  /**
   * Sums `grad` (shaped `gradDims`) over the axes that broadcasting expanded `input` along. Statically where the
   * dims decide it (equal numbers or equal symbols), else with the axes computed from Shape(grad) and Shape(input)
   * at run time, so a symbolic batch still works.
   */
  reduceToShape(grad: string, input: string, gradDims: readonly Dim[] | undefined, fail: (r: string) => never): string {
    const inDims = this.dims(input);
    if (!inDims || !gradDims) return fail(`the rank of '${input}' or of its gradient is unknown`);
    const lead = gradDims.length - inDims.length;
    const axes: number[] = [];
    let decided = lead >= 0;
    for (let i = 0; decided && i < gradDims.length; i++) {
      if (i < lead) { axes.push(i); continue; }
      const a = inDims[i - lead], b = gradDims[i];
      if (a === b && a !== undefined) continue;
      if (a === 1) axes.push(i);
      else decided = false;
    }
    if (decided) {
      if (axes.length === 0) return grad;
      const summed = this.reduceSum(grad, axes, true);
      return lead > 0 || inDims.length === 0 ? this.emit.op('Reshape', [summed, this.shapeOf(input)]) : summed;
    }
    if (lead < 0) return fail(`gradient of '${input}' has a lower rank than '${input}'`);
    // Run-time axes: where the input's shape (padded with leading ones) differs from the gradient's.
    const padded = lead > 0 ? this.emit.op('Concat', [this.intConstant(Array(lead).fill(1)), this.shapeOf(input)], { axis: 0 }) : this.shapeOf(input);
    const differs = this.emit.op('Not', [this.emit.op('Equal', [padded, this.emit.op('Shape', [grad])])]);
    const dynamicAxes = this.emit.op('Reshape', [this.emit.op('NonZero', [differs]), this.intConstant([-1])]);
    const summed = this.emit.op('ReduceSum', [grad, dynamicAxes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.emit.op('Reshape', [summed, this.shapeOf(input)]);
  }

  zerosLike(like: string, fail: (r: string) => never): string {
    return this.emit.op('ConstantOfShape', [this.shapeOf(like)], { value: Tensor.filled(this.dtype(like, fail), [1], 0) });
  }

  countPer(x: string, reduced: string, axes: readonly number[], fail: (r: string) => never): string {
    const shape = this.staticShape(x), dtype = this.dtype(x, fail);
    if (shape) return this.scalarConstant(axes.reduce((n, a) => n * shape[a], 1), dtype);
    return this.emit.op('Cast', [this.emit.op('Div', [this.emit.op('Size', [x]), this.emit.op('Size', [reduced])])], { to: dtype });
  }

  /** Sum of gradient contributions (one value needs no node). */
  sum(values: readonly string[]): string {
    return values.length === 1 ? values[0] : this.emit.op('Sum', values);
  }

  /** The context one rule call sees. */
  contextFor(node: Node, grads: readonly (string | undefined)[], needsGrad: (i: number) => boolean): GradContext {
    const fail = (reason: string): never => {
      throw new GradientError(`cannot differentiate ${node.opType} node '${node.name}': ${reason}`);
    };
    const self = this;
    return {
      node, inputs: node.inputs, outputs: node.outputs, grads, opset: this.opset, emit: this.emit,
      needsGrad,
      dtype: (name) => self.dtype(name, fail),
      dims: (name) => self.dims(name),
      rank: (name) => self.dims(name)?.length ?? fail(`the rank of '${name}' is unknown`),
      staticShape: (name) => self.staticShape(name),
      constant: (name) => constantOf(self.graph, name, self.model.irVersion),
      producer: (name) => graphIndex(self.graph).producer.get(name),
      scalar: (value, like) => self.scalarConstant(value, self.dtype(like, fail)),
      ints: (values) => self.intConstant(values),
      shapeOf: (name) => self.shapeOf(name),
      reduceToShape: (grad, input, gradDims = self.dims(node.outputs[0])) => self.reduceToShape(grad, input, gradDims, fail),
      reduceSum: (x, axes, keepdims) => self.reduceSum(x, axes, keepdims),
      countPer: (x, reduced, axes) => self.countPer(x, reduced, axes, fail),
      unsqueeze: (x, axes) => self.unsqueeze(x, axes),
      zerosLike: (like) => self.zerosLike(like, fail),
      fail,
      requireOpset: (version, what) => {
        if (self.opset < version) fail(`${what} needs opset ${version}, the model imports ${self.opset}`);
      },
    };
  }
}
