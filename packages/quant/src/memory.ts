import { bytesPerElement, type DType, type Module, type Tensor } from '@adapterkit/core';
import { QuantLinear } from './nn/quant-linear.js';

/** What a tensor is for, in a quantized model. */
export type TensorRole =
  /** Packed 4-bit / int8 codes of a quantized weight. */
  | 'quant-codes'
  /** Per-block / per-row scales (absmax, nested absmax, SCB). */
  | 'quant-scales'
  /** 4-bit and nested code tables (quant_map, nested_quant_map). */
  | 'quant-tables'
  /** A trainable parameter (requiresGrad). */
  | 'trainable'
  /** A frozen dense parameter. */
  | 'frozen'
  /** Any other buffer. */
  | 'buffer';

/** One tensor of the model. */
export interface TensorMemory {
  name: string;
  kind: 'parameter' | 'buffer';
  role: TensorRole;
  dtype: DType;
  shape: number[];
  bytes: number;
  /** Weight values this tensor stands for: the dense [out, in] count for quantized codes, 0 for scales and tables, the size otherwise. */
  params: number;
  /** bytes / params (undefined when params is 0). */
  bytesPerParam?: number;
}

/** One quantized layer, all its tensors together. */
export interface QuantLayerMemory {
  name: string;
  format: string;
  params: number;
  codeBytes: number;
  scaleBytes: number;
  tableBytes: number;
  /** (codes + scales + tables) / params. */
  bytesPerParam: number;
  /** The same layer as a dense f32 weight. */
  denseF32Bytes: number;
}

/** Memory of a model by tensor, by quantized layer, and in total. */
export interface MemoryReport {
  tensors: TensorMemory[];
  quantized: QuantLayerMemory[];
  totals: {
    bytes: number;
    /** Weight values in the quantized layers. */
    quantizedParams: number;
    /** Bytes of the quantized layers (codes + scales + tables). */
    quantizedBytes: number;
    /** Codes only, per quantized value (0.5 for 4-bit, 1 for int8). */
    codeBytesPerParam: number;
    /** Codes + scales + tables per quantized value. */
    quantizedBytesPerParam: number;
    /** Every other tensor (dense parameters and buffers). */
    denseBytes: number;
    trainableBytes: number;
    trainableParams: number;
    /** What the model would take with every quantized weight as f32 instead. */
    unquantizedF32Bytes: number;
  };
}

const SCALES = new Set(['absmax', 'nested_absmax', 'SCB']);
const TABLES = new Set(['quant_map', 'nested_quant_map']);

function bytesOf(t: Tensor): number {
  return t.size * bytesPerElement(t.dtype);
}

/**
 * Per-tensor memory accounting of a model (shared tensors counted once,
 * under their first name): every parameter and buffer with its bytes and
 * role, each QuantLinear's codes / scales / tables with bytes per weight
 * value, and totals, including what the model would take unquantized.
 */
export function memoryReport(model: Module): MemoryReport {
  const quantOwner = new Map<Tensor, { layer: string; local: string; q: QuantLinear }>();
  const layers: QuantLayerMemory[] = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof QuantLinear)) continue;
    const entry: QuantLayerMemory = { name, format: m.quant.describe(), params: m.quant.numel, codeBytes: 0, scaleBytes: 0, tableBytes: 0, bytesPerParam: 0, denseF32Bytes: m.quant.numel * 4 };
    for (const [local, t] of m.quant.tensors) {
      quantOwner.set(t, { layer: name, local, q: m });
      const b = bytesOf(t);
      if (local === 'weight') entry.codeBytes += b;
      else if (SCALES.has(local)) entry.scaleBytes += b;
      else if (TABLES.has(local)) entry.tableBytes += b;
    }
    entry.bytesPerParam = (entry.codeBytes + entry.scaleBytes + entry.tableBytes) / entry.params;
    layers.push(entry);
  }

  const tensors: TensorMemory[] = [];
  const add = (name: string, kind: 'parameter' | 'buffer', t: Tensor, role: TensorRole, params: number): void => {
    const bytes = bytesOf(t);
    tensors.push({ name, kind, role, dtype: t.dtype, shape: [...t.shape], bytes, params, ...(params ? { bytesPerParam: bytes / params } : {}) });
  };
  for (const [name, p] of model.namedParameters()) add(name, 'parameter', p, p.requiresGrad ? 'trainable' : 'frozen', p.size);
  for (const [name, b] of model.namedBuffers()) {
    const owner = quantOwner.get(b);
    if (!owner) {
      add(name, 'buffer', b, 'buffer', 0);
    } else if (owner.local === 'weight') {
      add(name, 'buffer', b, 'quant-codes', owner.q.quant.numel);
    } else {
      add(name, 'buffer', b, SCALES.has(owner.local) ? 'quant-scales' : 'quant-tables', 0);
    }
  }

  const sumOf = (f: (t: TensorMemory) => boolean, v: (t: TensorMemory) => number) => tensors.filter(f).reduce((s, t) => s + v(t), 0);
  const isQuant = (t: TensorMemory) => t.role === 'quant-codes' || t.role === 'quant-scales' || t.role === 'quant-tables';
  const quantizedParams = layers.reduce((s, l) => s + l.params, 0);
  const quantizedBytes = sumOf(isQuant, (t) => t.bytes);
  const codeBytes = sumOf((t) => t.role === 'quant-codes', (t) => t.bytes);
  const bytes = sumOf(() => true, (t) => t.bytes);
  return {
    tensors,
    quantized: layers,
    totals: {
      bytes,
      quantizedParams,
      quantizedBytes,
      codeBytesPerParam: quantizedParams ? codeBytes / quantizedParams : 0,
      quantizedBytesPerParam: quantizedParams ? quantizedBytes / quantizedParams : 0,
      denseBytes: bytes - quantizedBytes,
      trainableBytes: sumOf((t) => t.role === 'trainable', (t) => t.bytes),
      trainableParams: sumOf((t) => t.role === 'trainable', (t) => t.params),
      unquantizedF32Bytes: bytes - quantizedBytes + quantizedParams * 4,
    },
  };
}

/** A short text table of a memory report (largest tensors first, then totals). */
export function formatMemoryReport(r: MemoryReport, top = 12): string {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(3)} MiB`;
  const rows = [...r.tensors].sort((a, b) => b.bytes - a.bytes).slice(0, top);
  const lines = rows.map((t) => `${t.name.padEnd(48)} ${t.dtype.padEnd(4)} ${t.role.padEnd(12)} ${String(t.bytes).padStart(10)} B${t.bytesPerParam !== undefined ? `  ${t.bytesPerParam.toFixed(4)} B/param` : ''}`);
  const t = r.totals;
  lines.push(
    `total ${mb(t.bytes)} (unquantized f32: ${mb(t.unquantizedF32Bytes)}); quantized weights ${t.quantizedParams} values in ${mb(t.quantizedBytes)} = ${t.quantizedBytesPerParam.toFixed(4)} B/param (codes ${t.codeBytesPerParam.toFixed(4)}); dense ${mb(t.denseBytes)}; trainable ${t.trainableParams} params (${mb(t.trainableBytes)})`,
  );
  return lines.join('\n');
}
