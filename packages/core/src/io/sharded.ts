/**
 * Hugging Face weight directories: a single `model.safetensors`, or shards
 * listed by `model.safetensors.index.json`:
 *
 * ```json
 * {"metadata": {"total_size": 123}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", …}}
 * ```
 */
import type { Tensor } from '../tensor/tensor.js';
import { ModelFileError } from './errors.js';
import { disposeAll, type LoadOptions } from './host-tensor.js';
import { nodeModules, pathString } from './node-fs.js';
import { loadSafetensors, openSafetensors, tensorsFromFile, type SafetensorsFile } from './safetensors-file.js';
import type { HostTensor } from './safetensors-write.js';

/** Default weight file name. */
export const SAFETENSORS_WEIGHTS_NAME = 'model.safetensors';

/** Where a directory's weights are. */
export type WeightFiles =
  | { readonly kind: 'single'; readonly file: string }
  | { readonly kind: 'sharded'; readonly index: string };

/** A parsed shard index. */
export interface ShardIndex {
  /** The index file's path. */
  readonly path: string;
  /** The index's `metadata` object (e.g. `total_size`), `{}` when absent. */
  readonly metadata: Record<string, unknown>;
  /** Tensor name → shard file name (relative to the index's directory). */
  readonly weightMap: Map<string, string>;
}

export interface ResolveWeightOptions {
  /** Weight file name; the index is `<name>.index.json`. Default `model.safetensors`. */
  weightsName?: string;
}

async function exists(path: string): Promise<boolean> {
  const { fs } = await nodeModules();
  try {
    return (await fs.stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds the weights in `dir`: `model.safetensors` if present, else
 * `model.safetensors.index.json`. Throws an error listing the directory's
 * files when neither exists.
 */
export async function resolveWeightFiles(dir: string | URL, options: ResolveWeightOptions = {}): Promise<WeightFiles> {
  const { fs, path } = await nodeModules();
  const d = await pathString(dir);
  const name = options.weightsName ?? SAFETENSORS_WEIGHTS_NAME;
  const single = path.join(d, name);
  if (await exists(single)) return { kind: 'single', file: single };
  const index = path.join(d, `${name}.index.json`);
  if (await exists(index)) return { kind: 'sharded', index };
  let listing: string;
  try {
    const files = (await fs.readdir(d)).sort();
    listing = files.length ? `files there: ${files.join(', ')}` : 'the directory is empty';
  } catch (e) {
    listing = `the directory cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  throw new Error(`no weights in ${d}: neither ${name} nor ${name}.index.json exists; ${listing}`);
}

/** Reads and validates a shard index file. */
export async function readShardIndex(indexPath: string | URL): Promise<ShardIndex> {
  const { fs } = await nodeModules();
  const p = await pathString(indexPath);
  const fail: (detail: string, tensor?: string) => never = (detail, tensor) => {
    throw new ModelFileError('safetensors index', p, detail, tensor);
  };
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(p, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    fail(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('must be a JSON object with a weight_map');
  const { metadata, weight_map: weightMap } = json as Record<string, unknown>;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) fail('weight_map must be an object mapping tensor names to shard files');
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) fail('metadata must be an object');
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '') fail(`weight_map entry must be a shard file name, got ${JSON.stringify(shard)}`, name);
    // Shards are plain file names beside the index; refuse paths that could point elsewhere.
    if (/[\\/]/.test(shard) || shard === '.' || shard === '..') fail(`shard file ${JSON.stringify(shard)} must be a plain file name in the index's directory`, name);
    map.set(name, shard);
  }
  return { path: p, metadata: { ...((metadata as Record<string, unknown>) ?? {}) }, weightMap: map };
}

/** Groups an index's tensors by shard (in first-mention order). */
function byShard(index: ShardIndex): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [name, shard] of index.weightMap) {
    let g = groups.get(shard);
    if (!g) groups.set(shard, (g = []));
    g.push(name);
  }
  return groups;
}

/** Opens each shard once and hands the file and its listed tensors to `use`, after checking they are all there. */
async function forEachShard(index: ShardIndex, use: (file: SafetensorsFile, names: string[]) => Promise<void>): Promise<void> {
  const { path } = await nodeModules();
  const dir = path.dirname(index.path);
  for (const [shard, names] of byShard(index)) {
    const shardPath = path.join(dir, shard);
    let file: SafetensorsFile;
    try {
      file = await openSafetensors(shardPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ModelFileError('safetensors index', index.path, `shard ${shard} (${shardPath}) does not exist; it holds ${names.length} tensor(s)`, names[0]);
      }
      throw e;
    }
    try {
      for (const name of names) {
        if (!file.tensors.has(name)) {
          throw new ModelFileError('safetensors index', index.path, `weight_map puts this tensor in shard ${shard}, but ${shardPath} has no such tensor`, name);
        }
      }
      await use(file, names);
    } finally {
      await file.close();
    }
  }
}

/**
 * Loads a sharded checkpoint from `dir` (which holds
 * `model.safetensors.index.json`, or pass the index path itself) into one map
 * of backend tensors. Each shard is opened once; every weight_map entry must
 * be in its shard. Only tensors listed in the weight_map are loaded.
 */
export async function loadShardedSafetensors(dirOrIndex: string | URL, options: LoadOptions & ResolveWeightOptions = {}): Promise<Map<string, Tensor>> {
  const index = await readShardIndex(await indexPathOf(dirOrIndex, options));
  const out = new Map<string, Tensor>();
  try {
    await forEachShard(index, async (file, names) => {
      await tensorsFromFile(file, names, options, out);
    });
  } catch (e) {
    disposeAll(out.values());
    throw e;
  }
  return out;
}

/** Like {@link loadShardedSafetensors} but returns host data (no backend needed). */
export async function readShardedSafetensors(dirOrIndex: string | URL, options: ResolveWeightOptions = {}): Promise<{ index: ShardIndex; tensors: Map<string, HostTensor> }> {
  const index = await readShardIndex(await indexPathOf(dirOrIndex, options));
  const tensors = new Map<string, HostTensor>();
  await forEachShard(index, async (file, names) => {
    for (const name of names) tensors.set(name, await file.readHost(name));
  });
  return { index, tensors };
}

async function indexPathOf(dirOrIndex: string | URL, options: ResolveWeightOptions): Promise<string> {
  const { fs, path } = await nodeModules();
  const p = await pathString(dirOrIndex);
  const stat = await fs.stat(p).catch(() => undefined);
  if (stat?.isFile()) return p;
  return path.join(p, `${options.weightsName ?? SAFETENSORS_WEIGHTS_NAME}.index.json`);
}

/**
 * Loads a directory's safetensors weights, single-file or sharded (see
 * {@link resolveWeightFiles}), into backend tensors.
 */
export async function loadSafetensorsWeights(dir: string | URL, options: LoadOptions & ResolveWeightOptions = {}): Promise<Map<string, Tensor>> {
  const found = await resolveWeightFiles(dir, options);
  return found.kind === 'single' ? loadSafetensors(found.file, options) : loadShardedSafetensors(found.index, options);
}
