import type { KernelArgs, PrimitiveAttrs, View } from '@adapterkit/core';
import type { WebGpuBackend } from '../backend.js';
import { MAXNAN_WGSL, Params, grid, header, type Access, type BindingDecl } from '../shader.js';
import { F32, checkDTypes, checkU32 } from './common.js';

/**
 * The optional fused 'attention' kernel (contract in core's primitives.ts):
 * out = softmax(q·kᵀ·scale + mask, causal)·v, and the probabilities P when
 * asked for, in f32.
 *
 * One workgroup per (problem bh, block of query rows). Keys go by in tiles
 * of TK: the workgroup stages TK rows of k and v in shared memory (coalesced
 * loads; afterwards every invocation reads the same element, a broadcast),
 * and each invocation folds the tile's keys into its rows' output
 * accumulators with an online softmax, so the scores never need a buffer,
 * whatever Lk is. Two code variants, D, Dv, TK, the block size and the
 * mask/causal/P options being compile-time constants (one pipeline each):
 * - registers (D, Dv ≤ 128, see programRegs): R = 4, 2 or 1 query rows per
 *   invocation in unrolled vec4 variables, so a shared k/v load serves R rows;
 * - private arrays (larger heads, see programArrays): one row per invocation.
 * Measured on lavapipe at B·H = 96, L = 128, D = 32: ~60 ms for out alone,
 * ~75 ms with P, against ~340 ms for the composed kernels (two matmuls, the
 * scale, softmax); see bench/results/attention-webgpu.md for the op level.
 *
 * When P is wanted the raw scores are also written to it as they are made;
 * at the end the workgroup normalises its rows together (coalesced):
 * exp(s − max)·(1/Σ), the reference softmax's order of operations. Weights
 * use the builtin exp2 (WEXP_WGSL), not the shader library's slower m_exp:
 * their arguments are ≤ 0, where its error is far inside the FUSED tolerance.
 *
 * Blocked scores (causal) are the lowest finite f32, as in the reference: a
 * row with every key blocked gets uniform weights. Keys whose weight is
 * exactly 0 are skipped in the accumulation (differs from the composed
 * path's 0·v only when v holds ±Inf or NaN).
 */

type AttentionAttrs = PrimitiveAttrs['attention'];

/**
 * exp(x) for x = score − running max ≤ 0, from the builtin exp2 (≤ 3 + 2|x| ulp): the
 * absolute error stays far below 1e-7 on weights ≤ 1. Below −87 (e^x < 2^-125) it gives 0,
 * as the reference does for blocked scores.
 */
const WEXP_WGSL = /* wgsl */ `
fn wexp(x: f32) -> f32 { return select(0.0, exp2(x * 1.4426950408889634), x > -87.0); }`;

/** Shared-memory budget of the k/v tiles: 16 KiB, WebGPU's guaranteed minimum. */
const TILE_FLOATS = 4096;

/** Keys per tile for (padded) head sizes d and dv: the k and v tiles, plus `reserved` other floats, within TILE_FLOATS. */
function keysPerTile(d: number, dv: number, reserved = 0): number {
  return Math.max(1, Math.min(64, Math.floor((TILE_FLOATS - reserved) / (d + dv))));
}

/** Query rows per workgroup: enough for long sequences, not many idle lanes for short ones. */
function rowsPerGroup(lq: number): 16 | 32 | 64 {
  return lq > 32 ? 64 : lq > 16 ? 32 : 16;
}

interface Variant {
  /** q_i and the accumulator in vec4 registers (unrolled code) rather than private arrays. */
  regs: boolean;
  /** Query rows per invocation (register variant; 1 otherwise). */
  rows: number;
  d: number;
  dv: number;
  tk: number;
  qb: number;
  mask: boolean;
  causal: boolean;
  writeP: boolean;
}

/*
 * Params of both variants: 0 row blocks per problem, 1 heads, 2 lq, 3 lk,
 * 4 scale (f32), 5–9 offsets of q, k, v, out, P, 10 mask offset, 11–14 mask
 * strides (batch, head, query, key), 15 number of workgroups (the grid is
 * folded).
 */

/** Both variants' entry point: one workgroup of `qb` invocations per (problem bh, block of query rows) w. */
function entry(qb: number): string {
  return `@compute @workgroup_size(${qb})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wid.y * nwg.x + wid.x;
  if (w >= pu(15u)) { return; }
  let nblk = pu(0u);
  let bh = w / nblk;
  let lq = pu(2u);
  let lk = pu(3u);`;
}

/**
 * The private-array variant, for heads above MAX_REG_HEAD: one query row per
 * invocation with q_i and the accumulator in private arrays; per tile, the
 * scores of its keys, then one rescale by exp(old max − tile max) and the
 * weighted sum. The invocation normalises its own P row at the end.
 */
function programArrays(x: Variant): string {
  const { d: D, dv: DV, tk: TK, qb: QB } = x;
  const decl: BindingDecl[] = [
    { name: 'q', access: 'read' }, { name: 'k', access: 'read' }, { name: 'v', access: 'read' },
    ...(x.mask ? [{ name: 'mk', access: 'read' as Access }] : []),
    { name: 'o', access: 'write' },
    ...(x.writeP ? [{ name: 'pr', access: 'write' as Access }] : []),
  ];
  const score = `var dot = 0.0;
        for (var c = 0u; c < ${D}u; c = c + 1u) { dot = dot + qv[c] * Ks[t * ${D}u + c]; }
        s = dot * scale${x.mask ? ' + bitcast<f32>(mk[mrow + j * pu(14u)])' : ''};`;
  return `${header(decl)}
${MAXNAN_WGSL}
${WEXP_WGSL}
var<workgroup> Ks: array<f32, ${TK * D}>;
var<workgroup> Vs: array<f32, ${TK * DV}>;

${entry(QB)}
  let row = (w % nblk) * ${QB}u + lid;
  let valid = row < lq;
  let i = select(0u, row, valid);
  let scale = pf(4u);
  let lowest = bitcast<f32>(0xff7fffffu);
  let shift = i32(lk) - i32(lq);
  let kb = pu(6u) + bh * lk * ${D}u;
  let vb = pu(7u) + bh * lk * ${DV}u;
  ${x.mask ? `let mrow = pu(10u) + (bh / pu(1u)) * pu(11u) + (bh % pu(1u)) * pu(12u) + i * pu(13u);` : ''}
  ${x.writeP ? `let prow = pu(9u) + (bh * lq + i) * lk;` : ''}

  var qv: array<f32, ${D}>;
  let qo = pu(5u) + (bh * lq + i) * ${D}u;
  for (var c = 0u; c < ${D}u; c = c + 1u) { qv[c] = bitcast<f32>(q[qo + c]); }
  var acc: array<f32, ${DV}>;
  var sc: array<f32, ${TK}>;
  var mx = lowest;
  var l = 0.0;

  for (var j0 = 0u; j0 < lk; j0 = j0 + ${TK}u) {
    let n = min(${TK}u, lk - j0);
    workgroupBarrier();
    for (var e = lid; e < ${TK * D}u; e = e + ${QB}u) {
      var kvl = 0.0;
      if (e < n * ${D}u) { kvl = bitcast<f32>(k[kb + j0 * ${D}u + e]); }
      Ks[e] = kvl;
    }
    for (var e = lid; e < ${TK * DV}u; e = e + ${QB}u) {
      var vvl = 0.0;
      if (e < n * ${DV}u) { vvl = bitcast<f32>(v[vb + j0 * ${DV}u + e]); }
      Vs[e] = vvl;
    }
    workgroupBarrier();

    var tmax = lowest;
    for (var t = 0u; t < n; t = t + 1u) {
      let j = j0 + t;
      var s = lowest;
      ${x.causal ? `if (i32(j) <= i32(i) + shift) {
        ${score}
      }` : `{
        ${score}
      }`}
      sc[t] = s;
      tmax = max_nan(tmax, s);
      ${x.writeP ? 'if (valid) { pr[prow + j] = bitcast<u32>(s); }' : ''}
    }
    let m1 = max_nan(mx, tmax);
    let corr = wexp(mx - m1);
    l = l * corr;
    for (var c = 0u; c < ${DV}u; c = c + 1u) { acc[c] = acc[c] * corr; }
    for (var t = 0u; t < n; t = t + 1u) {
      let p = wexp(sc[t] - m1);
      l = l + p;
      if (p != 0.0) {
        for (var c = 0u; c < ${DV}u; c = c + 1u) { acc[c] = acc[c] + p * Vs[t * ${DV}u + c]; }
      }
    }
    mx = m1;
  }

  if (valid) {
    let inv = 1.0 / l;
    let oo = pu(8u) + (bh * lq + i) * ${DV}u;
    for (var c = 0u; c < ${DV}u; c = c + 1u) { o[oo + c] = bitcast<u32>(acc[c] * inv); }
    ${x.writeP ? `for (var j = 0u; j < lk; j = j + 1u) { pr[prow + j] = bitcast<u32>(wexp(bitcast<f32>(pr[prow + j]) - mx) * inv); }` : ''}
  }
}`;
}

/** Head sizes up to this use the register variant; beyond it the private-array one (too many registers). */
const MAX_REG_HEAD = 128;

/** WGSL: the vec4 of row-major f32 `buf` at `base + 4c`, zero past `n` elements of the row (n, c compile-time). */
function vec4At(buf: string, base: string, c: number, n: number, guard = ''): string {
  const comps = [0, 1, 2, 3].map((x) => (4 * c + x < n ? `bitcast<f32>(${buf}[${base} + ${4 * c + x}u])` : '0.0'));
  return guard ? `select(vec4f(0.0), vec4f(${comps.join(', ')}), ${guard})` : `vec4f(${comps.join(', ')})`;
}

/**
 * The register variant, for D, Dv ≤ MAX_REG_HEAD. Each invocation owns R
 * query rows (R = 4, 2 or 1 by head size), so every k/v element read from
 * shared memory serves R rows; q rows are D/4 vec4 values and the output
 * accumulators Dv/4 vec4 variables, unrolled at generation time (private
 * arrays indexed in loops end up in memory on some compilers, lavapipe
 * included). k and v tiles are vec4 rows in shared memory, zero-padded to a
 * multiple of 4. Keys are folded in one at a time with a lazy online
 * softmax: weight exp(s − max) against the running max, and only when a score
 * exceeds it (rarely after the first keys) the accumulator and sum are
 * rescaled by exp(old max − s). A leading run of blocked (lowest) scores is
 * thereby averaged and then wiped by the first real score, as the reference
 * softmax would weigh them; NaN scores poison the row as in the reference.
 */
function programRegs(x: Variant): string {
  const { d: D, dv: DV, tk: TK, qb: QB, rows: R } = x;
  const D4 = Math.ceil(D / 4), DV4 = Math.ceil(DV / 4);
  const decl: BindingDecl[] = [
    { name: 'q', access: 'read' }, { name: 'k', access: 'read' }, { name: 'v', access: 'read' },
    ...(x.mask ? [{ name: 'mk', access: 'read' as Access }] : []),
    { name: 'o', access: 'write' },
    ...(x.writeP ? [{ name: 'pr', access: 'write' as Access }] : []),
  ];
  const range = (n: number): number[] => [...Array(n).keys()];
  const rows = range(R);
  const perRow = (f: (r: number) => string, sep = '\n  '): string => rows.map(f).join(sep);
  // Tile loads: one vec4 per step, rows past the tile's n keys (and columns past the head size) zeroed.
  const tileLoad = (tile: string, buf: string, base: string, n4: number, n: number): string => `for (var e = lid; e < ${TK * n4}u; e = e + ${QB}u) {
      let t = e / ${n4}u;
      let c4 = e % ${n4}u;
      let src = ${base} + (j0 + t) * ${n}u + c4 * 4u;
      var val = vec4f(0.0);
      if (t < n) {
        ${n % 4 === 0
          ? `val = vec4f(bitcast<f32>(${buf}[src]), bitcast<f32>(${buf}[src + 1u]), bitcast<f32>(${buf}[src + 2u]), bitcast<f32>(${buf}[src + 3u]));`
          : `for (var xx = 0u; xx < 4u; xx = xx + 1u) { if (c4 * 4u + xx < ${n}u) { val[xx] = bitcast<f32>(${buf}[src + xx]); } }`}
      }
      ${tile}[e] = val;
    }`;
  const score = (r: number): string => {
    const dotExpr = range(D4).map((c) => `dot(q${r}_${c}, k${c})`).join(' + ');
    const body = `s${r} = (${dotExpr}) * scale${x.mask ? ` + bitcast<f32>(mk[mrow${r} + j * pu(14u)])` : ''};`;
    return x.causal ? `if (i32(j) <= i32(i${r}) + shift) { ${body} }` : body;
  };
  const fold = (r: number): string => `${x.writeP ? `if (valid${r}) { pr[prow${r} + j] = bitcast<u32>(s${r}); }` : ''}
      if (s${r} > mx${r} || is_nan(s${r})) {
        let corr = wexp(mx${r} - s${r});
        l${r} = l${r} * corr;
        ${range(DV4).map((c) => `a${r}_${c} = a${r}_${c} * corr;`).join(' ')}
        mx${r} = s${r};
      }
      let p${r} = wexp(s${r} - mx${r});
      if (p${r} != 0.0) {
        l${r} = l${r} + p${r};
        ${range(DV4).map((c) => `a${r}_${c} = a${r}_${c} + p${r} * v${c};`).join(' ')}
      }`;
  const finish = (r: number): string => `if (valid${r}) {
    let inv = 1.0 / l${r};
    let oo = pu(8u) + (bh * lq + i${r}) * ${DV}u;
    ${range(DV4).flatMap((c) => [0, 1, 2, 3].filter((xx) => 4 * c + xx < DV).map((xx) => `o[oo + ${4 * c + xx}u] = bitcast<u32>(a${r}_${c}[${xx}] * inv);`)).join(' ')}
    ${x.writeP ? `rowMx[${r * QB}u + lid] = mx${r};
    rowInv[${r * QB}u + lid] = inv;` : ''}
  }`;
  return `${header(decl)}
${WEXP_WGSL}
var<workgroup> Ks: array<vec4f, ${TK * D4}>;
var<workgroup> Vs: array<vec4f, ${TK * DV4}>;
${x.writeP ? `var<workgroup> rowMx: array<f32, ${QB * R}>;
var<workgroup> rowInv: array<f32, ${QB * R}>;` : ''}

${entry(QB)}
  let scale = pf(4u);
  let lowest = bitcast<f32>(0xff7fffffu);
  let shift = i32(lk) - i32(lq);
  let kb = pu(6u) + bh * lk * ${D}u;
  let vb = pu(7u) + bh * lk * ${DV}u;
  let row0 = (w % nblk) * ${QB * R}u + lid;
  ${perRow((r) => `let valid${r} = row0 + ${r * QB}u < lq;
  let i${r} = select(0u, row0 + ${r * QB}u, valid${r});
  let qo${r} = pu(5u) + (bh * lq + i${r}) * ${D}u;
  ${range(D4).map((c) => `let q${r}_${c} = ${vec4At('q', `qo${r}`, c, D)};`).join('\n  ')}
  ${range(DV4).map((c) => `var a${r}_${c} = vec4f(0.0);`).join(' ')}
  var mx${r} = lowest;
  var l${r} = 0.0;
  ${x.mask ? `let mrow${r} = pu(10u) + (bh / pu(1u)) * pu(11u) + (bh % pu(1u)) * pu(12u) + i${r} * pu(13u);` : ''}
  ${x.writeP ? `let prow${r} = pu(9u) + (bh * lq + i${r}) * lk;` : ''}`)}

  for (var j0 = 0u; j0 < lk; j0 = j0 + ${TK}u) {
    let n = min(${TK}u, lk - j0);
    workgroupBarrier();
    ${tileLoad('Ks', 'k', 'kb', D4, D)}
    ${tileLoad('Vs', 'v', 'vb', DV4, DV)}
    workgroupBarrier();
    for (var t = 0u; t < n; t = t + 1u) {
      let j = j0 + t;
      ${range(D4).map((c) => `let k${c} = Ks[t * ${D4}u + ${c}u];`).join(' ')}
      ${range(DV4).map((c) => `let v${c} = Vs[t * ${DV4}u + ${c}u];`).join(' ')}
      ${perRow((r) => `var s${r} = lowest;
      ${score(r)}`, '\n      ')}
      ${perRow(fold, '\n      ')}
    }
  }

  ${perRow(finish)}
  ${x.writeP ? `// P: the raw scores written above, normalised by the whole workgroup row by row (coalesced).
  storageBarrier();
  workgroupBarrier();
  for (var rr = 0u; rr < ${QB * R}u; rr = rr + 1u) {
    let qi = (w % nblk) * ${QB * R}u + rr;
    if (qi < lq) {
      let base = pu(9u) + (bh * lq + qi) * lk;
      let m = rowMx[rr];
      let inv = rowInv[rr];
      for (var j = lid; j < lk; j = j + ${QB}u) { pr[base + j] = bitcast<u32>(wexp(bitcast<f32>(pr[base + j]) - m) * inv); }
    }
  }` : ''}
}`;
}

export function attentionKernel(backend: WebGpuBackend, args: KernelArgs<AttentionAttrs>): void {
  const [q, k, v, mask] = args.inputs as [View, View, View, View | undefined];
  const [out, probs] = args.outputs as [View, View | undefined];
  const { batch, heads, lq, lk, d, dv, scale, causal } = args.attrs;
  checkDTypes('attention', [q, k, v, out, ...(probs ? [probs] : []), ...(mask ? [mask] : [])], F32);
  const bh = batch * heads;
  if (bh * lq === 0) return;
  checkU32('attention', bh * lq * Math.max(lk, d, dv));
  const regs = d <= MAX_REG_HEAD && dv <= MAX_REG_HEAD;
  // Padded head sizes in the register variant; rows per invocation by how many registers they take.
  const d4 = 4 * Math.ceil(d / 4), dv4 = 4 * Math.ceil(dv / 4);
  const rows = !regs ? 1 : d4 + dv4 <= 64 ? 4 : d4 + dv4 <= 128 ? 2 : 1;
  const qb = rowsPerGroup(Math.ceil(lq / rows));
  const x: Variant = {
    regs, rows, d, dv, qb, mask: !!mask, causal, writeP: !!probs,
    tk: regs ? keysPerTile(d4, dv4, probs ? 2 * qb * rows : 0) : keysPerTile(d, dv),
  };
  const nblk = Math.ceil(lq / (qb * rows));
  const groups = bh * nblk;
  const ms = mask ? mask.strides : [0, 0, 0, 0];
  const R = 'read' as const, W = 'write' as const;
  backend.dispatch({
    key: `attention:f32:${regs ? `regs${rows}` : 'arrays'}:d${d}:dv${dv}:tk${x.tk}:qb${x.qb}:${x.mask ? 'm' : '-'}${causal ? 'c' : '-'}${x.writeP ? 'p' : '-'}`,
    code: () => (regs ? programRegs(x) : programArrays(x)),
    bindings: [
      { buffer: backend.bufferOf(q), access: R }, { buffer: backend.bufferOf(k), access: R }, { buffer: backend.bufferOf(v), access: R },
      ...(mask ? [{ buffer: backend.bufferOf(mask), access: R }] : []),
      { buffer: backend.bufferOf(out), access: W },
      ...(probs ? [{ buffer: backend.bufferOf(probs), access: W }] : []),
    ],
    params: new Params()
      .u32(nblk).u32(heads).u32(lq).u32(lk).f32v(scale)
      .u32(q.offset).u32(k.offset).u32(v.offset).u32(out.offset).u32(probs?.offset ?? 0)
      .u32(mask?.offset ?? 0).u32(ms[0]!).u32(ms[1]!).u32(ms[2]!).u32(ms[3]!)
      .u32(groups),
    workgroups: grid(groups),
  });
}
