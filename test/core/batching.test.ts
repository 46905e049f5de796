import fc from 'fast-check';
import { chunk, groupBy, mapLimit } from '../../lambda/core/util/batching';

describe('chunk', () => {
  it.each([
    [0, 50, []],
    [1, 50, [1]],
    [50, 50, [50]],
    [120, 50, [50, 50, 20]],
  ])('%d items by %d → chunk sizes %p', (n, size, sizes) => {
    expect(chunk(Array.from({ length: n }, (_, i) => i), size).map((c) => c.length)).toEqual(sizes);
  });

  it('keeps every item exactly once, in order, in chunks no larger than the size', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 60 }), (items, size) => {
        const out = chunk(items, size);
        expect(out.flat()).toEqual(items);
        expect(out.every((c) => c.length >= 1 && c.length <= size)).toBe(true);
      }),
    );
  });

  it.each([0, -1, 1.5, NaN])('rejects the size %p', (size) => {
    expect(() => chunk([1], size)).toThrow(RangeError);
  });
});

describe('groupBy', () => {
  it('groups in one pass keeping input order', () => {
    const g = groupBy(['l1', 'w1', 'l2'], (s) => s[0]);
    expect([...g]).toEqual([
      ['l', ['l1', 'l2']],
      ['w', ['w1']],
    ]);
  });
});

describe('mapLimit', () => {
  it('never has more than `limit` calls in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (x) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      for (let i = 0; i < x; i++) await Promise.resolve();
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('runs every item even when one fails, then rethrows the first failure', async () => {
    const seen: number[] = [];
    await expect(
      mapLimit([1, 2, 3], 1, async (x) => {
        seen.push(x);
        if (x === 2) throw new Error('boom');
        return x;
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([1, 2, 3]);
  });
});
