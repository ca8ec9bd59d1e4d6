import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { randn, zeros } from '../ops/creation.js';
import { narrow, reshape } from '../ops/shape.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { Module, type UnaryModule } from '../nn/module.js';
import type { BaseModelOutput } from '../models/types.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { HeadActivation } from './activation.js';
import type { HeadConfig } from './config.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput, HeadType } from './types.js';

function rawNumber(raw: Record<string, unknown>, key: string): number | undefined {
  const v = raw[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Dropout of a head, as Python's `_get_dropout_prob`: the head's
 * `dropout_prob`, else config.json's `classifier_dropout`, else
 * `hidden_dropout_prob`, else 0.
 */
export function headDropoutProb(config: { dropout_prob?: number | null }, raw: Record<string, unknown>): number {
  if (config.dropout_prob !== undefined && config.dropout_prob !== null) return config.dropout_prob;
  return rawNumber(raw, 'classifier_dropout') ?? rawNumber(raw, 'hidden_dropout_prob') ?? 0;
}

/**
 * A Linear initialised as HF `_init_weights` does for heads: weight
 * N(0, initializer_range) (0.02 when config.json has none), bias 0.
 */
export function initLinear(inFeatures: number, outFeatures: number, raw: Record<string, unknown>, opts: { bias?: boolean; dtype?: DType } = {}): Linear {
  const std = rawNumber(raw, 'initializer_range') ?? 0.02;
  const lin = new Linear(inFeatures, outFeatures, { bias: opts.bias ?? true, dtype: opts.dtype });
  noGrad(() =>
    tidy(() => {
      lin.weight.assign(randn([outFeatures, inFeatures], { std, dtype: opts.dtype }));
      lin.bias?.assign(zeros([outFeatures], { dtype: opts.dtype }));
    }),
  );
  return lin;
}

/**
 * Base of the flex heads: a layer list whose children are named '0', '1', …
 * exactly as Python's `PredictionHead` (an `nn.Sequential`), so saved heads
 * load by name (`heads.<name>.<index>.weight`). `config` is the Python-format
 * dict written to head_config.json.
 */
export abstract class PredictionHead extends Module {
  private readonly layerList: Module[] = [];

  protected constructor(
    /** The head's name (its key under `heads`). */
    readonly name: string,
    /** Python-format config (snake_case), as saved in head_config.json. */
    readonly config: HeadConfig,
  ) {
    super();
  }

  /** The head type ('classification', 'masked_lm', …). */
  get headType(): HeadType {
    return this.config.head_type;
  }

  /** Number of layers in the Sequential (including parameter-free ones). */
  get numLayers(): number {
    return this.layerList.length;
  }

  /** The layer at `index`, as numbered in the saved weights. */
  layer(index: number): Module {
    const m = this.layerList[index];
    if (!m) throw new RangeError(`head '${this.name}': no layer ${index} (it has ${this.layerList.length})`);
    return m;
  }

  /** Appends a layer under the next index. */
  protected pushLayer(m: Module): void {
    this.registerModule(String(this.layerList.length), m);
    this.layerList.push(m);
  }

  /** Runs layers [start, end) on x. */
  protected runLayers(x: Tensor, start = 0, end = this.layerList.length): Tensor {
    let y = x;
    for (let i = start; i < end; i++) y = (this.layerList[i] as UnaryModule).forward(y);
    return y;
  }

  /**
   * Python's `PredictionHead.build`: for each of `layers` layers a Dropout,
   * then Linear(h, h) + activation for inner layers, and for the last
   * Linear(h, outFeatures). The activation is left out (taking no index)
   * when `activation_function` is null, as in Python.
   */
  protected buildGeneric(host: HeadHost, outFeatures: number, bias: boolean, opts: HeadBuildOptions): void {
    const raw = host.config.raw;
    const h = host.config.hiddenSize;
    const layers = this.config.layers;
    const act = this.config.activation_function;
    const p = headDropoutProb(this.config as { dropout_prob?: number | null }, raw);
    for (let l = 0; l < layers; l++) {
      this.pushLayer(new Dropout(p));
      if (l < layers - 1) {
        this.pushLayer(initLinear(h, h, raw, { dtype: opts.dtype }));
        if (act) this.pushLayer(new HeadActivation(act));
      } else {
        this.pushLayer(initLinear(h, outFeatures, raw, { bias, dtype: opts.dtype }));
      }
    }
  }

  /**
   * The sequence representation for classification-style heads: the given
   * `clsOutput`, else the pooled output when `use_pooler`, else the first
   * token of the last hidden state (Python `_get_cls_output`).
   */
  protected clsOutput(outputs: BaseModelOutput, inputs: HeadInputs, usePooler: boolean): Tensor {
    if (inputs.clsOutput) return inputs.clsOutput;
    if (usePooler) {
      if (!outputs.pooledOutput) throw new Error(`head '${this.name}': use_pooler is set but the base model returned no pooled output`);
      return outputs.pooledOutput;
    }
    const h = outputs.lastHiddenState;
    if (h.rank !== 3) throw new ShapeError(`head '${this.name}': expected the last hidden state as [batch, seq, hidden], got ${formatShape(h.shape)}`);
    return reshape(narrow(h, 1, 0, 1), [h.shape[0]!, h.shape[2]!]);
  }

  /** Names of the label inputs this head's loss uses (Python `get_label_names`). */
  labelNames(): string[] {
    return ['labels'];
  }

  /** Whether forward uses a sequence representation (so a model may compute `clsOutput`). */
  get usesClsOutput(): boolean {
    return false;
  }

  /** label id → label, or undefined for heads without labels (Python `get_labels_dict`). */
  id2label(): Map<number, string> | undefined {
    const l2i = (this.config as { label2id?: Record<string, number> | null }).label2id;
    if (!l2i) return undefined;
    return new Map(Object.entries(l2i).map(([label, id]) => [id, label]));
  }

  abstract forward(outputs: BaseModelOutput, inputs?: HeadInputs): HeadOutput;
}
