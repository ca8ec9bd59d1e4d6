/**
 * Prediction heads ("flex heads" of the Python `adapters` library):
 * classification (single-label, regression, multi-label), tagging,
 * multiple choice, extractive QA, masked LM and causal LM, with Python's
 * layer numbering and head_config.json format.
 */
export * from './types.js';
export * from './config.js';
export { HeadActivation, headActivationNames } from './activation.js';
export { bceWithLogits } from './losses.js';
export { PredictionHead, headDropoutProb, initLinear } from './prediction-head.js';
export { ClassificationHead } from './classification.js';
export { TaggingHead, IGNORE_INDEX, padPromptPositions } from './tagging.js';
export { MultipleChoiceHead } from './multiple-choice.js';
export { QuestionAnsweringHead } from './question-answering.js';
export { LMHead, MaskedLMHead, CausalLMHead, LMDecoder, tiesWordEmbeddings, type LMHeadBuildOptions } from './language-modeling.js';
export { createHead, registerHeadType, knownHeadTypes, type HeadFactory } from './factory.js';
export { STATIC_TO_FLEX_HEAD_MAP, staticToFlexHead, type FlexConversion } from './static-to-flex.js';
export {
  ADAPTERS_VERSION,
  HEAD_CONFIG_NAME,
  HEAD_WEIGHTS_NAME,
  HEAD_TORCH_WEIGHTS_NAME,
  buildHeadConfigFile,
  pythonJson,
  adapterModelClassName,
  type HeadConfigFile,
} from './head-files.js';
export { headFiles, saveHead, loadHead, type LoadHeadOptions } from './head-io.js';
