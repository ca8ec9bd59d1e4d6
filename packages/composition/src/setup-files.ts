import {
  ADAPTER_FILES, Average, BatchSplit, CompositionBlock, Fuse, Parallel, SAVED_VERSION, Split, Stack, ensureDir, fileExists, joinPath,
  parseComposition, readJson, writeJsonAtomic,
  type AdapterSetup, type ConfigValue, type LoadSetupOptions, type LoadedSetup, type SaveSetupOptions, type SetupModel,
} from '@adapterkit/core';
import { fusesOf } from './fusion/api.js';
import { loadAdapterFusion, saveAdapterFusion } from './fusion/files.js';

/** A setup node as adapter_setup.json stores it (Python `AdapterCompositionBlock.to_dict`). */
export interface SetupDict {
  type: string;
  children: (SetupDict | string)[];
  kwargs?: Record<string, ConfigValue>;
}

/**
 * A setup as JSON, in Python's form: names become `{"type": "single",
 * "children": [name]}`; Split / BatchSplit / Average store `splits` /
 * `batch_sizes` / `weights` in `kwargs`. A Fuse with a custom name stores
 * it as `kwargs.name` — Python's to_dict drops it (quirk Q14), but its
 * from_dict passes kwargs on to `Fuse(..., name=...)`, so both libraries
 * read it back.
 */
export function setupToDict(setup: AdapterSetup): SetupDict {
  if (typeof setup === 'string') return { type: 'single', children: [setup] };
  const out: SetupDict = { type: setup.type, children: setup.children.map(setupToDict) };
  if (setup instanceof Split) out.kwargs = { splits: setup.splits };
  else if (setup instanceof BatchSplit) out.kwargs = { batch_sizes: setup.batchSizes };
  else if (setup instanceof Average) out.kwargs = { weights: setup.weights };
  else if (setup instanceof Fuse && setup.customName) out.kwargs = { name: setup.customName };
  return out;
}

/**
 * Reads a setup back (Python `AdapterCompositionBlock.from_dict`). Average
 * weights are taken as saved (not normalised again), so a setup round-trips
 * exactly; Python normalises them on load, which changes nothing for the
 * normalised weights it writes.
 */
export function setupFromDict(d: SetupDict | string, where = 'adapter_setup.json'): AdapterSetup {
  if (typeof d === 'string') return d;
  if (!d || typeof d !== 'object' || !Array.isArray(d.children)) throw new Error(`${where}: invalid setup node ${JSON.stringify(d)}`);
  if (d.type === 'single') {
    if (typeof d.children[0] !== 'string') throw new Error(`${where}: a 'single' node needs an adapter name, got ${JSON.stringify(d.children)}`);
    return d.children[0];
  }
  const children = d.children.map((c) => setupFromDict(c, where));
  const kw = d.kwargs ?? {};
  switch (d.type) {
    case 'Stack':
      return new Stack(...children);
    case 'Parallel':
      return new Parallel(...children);
    case 'Fuse':
      return typeof kw.name === 'string' ? new Fuse(...children, { name: kw.name }) : new Fuse(...children);
    case 'Split':
      return new Split(children, kw.splits as number | number[]);
    case 'BatchSplit':
      return new BatchSplit(children, kw.batch_sizes as number | number[]);
    case 'Average':
      return new Average(children, (kw.weights as number[] | undefined) ?? undefined, kw.weights === undefined);
    default:
      throw new Error(`${where}: composition block '${d.type}' is not supported (supported: Stack, Fuse, Split, BatchSplit, Parallel, Average)`);
  }
}

/**
 * Saves a setup as Python's `save_adapter_setup`: `adapter_setup.json`
 * (`adapter_setup`, `head_setup`, `version`), a folder per adapter (saved
 * with the model's `saveAdapter`, so an AdapterModel includes the head of
 * the same name) and a folder per Fuse block (the root and its direct
 * children, as Python) named after the fusion.
 */
export async function saveAdapterSetup(model: SetupModel, dir: string, setup: AdapterSetup | (AdapterSetup | AdapterSetup[])[], opts: SaveSetupOptions = {}): Promise<void> {
  const parsed = parseComposition(setup);
  if (!parsed) throw new Error('saveAdapterSetup: give the setup to save');
  model.adapterHost.checkSetup(parsed);
  await ensureDir(dir);
  const head = opts.headSetup;
  const body = {
    adapter_setup: setupToDict(parsed) as unknown as ConfigValue,
    head_setup: head instanceof CompositionBlock ? (setupToDict(head) as unknown as ConfigValue) : (head ?? null),
    version: SAVED_VERSION,
  };
  await writeJsonAtomic(await joinPath(dir, ADAPTER_FILES.setup), body);
  for (const name of parsed.flatten()) await model.saveAdapter(await joinPath(dir, name), name, { metaDict: opts.metaDict });
  for (const fuse of fusesOf(parsed)) await saveAdapterFusion(model.adapterHost, await joinPath(dir, fuse.name), fuse, { metaDict: opts.metaDict });
}

/** Loads a setup saved by `saveAdapterSetup` here or in Python: its adapters, then its fusions; optionally activates it. */
export async function loadAdapterSetup(model: SetupModel, dir: string, opts: LoadSetupOptions = {}): Promise<LoadedSetup> {
  const path = await joinPath(dir, ADAPTER_FILES.setup);
  if (!(await fileExists(path))) throw new Error(`loadAdapterSetup: ${path} not found (not a saved adapter setup)`);
  const saved = await readJson(path);
  const root = setupFromDict(saved.adapter_setup as SetupDict, path);
  const adapterSetup = root instanceof CompositionBlock ? root : new Stack(root);
  const rawHead = saved.head_setup as SetupDict | string | null | undefined;
  const headSetup = rawHead === null || rawHead === undefined ? null : typeof rawHead === 'string' ? rawHead : (setupFromDict(rawHead, path) as CompositionBlock);
  for (const name of adapterSetup.flatten()) await model.loadAdapter(await joinPath(dir, name));
  for (const fuse of fusesOf(adapterSetup)) {
    const folder = await fusionFolder(dir, fuse);
    // Loaded under the name the setup refers to, so activating the setup finds it.
    await loadAdapterFusion(model.adapterHost, folder, { loadAs: fuse.name });
  }
  if (opts.setActive) model.setActiveAdapters(adapterSetup);
  return { adapterSetup, headSetup };
}

/**
 * The folder of a Fuse block's fusion: `dir/<fusion name>`; failing that,
 * the subfolder whose adapter_fusion_config.json fuses the same adapters
 * (Python writes a custom-named fusion under its custom name but forgets the
 * name in adapter_setup.json, quirk Q14).
 */
async function fusionFolder(dir: string, fuse: Fuse): Promise<string> {
  const direct = await joinPath(dir, fuse.name);
  if (await fileExists(await joinPath(direct, ADAPTER_FILES.fusionConfig))) return direct;
  const { readdir } = await import('node:fs/promises');
  const wanted = fuse.children.map((c) => (typeof c === 'string' ? c : c.last())).join(',');
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const config = await joinPath(dir, entry.name, ADAPTER_FILES.fusionConfig);
    if (!(await fileExists(config))) continue;
    const names = (await readJson(config)).adapter_names;
    if (Array.isArray(names) && names.join(',') === wanted) return joinPath(dir, entry.name);
  }
  throw new Error(`loadAdapterSetup: no folder with the AdapterFusion '${fuse.name}' (adapters ${wanted}) in ${dir}`);
}
