/**
 * Reading a Hugging Face model directory's config.json, and matching a
 * checkpoint's weight names to an AdapterModel's parameters: with or without
 * the base-model prefix, legacy LayerNorm names, static task heads converted
 * to flex heads, and a precise account of what was missing, unexpected or
 * deliberately ignored.
 */

/** Reads and parses `<dir>/config.json`; errors name the path. */
export async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no config.json in ${dir} (expected ${file})` : `cannot read ${file}: ${code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${file} must hold a JSON object`);
  return raw as Record<string, unknown>;
}

/**
 * Old BERT checkpoints name LayerNorm parameters gamma/beta (TF-converted);
 * HF renames them to weight/bias on load, and so do we.
 */
export function renameLegacyKey(key: string): string {
  if (key.endsWith('.gamma')) return `${key.slice(0, -'.gamma'.length)}.weight`;
  if (key.endsWith('.beta')) return `${key.slice(0, -'.beta'.length)}.bias`;
  return key;
}

/** Buffers HF keeps out of the model's parameters but some checkpoints still hold. */
const HARMLESS_BUFFER = /(^|\.)(position_ids|token_type_ids|rotary_emb\.inv_freq|masked_bias|attn\.bias)$/;

/** A checkpoint key left out on purpose, with the reason. */
export interface IgnoredKey {
  key: string;
  reason: string;
}

/** How checkpoint keys map onto the model. */
export interface WeightMappingPlan {
  /** Checkpoint key → base-model key (relative to the base, no prefix). */
  base: Map<string, string>;
  /** Checkpoint key → key inside `heads` (e.g. 'default.1.weight'). */
  heads: Map<string, string>;
  /** Keys left out on purpose (buffers, a head the model does not have, duplicates). */
  ignored: IgnoredKey[];
  /** Keys that look like base-model weights but match nothing: an error. */
  unexpected: string[];
  /** Model keys no checkpoint key fills: an error (full names, e.g. 'bert.encoder…', 'heads.default.1.weight'). */
  missing: string[];
  /** Model keys left at their fresh initialisation on purpose (a checkpoint without a pooler). */
  newlyInitialized: string[];
}

/** What `planWeightMapping` needs to know about the model. */
export interface WeightMappingOptions {
  /** 'bert', 'roberta', 'model'. */
  basePrefix: string;
  /** The base model's state-dict keys (no prefix). */
  baseKeys: ReadonlySet<string>;
  /** State-dict keys inside `heads` ('<head>.<i>.<param>'). */
  headKeys: ReadonlySet<string>;
  /** Head keys that share the base model's tensor (tied decoders): never missing. */
  tiedHeadKeys?: ReadonlySet<string>;
  /** Static-head conversion: checkpoint key → 'heads.<name>.…', or undefined. */
  headRename?: (key: string) => string | undefined;
  /** Describes the checkpoint's own head for messages (e.g. its architecture). */
  checkpointHead?: string;
}

/**
 * Decides where every checkpoint key goes. A key is, in order: a static
 * head weight converted to a flex head (`headRename`); a flex head weight
 * (`heads.<name>.…`, as the Python AdapterModel saves); a base weight with
 * or without the base prefix; a known harmless buffer (ignored); a key
 * under the base prefix or a base top-level module that matches nothing
 * (unexpected); else a weight of a task head this model does not have
 * (ignored, listed). Legacy gamma/beta names are renamed first.
 *
 * Missing: every base key and head key not filled, except tied head
 * weights and a pooler that is missing entirely (HF, too, leaves it freshly
 * initialised, e.g. for masked-LM checkpoints).
 */
export function planWeightMapping(checkpointKeys: Iterable<string>, opts: WeightMappingOptions): WeightMappingPlan {
  const plan: WeightMappingPlan = { base: new Map(), heads: new Map(), ignored: [], unexpected: [], missing: [], newlyInitialized: [] };
  const prefix = `${opts.basePrefix}.`;
  const topLevel = new Set([...opts.baseKeys].map((k) => k.split('.')[0]!));
  const filled = new Map<string, string>(); // target → checkpoint key
  const assign = (map: Map<string, string>, key: string, target: string): void => {
    const prev = filled.get(target);
    if (prev !== undefined) {
      plan.ignored.push({ key, reason: `duplicate of '${prev}' (both map to '${target}')` });
      return;
    }
    filled.set(target, key);
    map.set(key, target);
  };
  for (const key of checkpointKeys) {
    const k = renameLegacyKey(key);
    const converted = opts.headRename?.(k);
    const headKey = converted ?? (k.startsWith('heads.') ? k : undefined);
    if (headKey !== undefined) {
      const rel = headKey.slice('heads.'.length);
      if (opts.headKeys.has(rel)) assign(plan.heads, key, `heads.${rel}`);
      else if (converted !== undefined) plan.unexpected.push(key);
      else plan.ignored.push({ key, reason: `weights of head '${rel.split('.')[0]}', which the model does not have` });
      continue;
    }
    const rel = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (opts.baseKeys.has(rel)) {
      assign(plan.base, key, rel);
      continue;
    }
    if (HARMLESS_BUFFER.test(k)) {
      plan.ignored.push({ key, reason: 'a buffer HF recomputes (not a parameter)' });
      continue;
    }
    if (k.startsWith(prefix) || topLevel.has(k.split('.')[0]!)) {
      plan.unexpected.push(key);
      continue;
    }
    plan.ignored.push({ key, reason: `weights of the checkpoint's own task head${opts.checkpointHead ? ` (${opts.checkpointHead})` : ''}, which has no flex-head equivalent here` });
  }
  const baseMissing = [...opts.baseKeys].filter((k) => !filled.has(k));
  const pooler = [...opts.baseKeys].filter((k) => k.startsWith('pooler.'));
  const poolerAbsent = pooler.length > 0 && pooler.every((k) => !filled.has(k));
  for (const k of baseMissing) {
    if (poolerAbsent && k.startsWith('pooler.')) plan.newlyInitialized.push(`${opts.basePrefix}.${k}`);
    else plan.missing.push(`${opts.basePrefix}.${k}`);
  }
  for (const k of opts.headKeys) {
    if (!filled.has(`heads.${k}`) && !opts.tiedHeadKeys?.has(k)) plan.missing.push(`heads.${k}`);
  }
  return plan;
}

/** Lists keys for an error message: all of them up to `max`, then a count. */
export function listKeys(keys: readonly string[], max = 40): string {
  return keys.length <= max ? keys.join(', ') : `${keys.slice(0, max).join(', ')}, … (${keys.length - max} more)`;
}
