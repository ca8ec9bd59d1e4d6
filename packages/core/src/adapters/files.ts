import { nodeModules, writeAll, writeFileAtomic } from '../io/node-fs.js';
import { pythonJsonDumps, type ConfigValue } from './config.js';

/** File names of the Python library (utils.py), so saved folders are interchangeable. */
export const ADAPTER_FILES = {
  config: 'adapter_config.json',
  weights: 'adapter.safetensors',
  torchWeights: 'pytorch_adapter.bin',
  headConfig: 'head_config.json',
  headWeights: 'model_head.safetensors',
  fusionConfig: 'adapter_fusion_config.json',
  fusionWeights: 'model_adapter_fusion.safetensors',
  setup: 'adapter_setup.json',
} as const;

/** Version written into saved configs. Python treats any version not starting with 'adapters.' as current. */
export const SAVED_VERSION = 'adapterkit.0.1.0';

/** JSON bytes (UTF-8) as Python's json.dump(indent=2, sort_keys=True) writes them; `floatFields` print as floats (1.0). */
export function pythonJsonBytes(value: ConfigValue, floatFields = new Set<string>()): Uint8Array {
  return new TextEncoder().encode(pythonJsonDumps(value, floatFields, undefined, 2));
}

/** Writes JSON as Python's json.dump(indent=2, sort_keys=True), atomically. */
export async function writeJsonAtomic(path: string, value: ConfigValue, floatFields = new Set<string>()): Promise<void> {
  const bytes = pythonJsonBytes(value, floatFields);
  await writeFileAtomic(path, (fh) => writeAll(fh, bytes, 0));
}

/**
 * Writes in-memory files (file name → bytes, as `adapterFiles` returns them)
 * into `dir`, creating it if needed; each file atomically, in the map's order.
 */
export async function writeFilesAtomic(dir: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  await ensureDir(dir);
  for (const [name, bytes] of files) await writeFileAtomic(await joinPath(dir, name), (fh) => writeAll(fh, bytes, 0));
}

/** Reads a JSON file; the error names the file. */
export async function readJson(path: string): Promise<Record<string, unknown>> {
  const { fs } = await nodeModules();
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export async function fileExists(path: string): Promise<boolean> {
  const { fs } = await nodeModules();
  return fs.access(path).then(() => true, () => false);
}

export async function ensureDir(dir: string): Promise<void> {
  const { fs } = await nodeModules();
  await fs.mkdir(dir, { recursive: true });
}

export async function joinPath(...parts: string[]): Promise<string> {
  return (await nodeModules()).path.join(...parts);
}
