/**
 * The active-adapter setup is a tree of composition blocks over adapter
 * names: `Stack('a', Parallel('b', 'c'))`. Core defines the tree and its
 * nesting rules (Python composition.py); how each method evaluates a block is
 * provided by the methods and by @adapterkit/composition.
 */
export type BlockType = 'Stack' | 'Fuse' | 'Split' | 'BatchSplit' | 'Parallel' | 'Average';
export type AdapterSetup = string | CompositionBlock;

export abstract class CompositionBlock {
  abstract readonly type: BlockType;
  readonly children: AdapterSetup[];

  constructor(children: readonly (AdapterSetup | AdapterSetup[])[]) {
    this.children = children.map((c) => (Array.isArray(c) ? new Stack(...c) : c));
    if (this.children.length === 0) throw new Error(`${this.constructor.name}: needs at least one child`);
  }

  /** Every adapter name in the tree, depth first, without duplicates. */
  flatten(): string[] {
    const out: string[] = [];
    const walk = (s: AdapterSetup): void => {
      if (typeof s === 'string') {
        if (!out.includes(s)) out.push(s);
      } else s.children.forEach(walk);
    };
    walk(this);
    return out;
  }

  /** The first adapter name (methods that use a single adapter take this one). */
  first(): string {
    const c = this.children[0]!;
    return typeof c === 'string' ? c : c.first();
  }

  /** The last adapter name. */
  last(): string {
    const c = this.children[this.children.length - 1]!;
    return typeof c === 'string' ? c : c.last();
  }

  /** Serialisable form used in adapter_setup.json. */
  toJSON(): SetupJson {
    return { type: this.type, children: this.children.map(setupToJson), ...(this.kwargs() ? { kwargs: this.kwargs()! } : {}) };
  }

  protected kwargs(): Record<string, unknown> | undefined {
    return undefined;
  }

  toString(): string {
    const kw = this.kwargs();
    const inner = this.children.map((c) => (typeof c === 'string' ? `'${c}'` : c.toString()));
    if (kw) inner.push(...Object.entries(kw).map(([k, v]) => `${k}=${JSON.stringify(v)}`));
    return `${this.type}(${inner.join(', ')})`;
  }
}

/** Applies children one after another. */
export class Stack extends CompositionBlock {
  readonly type = 'Stack' as const;
  constructor(...children: (AdapterSetup | AdapterSetup[])[]) {
    super(children);
  }
}

/** AdapterFusion over the children (bottleneck adapters). */
export class Fuse extends CompositionBlock {
  readonly type = 'Fuse' as const;
  /** Custom fusion name; defaults to the children's names joined by ','. */
  readonly customName?: string;
  constructor(...args: (AdapterSetup | AdapterSetup[] | { name: string })[]) {
    const named = args.find((a): a is { name: string } => typeof a === 'object' && !Array.isArray(a) && !(a instanceof CompositionBlock));
    super(args.filter((a) => a !== named) as (AdapterSetup | AdapterSetup[])[]);
    this.customName = named?.name;
  }

  /** The fusion's name: custom, or the last adapter of each child joined by ','. */
  get name(): string {
    return this.customName ?? this.children.map((c) => (typeof c === 'string' ? c : c.last())).join(',');
  }
}

/** Splits the sequence: child i gets `splits[i]` positions. */
export class Split extends CompositionBlock {
  readonly type = 'Split' as const;
  readonly splits: number[];
  constructor(children: AdapterSetup[], splits: number | number[]) {
    super(children);
    this.splits = typeof splits === 'number' ? children.map(() => splits) : [...splits];
    if (this.splits.length !== this.children.length) throw new Error(`Split: ${this.splits.length} split sizes for ${this.children.length} children`);
  }
  protected override kwargs(): Record<string, unknown> {
    return { splits: this.splits };
  }
}

/** Splits the batch: child i gets `batchSizes[i]` rows. */
export class BatchSplit extends CompositionBlock {
  readonly type = 'BatchSplit' as const;
  readonly batchSizes: number[];
  constructor(children: AdapterSetup[], batchSizes: number | number[]) {
    super(children);
    this.batchSizes = typeof batchSizes === 'number' ? children.map(() => batchSizes) : [...batchSizes];
    if (this.batchSizes.length !== this.children.length) throw new Error(`BatchSplit: ${this.batchSizes.length} batch sizes for ${this.children.length} children`);
  }
  protected override kwargs(): Record<string, unknown> {
    return { batch_sizes: this.batchSizes };
  }
}

/** Runs every child on a replica of the input; one output per child. */
export class Parallel extends CompositionBlock {
  readonly type = 'Parallel' as const;
  constructor(...children: (AdapterSetup | AdapterSetup[])[]) {
    super(children);
  }
}

/** Weighted average of the children's outputs (weights normalised to sum 1 by default). */
export class Average extends CompositionBlock {
  readonly type = 'Average' as const;
  readonly weights: number[];
  constructor(children: AdapterSetup[], weights?: number[], normalizeWeights = true) {
    super(children);
    const w = weights ? [...weights] : children.map(() => 1 / children.length);
    if (w.length !== children.length) throw new Error(`Average: ${w.length} weights for ${children.length} children`);
    const total = w.reduce((a, b) => a + b, 0);
    this.weights = normalizeWeights && weights ? w.map((x) => x / total) : w;
  }
  protected override kwargs(): Record<string, unknown> {
    return { weights: this.weights };
  }
}

/** Which blocks may appear inside which (Python ALLOWED_NESTINGS). */
export const ALLOWED_NESTINGS: Record<BlockType, readonly (BlockType | 'str')[]> = {
  Stack: ['str', 'Fuse', 'Split', 'Parallel', 'BatchSplit', 'Average'],
  Fuse: ['str', 'Stack'],
  Split: ['str', 'Split', 'Stack', 'BatchSplit', 'Average'],
  Parallel: ['str', 'Stack', 'BatchSplit', 'Average'],
  BatchSplit: ['str', 'Stack', 'Split', 'BatchSplit', 'Average'],
  Average: ['str', 'Stack', 'Split', 'BatchSplit'],
};

/**
 * Normalises the forms `setActiveAdapters` accepts, as Python's
 * parse_composition: a name becomes Stack(name); a list becomes a Stack whose
 * list children become Fuse; nesting rules and depth are checked.
 */
export function parseComposition(setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[] | null | undefined, level = 0): CompositionBlock | null {
  if (setup === null || setup === undefined) return null;
  if (typeof setup === 'string') return level === 0 ? new Stack(setup) : null;
  if (Array.isArray(setup)) {
    const children = setup.map((c) => (Array.isArray(c) ? new Fuse(...c) : c));
    const block = level === 0 ? new Stack(...children) : new Fuse(...children);
    validateNesting(block, level);
    return block;
  }
  validateNesting(setup, level);
  return setup;
}

function validateNesting(block: CompositionBlock, level: number): void {
  if (level > 1 && block.type !== 'Stack') throw new Error(`invalid adapter setup: only Stack blocks may be nested deeper than level 1, found ${block.type} at level ${level}`);
  for (const c of block.children) {
    const t = typeof c === 'string' ? 'str' : c.type;
    if (!ALLOWED_NESTINGS[block.type].includes(t)) {
      throw new Error(`invalid adapter setup: ${t === 'str' ? 'an adapter name' : t} cannot be nested in ${block.type} (allowed: ${ALLOWED_NESTINGS[block.type].join(', ')})`);
    }
    if (typeof c !== 'string') validateNesting(c, level + 1);
  }
}

/** JSON form of a setup (adapter_setup.json). */
export interface SetupJson {
  type: string;
  children: (SetupJson | string)[];
  kwargs?: Record<string, unknown>;
}

function setupToJson(s: AdapterSetup): SetupJson {
  return typeof s === 'string' ? { type: 'single', children: [s] } : s.toJSON();
}

/**
 * Number of parallel channels of a setup (Python `parallel_channels`): the
 * child count of a Parallel block, the largest over the children for other
 * blocks, 1 for a name or no setup.
 */
export function parallelChannels(setup: AdapterSetup | null | undefined): number {
  if (!setup || typeof setup === 'string') return 1;
  if (setup.type === 'Parallel') return setup.children.length;
  return Math.max(1, ...setup.children.map(parallelChannels));
}

/**
 * The heads a setup implies (Python `parse_heads_from_composition`), from its
 * last block (the last child of a root Stack): a name gives that head; a
 * Parallel gives one head per channel (the last adapter of each child); a
 * BatchSplit gives a BatchSplit of heads with the same batch sizes; other
 * blocks give null.
 */
export function headSetupOf(setup: AdapterSetup | null | undefined): string | string[] | BatchSplit | null {
  let last: AdapterSetup | null | undefined = setup;
  if (last instanceof Stack) last = last.children[last.children.length - 1];
  if (!last) return null;
  if (typeof last === 'string') return last;
  const tail = (c: AdapterSetup): string => (typeof c === 'string' ? c : c.last());
  if (last instanceof Parallel) return last.children.map(tail);
  if (last instanceof BatchSplit) return new BatchSplit(last.children.map(tail), last.batchSizes);
  return null;
}
