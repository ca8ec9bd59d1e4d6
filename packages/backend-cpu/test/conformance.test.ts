/**
 * Core's backend conformance suite against the 'cpu' backend: every primitive
 * kernel on contiguous, strided, broadcast and offset views, f32 and f64
 * (f64 runs the reference kernels registered for 'cpu'), data movement for
 * every dtype, and composed ops with autograd — all compared with 'cpu-ref'.
 */
import { describeConformance } from '@adapterkit/core/conformance';
import { requireFastCpu } from './helpers.js';

requireFastCpu();

describeConformance({ backend: 'cpu', dtypes: ['f32', 'f64'] });
