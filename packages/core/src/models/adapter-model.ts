import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { add, lt, mulScalar, ne, sub } from '../ops/binary.js';
import { cast } from '../ops/cast.js';
import { arange, full } from '../ops/creation.js';
import { embedding } from '../ops/embedding.js';
import { sum } from '../ops/reduce.js';
import { concat, narrow, reshape } from '../ops/shape.js';
import { where } from '../ops/where.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { ClassificationHead } from '../heads/classification.js';
import { label2IdFromId2Label, type HeadConfig } from '../heads/config.js';
import { createHead } from '../heads/factory.js';
import { adapterModelClassName, buildHeadConfigFile, type HeadConfigFile } from '../heads/head-files.js';
import { headFiles, loadHead, saveHead, type LoadHeadOptions } from '../heads/head-io.js';
import { CausalLMHead, MaskedLMHead, type LMHeadBuildOptions } from '../heads/language-modeling.js';
import { MultipleChoiceHead } from '../heads/multiple-choice.js';
import type { PredictionHead } from '../heads/prediction-head.js';
import { QuestionAnsweringHead } from '../heads/question-answering.js';
import { TaggingHead } from '../heads/tagging.js';
import { HEAD_TYPES, type HeadInputs, type HeadOutput, type HeadType } from '../heads/types.js';
import type { HfTokenizer } from '../tokenizers/hf-tokenizer.js';
import type { LlamaSpmTokenizer } from '../tokenizers/llama-spm.js';
import type { BaseModel, BaseModelOutput, KVCache, ModelInputs, TransformerConfig } from './types.js';
import { modelInfoFor, type AdapterModelApi } from '../adapters/api.js';
import { BatchSplit, headSetupOf, parallelChannels, type AdapterSetup, type CompositionBlock } from '../adapters/composition.js';
import {
  compositionPlugin, type AddFusionOptions, type FusionConfigLike, type FusionSpec, type LoadFusionOptions, type LoadSetupOptions,
  type LoadedSetup, type SaveFusionOptions, type SaveSetupOptions, type TrainFusionOptions,
} from '../adapters/composition-plugin.js';
import type { AdapterConfigLike } from '../adapters/config.js';
import { ADAPTER_FILES, fileExists, joinPath, writeFilesAtomic } from '../adapters/files.js';
import { AdapterHost, type AddAdapterOptions } from '../adapters/host.js';
import { LmHeadSite, type AnySite, type SiteOwner } from '../adapters/sites.js';
import { adapterFiles, loadAdapter, type LoadAdapterOptions, type SaveAdapterOptions } from '../adapters/save-load.js';
import { adapterSummaryRows, formatAdapterSummary, type AdapterSummaryRow } from '../adapters/summary.js';

/** Head types each architecture supports (Python `XxxAdapterModel.head_types`); other model types allow all. */
const HEAD_TYPES_BY_MODEL: Record<string, readonly HeadType[]> = {
  bert: ['classification', 'multilabel_classification', 'tagging', 'multiple_choice', 'question_answering', 'masked_lm', 'causal_lm'],
  roberta: ['classification', 'multilabel_classification', 'tagging', 'multiple_choice', 'question_answering', 'masked_lm', 'causal_lm'],
  'xlm-roberta': ['classification', 'multilabel_classification', 'tagging', 'multiple_choice', 'question_answering', 'masked_lm', 'causal_lm'],
  llama: ['classification', 'multilabel_classification', 'tagging', 'question_answering', 'causal_lm'],
  mistral: ['classification', 'multilabel_classification', 'tagging', 'question_answering', 'causal_lm'],
};

/** Decoder-only types: classification reads the last non-padding token (Python LlamaAdapterModel). */
const LAST_TOKEN_CLS = new Set(['llama', 'mistral']);

/** Labels given to `add*Head` as Python's id2label: {id: label} or a label list. */
export type IdToLabel = Record<number, string> | readonly string[];

/** Options every `add*Head` takes. */
export interface AddHeadOptions {
  /** Replace an existing head of the same name (default false: an error). */
  overwriteOk?: boolean;
  /** Make the new head the active one (default true, as Python). */
  setActive?: boolean;
}

export interface ClassificationHeadOptions extends AddHeadOptions {
  /** Default 2; 1 means regression (MSE loss). */
  numLabels?: number;
  /** Default 2. */
  layers?: number;
  /** Default 'tanh'; null for none. */
  activationFunction?: string | null;
  /** Multi-label (sigmoid per label, BCE loss). Default false. */
  multilabel?: boolean;
  idToLabel?: IdToLabel;
  /** Classify from the pooled output instead of the first token. Default false. */
  usePooler?: boolean;
  /** Bias of the last Linear (default true). */
  bias?: boolean;
  /** Head dropout (default: config.json classifier_dropout / hidden_dropout_prob). */
  dropoutProb?: number | null;
}

export interface TaggingHeadOptions extends AddHeadOptions {
  numLabels?: number;
  /** Default 1. */
  layers?: number;
  activationFunction?: string | null;
  idToLabel?: IdToLabel;
  dropoutProb?: number | null;
}

export interface MultipleChoiceHeadOptions extends AddHeadOptions {
  /** Default 2. */
  numChoices?: number;
  layers?: number;
  activationFunction?: string | null;
  idToLabel?: IdToLabel;
  usePooler?: boolean;
  dropoutProb?: number | null;
}

export interface QAHeadOptions extends AddHeadOptions {
  layers?: number;
  activationFunction?: string | null;
  idToLabel?: IdToLabel;
  dropoutProb?: number | null;
}

export interface LMHeadOptions extends AddHeadOptions {
  /** Default 'gelu'. */
  activationFunction?: string | null;
  /** Default 2 (a transform layer then the decoder). */
  layers?: number;
  /** Tie the decoder to the input embeddings (default: config.json's tie_word_embeddings, else the HF class default). */
  tieWordEmbeddings?: boolean;
}

export interface CausalLMHeadOptions extends LMHeadOptions {
  /** LayerNorm after the transform (default true, as `add_causal_lm_head`). */
  layerNorm?: boolean;
  /** Decoder bias (default true, as `add_causal_lm_head`). */
  bias?: boolean;
}

/** Inputs of `AdapterModel.forward`: the base model inputs plus targets and an optional head override. */
export interface AdapterModelInputs extends ModelInputs {
  labels?: Tensor;
  startPositions?: Tensor;
  endPositions?: Tensor;
  /** Use this head instead of the active one. */
  head?: string;
}

/**
 * What `AdapterModel.forward` returns: the head's outputs and the base model's.
 *
 * With several active heads (a Parallel setup: one head per channel; a
 * BatchSplit setup: one head per batch slice, as Python's MultiHeadOutput)
 * `headOutputs` holds one output per head in order, `head` is their names
 * joined by ',', `loss` is the sum of the heads' losses (when every head has
 * one), and `logits` is the heads' logits concatenated over the batch (rows
 * in head order) when they agree in shape beyond the batch axis — otherwise
 * the first head's; read `headOutputs` then.
 */
export interface AdapterModelOutput extends HeadOutput {
  /** The head that ran. */
  head: string;
  lastHiddenState: Tensor;
  pooledOutput?: Tensor;
  /** When `outputHiddenStates` was set. */
  hiddenStates?: Tensor[];
  /** One output per head when several heads ran (Parallel / BatchSplit setups). */
  headOutputs?: AdapterModelOutput[];
  /**
   * Prompt positions in front of the sequence (prompt tuning, as the base
   * output's): token-level logits are [batch, P + seq, …] as in Python;
   * `narrow(logits, 1, P, seq)` gives the input tokens' (for 'prefix').
   */
  promptTokensLength?: number;
}

/** The `heads` container: children are the heads by name (Python `model.heads`, a ModuleDict). */
export class HeadDict extends Module {
  private readonly byName = new Map<string, PredictionHead>();

  constructor(heads: Iterable<[string, PredictionHead]> = []) {
    super();
    for (const [n, h] of heads) this.set(n, h);
  }

  /** Adds or replaces (keeping its place) a head. */
  set(name: string, head: PredictionHead): void {
    this.registerModule(name, head);
    this.byName.set(name, head);
  }

  get(name: string): PredictionHead | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  entries(): [string, PredictionHead][] {
    return [...this.byName];
  }

  get size(): number {
    return this.byName.size;
  }
}

function label2id(idToLabel: IdToLabel | undefined): Record<string, number> | null {
  return idToLabel === undefined ? null : label2IdFromId2Label(idToLabel as Record<number, string>);
}

/**
 * A base transformer with named prediction heads: the TypeScript
 * counterpart of Python's `XxxAdapterModel` (flex heads). The base model is
 * registered under its checkpoint prefix (`bert`, `roberta`, `model`) and the
 * heads under `heads`, so parameter names match the Python library
 * (`bert.encoder.layer.0…`, `heads.<name>.<index>.weight`).
 *
 * Several heads may exist; one is active (the last added, or set with
 * `activeHead`). `forward` runs the base model then the active head (or the
 * one named in the inputs).
 */
export class AdapterModel extends Module implements AdapterModelApi, SiteOwner {
  readonly base: BaseModel;
  /** 'lm_head' site: LM heads pass hidden states through it before the vocabulary projection (invertible adapters, reverse). */
  readonly lmHeadSite: LmHeadSite;
  readonly adapterSites: readonly AnySite[];
  /** The adapter plugin host: adapters, the active setup, insertion points. */
  readonly adapterHost: AdapterHost;
  readonly basePrefix: string;
  /** Recorded as model_name in saved heads (config.json `_name_or_path`). */
  nameOrPath: string | null;
  /** The tokenizer loaded with the model (`fromPretrained`: tokenizer.json, or the GGUF vocabulary), if any. */
  tokenizer?: HfTokenizer | LlamaSpmTokenizer;
  private headDict: HeadDict;
  private active: string | undefined;
  /** Heads of a Parallel (one per channel) or BatchSplit setup, set by setActiveAdapters; null for a single head. */
  private multiHead: string[] | BatchSplit | null = null;

  constructor(base: BaseModel, opts: { basePrefix: string; nameOrPath?: string | null }) {
    super();
    this.base = this.registerModule(opts.basePrefix, base);
    this.basePrefix = opts.basePrefix;
    this.headDict = this.registerModule('heads', new HeadDict());
    this.nameOrPath = opts.nameOrPath ?? null;
    this.lmHeadSite = new LmHeadSite(this, -1, 'lm_head');
    this.adapterSites = [this.lmHeadSite];
    const info = modelInfoFor(base, { basePrefix: opts.basePrefix, withHeads: true, modelName: opts.nameOrPath ?? '' });
    this.adapterHost = new AdapterHost(this, { ...info, modelClass: adapterModelClassName(base.config.modelType) });
  }

  // ---- adapters (Python ModelAdaptersMixin, camelCase) ----

  /** Adds an adapter (config: a name like 'seq_bn', a config string, a dict or a config object). */
  addAdapter(name: string, config: AdapterConfigLike = 'seq_bn', opts: AddAdapterOptions = {}): void {
    this.adapterHost.addAdapter(name, config, opts);
  }

  /** Removes an adapter and its weights. */
  deleteAdapter(name: string): void {
    this.adapterHost.deleteAdapter(name);
  }

  /**
   * Activates a setup; when a head has the name of the setup's last adapter,
   * it becomes the active head (as Python's flex models do).
   */
  setActiveAdapters(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[] | null, skipLayers: number[] = []): void {
    this.adapterHost.setActiveAdapters(setup, skipLayers);
    // Heads from the setup's last block (Python parse_heads_from_composition): a Parallel
    // activates one head per channel, a BatchSplit one head per slice, when all exist.
    const heads = headSetupOf(this.adapterHost.activeAdapters);
    const names = heads === null ? [] : typeof heads === 'string' ? [heads] : heads instanceof BatchSplit ? (heads.children as string[]) : heads;
    this.multiHead = null;
    if (names.length && names.every((n) => this.headDict.has(n))) {
      if (typeof heads === 'string') this.active = heads;
      else this.multiHead = heads;
    } else {
      const last = this.adapterHost.activeAdapters?.last();
      if (last && this.headDict.has(last)) this.active = last;
    }
  }

  /** The active heads of a Parallel or BatchSplit setup (null when a single head is active). */
  get activeHeadSetup(): string[] | BatchSplit | null {
    return this.multiHead;
  }

  get activeAdapters(): CompositionBlock | null {
    return this.adapterHost.activeAdapters;
  }

  /** Freezes the base model, makes the named adapters trainable (heads stay trainable) and activates them. */
  trainAdapter(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[]): void {
    this.adapterHost.trainAdapter(setup);
    this.setActiveAdapters(this.adapterHost.activeAdapters);
  }

  freezeModel(freeze = true): void {
    this.adapterHost.freezeModel(freeze);
  }

  /** Folds a LoRA/IA³ adapter into the base weights. */
  mergeAdapter(name: string): void {
    this.adapterHost.mergeAdapter(name);
  }

  /** Undoes merges (all, or only adapter `name`'s). */
  resetAdapter(name?: string): void {
    this.adapterHost.resetAdapter(name);
  }

  /**
   * The files `saveAdapter(dir, name, opts)` writes, in memory (file name →
   * bytes; no file system, so it works in browsers): adapter.safetensors and
   * adapter_config.json, then — unless `withHead` is false — head_config.json
   * and model_head.safetensors of the head of the same name, when there is
   * one. Python's `load_adapter(dir)` reads them from one folder.
   */
  async adapterFiles(name: string, opts: SaveAdapterOptions & { withHead?: boolean } = {}): Promise<Map<string, Uint8Array>> {
    const files = await adapterFiles(this.adapterHost, name, opts);
    if (opts.withHead !== false && this.headDict.has(name)) for (const [file, bytes] of await headFiles(this, name)) files.set(file, bytes);
    return files;
  }

  /** Saves an adapter (and, with `withHead`, the head of the same name) in the Python layout: the files of `adapterFiles`. */
  async saveAdapter(dir: string, name: string, opts: SaveAdapterOptions & { withHead?: boolean } = {}): Promise<void> {
    await writeFilesAtomic(dir, await this.adapterFiles(name, opts));
  }

  /** Loads an adapter (and its head when the folder has one and `withHead`); returns its name. */
  async loadAdapter(dir: string, opts: LoadAdapterOptions & { withHead?: boolean } = {}): Promise<string> {
    const name = await loadAdapter(this.adapterHost, dir, opts);
    if (opts.withHead !== false && (await fileExists(await joinPath(dir, ADAPTER_FILES.headConfig)))) {
      await this.loadHead(dir, { loadAs: name, setActive: opts.setActive ?? true });
    }
    if (opts.setActive) this.setActiveAdapters(name);
    return name;
  }

  /** Saves every adapter (with its head) into `dir/<name>/`. */
  async saveAllAdapters(dir: string, opts: SaveAdapterOptions & { withHead?: boolean } = {}): Promise<void> {
    for (const name of this.adapterHost.adapterNames()) {
      const config = this.adapterHost.configs.get(name)!;
      await this.saveAdapter(await joinPath(dir, name), name, { ...opts, metaDict: { config_id: config.hash(), ...opts.metaDict } });
    }
  }

  adapterSummary(): string {
    return formatAdapterSummary(adapterSummaryRows(this.adapterHost));
  }

  adapterSummaryRows(): AdapterSummaryRow[] {
    return adapterSummaryRows(this.adapterHost);
  }

  // ---- AdapterFusion and saved setups (provided by @adapterkit/composition) ----

  /** Adds an AdapterFusion (Python `add_adapter_fusion`; config 'dynamic' by default); returns its name. */
  addAdapterFusion(fusion: FusionSpec, config?: FusionConfigLike, opts: AddFusionOptions = {}): string {
    const name = compositionPlugin('addAdapterFusion').addAdapterFusion(this.adapterHost, fusion, config, opts);
    // The plugin activated Fuse(...) on the host; activate it here too, for the heads.
    if (opts.setActive) this.setActiveAdapters(this.adapterHost.activeAdapters);
    return name;
  }

  /** Removes an AdapterFusion and its weights (a no-op for unknown names). */
  deleteAdapterFusion(fusion: FusionSpec): void {
    compositionPlugin('deleteAdapterFusion').deleteAdapterFusion(this.adapterHost, fusion);
  }

  /** Freezes everything but the setup's fusion layers (and its adapters with `unfreezeAdapters`; heads stay trainable) and activates it. */
  trainAdapterFusion(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: TrainFusionOptions = {}): void {
    compositionPlugin('trainAdapterFusion').trainAdapterFusion(this.adapterHost, setup, opts);
    this.setActiveAdapters(this.adapterHost.activeAdapters);
  }

  /** Saves a fusion as Python's `save_adapter_fusion` (adapter_fusion_config.json + model_adapter_fusion.safetensors). */
  saveAdapterFusion(dir: string, fusion: FusionSpec, opts: SaveFusionOptions = {}): Promise<void> {
    return compositionPlugin('saveAdapterFusion').saveAdapterFusion(this.adapterHost, dir, fusion, opts);
  }

  /** Loads a fusion saved here or by Python (the fused adapters must be loaded); returns its name. */
  async loadAdapterFusion(dir: string, opts: LoadFusionOptions = {}): Promise<string> {
    const name = await compositionPlugin('loadAdapterFusion').loadAdapterFusion(this.adapterHost, dir, opts);
    if (opts.setActive) this.setActiveAdapters(this.adapterHost.activeAdapters);
    return name;
  }

  /** Saves every fusion into `dir/<fusion name>/`. */
  saveAllAdapterFusions(dir: string, opts: SaveFusionOptions = {}): Promise<void> {
    return compositionPlugin('saveAllAdapterFusions').saveAllAdapterFusions(this.adapterHost, dir, opts);
  }

  /** Saves a setup as Python's `save_adapter_setup`: adapter_setup.json, one folder per adapter (with its head) and per Fuse block. */
  saveAdapterSetup(dir: string, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: SaveSetupOptions = {}): Promise<void> {
    return compositionPlugin('saveAdapterSetup').saveAdapterSetup(this, dir, setup, opts);
  }

  /** Loads a setup saved by `saveAdapterSetup` (here or in Python). */
  loadAdapterSetup(dir: string, opts: LoadSetupOptions = {}): Promise<LoadedSetup> {
    return compositionPlugin('loadAdapterSetup').loadAdapterSetup(this, dir, opts);
  }

  /** The base model's parsed config. */
  get config(): TransformerConfig {
    return this.base.config;
  }

  /** config.json `model_type`. */
  get modelType(): string {
    return this.base.config.modelType;
  }

  /** Python class name this model corresponds to, e.g. 'BertAdapterModel' (written to head_config.json). */
  get modelClass(): string {
    return adapterModelClassName(this.modelType);
  }

  /** The heads by name. */
  get heads(): HeadDict {
    return this.headDict;
  }

  /** Head types this architecture supports. */
  get headTypes(): readonly HeadType[] {
    return HEAD_TYPES_BY_MODEL[this.modelType] ?? ['classification', 'multilabel_classification', 'tagging', 'multiple_choice', 'question_answering', 'masked_lm', 'causal_lm'];
  }

  /** The active head's name (undefined when there is none). */
  get activeHead(): string | undefined {
    return this.active;
  }

  set activeHead(name: string | undefined) {
    if (name !== undefined && !this.headDict.has(name)) {
      throw new Error(`activeHead: no head named '${name}'; heads: ${this.headDict.names().join(', ') || 'none'}`);
    }
    this.active = name;
    this.multiHead = null;
  }

  /** The head called `name`; an error listing the heads when absent. */
  getHead(name: string): PredictionHead {
    const h = this.headDict.get(name);
    if (!h) throw new Error(`no head named '${name}'; heads: ${this.headDict.names().join(', ') || 'none'}`);
    return h;
  }

  /** The dtype of the base model's parameters (heads are built in it). */
  private paramDType(): DType {
    return this.base.parameters()[0]?.dtype ?? 'f32';
  }

  private checkHeadType(type: HeadType): void {
    if (!this.headTypes.includes(type)) {
      throw new Error(`model type '${this.modelType}' does not support head type '${type}'; supported: ${this.headTypes.join(', ')}`);
    }
  }

  private ensureFree(name: string, opts: AddHeadOptions): void {
    if (this.headDict.has(name) && !opts.overwriteOk) throw new Error(`model already has a head named '${name}'; pass overwriteOk: true to replace it`);
  }

  /**
   * Adds a built head (Python `add_prediction_head`): an error if the name is
   * taken unless `overwriteOk`; the head follows the model's train/eval
   * mode and becomes active unless `setActive` is false.
   */
  addHead(head: PredictionHead, opts: AddHeadOptions = {}): PredictionHead {
    this.ensureFree(head.name, opts);
    const existing = this.headDict.get(head.name);
    head.train(this.training);
    this.headDict.set(head.name, head);
    if (existing) this.releaseHead(existing);
    // Full dotted names for messages; shared (tied) weights keep their base-model name.
    this.nameParameters();
    if (opts.setActive ?? true) {
      this.active = head.name;
      this.multiHead = null;
    }
    return head;
  }

  /**
   * Builds a head from a Python-format config (head_config.json "config" or
   * config.json "prediction_heads" entry) and adds it.
   */
  addHeadFromConfig(name: string, config: Record<string, unknown>, opts: AddHeadOptions & LMHeadBuildOptions = {}): PredictionHead {
    this.ensureFree(name, opts);
    return this.addHead(this.buildHead(name, config, opts), opts);
  }

  /**
   * Builds (without adding) a head for this model from a Python-format
   * config, checking that the architecture supports its type. Add it with
   * `addHead`, or free it with `releaseHead`.
   */
  buildHead(name: string, config: Record<string, unknown>, opts: LMHeadBuildOptions = {}): PredictionHead {
    const type = config.head_type;
    // Custom head types (registerHeadType) are not in the per-model list.
    if (typeof type === 'string' && (HEAD_TYPES as readonly string[]).includes(type)) this.checkHeadType(type as HeadType);
    return createHead(this.base, name, config, { dtype: this.paramDType(), ...opts });
  }

  /** Sequence classification head (Python `add_classification_head`; multi-label with `multilabel`). */
  addClassificationHead(name: string, opts: ClassificationHeadOptions = {}): ClassificationHead {
    const type = opts.multilabel ? 'multilabel_classification' : 'classification';
    this.checkHeadType(type);
    this.ensureFree(name, opts);
    const head = new ClassificationHead(
      this.base,
      name,
      {
        head_type: type,
        num_labels: opts.numLabels ?? 2,
        layers: opts.layers ?? 2,
        activation_function: opts.activationFunction === undefined ? 'tanh' : opts.activationFunction,
        label2id: label2id(opts.idToLabel),
        use_pooler: opts.usePooler ?? false,
        bias: opts.bias ?? true,
        dropout_prob: opts.dropoutProb ?? null,
      },
      { dtype: this.paramDType() },
    );
    return this.addHead(head, opts) as ClassificationHead;
  }

  /** Token classification head (Python `add_tagging_head`). */
  addTaggingHead(name: string, opts: TaggingHeadOptions = {}): TaggingHead {
    this.checkHeadType('tagging');
    this.ensureFree(name, opts);
    const head = new TaggingHead(
      this.base,
      name,
      {
        num_labels: opts.numLabels ?? 2,
        layers: opts.layers ?? 1,
        activation_function: opts.activationFunction === undefined ? 'tanh' : opts.activationFunction,
        label2id: label2id(opts.idToLabel),
        dropout_prob: opts.dropoutProb ?? null,
      },
      { dtype: this.paramDType() },
    );
    return this.addHead(head, opts) as TaggingHead;
  }

  /** Multiple-choice head (Python `add_multiple_choice_head`). */
  addMultipleChoiceHead(name: string, opts: MultipleChoiceHeadOptions = {}): MultipleChoiceHead {
    this.checkHeadType('multiple_choice');
    this.ensureFree(name, opts);
    const head = new MultipleChoiceHead(
      this.base,
      name,
      {
        num_choices: opts.numChoices ?? 2,
        layers: opts.layers ?? 2,
        activation_function: opts.activationFunction === undefined ? 'tanh' : opts.activationFunction,
        label2id: label2id(opts.idToLabel),
        use_pooler: opts.usePooler ?? false,
        dropout_prob: opts.dropoutProb ?? null,
      },
      { dtype: this.paramDType() },
    );
    return this.addHead(head, opts) as MultipleChoiceHead;
  }

  /** Extractive question-answering head (Python `add_qa_head`). */
  addQAHead(name: string, opts: QAHeadOptions = {}): QuestionAnsweringHead {
    this.checkHeadType('question_answering');
    this.ensureFree(name, opts);
    const head = new QuestionAnsweringHead(
      this.base,
      name,
      {
        num_labels: 2,
        layers: opts.layers ?? 1,
        activation_function: opts.activationFunction === undefined ? 'tanh' : opts.activationFunction,
        label2id: label2id(opts.idToLabel),
        dropout_prob: opts.dropoutProb ?? null,
      },
      { dtype: this.paramDType() },
    );
    return this.addHead(head, opts) as QuestionAnsweringHead;
  }

  /** BERT-style masked-LM head (Python `add_masked_lm_head`): Linear, gelu, LayerNorm, decoder tied to the input embeddings. */
  addMaskedLMHead(name: string, opts: LMHeadOptions = {}): MaskedLMHead {
    this.checkHeadType('masked_lm');
    this.ensureFree(name, opts);
    const head = new MaskedLMHead(
      this.base,
      name,
      { layers: opts.layers ?? 2, activation_function: opts.activationFunction === undefined ? 'gelu' : opts.activationFunction },
      { dtype: this.paramDType(), tieWordEmbeddings: opts.tieWordEmbeddings },
    );
    return this.addHead(head, opts) as MaskedLMHead;
  }

  /**
   * Causal-LM head (Python `add_causal_lm_head`: layers 2, gelu, LayerNorm,
   * bias). For a plain `lm_head` as in LlamaForCausalLM use
   * `{ layers: 1, activationFunction: null, layerNorm: false, bias: false }`.
   */
  addCausalLMHead(name: string, opts: CausalLMHeadOptions = {}): CausalLMHead {
    this.checkHeadType('causal_lm');
    this.ensureFree(name, opts);
    const head = new CausalLMHead(
      this.base,
      name,
      {
        layers: opts.layers ?? 2,
        activation_function: opts.activationFunction === undefined ? 'gelu' : opts.activationFunction,
        layer_norm: opts.layerNorm ?? true,
        bias: opts.bias ?? true,
      },
      { dtype: this.paramDType(), tieWordEmbeddings: opts.tieWordEmbeddings },
    );
    return this.addHead(head, opts) as CausalLMHead;
  }

  /** Frees a head's own parameters (not weights it shares with the base model, such as a tied decoder). */
  releaseHead(head: PredictionHead): void {
    const shared = new Set<Tensor>(this.base.parameters());
    head.zeroGrad();
    for (const p of head.parameters()) if (!shared.has(p)) p.dispose();
    for (const [, b] of head.namedBuffers()) b.dispose();
  }

  /**
   * Removes a head and frees its parameters (Python `delete_head`; a
   * missing name is ignored, as there). Clears the active head if it was
   * this one.
   */
  deleteHead(name: string): void {
    const head = this.headDict.get(name);
    if (!head) return;
    // Module has no unregister: rebuild the container without the head (same position, same order).
    this.headDict = this.registerModule('heads', new HeadDict(this.headDict.entries().filter(([n]) => n !== name)));
    this.releaseHead(head);
    if (this.active === name) this.active = undefined;
    if (this.multiHead && (Array.isArray(this.multiHead) ? this.multiHead : (this.multiHead.children as string[])).includes(name)) this.multiHead = null;
  }

  /** label id → label of a head (the active one by default); undefined for heads without labels. */
  getLabelsDict(head = this.active): Map<number, string> | undefined {
    if (head === undefined) throw new Error('getLabelsDict: no head given and no active head');
    return this.getHead(head).id2label();
  }

  /** The labels of a head in id order (the active one by default). */
  getLabels(head = this.active): string[] | undefined {
    const d = this.getLabelsDict(head);
    return d ? [...d.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l) : undefined;
  }

  /** Python-format configs of every head (config.json "prediction_heads"). */
  predictionHeadsConfig(): Record<string, HeadConfig> {
    const out: Record<string, HeadConfig> = {};
    for (const [n, h] of this.headDict.entries()) out[n] = h.config;
    return out;
  }

  /** Writes head `name` to `dir` as Python's `save_head(dir, name)` with safetensors (see heads/head-io.ts). */
  saveHead(dir: string, name: string): Promise<void> {
    return saveHead(this, dir, name);
  }

  /** Loads a head saved by `saveHead` or by the Python library (see heads/head-io.ts); returns its name. */
  loadHead(dir: string, opts: LoadHeadOptions = {}): Promise<string> {
    return loadHead(this, dir, opts);
  }

  /** head_config.json's object for a head, as Python's `save_head` writes it. */
  headConfigFile(name: string): HeadConfigFile {
    const head = this.getHead(name);
    return buildHeadConfigFile(head.config, { name, hiddenSize: this.config.hiddenSize, modelClass: this.modelClass, modelName: this.nameOrPath, modelType: this.modelType });
  }

  /** The head's weights by their full names (`heads.<name>.…`), tied ones included, as Python's head file holds them. */
  headStateDict(name: string): Map<string, Tensor> {
    return this.getHead(name).stateDict(`heads.${name}`);
  }

  /**
   * Decoder models classify from the last non-padding token, as Python's
   * LlamaAdapterModel: position = (number of tokens ≠ pad_token_id) − 1 per
   * row. Without a pad token it uses the attention mask (count − 1), else
   * the last position. −1 (an all-padding row) wraps to the last position.
   */
  private lastTokenOutput(inputs: ModelInputs, hidden: Tensor): Tensor {
    const [b, s, h] = hidden.shape as [number, number, number];
    const pad = this.config.raw.pad_token_id;
    let lengths: Tensor;
    if (typeof pad === 'number') lengths = sum(cast(ne(inputs.inputIds, pad), 'i32'), -1);
    else if (inputs.attentionMask) lengths = sum(cast(ne(inputs.attentionMask, 0), 'i32'), -1);
    else lengths = full([b], s, { dtype: 'i32', backend: hidden.backend });
    let pos = sub(lengths, 1);
    pos = where(lt(pos, 0), add(pos, s), pos);
    const rows = add(pos, mulScalar(arange(b, { backend: hidden.backend }), s));
    return embedding(reshape(hidden, [b * s, h]), rows);
  }

  /**
   * Runs the base model and a head (`inputs.head`, else the active head).
   * Inputs with a choices axis ([batch, choices, seq]) are flattened to
   * [batch·choices, seq] first, as Python. Intermediates are freed; the
   * returned tensors belong to the caller.
   */
  forward(inputs: AdapterModelInputs): AdapterModelOutput {
    const multi = inputs.head === undefined ? this.multiHead : null;
    const channels = parallelChannels(this.adapterHost.currentSetup());
    const name = inputs.head ?? this.active;
    if (!multi && channels > 1 && inputs.head === undefined) {
      throw new Error(`AdapterModel.forward: the active setup ${this.adapterHost.currentSetup()!.toString()} has ${channels} parallel channels, so it needs ${channels} heads, ` +
        `one per channel named after the channel's (last) adapter; heads: ${this.headDict.names().join(', ') || 'none'} (pass \`head\` to run one head over all rows)`);
    }
    if (!multi && name === undefined) {
      throw new Error('AdapterModel.forward: the model has no active head; add one (e.g. addClassificationHead) or call model.base.forward(inputs) for hidden states');
    }
    return tidy(() => {
      const flat = (t: Tensor | undefined): Tensor | undefined => (t && t.rank > 2 ? reshape(t, [-1, t.shape[t.rank - 1]!]) : t);
      const baseInputs: ModelInputs = {
        inputIds: flat(inputs.inputIds)!,
        attentionMask: flat(inputs.attentionMask),
        tokenTypeIds: flat(inputs.tokenTypeIds),
        positionIds: flat(inputs.positionIds),
        outputHiddenStates: inputs.outputHiddenStates,
        cache: inputs.cache,
      };
      if (baseInputs.inputIds.rank !== 2) throw new ShapeError(`AdapterModel.forward: inputIds must be [batch, seq] or [batch, choices, seq], got ${formatShape(inputs.inputIds.shape)}`);
      const out: BaseModelOutput = this.base.forward(baseInputs);
      if (!multi) return this.runHead(name!, out, baseInputs, inputs);
      return this.runHeads(multi, channels, out, baseInputs, inputs);
    });
  }

  /** One head on the base outputs (all rows). */
  private runHead(name: string, out: BaseModelOutput, baseInputs: ModelInputs, targets: HeadInputs): AdapterModelOutput {
    const head = this.getHead(name);
    const clsOutput = head.usesClsOutput && LAST_TOKEN_CLS.has(this.modelType) ? this.lastTokenOutput(baseInputs, out.lastHiddenState) : undefined;
    const res = head.forward(out, {
      labels: targets.labels,
      startPositions: targets.startPositions,
      endPositions: targets.endPositions,
      attentionMask: baseInputs.attentionMask,
      clsOutput,
      beforeOutputEmbedding: (x) => this.lmHeadSite.run(x),
      promptTokensLength: out.promptTokensLength,
    });
    const result: AdapterModelOutput = { ...res, head: name, lastHiddenState: out.lastHiddenState };
    if (out.promptTokensLength) result.promptTokensLength = out.promptTokensLength;
    if (out.pooledOutput) result.pooledOutput = out.pooledOutput;
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    return result;
  }

  /**
   * Several heads, each on its rows of the base output (Python forward_head
   * with a list or BatchSplit of heads): Parallel channel i is rows
   * [i·B, (i+1)·B) and every head gets the original inputs' targets and
   * mask; BatchSplit head i gets its slice of rows, targets and mask.
   */
  private runHeads(heads: string[] | BatchSplit, channels: number, out: BaseModelOutput, baseInputs: ModelInputs, targets: HeadInputs): AdapterModelOutput {
    const rows = out.lastHiddenState.shape[0]!;
    const names = Array.isArray(heads) ? heads : (heads.children as string[]);
    let ranges: [number, number][];
    if (Array.isArray(heads)) {
      if (heads.length !== channels) throw new Error(`AdapterModel.forward: ${heads.length} active heads (${heads.join(', ')}) for ${channels} parallel channels; the numbers must match`);
      const b = rows / channels;
      ranges = heads.map((_, i) => [i * b, b]);
    } else {
      const total = heads.batchSizes.reduce((a, x) => a + x, 0);
      if (total !== rows) throw new Error(`AdapterModel.forward: the head BatchSplit sizes [${heads.batchSizes.join(', ')}] sum to ${total}, the batch has ${rows} rows`);
      let at = 0;
      ranges = heads.batchSizes.map((n) => [(at += n) - n, n]);
    }
    const rowsOf = (t: Tensor | undefined, [start, len]: [number, number]): Tensor | undefined => (t ? narrow(t, 0, start, len) : t);
    // BatchSplit slices the per-row inputs too; Parallel channels each see the original (unreplicated) inputs.
    const split = !Array.isArray(heads);
    const outputs = names.map((name, i) => {
      const r = ranges[i]!;
      const part: BaseModelOutput = { lastHiddenState: rowsOf(out.lastHiddenState, r)! };
      if (out.pooledOutput) part.pooledOutput = rowsOf(out.pooledOutput, r);
      if (out.promptTokensLength) part.promptTokensLength = out.promptTokensLength;
      if (out.hiddenStates) part.hiddenStates = out.hiddenStates.map((h) => rowsOf(h, r)!);
      const ins: ModelInputs = split ? { ...baseInputs, inputIds: rowsOf(baseInputs.inputIds, r)!, attentionMask: rowsOf(baseInputs.attentionMask, r) } : baseInputs;
      const tg: HeadInputs = split
        ? { labels: rowsOf(targets.labels, r), startPositions: rowsOf(targets.startPositions, r), endPositions: rowsOf(targets.endPositions, r) }
        : targets;
      return this.runHead(name, part, ins, tg);
    });
    const losses = outputs.map((o) => o.loss);
    const first = outputs[0]!;
    const sameShape = outputs.every((o) => o.logits.rank === first.logits.rank && o.logits.shape.every((d, k) => k === 0 || d === first.logits.shape[k]));
    const result: AdapterModelOutput = {
      logits: sameShape ? concat(outputs.map((o) => o.logits), 0) : first.logits,
      head: names.join(','),
      lastHiddenState: out.lastHiddenState,
      headOutputs: outputs,
    };
    if (out.promptTokensLength) result.promptTokensLength = out.promptTokensLength;
    if (losses.every((l): l is Tensor => l !== undefined)) result.loss = losses.slice(1).reduce((a, l) => add(a, l), losses[0]!);
    if (out.pooledOutput) result.pooledOutput = out.pooledOutput;
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    return result;
  }

  /**
   * A fresh KV cache from the base model, when it offers one (decoders), so
   * `generate()` can drive this model with a causal-LM head incrementally.
   */
  createCache(): KVCache {
    const b = this.base as BaseModel & { createCache?: () => KVCache };
    if (!b.createCache) throw new Error(`${this.modelType} base model has no KV cache`);
    return b.createCache();
  }

  /**
   * Converts every floating-point parameter to `dtype` (e.g. 'f16' to halve
   * memory). Parameters are replaced by new ones of that dtype under the
   * same names, and fields that referenced the old ones are updated; tied
   * weights stay tied. Run it before creating an optimizer.
   */
  castTo(dtype: DType): this {
    const replaced = new Map<Tensor, Parameter>();
    noGrad(() => {
      for (const [, m] of this.namedModules()) {
        for (const [pname, p] of m.namedParameters().filter(([n]) => !n.includes('.'))) {
          if (p.dtype === dtype || p.dtype === 'i32' || p.dtype === 'u8' || p.dtype === 'i8') continue;
          let np = replaced.get(p);
          if (!np) {
            np = new Parameter(cast(p, dtype), p.requiresGrad);
            np.name = p.name;
            replaced.set(p, np);
          }
          m.registerParameter(pname, np);
          // Typed fields (this.weight = …) must follow the registry.
          for (const key of Object.keys(m)) if ((m as unknown as Record<string, unknown>)[key] === p) (m as unknown as Record<string, unknown>)[key] = np;
        }
      }
    });
    for (const old of replaced.keys()) old.dispose();
    return this;
  }
}
