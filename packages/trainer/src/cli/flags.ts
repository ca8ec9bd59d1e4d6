import { parseArgs } from 'node:util';

/** Kinds of flag values. */
export type FlagType = 'string' | 'number' | 'int' | 'boolean';

/** One command-line flag (snake_case, as the Python example scripts). */
export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Applied when the flag is absent (booleans default to false); shown in --help. */
  default?: string | number | boolean;
  /** Shown in --help instead of `default` when the default is computed (not applied). */
  defaultText?: string;
  /** Allowed values for string flags. */
  choices?: readonly string[];
  /** Help section. */
  group: string;
  /** Other spellings (e.g. HF's old --evaluation_strategy). */
  aliases?: string[];
}

/** A usage error: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parsed flag values by snake_case name. */
export type FlagValues = Record<string, string | number | boolean | undefined>;

function convert(spec: FlagSpec, raw: string): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${spec.name}: '${raw}' is not one of ${spec.choices.join(', ')}`);
    return raw;
  }
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${spec.name}: expected a number, got '${raw}'`);
  if (spec.type === 'int' && !Number.isInteger(v)) throw new UsageError(`--${spec.name}: expected an integer, got '${raw}'`);
  return v;
}

/**
 * Parses argv against the flag table (node:util parseArgs, strict): unknown
 * flags, missing values, positional arguments and values of the wrong type
 * are UsageErrors naming the flag. Defaults are filled in.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): FlagValues {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    for (const n of [s.name, ...(s.aliases ?? [])]) {
      options[n] = { type: s.type === 'boolean' ? 'boolean' : 'string' };
      byName.set(n, s);
    }
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const m = /'(--?[^' ]+)'/.exec(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown flag ${m?.[1] ?? ''}${suggest(m?.[1], [...byName.keys()])}`);
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${m?.[1] ?? ''} (flags look like --name value)`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(err.message.replace(/^Option '([^']+)'/, 'flag $1').replace(/ argument missing$/, ' needs a value'));
    throw new UsageError(err.message);
  }
  const out: FlagValues = {};
  for (const s of specs) out[s.name] = s.type === 'boolean' ? (s.default as boolean | undefined) ?? false : s.default;
  for (const [k, v] of Object.entries(parsed.values)) {
    const spec = byName.get(k)!;
    if (v === undefined) continue;
    if (spec.type === 'boolean') out[spec.name] = v as boolean;
    else {
      const raw = Array.isArray(v) ? String(v[v.length - 1]) : String(v);
      out[spec.name] = convert(spec, raw);
    }
  }
  return out;
}

function suggest(flag: string | undefined, names: string[]): string {
  if (!flag) return '';
  const bare = flag.replace(/^-+/, '').replace(/-/g, '_');
  const close = names.filter((n) => n === bare || distance(n, bare) <= 2);
  return close.length ? `; did you mean --${close[0]}?` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** The --help text: usage line, description, then every flag by group with its default and choices. */
export function formatHelp(command: string, description: string, specs: readonly FlagSpec[]): string {
  const lines = [`usage: adapterkit ${command} [flags]`, '', description, ''];
  const groups = [...new Set(specs.map((s) => s.group))];
  for (const g of groups) {
    lines.push(`${g}:`);
    for (const s of specs.filter((x) => x.group === g)) {
      const value = s.type === 'boolean' ? '' : ` ${s.choices ? `{${s.choices.join(',')}}` : s.type === 'string' ? 'VALUE' : s.type.toUpperCase()}`;
      const left = `  --${s.name}${value}`;
      const shown = s.defaultText ?? (s.default !== undefined && s.type !== 'boolean' ? String(s.default) : '');
      const extra = [shown ? `default: ${shown}` : '', s.aliases?.length ? `alias: ${s.aliases.map((a) => `--${a}`).join(', ')}` : ''].filter(Boolean).join('; ');
      const text = `${s.help}${extra ? ` (${extra})` : ''}`;
      lines.push(left.length < 40 ? `${left.padEnd(40)}${text}` : `${left}\n${''.padEnd(40)}${text}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
