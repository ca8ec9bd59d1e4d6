/**
 * Parser for the Python literal subset that config strings use
 * (`seq_bn[reduction_factor=16, leave_out=[0, 1], non_linearity='relu']`):
 * numbers, quoted strings, True/False/None, lists, tuples and dicts. Python
 * evaluates these with ast.literal_eval; anything else is an error here too.
 */
export type PyValue = number | string | boolean | null | PyValue[] | { [key: string]: PyValue };

export class PyLiteralError extends Error {
  override name = 'PyLiteralError';
}

class Reader {
  pos = 0;
  constructor(readonly src: string) {}

  fail(msg: string): never {
    throw new PyLiteralError(`${msg} at position ${this.pos} in "${this.src}"`);
  }

  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.src[this.pos] ?? '';
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }
}

function parseValue(r: Reader): PyValue {
  const ch = r.peek();
  if (ch === '[' || ch === '(') return parseSequence(r, ch === '[' ? ']' : ')');
  if (ch === '{') return parseDict(r);
  if (ch === '"' || ch === "'") return parseString(r);
  const rest = r.src.slice(r.pos);
  const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)?.[0];
  if (word) {
    r.pos += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    if (word === 'inf' || word === 'nan') r.fail(`'${word}' is not a Python literal`);
    r.fail(`'${word}' is not a literal (use True, False, None, a number, a quoted string, a list or a dict)`);
  }
  const num = /^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?)/i.exec(rest)?.[0];
  if (num) {
    r.pos += num.length;
    return Number(num);
  }
  r.fail(ch ? `unexpected '${ch}'` : 'unexpected end');
}

function parseString(r: Reader): string {
  const quote = r.src[r.pos]!;
  r.pos++;
  let out = '';
  while (r.pos < r.src.length && r.src[r.pos] !== quote) {
    let c = r.src[r.pos++]!;
    if (c === '\\') {
      const n = r.src[r.pos++];
      c = n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
    }
    out += c;
  }
  if (r.src[r.pos] !== quote) r.fail('unterminated string');
  r.pos++;
  return out;
}

function parseSequence(r: Reader, close: string): PyValue[] {
  r.pos++;
  const out: PyValue[] = [];
  while (r.peek() !== close) {
    out.push(parseValue(r));
    if (r.peek() === ',') r.pos++;
    else if (r.peek() !== close) r.fail(`expected ',' or '${close}'`);
  }
  r.pos++;
  return out;
}

function parseDict(r: Reader): { [key: string]: PyValue } {
  r.pos++;
  const out: { [key: string]: PyValue } = {};
  while (r.peek() !== '}') {
    const key = parseValue(r);
    if (typeof key !== 'string' && typeof key !== 'number') r.fail('dict keys must be strings or numbers');
    r.expect(':');
    out[String(key)] = parseValue(r);
    if (r.peek() === ',') r.pos++;
    else if (r.peek() !== '}') r.fail("expected ',' or '}'");
  }
  r.pos++;
  return out;
}

/** Parses one Python literal. */
export function parsePyLiteral(src: string): PyValue {
  const r = new Reader(src);
  const v = parseValue(r);
  r.skipSpace();
  if (r.pos !== src.length) r.fail('trailing characters');
  return v;
}

/** Parses `key=value, key2=value2` (the inside of a config string's brackets). */
export function parsePyKwargs(src: string): Record<string, PyValue> {
  const r = new Reader(src);
  const out: Record<string, PyValue> = {};
  while (r.peek() !== '') {
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(r.src.slice(r.pos))?.[0];
    if (key === undefined) return r.fail('expected a key name');
    r.pos += key.length;
    r.expect('=');
    out[key] = parseValue(r);
    if (r.peek() === ',') r.pos++;
    else if (r.peek() !== '') r.fail("expected ','");
  }
  return out;
}
