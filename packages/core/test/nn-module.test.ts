import { beforeAll, describe, expect, it } from 'vitest';
import {
  arange, backward, liveTensors, manualSeed, matmul, memory, noGrad, ones, setBackend, sum, tensor, tidy, transpose, zeros, add,
  type Tensor,
} from '../src/index.js';
// nn is not re-exported from src/index.ts yet; importing it directly works either way.
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, Parameter, RMSNorm, ReLU, Sequential } from '../src/nn/index.js';

beforeAll(() => {
  setBackend('cpu-ref');
});

/** HF-style naming: a BERT-like tree. */
class SelfAttention extends Module {
  query = this.registerModule('query', new Linear(4, 4));
  key = this.registerModule('key', new Linear(4, 4));
}
class Attention extends Module {
  self = this.registerModule('self', new SelfAttention());
  drop = this.registerModule('dropout', new Dropout(0.1));
}
class Layer extends Module {
  attention = this.registerModule('attention', new Attention());
  norm = this.registerModule('LayerNorm', new LayerNorm(4));
}
class Encoder extends Module {
  layer = this.registerModule('layer', new ModuleList([new Layer(), new Layer()]));
}
class Bert extends Module {
  embeddings = this.registerModule('embeddings', new Embedding(10, 4));
  encoder = this.registerModule('encoder', new Encoder());
  positionIds = this.registerBuffer('position_ids', arange(8));
  cache = this.registerBuffer('cache', zeros([2]), false);
}

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('Module naming', () => {
  it('gives HF dotted names in registration order', () => {
    const m = new Bert();
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'embeddings.weight',
      'encoder.layer.0.attention.self.query.weight',
      'encoder.layer.0.attention.self.query.bias',
      'encoder.layer.0.attention.self.key.weight',
      'encoder.layer.0.attention.self.key.bias',
      'encoder.layer.0.LayerNorm.weight',
      'encoder.layer.0.LayerNorm.bias',
      'encoder.layer.1.attention.self.query.weight',
      'encoder.layer.1.attention.self.query.bias',
      'encoder.layer.1.attention.self.key.weight',
      'encoder.layer.1.attention.self.key.bias',
      'encoder.layer.1.LayerNorm.weight',
      'encoder.layer.1.LayerNorm.bias',
    ]);
    expect(m.namedParameters('bert')[1]![0]).toBe('bert.encoder.layer.0.attention.self.query.weight');
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['position_ids', 'cache']);
    expect(m.namedModules().map(([n]) => n)).toContain('encoder.layer.1.attention.dropout');
    expect(m.getParameter('encoder.layer.1.LayerNorm.bias')).toBe(m.encoder.layer.at(1).norm.bias);
    expect(m.getSubmodule('encoder.layer.0.attention.self')).toBe(m.encoder.layer.at(0).attention.self);
    expect(() => m.getSubmodule('encoder.layers')).toThrow(/no child 'layers'.*children: layer/);
    m.nameParameters('bert');
    expect(m.encoder.layer.at(0).attention.self.query.weight.name).toBe('bert.encoder.layer.0.attention.self.query.weight');
    m.dispose();
  });

  it('counts parameters, lists shared ones once, freezes', () => {
    const a = new Linear(3, 2);
    const seq = new Sequential(a, new ReLU(), a);
    expect(seq.parameters()).toHaveLength(2);
    expect(seq.numParameters()).toBe(8);
    expect([...seq.stateDict().keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    seq.freeze();
    expect(seq.numParameters({ trainableOnly: true })).toBe(0);
    a.bias!.requiresGrad = true;
    expect(seq.numParameters({ trainableOnly: true })).toBe(2);
    seq.unfreeze();
    expect(seq.numParameters({ trainableOnly: true })).toBe(8);
    a.dispose();
  });

  it('rejects bad and clashing names', () => {
    const m = new Module();
    m.registerModule('a', new Module());
    expect(() => m.registerParameter('a', new Parameter(zeros([1])))).toThrow(/a module of that name exists/);
    expect(() => m.registerModule('x.y', new Module())).toThrow(/no '\.'/);
  });

  it('propagates train/eval to every descendant', () => {
    const m = new Bert();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    expect(m.encoder.layer.at(1).attention.drop.training).toBe(false);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips values and skips non-persistent buffers', () => {
    manualSeed(1);
    const a = new Bert();
    manualSeed(2);
    const b = new Bert();
    const sd = a.stateDict();
    expect(sd.has('position_ids')).toBe(true);
    expect(sd.has('cache')).toBe(false);
    expect(values(b.embeddings.weight)).not.toEqual(values(a.embeddings.weight));
    const res = b.loadStateDict(sd);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [k, t] of b.stateDict()) expect(values(t), k).toEqual(values(sd.get(k)!));
    // b keeps its own Parameter objects (assign swaps storage).
    expect(b.stateDict().get('embeddings.weight')).toBe(b.embeddings.weight);
    a.dispose();
    // Disposing the source module leaves b's values intact.
    expect(values(b.encoder.layer.at(0).norm.weight)).toEqual([1, 1, 1, 1]);
    b.dispose();
  });

  it('accepts a record and converts dtype to the parameter dtype', () => {
    const lin = new Linear(2, 2);
    const w = tensor([[1, 2], [3, 4]], undefined, { dtype: 'f64' });
    const bias = tensor([5, 6]);
    lin.loadStateDict({ weight: w, bias });
    expect(lin.weight.dtype).toBe('f32');
    expect(values(lin.weight)).toEqual([1, 2, 3, 4]);
    expect(values(lin.bias!)).toEqual([5, 6]);
    w.dispose();
    bias.dispose();
    lin.dispose();
  });

  it('strict mode lists all missing and unexpected keys in one error', () => {
    const m = new Bert();
    const sd = new Map(m.stateDict());
    sd.delete('encoder.layer.1.LayerNorm.bias');
    sd.delete('embeddings.weight');
    const extra1 = zeros([3]);
    const extra2 = zeros([3]);
    sd.set('pooler.dense.weight', extra1);
    sd.set('cls.bias', extra2);
    let err: Error | undefined;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeDefined();
    expect(err!.message).toMatch(/missing keys \(2\): embeddings\.weight, encoder\.layer\.1\.LayerNorm\.bias/);
    expect(err!.message).toMatch(/unexpected keys \(2\): pooler\.dense\.weight, cls\.bias/);
    // Non-strict: returns the lists and loads the rest.
    const res = m.loadStateDict(sd, { strict: false });
    expect(res.missingKeys).toEqual(['embeddings.weight', 'encoder.layer.1.LayerNorm.bias']);
    expect(res.unexpectedKeys).toEqual(['pooler.dense.weight', 'cls.bias']);
    extra1.dispose();
    extra2.dispose();
    m.dispose();
  });

  it('a mis-shaped tensor always throws naming key and both shapes, changing nothing', () => {
    const lin = new Linear(3, 2);
    const before = values(lin.bias!);
    const w = zeros([2, 4]);
    const bias = zeros([2]);
    for (const strict of [true, false]) {
      expect(() => lin.loadStateDict({ weight: w, bias }, { strict })).toThrow("size mismatch for 'weight': expected [2, 3], got [2, 4]");
    }
    expect(values(lin.bias!)).toEqual(before);
    w.dispose();
    bias.dispose();
    lin.dispose();
  });
});

describe('layers', () => {
  it('Linear forward equals x·Wᵀ + b', () => {
    const lin = new Linear(3, 2);
    const x = tensor([[1, 2, 3], [-1, 0.5, 2]]);
    const y = lin.forward(x);
    const ref = add(matmul(x, transpose(lin.weight)), lin.bias!);
    expect(y.shape).toEqual([2, 2]);
    const got = values(y);
    values(ref).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    const noBias = new Linear(3, 2, { bias: false });
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
    lin.dispose();
    noBias.dispose();
  });

  it('Linear init is U(−1/√in, 1/√in) and reproducible with manualSeed', () => {
    manualSeed(42);
    const a = new Linear(16, 8);
    manualSeed(42);
    const b = new Linear(16, 8);
    expect(values(a.weight)).toEqual(values(b.weight));
    expect(values(a.bias!)).toEqual(values(b.bias!));
    const c = new Linear(16, 8);
    expect(values(c.weight)).not.toEqual(values(a.weight));
    const w = values(a.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.15);
    expect(a.weight.requiresGrad).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });

  it('LayerNorm, RMSNorm init and names; Embedding padding row', () => {
    const ln = new LayerNorm(3);
    expect(ln.eps).toBe(1e-5);
    expect(values(ln.weight)).toEqual([1, 1, 1]);
    expect(values(ln.bias)).toEqual([0, 0, 0]);
    const rms = new RMSNorm(3);
    expect(rms.eps).toBe(1e-6);
    expect([...rms.stateDict().keys()]).toEqual(['weight']);
    const x = tensor([[1, 2, 3]]);
    const y = values(ln.forward(x));
    expect(y[0]).toBeCloseTo(-1.2247, 3);
    const emb = new Embedding(5, 2, { paddingIdx: 1 });
    expect(values(emb.weight).slice(2, 4)).toEqual([0, 0]);
    const ids = tensor(new Int32Array([1, 3, 1]), [3]);
    const out = emb.forward(ids);
    backward(sum(out));
    const g = values(emb.weight.grad!);
    expect(g).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0, 0]);
    for (const m of [ln, rms, emb]) m.dispose();
  });

  it('Dropout follows the training flag', () => {
    const d = new Dropout(0.5);
    const x = ones([100]);
    const y = values(d.forward(x));
    expect(y.some((v) => v === 0)).toBe(true);
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  it('zeroGrad disposes gradients; dispose frees parameters', () => {
    const start = liveTensors();
    const startBuf = memory('cpu-ref').liveBuffers;
    const lin = new Linear(2, 2);
    tidy(() => {
      backward(sum(lin.forward(ones([1, 2]))));
    });
    expect(lin.weight.grad).not.toBeNull();
    lin.zeroGrad();
    expect(lin.weight.grad).toBeNull();
    noGrad(() => lin.dispose());
    expect(liveTensors()).toBe(start);
    expect(memory('cpu-ref').liveBuffers).toBe(startBuf);
  });
});
