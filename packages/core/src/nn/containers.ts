import type { Tensor } from '../tensor/tensor.js';
import { Module, type UnaryModule } from './module.js';

/**
 * A list of child modules named '0', '1', … (HF `encoder.layer.0…`). It has
 * no forward; the owner iterates it.
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** Appends a module under the next index name. */
  push(module: M): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  /** Replaces the module at `index` (keeps its name; adapters swap layers this way). */
  set(index: number, module: M): this {
    if (!Number.isInteger(index) || index < 0 || index >= this.items.length) throw new RangeError(`ModuleList.set: index ${index} out of range [0, ${this.items.length})`);
    this.registerModule(String(index), module);
    this.items[index] = module;
    return this;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const m = this.items.at(index);
    if (!m) throw new RangeError(`ModuleList.at: index ${index} out of range for length ${this.items.length}`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}

/** Chains one-tensor modules; children are named '0', '1', … as in PyTorch. */
export class Sequential extends ModuleList<UnaryModule> {
  constructor(...modules: UnaryModule[]) {
    super(modules);
  }

  /** Applies each child in order. */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this) y = m.forward(y);
    return y;
  }
}

/**
 * Named children (PyTorch ModuleDict): adapter methods keep one module per
 * adapter name here, e.g. `…attention.output.adapters.<name>.adapter_up.weight`.
 */
export class ModuleDict<M extends Module = Module> extends Module {
  set(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  get(name: string): M | undefined {
    return this.child<M>(name);
  }

  has(name: string): boolean {
    return this.child(name) !== undefined;
  }

  delete(name: string): M | undefined {
    return this.removeModule(name) as M | undefined;
  }

  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }

  entries(): [string, M][] {
    return this.namedChildren() as [string, M][];
  }

  get size(): number {
    return this.namedChildren().length;
  }
}
