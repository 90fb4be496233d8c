// quant: post-training quantization, one mode per file under passes/quant/.
//   dynamic (default, needs no data): int8 weights offline, activations quantized at run time, in the form
//     onnxruntime fuses into MatMulIntegerToFloat / DynamicQuantizeMatMul; embedding tables (Gather) int8.
//     Conv stays float in this mode: onnxruntime's ConvInteger has no int8-weight kernel.
//   static (needs calibration data, --calib DIR): uint8 activations with calibrated ranges + int8 per-channel
//     weights + int32 biases, as Q/DQ pairs placed only where onnxruntime fuses them into QLinearConv,
//     QLinearMatMul / MatMulIntegerToFloat, QGemm and QLinear* kernels; self-attention as QAttention and a MatMul +
//     bias that cannot become a Gemm as MatMulIntegerToFloat, written directly; everything else stays float.
//   qat (needs data): static mode's QDQ model trained as fake quant by distillation from the float model (STE,
//     optional PACT clips), exported in static mode's form (passes/quant/qat*.ts).
//   weight-only: MatMul weights in 4 bits, block-wise along K (MatMulNBits or opset-21 DequantizeLinear).
import { definePass } from '../src/passes/pass.js';
import { quantError } from '../src/passes/contract.js';
import { quantizeDynamic } from './quant/dynamic.js';
import { quantizeStatic } from './quant/static.js';
import { quantizeWeightOnly } from './quant/weight-only.js';
import { quantizeQat } from './quant/qat.js';
import { flattenResidualLayerNorms } from './quant/ort-layout.js';
import { dedupeNodes } from './cleanup/dedupe-nodes.js';
import { mapGraphs } from '../src/rewrite/edit.js';
import { modelStats } from '../src/ir/analysis.js';

export { exclusionPredicate } from './quant/exclusion.js';

export const quant = definePass({
  name: 'quant',
  description: 'post-training quantization (dynamic int8; static int8 QDQ from calibration; weight-only 4-bit, RTN or GPTQ)',
  options: {
    mode: { type: 'enum', values: ['dynamic', 'static', 'weight-only', 'qat'], default: 'dynamic', description: 'quantization mode' },
    // weight-only mode
    weight_bits: { type: 'integer', default: 4, min: 2, max: 8, description: 'weight-only: bits per weight (4)' },
    block_size: { type: 'integer', default: 32, min: 16, description: 'weight-only: weights per scale along K (16, 32, 64, 128, 256)' },
    weight_only_format: { type: 'enum', values: ['matmulnbits', 'qdq'], default: 'matmulnbits', description: 'weight-only: com.microsoft.MatMulNBits, or opset-21 int4 DequantizeLinear' },
    // calibration (static mode, and GPTQ in weight-only mode)
    calib: { type: 'string', default: '', description: 'calibration data: a folder of test_data_set_*/input_N.pb folders or of <input>.npy files' },
    calib_data: { type: 'data', default: undefined, description: 'calibration feeds as an (async) iterable of {input: Tensor} (in code)' },
    algo: { type: 'enum', values: ['abs_max', 'minmax', 'moving_average_abs_max', 'hist', 'KL', 'mse'], default: 'hist', description: 'activation calibration algorithm' },
    hist_percent: { type: 'number', default: 0.99999, min: 0.5, max: 1, description: 'percentile kept by algo hist' },
    batch_num: { type: 'integer', default: 10, min: 1, description: 'calibration batches to run' },
    activation_type: { type: 'enum', values: ['uint8', 'int8'], default: 'uint8', description: 'activation integer type (onnxruntime on x86 fuses uint8)' },
    weight_quantize_type: {
      type: 'enum', values: ['channel_wise_abs_max', 'abs_max', 'asymmetric'], default: 'channel_wise_abs_max',
      description: 'int8 weight scales per output channel or per tensor (symmetric); weight-only: asymmetric adds zero points per block',
    },
    quantize_op_types: { type: 'list', default: ['MatMul', 'Gemm', 'Gather'], description: 'op types to quantize' },
    not_quant_pattern: { type: 'list', default: [], description: 'nodes to keep float: name substrings or /regex/' },
    skip_sensitive: { type: 'integer', default: 0, min: 0, description: 'static: keep the N layers that add the most quantization noise float (measured on the calibration data)' },
    bias_correction: { type: 'boolean', default: false, description: 'static: shift each quantized layer\'s int32 bias by its mean output error on the calibration data' },
    // qat mode (also reads the static options above)
    train_data: { type: 'data', default: undefined, description: 'qat: training feeds in code, all of one shape (batches; default: the calibration data)' },
    epochs: { type: 'integer', default: 1, min: 1, description: 'qat: passes over the training data' },
    lr: { type: 'number', default: 5e-6, min: 0, description: 'qat: peak AdamW learning rate (linear warm-up, cosine decay)' },
    activation_preprocess_type: { type: 'enum', values: ['none', 'PACT'], default: 'none', description: 'qat: PACT trains a clip level per non-negative activation quantizer' },
    train_threads: { type: 'integer', default: 0, min: 0, description: 'qat: onnxruntime threads for training (0: all cores)' },
    fuse_attention: { type: 'boolean', default: true, description: 'dynamic and static: self-attention blocks (Q/K/V linears through the context Reshape) become com.microsoft.QAttention: one integer Q/K/V GEMM and attention in one kernel (static: input range calibrated)' },
    flatten_residual_layernorm: { type: 'boolean', default: true, description: 'residual Add + LayerNormalization computed over rows [batch·seq, hidden]: onnxruntime then leaves them unfused, as its CPU SkipLayerNormalization is 3-4× slower (exact)' },
    merge_sibling_matmuls: { type: 'boolean', default: false, description: 'dynamic: MatMuls sharing an input (Q/K/V) become one MatMul + Split before quantizing (measured slower on BERT-base: their bias Adds no longer fuse)' },
  },
  // Error per output element bounded by the analytic rounding bound of each quantized node (see the property tests).
  contract: quantError(1),
  configSections: ['Quantization', 'QuantPost'],
  run: {
    kind: 'transform',
    async transform(input, options, ctx) {
      // onnxruntime merges duplicate nodes at load; merged first, the placement below is the one that will run.
      const model = mapGraphs(input, dedupeNodes);
      if (model !== input) ctx.note('duplicate nodes merged', modelStats(input).nodes - modelStats(model).nodes);
      const modes = {
        dynamic: () => quantizeDynamic(model, options, ctx),
        static: () => quantizeStatic(model, options, ctx),
        'weight-only': () => quantizeWeightOnly(model, options, ctx),
        qat: () => quantizeQat(model, options, ctx),
      };
      const quantized = await modes[options.mode]();
      return options.flatten_residual_layernorm ? flattenResidualLayerNorms(quantized, ctx) : quantized;
    },
  },
});
