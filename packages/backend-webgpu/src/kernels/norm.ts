import type { KernelArgs, PrimitiveAttrs, View } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import {
  ENTRY_1D, KAHAN_WGSL, MAXNAN_WGSL, Params, WG, grid, header, lanesPerRow, rowEntry, rowGrid, rowReduceWgsl, type Access, type BindingDecl,
} from '../shader.js';
import { F32, checkDTypes } from './common.js';

/**
 * LayerNorm and RMSNorm over the last axis of contiguous [rows, d] inputs.
 * Forward and the dx part of backward run L lanes per row (L from d, see
 * lanesPerRow; `rs` is a row index that is safe to load for padding lanes;
 * two-pass
 * statistics: mean first, then the centred sum of squares, like the
 * reference). dgamma/dbeta are column sums over rows: one invocation per
 * column walks the rows in order with Kahan summation, so the result is
 * deterministic and independent of the row count's parallel split.
 */

const f = (buf: string, i: string): string => `bitcast<f32>(${buf}[${i}])`;
const st = (buf: string, i: string, v: string): string => `${buf}[${i}] = bitcast<u32>(${v});`;

function rowProgram(decl: BindingDecl[], L: number, body: string): () => string {
  return () => `${header(decl)}
${MAXNAN_WGSL}
${rowReduceWgsl(L)}
${rowEntry(L)}
  let d = pu(1u);
  let n = select(0u, d, valid);
  let rs = select(0u, row, valid);
${body.replaceAll('$L', `${L}u`)}
}`;
}

const R = 'read' as const, W = 'write' as const;

/** Bindings of the views: inputs read-only, then outputs writable. */
function bindViews(backend: WebGpuBackend, inputs: View[], outputs: View[]): { buffer: GPUBuffer; access: Access }[] {
  return [
    ...inputs.map((v) => ({ buffer: backend.bufferOf(v), access: R })),
    ...outputs.map((v) => ({ buffer: backend.bufferOf(v), access: W })),
  ];
}

export function layerNormKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['layerNorm']>): void {
  const [x, g, b] = args.inputs as [View, View, View];
  const [y, mean, rstd] = args.outputs as [View, View, View];
  const { rows, d, eps } = args.attrs;
  checkDTypes('layerNorm', [x, g, b, y, mean, rstd], F32);
  if (rows === 0) return;
  // params: rows, d, eps, x, g, b, y, mean, rstd offsets
  const L = lanesPerRow(d);
  const code = rowProgram(
    [{ name: 'x', access: R }, { name: 'g', access: R }, { name: 'b', access: R }, { name: 'y', access: W }, { name: 'mo', access: W }, { name: 'ro', access: W }],
    L,
    `  let eps = pf(2u);
  let xo = pu(3u) + row * d; let go = pu(4u); let bo = pu(5u); let yo = pu(6u) + row * d;
  var s = 0.0;
  for (var j = lane; j < n; j = j + $L) { s = s + ${f('x', 'xo + j')}; }
  let mu = seg_sum(s, lid) / f32(d);
  var ss = 0.0;
  for (var j = lane; j < n; j = j + $L) { let c = ${f('x', 'xo + j')} - mu; ss = ss + c * c; }
  let r = 1.0 / sqrt(seg_sum(ss, lid) / f32(d) + eps);
  for (var j = lane; j < n; j = j + $L) {
    ${st('y', 'yo + j', `(${f('x', 'xo + j')} - mu) * r * ${f('g', 'go + j')} + ${f('b', 'bo + j')}`)}
  }
  if (valid && lane == 0u) { ${st('mo', 'pu(7u) + row', 'mu')} ${st('ro', 'pu(8u) + row', 'r')} }`,
  );
  backend.dispatch({
    key: `layerNorm:f32:L${L}`,
    code,
    bindings: bindViews(backend, [x, g, b], [y, mean, rstd]),
    params: new Params().u32(rows).u32(d).f32v(eps).u32(x.offset).u32(g.offset).u32(b.offset).u32(y.offset).u32(mean.offset).u32(rstd.offset),
    workgroups: rowGrid(rows, L),
  });
}

export function rmsNormKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['rmsNorm']>): void {
  const [x, g] = args.inputs as [View, View];
  const [y, rstd] = args.outputs as [View, View];
  const { rows, d, eps } = args.attrs;
  checkDTypes('rmsNorm', [x, g, y, rstd], F32);
  if (rows === 0) return;
  const L = lanesPerRow(d);
  const code = rowProgram(
    [{ name: 'x', access: R }, { name: 'g', access: R }, { name: 'y', access: W }, { name: 'ro', access: W }],
    L,
    `  let eps = pf(2u);
  let xo = pu(3u) + row * d; let go = pu(4u); let yo = pu(5u) + row * d;
  var ss = 0.0;
  for (var j = lane; j < n; j = j + $L) { let v = ${f('x', 'xo + j')}; ss = ss + v * v; }
  let r = 1.0 / sqrt(seg_sum(ss, lid) / f32(d) + eps);
  for (var j = lane; j < n; j = j + $L) {
    ${st('y', 'yo + j', `${f('x', 'xo + j')} * r * ${f('g', 'go + j')}`)}
  }
  if (valid && lane == 0u) { ${st('ro', 'pu(6u) + row', 'r')} }`,
  );
  backend.dispatch({
    key: `rmsNorm:f32:L${L}`,
    code,
    bindings: bindViews(backend, [x, g], [y, rstd]),
    params: new Params().u32(rows).u32(d).f32v(eps).u32(x.offset).u32(g.offset).u32(y.offset).u32(rstd.offset),
    workgroups: rowGrid(rows, L),
  });
}

/**
 * dgamma[j] = Σ_rows dy·x̂ and (layerNorm) dbeta[j] = Σ_rows dy, with
 * x̂ = (x − mean)·rstd (layerNorm) or x·rstd (rmsNorm). One invocation per column.
 */
function paramGrads(
  backend: WebGpuBackend, rms: boolean, rows: number, d: number,
  dy: View, x: View, mean: View | null, rstd: View, dgamma: View, dbeta: View | null,
): void {
  const decl: BindingDecl[] = [
    { name: 'dy', access: R }, { name: 'x', access: R }, ...(rms ? [] : [{ name: 'mn', access: R }]), { name: 'rs', access: R },
    { name: 'dg', access: W }, ...(rms ? [] : [{ name: 'db', access: W }]),
  ];
  const code = (): string => `${header(decl)}
${KAHAN_WGSL}
${ENTRY_1D}
  let d = pu(1u);
  if (gid >= d) { return; }
  let rows = pu(0u);
  var accg = vec2f(0.0, 0.0);
  var accb = vec2f(0.0, 0.0);
  for (var r = 0u; r < rows; r = r + 1u) {
    let i = r * d + gid;
    let g = ${f('dy', 'pu(2u) + i')};
    let xh = (${f('x', 'pu(3u) + i')}${rms ? '' : ` - ${f('mn', 'pu(4u) + r')}`}) * ${f('rs', 'pu(5u) + r')};
    accg = kahan_add(accg, g * xh);
    ${rms ? '' : 'accb = kahan_add(accb, g);'}
  }
  ${st('dg', 'pu(6u) + gid', 'accg.x')}
  ${rms ? '' : st('db', 'pu(7u) + gid', 'accb.x')}
}`;
  const ins = mean ? [dy, x, mean, rstd] : [dy, x, rstd];
  const outs = dbeta ? [dgamma, dbeta] : [dgamma];
  backend.dispatch({
    key: `${rms ? 'rmsNorm' : 'layerNorm'}Backward:params:f32`,
    code,
    bindings: bindViews(backend, ins, outs),
    params: new Params().u32(rows).u32(d).u32(dy.offset).u32(x.offset).u32(mean?.offset ?? 0).u32(rstd.offset).u32(dgamma.offset).u32(dbeta?.offset ?? 0),
    workgroups: grid(Math.ceil(d / WG)),
  });
}

/** dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma, x̂ = (x − mean)·rstd. */
export function layerNormBackwardKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['layerNormBackward']>): void {
  const [dy, x, mean, rstd, gamma] = args.inputs as [View, View, View, View, View];
  const [dx, dgamma, dbeta] = args.outputs as [View, View, View];
  const { rows, d } = args.attrs;
  checkDTypes('layerNormBackward', [dy, x, mean, rstd, gamma, dx, dgamma, dbeta], F32);
  if (d === 0) return;
  if (rows > 0) {
    const L = lanesPerRow(d);
  const code = rowProgram(
      [{ name: 'dy', access: R }, { name: 'x', access: R }, { name: 'mn', access: R }, { name: 'rsd', access: R }, { name: 'ga', access: R }, { name: 'dx', access: W }],
      L,
      `  let o = row * d;
  let dyo = pu(2u) + o; let xo = pu(3u) + o; let go = pu(6u); let dxo = pu(7u) + o;
  let mu = ${f('mn', 'pu(4u) + rs')};
  let r = ${f('rsd', 'pu(5u) + rs')};
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = lane; j < n; j = j + $L) {
    let gg = ${f('dy', 'dyo + j')} * ${f('ga', 'go + j')};
    sg = sg + gg;
    sgx = sgx + gg * (${f('x', 'xo + j')} - mu) * r;
  }
  let mg = seg_sum(sg, lid) / f32(d);
  let mgx = seg_sum(sgx, lid) / f32(d);
  for (var j = lane; j < n; j = j + $L) {
    let xh = (${f('x', 'xo + j')} - mu) * r;
    ${st('dx', 'dxo + j', `r * (${f('dy', 'dyo + j')} * ${f('ga', 'go + j')} - mg - xh * mgx)`)}
  }`,
    );
    backend.dispatch({
      key: `layerNormBackward:dx:f32:L${L}`,
      code,
      bindings: bindViews(backend, [dy, x, mean, rstd, gamma], [dx]),
      params: new Params().u32(rows).u32(d).u32(dy.offset).u32(x.offset).u32(mean.offset).u32(rstd.offset).u32(gamma.offset).u32(dx.offset),
      workgroups: rowGrid(rows, L),
    });
  }
  paramGrads(backend, false, rows, d, dy, x, mean, rstd, dgamma, dbeta);
}

/** dx = rstd·(g − x̂·mean(g·x̂)), g = dy·gamma, x̂ = x·rstd. */
export function rmsNormBackwardKernel(backend: WebGpuBackend, args: KernelArgs<PrimitiveAttrs['rmsNormBackward']>): void {
  const [dy, x, rstd, gamma] = args.inputs as [View, View, View, View];
  const [dx, dgamma] = args.outputs as [View, View];
  const { rows, d } = args.attrs;
  checkDTypes('rmsNormBackward', [dy, x, rstd, gamma, dx, dgamma], F32);
  if (d === 0) return;
  if (rows > 0) {
    const L = lanesPerRow(d);
  const code = rowProgram(
      [{ name: 'dy', access: R }, { name: 'x', access: R }, { name: 'rsd', access: R }, { name: 'ga', access: R }, { name: 'dx', access: W }],
      L,
      `  let o = row * d;
  let dyo = pu(2u) + o; let xo = pu(3u) + o; let go = pu(5u); let dxo = pu(6u) + o;
  let r = ${f('rsd', 'pu(4u) + rs')};
  var sgx = 0.0;
  for (var j = lane; j < n; j = j + $L) {
    sgx = sgx + ${f('dy', 'dyo + j')} * ${f('ga', 'go + j')} * ${f('x', 'xo + j')} * r;
  }
  let mgx = seg_sum(sgx, lid) / f32(d);
  for (var j = lane; j < n; j = j + $L) {
    ${st('dx', 'dxo + j', `r * (${f('dy', 'dyo + j')} * ${f('ga', 'go + j')} - ${f('x', 'xo + j')} * r * mgx)`)}
  }`,
    );
    backend.dispatch({
      key: `rmsNormBackward:dx:f32:L${L}`,
      code,
      bindings: bindViews(backend, [dy, x, rstd, gamma], [dx]),
      params: new Params().u32(rows).u32(d).u32(dy.offset).u32(x.offset).u32(rstd.offset).u32(gamma.offset).u32(dx.offset),
      workgroups: rowGrid(rows, L),
    });
  }
  paramGrads(backend, true, rows, d, dy, x, null, rstd, dgamma, null);
}
