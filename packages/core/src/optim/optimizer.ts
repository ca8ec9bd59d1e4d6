import { noGrad } from '../autograd/grad-mode.js';
import { shareStorage } from '../autograd/node.js';
import { keep, tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { cast } from '../ops/cast.js';
import { zerosLike } from '../ops/creation.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Hyperparameters every optimizer has per parameter group. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

/** A parameter group as given to a constructor: parameters plus any hyperparameters that differ from the defaults. */
export type ParamGroupInput<H extends BaseHyper> = { params: Iterable<Tensor> } & Partial<H>;

/** A parameter group as the optimizer holds it. `lr` may be changed between steps (schedules do). */
export type ParamGroup<H extends BaseHyper> = H & {
  params: Tensor[];
  /** The lr the group was created with; schedules scale this one. */
  initialLr: number;
};

/** Per-parameter optimizer state: a step count and named moment tensors (kept, owned by the optimizer). */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/**
 * Serialisable optimizer state, shaped like torch's: per-parameter state by
 * the parameter's index across all groups in order, and group hyperparameters
 * with the indices of their parameters.
 */
export interface OptimizerStateDict<H extends BaseHyper = BaseHyper> {
  state: Record<number, ParamState>;
  paramGroups: (H & { initialLr: number; params: number[] })[];
}

function isTensorLike(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as { __isTensor?: boolean }).__isTensor === true;
}

/**
 * Base of all optimizers: parameter groups with per-group hyperparameters,
 * lazily created per-parameter state, and `step()` which runs each
 * parameter's update under noGrad inside its own tidy scope (so nothing leaks
 * and peak memory stays at one parameter's temporaries). Parameters and state
 * tensors are updated with `assign`, so their objects never change.
 */
export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor> | Iterable<ParamGroupInput<H>>, defaults: H) {
    const items = [...(params as Iterable<Tensor | ParamGroupInput<H>>)];
    if (items.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const plain = items.every(isTensorLike);
    if (!plain && items.some(isTensorLike)) throw new Error(`${this.constructor.name}: pass either tensors or parameter groups, not a mix`);
    const inputs = plain ? [{ params: items as Tensor[] } as unknown as ParamGroupInput<H>] : (items as ParamGroupInput<H>[]);
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map((g, gi) => {
      const ps = [...g.params];
      for (const p of ps) {
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears twice (group ${gi}${p.name ? `, '${p.name}'` : ''})`);
        seen.add(p);
      }
      const group = { ...defaults, ...g, params: ps } as ParamGroup<H>;
      this.validate(group);
      group.initialLr = group.lr;
      return group;
    });
  }

  /** Checks a group's hyperparameters; subclasses extend it. */
  protected validate(group: ParamGroup<H>): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid learning rate ${group.lr}`);
    if (!(group.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: invalid weight decay ${group.weightDecay}`);
  }

  /** Updates one parameter in place (via assign). Runs under noGrad inside a tidy scope. */
  protected abstract updateParam(param: Tensor, grad: Tensor, state: ParamState, group: ParamGroup<H>): void;

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (!g) continue;
          tidy(() => this.updateParam(p, g, this.stateOf(p), group));
        }
      }
    });
  }

  /** Disposes and clears the gradients of all parameters (torch's set_to_none). */
  zeroGrad(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Sets the learning rate of every group. */
  setLr(lr: number): void {
    for (const g of this.paramGroups) g.lr = lr;
  }

  private stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = { step: 0, tensors: {} }));
    return s;
  }

  /** The state tensor `name` of a parameter, created as kept zeros on first use. */
  protected stateTensor(state: ParamState, name: string, like: Tensor): Tensor {
    return (state.tensors[name] ??= keep(zerosLike(like)));
  }

  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * The optimizer state for a checkpoint. Tensors are the live state tensors
   * (no copy): serialise them before the next step, and do not dispose them.
   */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map(this.allParams().map((p, i) => [p, i]));
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { step: s.step, tensors: { ...s.tensors } };
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => ({ ...hyper, params: params.map((p) => index.get(p)!) })) as OptimizerStateDict<H>['paramGroups'];
    return { state, paramGroups };
  }

  /**
   * Restores a `stateDict()` made by an optimizer over the same parameters in
   * the same grouping: hyperparameters, step counts and moments (cast to each
   * parameter's dtype; storage is shared with the given tensors, not copied).
   */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: ${sd.paramGroups.length} parameter groups in the state dict, ${this.paramGroups.length} in the optimizer`);
    }
    sd.paramGroups.forEach((g, i) => {
      const have = this.paramGroups[i]!.params.length;
      if (g.params.length !== have) throw new Error(`${name}.loadStateDict: group ${i} has ${g.params.length} parameters in the state dict, ${have} in the optimizer`);
    });
    const params = this.allParams();
    // Validate everything before changing anything.
    for (const [key, s] of Object.entries(sd.state)) {
      const p = params[Number(key)];
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter index ${key}, but the optimizer has ${params.length} parameters`);
      for (const [k, t] of Object.entries(s.tensors)) {
        if (!shapesEqual(t.shape, p.shape)) throw new ShapeError(`${name}.loadStateDict: state '${k}' of parameter ${key}${p.name ? ` ('${p.name}')` : ''}: expected ${formatShape(p.shape)}, got ${formatShape(t.shape)}`);
        if (t.backend !== p.backend) throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${key} is on '${t.backend.name}', the parameter on '${p.backend.name}'`);
      }
    }
    sd.paramGroups.forEach(({ params: _ignored, ...hyper }, i) => Object.assign(this.paramGroups[i]!, hyper));
    this.disposeState();
    noGrad(() =>
      tidy(() => {
        for (const [key, s] of Object.entries(sd.state)) {
          const p = params[Number(key)]!;
          const tensors: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(s.tensors)) tensors[k] = shareStorage(cast(t, p.dtype));
          this.state.set(p, { step: s.step, tensors });
        }
      }),
    );
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }

  /** Frees all optimizer state (moments); the next step starts fresh. */
  dispose(): void {
    this.disposeState();
  }
}
