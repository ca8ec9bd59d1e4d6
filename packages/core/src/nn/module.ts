import { noGrad } from '../autograd/grad-mode.js';
import { keep, tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { cast } from '../ops/cast.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Parameter } from './parameter.js';

/** A state dict as a Map (the form `stateDict()` returns) or a plain record (e.g. from a safetensors reader). */
export type StateDictInput = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

/** Options of `Module.loadStateDict`. */
export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected (default true). Shape mismatches always throw. */
  strict?: boolean;
}

/** What `loadStateDict` did not match. */
export interface LoadStateDictResult {
  /** Keys the module has but the dict lacks (left unchanged). */
  missingKeys: string[];
  /** Keys the dict has but the module lacks (ignored). */
  unexpectedKeys: string[];
}

/** A module whose forward maps one tensor to one tensor (what `Sequential` chains). */
export interface UnaryModule extends Module {
  forward(x: Tensor): Tensor;
}

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/**
 * Base class of all layers and models. Children, parameters and buffers are
 * registered explicitly by name, in insertion order, so that the dotted names
 * (`encoder.layer.0.attention.self.query.weight`) match Hugging Face exactly
 * and checkpoints from the Hub load as they are. Subclasses keep typed fields
 * for convenience: `this.weight = this.registerParameter('weight', …)`.
 *
 * Forward signatures differ between modules, so the base class declares none.
 */
export class Module {
  /** Training mode (dropout active). Set recursively with `train()` / `eval()`. */
  training = true;
  private readonly _parameters = new Map<string, Parameter>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  private checkName(name: string, kind: 'parameter' | 'buffer' | 'module'): void {
    if (!name || name.includes('.')) throw new Error(`${this.constructor.name}: ${kind} name '${name}' must be non-empty and contain no '.'`);
    const taken: [string, Map<string, unknown>][] = [['parameter', this._parameters], ['buffer', this._buffers], ['module', this._modules]];
    for (const [k, map] of taken) {
      if (k !== kind && map.has(name)) throw new Error(`${this.constructor.name}: cannot register ${kind} '${name}': a ${k} of that name exists`);
    }
  }

  /**
   * Registers (or replaces, keeping its position) a parameter under `name`
   * and returns it. The parameter is owned by the module from now on.
   */
  registerParameter<P extends Parameter>(name: string, param: P): P {
    this.checkName(name, 'parameter');
    this._parameters.set(name, param);
    return param;
  }

  /**
   * Registers (or replaces) a buffer: state that is not trained but belongs
   * to the model (e.g. position ids). Persistent buffers are part of the
   * state dict. The tensor is kept out of tidy scopes and owned by the module.
   */
  registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    this.checkName(name, 'buffer');
    // Buffers are loaded with assign(), which only leaf tensors allow.
    if (t.gradNode) throw new Error(`${this.constructor.name}: buffer '${name}' was produced by a recorded op; create it under noGrad()`);
    this._buffers.set(name, keep(t));
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    return t;
  }

  /** Registers (or replaces, keeping its position — adapters swap layers this way) a child module. */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, 'module');
    this._modules.set(name, module);
    return module;
  }

  /** Removes a child module (its parameters are not disposed); returns it, or undefined. */
  removeModule(name: string): Module | undefined {
    const m = this._modules.get(name);
    this._modules.delete(name);
    return m;
  }

  /** A direct child by name, or undefined. */
  child<M extends Module = Module>(name: string): M | undefined {
    return this._modules.get(name) as M | undefined;
  }

  /** Direct children with their local names. */
  namedChildren(): [string, Module][] {
    return [...this._modules];
  }

  /** Direct children. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module (named `prefix`) and all descendants in pre-order, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, child] of m._modules) visit(child, joinName(name, n));
    };
    visit(this, prefix);
    return out;
  }

  /** This module and all descendants, each once. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * All parameters with their dotted names, each module's own first, then its
   * children in registration order (the PyTorch order). A parameter shared
   * between modules (tied weights) is listed once, under its first name.
   */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [n, p] of m._parameters) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([joinName(modName, n), p]);
      }
    }
    return out;
  }

  /** All parameters, each once (what an optimizer takes). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** All buffers (persistent or not) with their dotted names, each once. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [n, b] of m._buffers) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push([joinName(modName, n), b]);
      }
    }
    return out;
  }

  /** The descendant at a dotted path ('' is this module). */
  getSubmodule(path: string): Module {
    let m: Module = this;
    if (!path) return m;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (!next) throw new Error(`${m.constructor.name} has no child '${part}' (in path '${path}'); children: ${[...m._modules.keys()].join(', ') || 'none'}`);
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path, e.g. 'encoder.layer.0.output.dense.weight'. */
  getParameter(path: string): Parameter {
    const dot = path.lastIndexOf('.');
    const owner = this.getSubmodule(dot < 0 ? '' : path.slice(0, dot));
    const name = path.slice(dot + 1);
    const p = owner._parameters.get(name);
    if (!p) throw new Error(`${owner.constructor.name} has no parameter '${name}' (in path '${path}'); parameters: ${[...owner._parameters.keys()].join(', ') || 'none'}`);
    return p;
  }

  /** Sets each parameter's `name` to its dotted name (for error messages and debugging). */
  nameParameters(prefix = ''): this {
    for (const [n, p] of this.namedParameters(prefix)) p.name = n;
    return this;
  }

  /** Calls `fn` on every descendant, children before parents (as torch's `apply`), e.g. for custom init. */
  apply(fn: (m: Module) => void): this {
    for (const child of this._modules.values()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off): `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Sets `requiresGrad` on every parameter. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Stops gradients to every parameter (`requiresGrad_(false)`). */
  freeze(): this {
    return this.requiresGrad_(false);
  }

  /** Lets gradients reach every parameter again. */
  unfreeze(): this {
    return this.requiresGrad_(true);
  }

  /** Disposes and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Number of scalar parameters (shared ones counted once). */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!opts.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch order. The
   * values are the live tensors (no copy): do not dispose them, and read them
   * before the next optimizer step if you need a snapshot. Tied weights appear
   * under every name, as in PyTorch.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.collectState(prefix, out);
    return out;
  }

  private collectState(prefix: string, out: Map<string, Tensor>): void {
    for (const [n, p] of this._parameters) out.set(joinName(prefix, n), p);
    for (const [n, b] of this._buffers) if (!this._nonPersistent.has(n)) out.set(joinName(prefix, n), b);
    for (const [n, m] of this._modules) m.collectState(joinName(prefix, n), out);
  }

  /**
   * Loads values by dotted name. Everything is checked before anything is
   * changed: a shape mismatch always throws (naming the key, the expected and
   * the got shape); in strict mode (default) missing and unexpected keys
   * throw too, all listed in one error. Values are cast to each target's dtype
   * and installed with `assign`, so the module shares storage with the given
   * tensors (tensors are immutable, so disposing the dict afterwards is safe).
   */
  loadStateDict(dict: StateDictInput, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const source: ReadonlyMap<string, Tensor> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const targets = this.stateDict();
    const missingKeys = [...targets.keys()].filter((k) => !source.has(k));
    const unexpectedKeys = [...source.keys()].filter((k) => !targets.has(k));
    const shapeErrors: string[] = [];
    for (const [k, t] of targets) {
      const src = source.get(k);
      if (!src) continue;
      if (!shapesEqual(src.shape, t.shape)) shapeErrors.push(`size mismatch for '${k}': expected ${formatShape(t.shape)}, got ${formatShape(src.shape)}`);
      else if (src.backend !== t.backend) shapeErrors.push(`'${k}' is on backend '${src.backend.name}', the module on '${t.backend.name}'; move it with toBackend()`);
    }
    const problems = [...shapeErrors];
    if (strict && missingKeys.length) problems.push(`missing keys (${missingKeys.length}): ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys (${unexpectedKeys.length}): ${unexpectedKeys.join(', ')}`);
    if (problems.length) {
      const msg = `${this.constructor.name}.loadStateDict: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`;
      throw shapeErrors.length ? new ShapeError(msg) : new Error(msg);
    }
    noGrad(() =>
      tidy(() => {
        for (const [k, t] of targets) {
          const src = source.get(k);
          if (src) t.assign(cast(src, t.dtype));
        }
      }),
    );
    return { missingKeys, unexpectedKeys };
  }

  /** Disposes every parameter and buffer (and their gradients). The module is unusable afterwards. */
  dispose(): void {
    this.zeroGrad();
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
