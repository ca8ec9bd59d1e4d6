import {
  Dropout, Embedding, Linear, Module, ModuleDict, Parameter, Sequential, contiguous, dropout, expand, narrow, permute,
  randn, reshape, tidy, type Tensor,
} from '@adapterkit/core';
import { Activation } from '../activation.js';
import { fixSeed } from '../seed.js';
import type { PrefixTuningSettings } from './config.js';

/** Shape facts of one prefix module: how many attention layers it serves and their key/value geometry. */
export interface PrefixGeometry {
  /** Attention layers (sites) that take this prefix, in model order. */
  nLayers: number;
  /** Key/value heads per layer (GQA: the KV heads, not the query heads). */
  nHeads: number;
  /** Size of the embedding the MLP starts from (the model's hidden size). */
  inputSize: number;
  headDim: number;
}

/** Prefix keys and values of one layer: [batch, kvHeads, prefixLength, headDim] each. */
export interface PrefixKV {
  key: Tensor;
  value: Tensor;
}

/** Numbers per prefix position: nLayers · 2 · nHeads · headDim. */
export function rowSize(g: PrefixGeometry): number {
  return g.nLayers * 2 * g.nHeads * g.headDim;
}

/**
 * Turns the prefix rows [prefixLength, nLayers·2·nHeads·headDim] into
 * per-layer keys/values for `batch` rows, as Python's forward: view as
 * (batch, P, nLayers·2, heads, headDim), dropout, permute to
 * (nLayers·2, batch, heads, P, headDim), then pairs (key, value) per layer.
 * Without dropout the rows are shared by the batch (expanded views).
 */
export function splitPrefix(rows: Tensor, g: PrefixGeometry, batch: number, drop: Dropout): PrefixKV[] {
  return tidy(() => {
    const p = rows.shape[0]!;
    const l2 = g.nLayers * 2;
    let x = reshape(rows, [1, p, l2, g.nHeads, g.headDim]);
    const dropping = drop.training && drop.p > 0;
    // Dropout draws a mask per batch row, as Python (which expands before dropout).
    if (dropping) x = dropout(expand(x, [batch, p, l2, g.nHeads, g.headDim]), drop.p, true);
    const b = dropping ? batch : 1;
    const perLayer = contiguous(permute(x, [2, 0, 3, 1, 4]));
    const pick = (i: number): Tensor => {
      const t = reshape(narrow(perLayer, 0, i, 1), [b, g.nHeads, p, g.headDim]);
      return b === batch ? t : expand(t, [batch, g.nHeads, p, g.headDim]);
    };
    const out: PrefixKV[] = [];
    for (let i = 0; i < g.nLayers; i++) out.push({ key: pick(2 * i), value: pick(2 * i + 1) });
    return out;
  });
}

/** Either form of one location's prefix. */
export interface PrefixModule extends Module {
  readonly geometry: PrefixGeometry;
  readonly settings: PrefixTuningSettings;
  readonly flat: boolean;
  readonly dropout: Dropout;
  /** The prefix rows [prefixLength, nLayers·2·nHeads·headDim]. */
  rows(): Tensor;
}

/**
 * Reparametrised prefix (Python `PrefixTuning`): `wte` = Embedding(P, hidden)
 * feeds `control_trans` = Linear(hidden, bottleneck) → act → Linear(bottleneck,
 * nLayers·2·nHeads·headDim). Children named as in Python, so weights are
 * `…self_prefix.wte.weight`, `…control_trans.0.{weight,bias}`, `…control_trans.2.{weight,bias}`.
 */
export class PrefixTuning extends Module implements PrefixModule {
  readonly flat = false;
  readonly wte: Embedding;
  readonly control_trans: Sequential;
  readonly dropout: Dropout;

  constructor(readonly geometry: PrefixGeometry, readonly settings: PrefixTuningSettings) {
    super();
    fixSeed(settings.initWeightsSeed);
    this.wte = this.registerModule('wte', new Embedding(settings.prefixLength, geometry.inputSize));
    this.control_trans = this.registerModule('control_trans', new Sequential(
      new Linear(geometry.inputSize, settings.bottleneckSize),
      new Activation(settings.nonLinearity),
      new Linear(settings.bottleneckSize, rowSize(geometry)),
    ));
    this.dropout = this.registerModule('dropout', new Dropout(settings.dropout));
  }

  /** MLP of the prefix embeddings (Python embeds arange(P), i.e. every row of `wte`). */
  rows(): Tensor {
    return this.control_trans.forward(this.wte.weight);
  }
}

/**
 * Flat prefix (Python `FlatPrefixTuning`): one parameter `control_trans` of
 * P·nLayers·2·nHeads·headDim numbers, N(0, 1) at init, position-major.
 */
export class FlatPrefixTuning extends Module implements PrefixModule {
  readonly flat = true;
  readonly control_trans: Parameter;
  readonly dropout: Dropout;

  /** `values` (a flat tensor of the right size) replaces the random init (eject uses it). */
  constructor(readonly geometry: PrefixGeometry, readonly settings: PrefixTuningSettings, values?: Tensor) {
    super();
    const n = settings.prefixLength * rowSize(geometry);
    if (values && values.size !== n) throw new Error(`FlatPrefixTuning: expected ${n} values, got ${values.size}`);
    if (!values) fixSeed(settings.initWeightsSeed);
    this.control_trans = this.registerParameter('control_trans', new Parameter(values ?? randn([n])));
    this.dropout = this.registerModule('dropout', new Dropout(settings.dropout));
  }

  rows(): Tensor {
    return reshape(this.control_trans, [this.settings.prefixLength, rowSize(this.geometry)]);
  }
}

/** One adapter's prefixes by location key ('self_prefix', …) (Python `PrefixTuningGroup`). */
export class PrefixTuningGroup extends ModuleDict<PrefixModule> {}

/**
 * Holds every prefix-tuning adapter of a model (Python `PrefixTuningPool`,
 * `base_model.prefix_tuning`): `prefix_tunings.<name>.<location>.…`.
 */
export class PrefixTuningPool extends Module {
  readonly prefix_tunings: ModuleDict<PrefixTuningGroup>;

  constructor() {
    super();
    this.prefix_tunings = this.registerModule('prefix_tunings', new ModuleDict<PrefixTuningGroup>());
  }
}
