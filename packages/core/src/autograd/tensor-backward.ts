import { installBackwardMethod } from '../tensor/tensor.js';
import { backward } from './backward.js';

// Tensor.backward() is declared on the class and calls the engine through this
// late binding, so tensor.ts need not import the autograd engine (which imports ops).
installBackwardMethod(backward);

/** Whether `Tensor.prototype.backward` is wired to the engine (importing this module wires it). */
export const tensorBackwardInstalled = true;
