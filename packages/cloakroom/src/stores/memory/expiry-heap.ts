/** One deadline in the heap: when `id` expires (ms epoch). */
export interface HeapEntry {
  at: number;
  id: string;
}

/**
 * A binary min-heap of deadlines. The memory store uses it both to sweep (pop while the
 * top has expired) and to evict (pop the nearest deadline), so neither scans every record.
 *
 * Entries are never updated in place: a touch pushes a fresh entry and the old one goes
 * stale. The owner decides staleness on pop (record gone or deadline moved), which keeps
 * touch O(log n) instead of needing a position index; `rebuild` bounds the garbage.
 */
export class ExpiryHeap {
  #items: HeapEntry[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(at: number, id: string): void {
    const items = this.#items;
    items.push({ at, id });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= items[i]!.at) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  peek(): HeapEntry | undefined {
    return this.#items[0];
  }

  pop(): HeapEntry | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    this.#siftDown(0);
    return top;
  }

  /** Replaces the content with exactly these entries (drops stale ones in one O(n) pass). */
  rebuild(entries: HeapEntry[]): void {
    this.#items = entries;
    for (let i = (entries.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  #siftDown(start: number): void {
    const items = this.#items;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && items[left]!.at < items[smallest]!.at) smallest = left;
      if (right < items.length && items[right]!.at < items[smallest]!.at) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const tmp = items[a]!;
    items[a] = items[b]!;
    items[b] = tmp;
  }
}
