/** A candidate merge of two adjacent symbols. */
export interface Bigram {
  /** Index of the left symbol. */
  left: number;
  /** Index of the right symbol. */
  right: number;
  /** Score of the merged piece (higher merges first). */
  score: number;
  /** Combined length in UTF-16 units when queued; a stale entry no longer matches. */
  size: number;
}

/** Whether `a` merges before `b`: higher score, then the leftmost (SentencePiece's order). */
function before(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

/** Binary max-heap of bigrams in merge order (SentencePiece / llama.cpp's agenda). */
export class BigramQueue {
  private readonly items: Bigram[] = [];

  get size(): number {
    return this.items.length;
  }

  push(b: Bigram): void {
    const a = this.items;
    a.push(b);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Bigram | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
