import { assertSameDType, broadcastView, runKernel } from '../backend/dispatch.js';
import { record } from '../autograd/record.js';
import type { BinaryOp, CompareOp } from '../backend/primitives.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { cast } from './cast.js';
import { scalarLike } from './creation.js';
import { sumToShape } from './reduce.js';
import { log } from './unary.js';

/** A tensor or a plain number (taken in the tensor's dtype). */
export type Operand = Tensor | number;

function asTensor(v: Operand, like: Tensor): Tensor {
  return typeof v === 'number' ? scalarLike(like, v) : v;
}

/** Runs a broadcasting binary kernel; returns the output and the two tensor operands. */
function binaryKernel(op: string, a: Operand, b: Operand, outDType?: 'u8'): [Tensor, Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new TypeError(`${op}: at least one operand must be a tensor`);
  const ta = asTensor(a, b as Tensor);
  const tb = asTensor(b, ta);
  const dtype = assertSameDType(op, ta, tb);
  const shape = broadcastShapes(ta.shape, tb.shape, op);
  const [y] = runKernel(op, [broadcastView(ta, shape), broadcastView(tb, shape)], [{ shape, dtype: outDType ?? dtype }]);
  return [y!, ta, tb];
}

/** Scalars made for an op are freed right after, unless the tape saved them. */
function freeScalars(a: Operand, b: Operand, ta: Tensor, tb: Tensor): void {
  if (typeof a === 'number') ta.dispose();
  if (typeof b === 'number') tb.dispose();
}

type GradRule = (dy: Tensor, a: Tensor | undefined, b: Tensor | undefined, y: Tensor | undefined, needs: boolean[]) => [Tensor | null, Tensor | null];

/** Which of a, b, y a gradient rule reads, given which inputs need a gradient. */
type SavePlan = (needA: boolean, needB: boolean) => { a?: boolean; b?: boolean; y?: boolean };

/**
 * A broadcasting binary op with its gradient rule. Only the tensors the rule
 * will read are saved for backward (as PyTorch does), so e.g. a residual `add`
 * does not keep its operands' memory alive until backward.
 */
function binary(op: BinaryOp, a: Operand, b: Operand, plan: SavePlan, rule: GradRule): Tensor {
  const [y, ta, tb] = binaryKernel(op, a, b);
  const needA = ta.requiresGrad;
  const needB = tb.requiresGrad;
  if (needA || needB) {
    const want = plan(needA, needB);
    const slots: (Tensor | undefined)[] = [want.a ? ta : undefined, want.b ? tb : undefined, want.y ? y : undefined];
    const saved = slots.filter((t): t is Tensor => t !== undefined);
    const aShape = ta.shape;
    const bShape = tb.shape;
    record(op, [ta, tb], [y], saved, ([dy], savedTensors, needs) => {
      let k = 0;
      const [sa, sb, sy] = slots.map((t) => (t === undefined ? undefined : savedTensors[k++]));
      const [ga, gb] = rule(dy!, sa, sb, sy, needs);
      return [needs[0] && ga ? sumToShape(ga, aShape) : null, needs[1] && gb ? sumToShape(gb, bShape) : null];
    });
  }
  freeScalars(a, b, ta, tb);
  return y;
}

const saveNothing: SavePlan = () => ({});
const saveOperands: SavePlan = () => ({ a: true, b: true });

/** a + b with broadcasting. */
export function add(a: Operand, b: Operand): Tensor {
  return binary('add', a, b, saveNothing, (dy) => [dy, dy]);
}

/** a − b with broadcasting. */
export function sub(a: Operand, b: Operand): Tensor {
  return binary('sub', a, b, saveNothing, (dy, _a, _b, _y, needs) => [dy, needs[1] ? mulScalar(dy, -1) : null]);
}

/** a · b with broadcasting. */
export function mul(a: Operand, b: Operand): Tensor {
  return binary(
    'mul', a, b,
    (needA, needB) => ({ a: needB, b: needA }),
    (dy, sa, sb, _y, needs) => [needs[0] ? mul(dy, sb!) : null, needs[1] ? mul(dy, sa!) : null],
  );
}

/** a / b with broadcasting. */
export function div(a: Operand, b: Operand): Tensor {
  return binary(
    'div', a, b,
    (_needA, needB) => ({ b: true, y: needB }),
    (dy, _a, sb, sy, needs) => {
      const da = div(dy, sb!);
      return [da, needs[1] ? mulScalar(mul(da, sy!), -1) : null];
    },
  );
}

/** a ** b with broadcasting. The exponent's gradient uses log(a), so it is NaN where a ≤ 0 (as in PyTorch). */
export function pow(a: Operand, b: Operand): Tensor {
  return binary(
    'pow', a, b,
    (_needA, needB) => ({ a: true, b: true, y: needB }),
    (dy, sa, sb, sy, needs) => [
      needs[0] ? mul(dy, mul(sb!, pow(sa!, sub(sb!, 1)))) : null,
      needs[1] ? mul(dy, mul(sy!, log(sa!))) : null,
    ],
  );
}

/** Elementwise maximum; ties split the gradient in half. */
export function maximum(a: Operand, b: Operand): Tensor {
  return binary('maximum', a, b, saveOperands, (dy, sa, sb) => splitByWinner(dy, sa!, sb!, 'gt'));
}

/** Elementwise minimum; ties split the gradient in half. */
export function minimum(a: Operand, b: Operand): Tensor {
  return binary('minimum', a, b, saveOperands, (dy, sa, sb) => splitByWinner(dy, sa!, sb!, 'lt'));
}

/**
 * Limits x to [lo, hi] (either bound may be omitted with `undefined`),
 * composed as minimum(maximum(x, lo), hi). Bounds may be numbers or
 * broadcastable tensors (they then receive gradients too). Inside the range
 * the gradient to x is dy, outside it is 0; exactly at a bound it is split
 * half and half with the bound (the maximum/minimum tie rule), unlike
 * PyTorch, which gives x the whole gradient there.
 */
export function clamp(x: Tensor, lo?: Operand, hi?: Operand): Tensor {
  if (lo !== undefined && hi !== undefined && typeof lo === 'number' && typeof hi === 'number' && lo > hi) {
    throw new RangeError(`clamp: lower bound ${lo} is above upper bound ${hi}`);
  }
  const low = lo === undefined ? x : maximum(x, lo);
  if (hi === undefined) return low;
  const y = minimum(low, hi);
  if (low !== x) low.dispose();
  return y;
}

function splitByWinner(dy: Tensor, a: Tensor, b: Tensor, wins: 'gt' | 'lt'): [Tensor, Tensor] {
  const aWins = cast(compare(wins, a, b), dy.dtype);
  const tie = mulScalar(cast(compare('eq', a, b), dy.dtype), 0.5);
  const wa = add(aWins, tie);
  // b receives the rest: 1 where b wins, ½ on ties.
  const wb = sub(1, wa);
  return [mul(dy, wa), mul(dy, wb)];
}

/** x · c for a plain number c. */
export function mulScalar(x: Tensor, c: number): Tensor {
  return mul(x, c);
}

/** x + c for a plain number c. */
export function addScalar(x: Tensor, c: number): Tensor {
  return add(x, c);
}

function compare(op: CompareOp, a: Operand, b: Operand): Tensor {
  const [y, ta, tb] = binaryKernel(op, a, b, 'u8');
  freeScalars(a, b, ta, tb);
  return y;
}

/** a == b as u8 (no gradient). */
export const eq = (a: Operand, b: Operand): Tensor => compare('eq', a, b);
export const ne = (a: Operand, b: Operand): Tensor => compare('ne', a, b);
export const lt = (a: Operand, b: Operand): Tensor => compare('lt', a, b);
export const le = (a: Operand, b: Operand): Tensor => compare('le', a, b);
export const gt = (a: Operand, b: Operand): Tensor => compare('gt', a, b);
export const ge = (a: Operand, b: Operand): Tensor => compare('ge', a, b);
