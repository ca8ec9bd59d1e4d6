/** Options of `parseDelimited`. */
export interface DelimitedOptions {
  /** Field separator (',' for CSV, '\t' for TSV). */
  delimiter: string;
  /**
   * Honour double quotes (RFC 4180: quoted fields may hold the delimiter,
   * newlines and "" for a quote). Default true. GLUE TSV files are read with
   * quoting off, as Python's csv.QUOTE_NONE, because their sentences contain
   * bare quotes.
   */
  quotes?: boolean;
}

/**
 * Removes a leading byte-order mark: U+FEFF, or its mojibake 'ï»¿' (the
 * BOM's UTF-8 bytes decoded as Latin-1 and re-encoded), which is what the
 * shared copy of MRPC's msr_paraphrase_train.txt starts with.
 */
export function stripBom(text: string): string {
  if (text.charCodeAt(0) === 0xfeff) return text.slice(1);
  return text.startsWith('\u00ef\u00bb\u00bf') ? text.slice(3) : text;
}

/**
 * Splits delimited text into rows of fields. Line ends may be \n or \r\n; a
 * final empty line is dropped. Errors name the 1-based line of an
 * unterminated quoted field.
 */
export function parseDelimited(text: string, opts: DelimitedOptions): string[][] {
  const src = stripBom(text);
  const d = opts.delimiter;
  if (d.length !== 1) throw new Error(`parseDelimited: the delimiter must be one character, got '${d}'`);
  if (opts.quotes === false) {
    const lines = src.split(/\r?\n/);
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.map((l) => l.split(d));
  }
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let line = 1;
  let quoteStart = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') {
      inQuotes = true;
      quoteStart = line;
    } else if (c === d) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      line++;
    } else field += c;
  }
  if (inQuotes) throw new Error(`parseDelimited: a quoted field opened on line ${quoteStart} is never closed`);
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
