// Quantization: QuantizeLinear's output type comes from output_dtype (opset 21+), else the zero point, else uint8;
// DequantizeLinear's from output_dtype, else the scale.
import { attrInt } from '../../ir/model.js';
import { DataType } from '../../ir/dtype.js';
import { type RuleSet, tensorType } from '../context.js';

export const quantRules: RuleSet = {
  QuantizeLinear: {
    infer: (ctx) => {
      const elemType = attrInt(ctx.node, 'output_dtype', 0) || ctx.input(2)?.elemType || DataType.UINT8;
      return [tensorType(elemType, ctx.input(0)?.shape)];
    },
  },
  DequantizeLinear: {
    infer: (ctx) => {
      const elemType = attrInt(ctx.node, 'output_dtype', 0) || ctx.input(1)?.elemType || DataType.FLOAT;
      return [tensorType(elemType, ctx.input(0)?.shape)];
    },
  },
  DynamicQuantizeLinear: {
    infer: (ctx) => [tensorType(DataType.UINT8, ctx.input(0)?.shape), tensorType(DataType.FLOAT, []), tensorType(DataType.UINT8, [])],
  },
};
