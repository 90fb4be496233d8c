// The opset rule family: each rule rewrites one node across one version boundary of its op (from the form the
// previous version had to the form the new one has). passes/opset/adapters.ts says which rule crosses which boundary;
// the opset pass applies them once per node, oldest boundary first (not to a fixed point: Softmax-12 and Softmax-13
// look alike, only the model's opset import tells them apart).
import { RuleSet } from '../../src/rewrite/rule.js';
import { adaptSoftmaxAxis } from './adapt-softmax-axis.js';
import { axesAttrToInput } from './axes-attr-to-input.js';
import { castToEnum } from './cast-to-enum.js';
import { clipAttrsToInputs } from './clip-attrs-to-inputs.js';
import { dftAxisToInput } from './dft-axis-to-input.js';
import { dropBatchnormSpatial } from './drop-batchnorm-spatial.js';
import { dropDropoutMask } from './drop-dropout-mask.js';
import { dropGemmBroadcast } from './drop-gemm-broadcast.js';
import { dropIsTest } from './drop-is-test.js';
import { dropRnnOutputSequence } from './drop-rnn-output-sequence.js';
import { dropoutRatioToInput } from './dropout-ratio-to-input.js';
import { expandGroupNormScale } from './expand-group-norm-scale.js';
import { expandLegacyBroadcast } from './expand-legacy-broadcast.js';
import { lpPoolPToInt } from './lp-pool-p-to-int.js';
import { padAttrsToInputs } from './pad-attrs-to-inputs.js';
import { pinResizeCoordinates } from './pin-resize-coordinates.js';
import { removeConsumedInputs } from './remove-consumed-inputs.js';
import { renameGridSampleModes } from './rename-grid-sample-modes.js';
import { renamePadPaddings } from './rename-pad-paddings.js';
import { scatterToScatterElements } from './scatter-to-scatter-elements.js';
import { setConcatAxis } from './set-concat-axis.js';
import { setRoiAlignHalfPixel } from './set-roi-align-half-pixel.js';
import { setSplitNumOutputs } from './set-split-num-outputs.js';
import { shapeAttrToInput } from './shape-attr-to-input.js';
import { sliceAttrsToInputs } from './slice-attrs-to-inputs.js';
import { splitAttrToInput } from './split-attr-to-input.js';
import { splitInputToAttr } from './split-input-to-attr.js';
import { topkKToInput } from './topk-k-to-input.js';
import { trimBatchnormOutputs } from './trim-batchnorm-outputs.js';
import { unbatchScan } from './unbatch-scan.js';
import { upsampleScalesToInput } from './upsample-scales-to-input.js';
import { upsampleToResize } from './upsample-to-resize.js';

export {
  adaptSoftmaxAxis, axesAttrToInput, castToEnum, clipAttrsToInputs, dftAxisToInput, dropBatchnormSpatial,
  dropDropoutMask, dropGemmBroadcast, dropIsTest, dropRnnOutputSequence, dropoutRatioToInput, expandGroupNormScale,
  expandLegacyBroadcast, lpPoolPToInt, padAttrsToInputs, pinResizeCoordinates, removeConsumedInputs,
  renameGridSampleModes, renamePadPaddings, scatterToScatterElements, setConcatAxis, setRoiAlignHalfPixel,
  setSplitNumOutputs, shapeAttrToInput, sliceAttrsToInputs, splitAttrToInput, splitInputToAttr, topkKToInput,
  trimBatchnormOutputs, unbatchScan, upsampleScalesToInput, upsampleToResize,
};

/** Every opset rule (for listings; the pass dispatches through the adapter table, by op and version). */
export const opsetRules = new RuleSet('opset', [
  adaptSoftmaxAxis, axesAttrToInput, castToEnum, clipAttrsToInputs, dftAxisToInput, dropBatchnormSpatial,
  dropDropoutMask, dropGemmBroadcast, dropIsTest, dropRnnOutputSequence, dropoutRatioToInput, expandGroupNormScale,
  expandLegacyBroadcast, lpPoolPToInt, padAttrsToInputs, pinResizeCoordinates, removeConsumedInputs,
  renameGridSampleModes, renamePadPaddings, scatterToScatterElements, setConcatAxis, setRoiAlignHalfPixel,
  setSplitNumOutputs, shapeAttrToInput, sliceAttrsToInputs, splitAttrToInput, splitInputToAttr, topkKToInput,
  trimBatchnormOutputs, unbatchScan, upsampleScalesToInput, upsampleToResize,
]);
