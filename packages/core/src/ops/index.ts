export * from './creation.js';
export * from './binary.js';
export * from './unary.js';
export * from './activation.js';
export * from './cast.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './norm.js';
export * from './embedding.js';
export * from './where.js';
export * from './loss.js';
export * from './dropout.js';
export * from './attention.js';
// Installs Tensor.prototype.backward (module augmentation of Tensor).
export { tensorBackwardInstalled } from '../autograd/tensor-backward.js';
