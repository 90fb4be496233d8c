// The opset rule family: each rule rewrites one node across one version boundary of its op (from the form the
// previous version had to the form the new one has). passes/opset/adapters.ts says which rule crosses which boundary;
// the opset pass applies them once per node, oldest boundary first (not to a fixed point: Softmax-12 and Softmax-13
// look alike, only the model's opset import tells them apart).
export { adaptSoftmaxAxis } from './adapt-softmax-axis.js';
export { axesAttrToInput } from './axes-attr-to-input.js';
export { castToEnum } from './cast-to-enum.js';
export { clipAttrsToInputs } from './clip-attrs-to-inputs.js';
export { dftAxisToInput } from './dft-axis-to-input.js';
export { dropBatchnormSpatial } from './drop-batchnorm-spatial.js';
export { dropDropoutMask } from './drop-dropout-mask.js';
export { dropGemmBroadcast } from './drop-gemm-broadcast.js';
export { dropIsTest } from './drop-is-test.js';
export { dropRnnOutputSequence } from './drop-rnn-output-sequence.js';
export { dropoutRatioToInput } from './dropout-ratio-to-input.js';
export { expandGroupNormScale } from './expand-group-norm-scale.js';
export { expandLegacyBroadcast } from './expand-legacy-broadcast.js';
export { lpPoolPToInt } from './lp-pool-p-to-int.js';
export { padAttrsToInputs } from './pad-attrs-to-inputs.js';
export { pinResizeCoordinates } from './pin-resize-coordinates.js';
export { removeConsumedInputs } from './remove-consumed-inputs.js';
export { renameGridSampleModes } from './rename-grid-sample-modes.js';
export { renamePadPaddings } from './rename-pad-paddings.js';
export { scatterToScatterElements } from './scatter-to-scatter-elements.js';
export { setConcatAxis } from './set-concat-axis.js';
export { setRoiAlignHalfPixel } from './set-roi-align-half-pixel.js';
export { setSplitNumOutputs } from './set-split-num-outputs.js';
export { shapeAttrToInput } from './shape-attr-to-input.js';
export { sliceAttrsToInputs } from './slice-attrs-to-inputs.js';
export { splitAttrToInput } from './split-attr-to-input.js';
export { splitInputToAttr } from './split-input-to-attr.js';
export { topkKToInput } from './topk-k-to-input.js';
export { trimBatchnormOutputs } from './trim-batchnorm-outputs.js';
export { unbatchScan } from './unbatch-scan.js';
export { upsampleScalesToInput } from './upsample-scales-to-input.js';
export { upsampleToResize } from './upsample-to-resize.js';
