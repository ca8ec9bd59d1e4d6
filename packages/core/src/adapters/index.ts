/** The adapter plugin host: configs, methods, insertion points, composition tree, model API, files. */
export * from './config.js';
export { parseConfigString, type ConfigStringPart } from './config-string.js';
export { parsePyLiteral, type PyValue } from './python-literal.js';
export * from './composition.js';
export * from './composition-plugin.js';
export * from './context.js';
export * from './sites.js';
export * from './adaptable-linear.js';
export * from './method-registry.js';
export * from './host.js';
export * from './summary.js';
export * from './save-load.js';
export * from './files.js';
export * from './api.js';
export { toCamel, toSnake } from './naming.js';
