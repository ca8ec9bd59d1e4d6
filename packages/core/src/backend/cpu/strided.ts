import { ShapeError, formatShape } from '../../errors.js';
import type { View } from '../backend.js';

/**
 * Walks several views of one shape (output first, then inputs) as a sequence
 * of 1-D runs along the innermost axis. Elementwise kernels run a tight loop
 * per run, so the per-element cost is one load/op/store with no index math.
 *
 * Axes of size 1 are dropped and neighbouring axes are merged wherever every
 * view is contiguous across them, so fully contiguous views become one run of
 * the whole size, and a row-vector broadcast ([m, n] with strides [0, 1])
 * becomes m runs of n.
 *
 * Usage: `for (let r = 0; r < it.rows; r++) { kernel(it.offsets, it.steps, it.n); it.next(); }`
 */
export class StridedRuns {
  /** Length of every run. */
  readonly n: number;
  /** Number of runs. */
  readonly rows: number;
  /** Per view: element step within a run. */
  readonly steps: number[];
  /** Per view: element offset of the current run's first element. */
  readonly offsets: number[];
  private readonly outerShape: number[];
  /** outerStrides[d][v]: stride of outer axis d in view v. */
  private readonly outerStrides: number[][];
  private readonly idx: number[];

  constructor(kernel: string, views: readonly View[]) {
    const shape = views[0]!.shape;
    const rank = shape.length;
    for (const v of views) {
      if (v.shape.length !== rank || v.shape.some((d, i) => d !== shape[i])) {
        throw new ShapeError(`cpu-ref kernel '${kernel}': view shapes differ (${views.map((x) => formatShape(x.shape)).join(' vs ')}); core must broadcast inputs to the output shape`);
      }
    }
    // Coalesce axes, innermost first. dims[j] = [size, stride of view 0, stride of view 1, ...].
    const dims: number[][] = [];
    let empty = false;
    for (let a = rank - 1; a >= 0; a--) {
      const size = shape[a]!;
      if (size === 0) empty = true;
      if (size === 1) continue;
      const strides = views.map((v) => v.strides[a]!);
      const prev = dims[dims.length - 1];
      if (prev && strides.every((s, i) => s === prev[i + 1]! * prev[0]!)) {
        prev[0] = prev[0]! * size; // merge: this axis just continues the inner one
      } else {
        dims.push([size, ...strides]);
      }
    }
    this.offsets = views.map((v) => v.offset);
    if (empty) {
      this.n = 0;
      this.rows = 0;
      this.steps = views.map(() => 0);
      this.outerShape = [];
      this.outerStrides = [];
      this.idx = [];
      return;
    }
    const inner = dims[0];
    this.n = inner ? inner[0]! : 1;
    this.steps = views.map((_, i) => (inner ? inner[i + 1]! : 0));
    // Outer axes, outermost first, for the odometer in next().
    const outer = dims.slice(1).reverse();
    this.outerShape = outer.map((d) => d[0]!);
    this.outerStrides = outer.map((d) => d.slice(1));
    this.idx = outer.map(() => 0);
    this.rows = this.outerShape.reduce((p, d) => p * d, 1);
  }

  /** Advances `offsets` to the next run (odometer over the outer axes). */
  next(): void {
    const offsets = this.offsets;
    const nv = offsets.length;
    for (let d = this.idx.length - 1; d >= 0; d--) {
      const strides = this.outerStrides[d]!;
      if (++this.idx[d]! < this.outerShape[d]!) {
        for (let v = 0; v < nv; v++) offsets[v]! += strides[v]!;
        return;
      }
      this.idx[d] = 0;
      const back = this.outerShape[d]! - 1;
      for (let v = 0; v < nv; v++) offsets[v]! -= strides[v]! * back;
    }
  }
}
