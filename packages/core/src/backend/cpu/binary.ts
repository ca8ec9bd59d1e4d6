import { DTypeError } from '../../errors.js';
import type { TypedArray } from '../../tensor/dtype.js';
import type { KernelArgs } from '../backend.js';
import type { BinaryOp, CompareOp } from '../primitives.js';
import { FLOAT_DTYPES, FLOAT_I32, NUMERIC_DTYPES, arrayOf, checkDType, checkSameDType } from './common.js';
import { StridedRuns } from './strided.js';

/** Binary ops whose integer result is exact (wrapping like int32), so they also accept i32. */
const INTEGER_OK = new Set<BinaryOp>(['add', 'sub', 'mul', 'maximum', 'minimum']);

/** z = f(a, b): a and b strided views of the output's shape (stride 0 = broadcast). */
export function binaryKernel(op: BinaryOp, args: KernelArgs): void {
  const a = args.inputs[0]!, b = args.inputs[1]!;
  const z = args.outputs[0]!;
  checkSameDType(op, [z, a, b]);
  checkDType(op, a.dtype, INTEGER_OK.has(op) ? FLOAT_I32 : FLOAT_DTYPES);
  // int32 products need Math.imul: the double product of two large ints is not exact.
  const kind = op === 'mul' && a.dtype === 'i32' ? 'imul' : op;
  const as = arrayOf(a), bs = arrayOf(b), zs = arrayOf(z);
  const it = new StridedRuns(op, [z, a, b]);
  const o = it.offsets, s = it.steps;
  for (let r = 0; r < it.rows; r++) {
    binaryRun(kind, as, o[1]!, s[1]!, bs, o[2]!, s[2]!, zs, o[0]!, s[0]!, it.n);
    it.next();
  }
}

function binaryRun(
  op: BinaryOp | 'imul',
  a: TypedArray, ai: number, as: number,
  b: TypedArray, bi: number, bs: number,
  z: TypedArray, zi: number, zs: number, n: number,
): void {
  switch (op) {
    case 'add': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! + b[bi]!; break;
    case 'sub': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! - b[bi]!; break;
    case 'mul': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! * b[bi]!; break;
    case 'imul': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = Math.imul(a[ai]!, b[bi]!); break;
    case 'div': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! / b[bi]!; break;
    case 'pow': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = Math.pow(a[ai]!, b[bi]!); break;
    // NaN wins: if u is NaN both tests pick u; if v is NaN both fail and pick v.
    case 'maximum': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) { const u = a[ai]!, v = b[bi]!; z[zi] = u > v || u !== u ? u : v; } break;
    case 'minimum': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) { const u = a[ai]!, v = b[bi]!; z[zi] = u < v || u !== u ? u : v; } break;
    default: throw new Error(`cpu-ref: unknown binary op '${op as string}'`);
  }
}

/** z = (a ? b) as u8 0/1; a and b strided, same dtype (any but f16/bf16). */
export function compareKernel(op: CompareOp, args: KernelArgs): void {
  const a = args.inputs[0]!, b = args.inputs[1]!;
  const z = args.outputs[0]!;
  checkSameDType(op, [a, b]);
  checkDType(op, a.dtype, NUMERIC_DTYPES);
  if (z.dtype !== 'u8') throw new DTypeError(`cpu-ref kernel '${op}' writes u8 output, got ${z.dtype}`);
  const as = arrayOf(a), bs = arrayOf(b), zs = arrayOf(z);
  const it = new StridedRuns(op, [z, a, b]);
  const o = it.offsets, s = it.steps;
  for (let r = 0; r < it.rows; r++) {
    compareRun(op, as, o[1]!, s[1]!, bs, o[2]!, s[2]!, zs, o[0]!, s[0]!, it.n);
    it.next();
  }
}

function compareRun(
  op: CompareOp,
  a: TypedArray, ai: number, as: number,
  b: TypedArray, bi: number, bs: number,
  z: TypedArray, zi: number, zs: number, n: number,
): void {
  switch (op) {
    case 'eq': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! === b[bi]! ? 1 : 0; break;
    case 'ne': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! !== b[bi]! ? 1 : 0; break;
    case 'lt': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! < b[bi]! ? 1 : 0; break;
    case 'le': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! <= b[bi]! ? 1 : 0; break;
    case 'gt': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! > b[bi]! ? 1 : 0; break;
    case 'ge': for (let i = 0; i < n; i++, zi += zs, ai += as, bi += bs) z[zi] = a[ai]! >= b[bi]! ? 1 : 0; break;
    default: throw new Error(`cpu-ref: unknown compare op '${op as string}'`);
  }
}
