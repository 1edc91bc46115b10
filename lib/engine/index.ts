export { loadModel, defaultCapture, deriveSeed } from './model.js';
export type { Model, ModelInfo, LoadOptions, GenerateRequest, GenerateOptions, GenerateResult, CaptureOptions, ControlVectorInput, GpuChoice } from './model.js';
export type { ChatMessage, Role, RenderedPrompt } from './chat.js';
export { DEFAULT_TEMPLATE_BUDGET } from './template-sandbox.js';
export type { TemplateBudget } from './template-sandbox.js';
export { MoodaxisError, errorCode } from './errors.js';
export type { ErrorCode } from './errors.js';
export { GgufError, readGgufHeader, modelIdentity } from './gguf.js';
export type { PlacementOptions, SplitMode, SplitInfo } from './placement.js';
