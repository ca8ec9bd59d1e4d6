import { parsePyKwargs, PyLiteralError, type PyValue } from './python-literal.js';

/** One `name[key=value, …]` chunk of a config string. */
export interface ConfigStringPart {
  name: string;
  overrides: Record<string, PyValue>;
}

const CHUNK = /^(?<name>[^[\]|\n]+)(?:\[(?<kvs>.*)\])?$/s;

/**
 * Splits a config string like `"lora[r=8]|prefix_tuning"` into its parts, as
 * Python's parse_adapter_config_string does. Syntax errors name the chunk.
 */
export function parseConfigString(src: string): ConfigStringPart[] {
  return src.split('|').map((chunk) => {
    const m = CHUNK.exec(chunk.trim());
    if (!m?.groups) throw new Error(`invalid adapter config string '${src}': cannot parse '${chunk}' (expected name or name[key=value, ...])`);
    const name = m.groups.name!.trim();
    let overrides: Record<string, PyValue> = {};
    if (m.groups.kvs !== undefined) {
      try {
        overrides = parsePyKwargs(m.groups.kvs);
      } catch (e) {
        const why = e instanceof PyLiteralError ? e.message : String(e);
        throw new Error(`invalid adapter config string '${src}': ${why}`);
      }
    }
    return { name, overrides };
  });
}
