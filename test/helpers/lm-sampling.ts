// Text sampled from a causal LM itself: the implementation lives in src/data (the distill CLI trains on it too).
export { sampleSequences, sequenceFeeds, type SamplingOptions } from '../../src/data/lm-sampling.js';
