import type { ModelInputs } from '../models/types.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { concat } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { parallelChannels, parseComposition, type AdapterSetup, type CompositionBlock } from './composition.js';
import { AdapterConfig, ConfigUnion, loadAdapterConfig, type AdapterConfigLike } from './config.js';
import { ForwardContext } from './context.js';
import { methodFor, registeredMethods, type AdapterMethod } from './method-registry.js';
import { isSiteOwner, type AnySite, type SiteHost, type SiteKind } from './sites.js';

/** Facts about the model that adapters and saved files need. */
export interface AdapterModelInfo {
  /** config.json model_type, e.g. 'bert'. */
  modelType: string;
  hiddenSize: number;
  numLayers: number;
  /** Python class name written to adapter_config.json, e.g. 'BertAdapterModel'. */
  modelClass: string;
  /** name_or_path written to adapter_config.json. */
  modelName: string;
  /** Dotted path of the base model inside `root` ('bert', 'model', or '' when root is the base model). */
  basePrefix: string;
  /** The base model module (frozen by trainAdapter/freezeModel). */
  base: Module;
  /** Number of attention heads and key/value heads (prefix tuning needs them). */
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
}

export interface AddAdapterOptions {
  /** Replace an adapter of the same name instead of failing. */
  overwriteOk?: boolean;
  /** Activate it right away. */
  setActive?: boolean;
}

/**
 * The adapter plugin host of one model: which adapters exist (name → config),
 * which setup is active, and the model's insertion points. Methods create
 * their modules at the sites; the model API (`addAdapter`, `trainAdapter`, …)
 * is this object's methods.
 */
export class AdapterHost implements SiteHost {
  /** Adapter name → its config (a union for mixed methods). */
  readonly configs = new Map<string, AdapterConfig | ConfigUnion>();
  readonly sites: AnySite[] = [];
  skipLayers: ReadonlySet<number> = new Set();
  /** Whether freezeModel(true) is in effect (trainAdapter sets it). */
  modelFrozen = false;
  private active: CompositionBlock | null = null;
  private readonly setupOverrides: (CompositionBlock | null)[] = [];
  private readonly contexts: ForwardContext[] = [];

  constructor(readonly root: Module, readonly info: AdapterModelInfo) {
    // The base model opens a ForwardContext per pass through this link.
    (info.base as Module & { adapterHost?: AdapterHost }).adapterHost = this;
    for (const [, m] of root.namedModules()) {
      if (!isSiteOwner(m)) continue;
      for (const site of m.adapterSites) {
        site.host = this;
        this.sites.push(site);
      }
    }
  }

  /** Sites of one kind (optionally one location), in model order. */
  sitesOf<K extends SiteKind>(kind: K, location?: string): Extract<AnySite, { kind: K }>[] {
    return this.sites.filter((s) => s.kind === kind && (location === undefined || s.location === location)) as Extract<AnySite, { kind: K }>[];
  }

  // ---- SiteHost ----

  currentSetup(): CompositionBlock | null {
    return this.setupOverrides.length ? this.setupOverrides[this.setupOverrides.length - 1]! : this.active;
  }

  currentContext(): ForwardContext | null {
    return this.contexts[this.contexts.length - 1] ?? null;
  }

  /** Runs one model forward pass inside a fresh ForwardContext. */
  withContext<T>(context: ForwardContext, fn: () => T): T {
    this.contexts.push(context);
    try {
      return fn();
    } finally {
      this.contexts.pop();
      context.end();
    }
  }

  /**
   * Runs one base-model forward pass (models call this instead of
   * `withContext`): opens a ForwardContext and, when the active setup has a
   * Parallel block of N channels, first replicates every per-row input N
   * times (rows [i·B, (i+1)·B) become channel i; the context records N).
   * Python replicates at the first adapter layer and has the model repeat
   * its masks there; replicating the inputs once gives the same result for
   * row-wise layers and needs no per-site adjustments. Inputs with a KV
   * cache that already holds tokens are taken as replicated (generation
   * continues from the N·B rows of the first step).
   */
  runPass<T>(inputs: ModelInputs, fn: (inputs: ModelInputs) => T): T {
    const channels = parallelChannels(this.currentSetup());
    const made: Tensor[] = [];
    let ins = inputs;
    if (channels > 1 && !(inputs.cache && inputs.cache.length > 0)) {
      const rep = (t: Tensor | undefined): Tensor | undefined => {
        if (!t) return t;
        const r = concat(Array.from({ length: channels }, () => t), 0);
        made.push(r);
        return r;
      };
      ins = { ...inputs, inputIds: rep(inputs.inputIds)!, attentionMask: rep(inputs.attentionMask), tokenTypeIds: rep(inputs.tokenTypeIds), positionIds: rep(inputs.positionIds) };
    }
    const [batch, seq] = ins.inputIds.shape as [number, number];
    const context = new ForwardContext(ins.attentionMask ?? null, batch, seq);
    context.parallelChannels = channels;
    try {
      return this.withContext(context, () => fn(ins));
    } finally {
      for (const t of made) t.dispose();
    }
  }

  /** Runs `fn` with another active setup (Python's `with AdapterSetup(...)`). */
  withSetup<T>(setup: AdapterSetup | null, fn: () => T): T {
    const parsed = parseComposition(setup);
    if (parsed) this.checkSetup(parsed);
    this.setupOverrides.push(parsed);
    try {
      return fn();
    } finally {
      this.setupOverrides.pop();
    }
  }

  // ---- lifecycle ----

  /** The methods an adapter uses (one per member of a union). */
  methodsOf(name: string): { method: AdapterMethod; config: AdapterConfig }[] {
    const c = this.configs.get(name);
    if (!c) return [];
    const members = c instanceof ConfigUnion ? c.configs : [c];
    return members.map((m) => ({ method: methodFor(m.architecture), config: m }));
  }

  /**
   * Adds an adapter: resolves the config (instance, name, config string or
   * dict), creates its modules at every matching site. On failure nothing of
   * it is left behind.
   */
  addAdapter(name: string, config: AdapterConfigLike = 'seq_bn', opts: AddAdapterOptions = {}): void {
    if (!name || name.includes('.')) throw new Error(`addAdapter: invalid adapter name '${name}' (non-empty, no '.')`);
    const resolved = loadAdapterConfig(config);
    if (this.configs.has(name)) {
      if (!opts.overwriteOk) throw new Error(`addAdapter: an adapter named '${name}' already exists (pass overwriteOk to replace it)`);
      this.deleteAdapter(name);
    }
    const members = resolved instanceof ConfigUnion ? resolved.configs : [resolved];
    const methods = members.map((m) => methodFor(m.architecture));
    this.configs.set(name, resolved);
    try {
      members.forEach((m, i) => methods[i]!.addAdapter(this, name, m));
    } catch (e) {
      this.deleteAdapter(name);
      throw e;
    }
    if (opts.setActive) this.setActiveAdapters(name);
  }

  /** Removes an adapter (a no-op for unknown names). An active setup that used it is cleared. */
  deleteAdapter(name: string): void {
    if (!this.configs.has(name)) return;
    for (const { method } of this.methodsOf(name)) method.deleteAdapter(this, name);
    this.configs.delete(name);
    // Unlike Python (which clears only Stack(name)), any setup naming a deleted adapter is invalid, so it is cleared.
    if (this.active?.flatten().includes(name)) this.active = null;
  }

  /** Names of all adapters. */
  adapterNames(): string[] {
    return [...this.configs.keys()];
  }

  /** The active setup, or null. */
  get activeAdapters(): CompositionBlock | null {
    return this.active;
  }

  /**
   * Activates a setup: a name, a composition block, or Python's list form.
   * Every name must exist and every method must support the blocks it sits in.
   */
  setActiveAdapters(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[] | null, skipLayers: number[] = []): void {
    const parsed = parseComposition(setup);
    if (parsed) this.checkSetup(parsed);
    this.active = parsed;
    this.skipLayers = new Set(skipLayers);
  }

  /** Validates names and method support for every block in a setup. */
  checkSetup(setup: CompositionBlock): void {
    const walk = (block: CompositionBlock, isRoot: boolean): void => {
      for (const child of block.children) {
        const names = typeof child === 'string' ? [child] : child.flatten();
        for (const n of names) {
          if (!this.configs.has(n)) throw new Error(`adapter '${n}' in setup ${setup.toString()} does not exist; adapters: ${this.adapterNames().join(', ') || 'none'}`);
          // A root Stack of one name is just "this adapter"; every method supports that.
          const trivial = isRoot && block.type === 'Stack' && block.children.length === 1 && typeof child === 'string';
          if (trivial) continue;
          for (const { method } of this.methodsOf(n)) {
            if (!method.supportedBlocks.includes(block.type)) {
              throw new Error(`composition block ${block.type} is not supported by method '${method.architecture}' (adapter '${n}'); it supports: ${method.supportedBlocks.join(', ') || 'single adapters only'}`);
            }
          }
        }
        if (typeof child !== 'string') walk(child, false);
      }
    };
    walk(setup, true);
  }

  /** Folds an adapter into the base weights (methods that support merging: LoRA, IA³). */
  mergeAdapter(name: string): void {
    if (!this.configs.has(name)) throw new Error(`mergeAdapter: no adapter named '${name}'; adapters: ${this.adapterNames().join(', ') || 'none'}`);
    const methods = [...new Set(this.methodsOf(name).map(({ method }) => method))];
    const mergeable = methods.filter((m) => m.mergeAdapter);
    if (!mergeable.length) throw new Error(`mergeAdapter: adapter '${name}' uses ${methods.map((m) => m.architecture).join(', ')}, which cannot be merged into the base weights`);
    for (const m of mergeable) m.mergeAdapter!(this, name);
  }

  /** Undoes merges: every method's, or only those of adapter `name`. */
  resetAdapter(name?: string): void {
    const methods = name === undefined ? registeredMethods() : [...new Set(this.methodsOf(name).map(({ method }) => method))];
    for (const m of methods) m.resetAdapter?.(this, name);
  }

  /** Sets requiresGrad of every base-model parameter (adapters included) to !freeze. */
  freezeModel(freeze = true): void {
    for (const p of this.info.base.parameters()) p.requiresGrad = !freeze;
    this.modelFrozen = freeze;
  }

  /**
   * Prepares training of the named adapters: train mode, base model frozen,
   * those adapters' parameters trainable (heads stay trainable), setup active.
   */
  trainAdapter(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[]): void {
    const parsed = parseComposition(setup);
    if (!parsed) throw new Error('trainAdapter: give the adapter(s) to train');
    this.checkSetup(parsed);
    this.root.train();
    this.freezeModel(true);
    for (const name of parsed.flatten()) for (const [, p] of this.adapterParameters(name)) p.requiresGrad = true;
    this.setActiveAdapters(parsed);
  }

  /** Parameters of one adapter with their full names (matched by the methods' weight markers). */
  adapterParameters(name: string): [string, Parameter][] {
    const markers = this.methodsOf(name).flatMap(({ method }) => method.weightMarkers(name));
    return this.root.namedParameters().filter(([k]) => markers.some((m) => k.includes(m)));
  }

  /** Parameters of every adapter (to exclude them from base-model counts). */
  allAdapterParameterNames(): Set<string> {
    return new Set(this.adapterNames().flatMap((n) => this.adapterParameters(n).map(([k]) => k)));
  }

  /** Modules of an adapter by layer and location (-1 for model-level ones), like Python's get_adapter. */
  getAdapter(name: string): Map<number, Map<string, Module>> {
    const out = new Map<number, Map<string, Module>>();
    const owners = new Set(this.sites.map((s) => s.owner));
    for (const site of this.sites) {
      const key = site.location + (site.kind === 'linear' && site.key ? `.${site.key}` : '');
      // Holders sit on the owner or one level down (Llama: layers.N.attention_adapters.adapters), never inside another site's owner.
      const candidates: [string, Module][] = [];
      for (const [childName, child] of site.owner.namedChildren()) {
        if (owners.has(child)) continue;
        candidates.push([childName, child]);
        for (const [grandName, grand] of child.namedChildren()) candidates.push([grandName, grand]);
      }
      for (const [holderName, holder] of candidates) {
        if (!ADAPTER_HOLDERS.has(holderName)) continue;
        const m = holder.child(name);
        if (!m) continue;
        let byLoc = out.get(site.layer);
        if (!byLoc) out.set(site.layer, (byLoc = new Map()));
        byLoc.set(key, m);
      }
    }
    return out;
  }
}

/** Names of the ModuleDicts methods keep per-adapter modules in (Python attribute names). */
export const ADAPTER_HOLDERS = new Set(['adapters', 'loras', 'prefix_gates', 'prefix_tunings', 'prompt_tunings', 'invertible_adapters', 'refts']);
