import { ADAPTER_FILES, HEAD_CONFIG_NAME, HEAD_WEIGHTS_NAME, cast, compositionPlugin, loadAdapter, loadSafetensors, noGrad, saveAllAdapters, type AdapterHost, type Module, type Tensor } from '@adapterkit/core';
import { headsOf } from '../model/access.js';

/**
 * Saves what an adapter checkpoint holds, in the Python library's layout:
 * every adapter in `dir/<name>/` (adapter_config.json + adapter.safetensors,
 * with config_id), fusion layers when they are trained, and every head in
 * `dir/<head>/` (head_config.json + model_head.safetensors). A head named
 * like its adapter shares the folder, as in Python.
 */
export async function saveAdapterWeights(model: Module, host: AdapterHost, dir: string, opts: { fusion?: boolean } = {}): Promise<void> {
  const { join } = await import('node:path');
  await saveAllAdapters(host, dir);
  if (opts.fusion) await compositionPlugin('saving AdapterFusion weights').saveAllAdapterFusions(host, dir, {});
  const heads = headsOf(model);
  if (heads) for (const name of heads.heads.names()) await heads.saveHead(join(dir, name), name);
}

async function readJsonFile(path: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then((s) => s.isFile(), () => false);
}

/** Copies values into existing parameters by name (same storage objects stay in place, so optimizers keep working). */
function assignInPlace(targets: Map<string, Tensor>, values: Map<string, Tensor>, source: string, skip: Set<Tensor> = new Set()): void {
  const missing = [...targets].filter(([k, t]) => !values.has(k) && !skip.has(t)).map(([k]) => k);
  const unexpected = [...values.keys()].filter((k) => !targets.has(k));
  if (missing.length || unexpected.length) {
    throw new Error(`${source} does not match the model:` + (missing.length ? ` missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` (+${missing.length - 8})` : ''};` : '') +
      (unexpected.length ? ` unexpected ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ` (+${unexpected.length - 8})` : ''}` : ''));
  }
  noGrad(() => {
    for (const [k, t] of targets) {
      if (skip.has(t)) continue;
      const v = values.get(k)!;
      if (v.shape.join(',') !== t.shape.join(',')) throw new Error(`${source}: '${k}' has shape [${v.shape.join(', ')}], the model expects [${t.shape.join(', ')}]`);
      t.assign(v.dtype === t.dtype ? v : cast(v, t.dtype));
    }
  });
}

/** What `loadAdapterWeights` restored. */
export interface LoadedWeights {
  adapters: string[];
  fusions: string[];
  heads: string[];
}

/**
 * Restores a checkpoint's adapters, fusions and heads (Python
 * `_load_from_checkpoint`). Adapters and heads the model already has are
 * overwritten in place — the parameter objects stay the same, so an
 * optimizer built over them is still valid — after checking the saved
 * adapter config equals the model's (config hash). Adapters the model lacks
 * are loaded with loadAdapter. Throws when the folder holds no adapter.
 */
export async function loadAdapterWeights(model: Module, host: AdapterHost, dir: string): Promise<LoadedWeights> {
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const out: LoadedWeights = { adapters: [], fusions: [], heads: [] };
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot read checkpoint ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const backend = model.parameters()[0]?.backend;
  for (const ent of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const sub = join(dir, ent.name);
    if (await isFile(join(sub, ADAPTER_FILES.fusionConfig))) {
      // A fusion the model has is overwritten in place (its parameters stay the optimizer's); others are loaded by the plugin.
      const marker = `.adapter_fusion_layer.${ent.name}.`;
      const targets = new Map(model.namedParameters().filter(([k]) => k.includes(marker)));
      if (targets.size) {
        const file = await loadSafetensors(join(sub, ADAPTER_FILES.fusionWeights), { backend });
        try {
          assignInPlace(targets, file, join(sub, ADAPTER_FILES.fusionWeights));
        } finally {
          for (const t of file.values()) t.dispose();
        }
        out.fusions.push(ent.name);
      } else {
        out.fusions.push(await compositionPlugin(`loading the AdapterFusion in ${sub}`).loadAdapterFusion(host, sub, {}));
      }
      continue;
    }
    const cfgPath = join(sub, ADAPTER_FILES.config);
    if (await isFile(cfgPath)) {
      const saved = await readJsonFile(cfgPath);
      const name = String(saved.name ?? ent.name);
      const config = host.configs.get(name);
      if (!config) {
        out.adapters.push(await loadAdapter(host, sub));
      } else {
        if (typeof saved.config_id === 'string' && saved.config_id !== config.hash()) {
          throw new Error(`checkpoint adapter '${name}' (${cfgPath}) was saved with a different config (config_id ${saved.config_id}) than the model's adapter (${config.hash()})`);
        }
        const file = await loadSafetensors(join(sub, ADAPTER_FILES.weights), { backend });
        try {
          assignInPlace(new Map(host.adapterParameters(name)), file, join(sub, ADAPTER_FILES.weights));
        } finally {
          for (const t of file.values()) t.dispose();
        }
        out.adapters.push(name);
      }
    }
    const headCfg = join(sub, HEAD_CONFIG_NAME);
    const heads = headsOf(model);
    if (heads && (await isFile(headCfg))) {
      const saved = await readJsonFile(headCfg);
      const name = String(saved.name ?? ent.name);
      if (!heads.heads.has(name)) {
        const loader = (model as { loadHead?: (d: string, o?: { setActive?: boolean }) => Promise<string> }).loadHead;
        if (!loader) throw new Error(`checkpoint has head '${name}' but the model has no such head and cannot load heads`);
        out.heads.push(await loader.call(model, sub, { setActive: false }));
        continue;
      }
      const file = await loadSafetensors(join(sub, HEAD_WEIGHTS_NAME), { backend });
      try {
        // Weights shared with the base model (a tied decoder) belong to the frozen base: leave them.
        const shared = new Set<Tensor>((model as { base?: Module }).base?.parameters() ?? []);
        assignInPlace(heads.headStateDict(name), file, join(sub, HEAD_WEIGHTS_NAME), shared);
      } finally {
        for (const t of file.values()) t.dispose();
      }
      out.heads.push(name);
    }
  }
  if (out.adapters.length === 0) throw new Error(`no valid adapter checkpoint at ${dir} (no sub-folder with ${ADAPTER_FILES.config})`);
  return out;
}
