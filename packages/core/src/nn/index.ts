/** Modules: the Module base, Parameter, containers and the standard layers. */
export * from './parameter.js';
export * from './module.js';
export * from './containers.js';
export * from './linear.js';
export * from './embedding.js';
export * from './norm.js';
export * from './dropout.js';
export * from './activation.js';
