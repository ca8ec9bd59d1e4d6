/** Optimizers, gradient clipping and learning-rate schedules. */
export * from './optimizer.js';
export * from './adamw.js';
export * from './sgd.js';
export * from './clip.js';
export * from './schedule.js';
