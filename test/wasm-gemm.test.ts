import { describe, expect, it } from "vitest";
import { ByteWriter } from "../src/emit/wasm/assembler.js";
import { gemmModuleBytes, type GemmBlocking, type GemmDtype, type GemmFunction } from "../src/emit/wasm/gemm.js";

// The WebAssembly SIMD matrix product against a plain triple loop, over many shapes and stride layouts.
// Every element of memory that is not an operand element starts as NaN (so reading outside A or B
// poisons the result), and after each call every element other than C's m×n targets must be
// bit-for-bit unchanged (so writing outside C, or past a partial vector, is caught).

describe("LEB128", () => {
  const hex = (w: ByteWriter) => Array.from(w.toBytes(), (b) => b.toString(16).padStart(2, "0")).join(" ");

  it("encodes unsigned values", () => {
    expect(hex(new ByteWriter().u32(0))).toBe("00");
    expect(hex(new ByteWriter().u32(127))).toBe("7f");
    expect(hex(new ByteWriter().u32(128))).toBe("80 01");
    expect(hex(new ByteWriter().u32(624485))).toBe("e5 8e 26");
    expect(hex(new ByteWriter().u32(0xffffffff))).toBe("ff ff ff ff 0f");
    expect(() => new ByteWriter().u32(-1)).toThrow("not a u32: -1");
  });

  it("encodes signed values", () => {
    expect(hex(new ByteWriter().s32(0))).toBe("00");
    expect(hex(new ByteWriter().s32(63))).toBe("3f");
    expect(hex(new ByteWriter().s32(64))).toBe("c0 00");
    expect(hex(new ByteWriter().s32(-1))).toBe("7f");
    expect(hex(new ByteWriter().s32(-64))).toBe("40");
    expect(hex(new ByteWriter().s32(-65))).toBe("bf 7f");
    expect(hex(new ByteWriter().s32(-123456))).toBe("c0 bb 78");
    expect(hex(new ByteWriter().s32(-2147483648))).toBe("80 80 80 80 78");
    expect(hex(new ByteWriter().s32(2147483647))).toBe("ff ff ff ff 07");
  });
});

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a matrix is laid out: row-major, column-major (transposed), or strided both ways. */
type Layout = "row" | "col" | "strided";
const LAYOUTS: Layout[] = ["row", "col", "strided"];

interface Strides {
  row: number;
  col: number;
}

/** Strides for a rows×cols matrix, with a little padding so that rows (or columns) are not adjacent. */
function strides(layout: Layout, rows: number, cols: number, pad: number): Strides {
  switch (layout) {
    case "row":
      return { row: cols + pad, col: 1 };
    case "col":
      return { row: 1, col: rows + pad };
    case "strided":
      return { row: 3 * cols + pad, col: 3 };
  }
}

/** Elements spanned by a rows×cols matrix (from its first element to just past its last). */
function span(rows: number, cols: number, s: Strides): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * s.row + (cols - 1) * s.col + 1;
}

interface Case {
  m: number;
  n: number;
  k: number;
  a?: Layout;
  b?: Layout;
  /** Extra elements at the end of each row of C. */
  cPad?: number;
  /** Put C (or B) flush against the end of memory. */
  atEnd?: "b" | "c";
  seed?: number;
  /** Call the kernel with this k instead (to check that the checker can fail). */
  callK?: number;
}

class Harness {
  readonly memory = new WebAssembly.Memory({ initial: 1 });
  readonly gemm: GemmFunction;
  readonly bytes: Uint8Array<ArrayBuffer>;

  constructor(
    readonly dtype: GemmDtype,
    blocking?: Partial<GemmBlocking>,
  ) {
    this.bytes = gemmModuleBytes({ dtype, blocking });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(this.bytes), { env: { memory: this.memory } });
    this.gemm = instance.exports.gemm as unknown as GemmFunction;
  }

  /** Runs one case; returns the number of mismatching C elements and of clobbered other elements. */
  run(c: Case): { mismatches: string[]; clobbered: number } {
    const { m, n, k, a: aLayout = "row", b: bLayout = "row", cPad = 0, seed = 1 } = c;
    const rand = random(seed);
    const elementBytes = this.dtype === "f32" ? 4 : 8;
    const aS = strides(aLayout, m, k, 1 + Math.floor(rand() * 3));
    const bS = strides(bLayout, k, n, 1 + Math.floor(rand() * 3));
    const cRow = n + cPad;
    const gap = () => 1 + Math.floor(rand() * 7);

    // Lay out [gap] A [gap] B [gap] C [gap] (or with B / C last, ending exactly at the end of memory).
    const aSize = span(m, k, aS),
      bSize = span(k, n, bS),
      cSize = span(m, n, { row: cRow, col: 1 });
    const order: Array<["a" | "b" | "c", number]> = [
      ["a", aSize],
      ["b", bSize],
      ["c", cSize],
    ];
    if (c.atEnd === "b") order.push(order.splice(1, 1)[0]!);
    let cursor = gap();
    const offsets: Record<string, number> = {};
    order.forEach(([name, size], index) => {
      offsets[name] = cursor;
      cursor += size + (index === order.length - 1 && c.atEnd ? 0 : gap());
    });
    const neededBytes = cursor * elementBytes;
    const pageBytes = 65536;
    let length = this.memory.buffer.byteLength;
    if (length < neededBytes) {
      this.memory.grow(Math.ceil((neededBytes - length) / pageBytes));
      length = this.memory.buffer.byteLength;
    }
    // Shift everything so the last operand ends exactly at the end of memory, if asked.
    const totalElements = length / elementBytes;
    const shift = c.atEnd ? totalElements - cursor : 0;
    const aOffset = offsets.a! + shift,
      bOffset = offsets.b! + shift,
      cOffset = offsets.c! + shift;

    const heap = this.dtype === "f32" ? new Float32Array(this.memory.buffer) : new Float64Array(this.memory.buffer);
    heap.fill(NaN);
    const aAt = (i: number, p: number) => aOffset + i * aS.row + p * aS.col;
    const bAt = (p: number, j: number) => bOffset + p * bS.row + j * bS.col;
    const cAt = (i: number, j: number) => cOffset + i * cRow + j;
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) heap[aAt(i, p)] = 2 * rand() - 1;
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) heap[bAt(p, j)] = 2 * rand() - 1;

    const before = new Uint8Array(this.memory.buffer).slice();
    this.gemm(m, n, c.callK ?? k, aOffset, aS.row, aS.col, bOffset, bS.row, bS.col, cOffset, cRow);
    const after = new Uint8Array(this.memory.buffer);

    const mismatches: string[] = [];
    const isTarget = new Uint8Array(totalElements);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0,
          absSum = 0;
        for (let p = 0; p < k; p++) {
          const product = heap[aAt(i, p)]! * heap[bAt(p, j)]!;
          sum += product;
          absSum += Math.abs(product);
        }
        const tolerance = this.dtype === "f32" ? 1e-6 * Math.max(k, 1) * absSum : 1e-12 * absSum;
        const got = heap[cAt(i, j)]!;
        if (!(Math.abs(got - sum) <= tolerance)) mismatches.push(`C[${i},${j}] = ${got}, expected ${sum}`);
        isTarget[cAt(i, j)] = 1;
      }
    }
    let clobbered = 0;
    for (let e = 0; e < totalElements; e++) {
      if (isTarget[e]) continue;
      for (let byte = e * elementBytes; byte < (e + 1) * elementBytes; byte++) {
        if (before[byte] !== after[byte]) {
          clobbered++;
          break;
        }
      }
    }
    return { mismatches, clobbered };
  }

  expectCorrect(c: Case): void {
    const { mismatches, clobbered } = this.run(c);
    const label = JSON.stringify(c);
    expect(mismatches.slice(0, 3), label).toEqual([]);
    expect(clobbered, `${label}: elements outside C written`).toBe(0);
  }
}

/** The stride layouts of A and B that select each path of the kernel (plus the fully general ones). */
const LAYOUT_PAIRS: Array<[Layout, Layout]> = LAYOUTS.flatMap((a) => LAYOUTS.map((b) => [a, b] as [Layout, Layout]));

for (const dtype of ["f32", "f64"] as const) {
  describe(`wasm gemm (${dtype})`, () => {
    const harness = new Harness(dtype);

    it("is a valid, small module", () => {
      expect(WebAssembly.validate(harness.bytes)).toBe(true);
      expect(harness.bytes.length).toBeLessThan(8192);
    });

    it("computes tiny and edge shapes in every layout", () => {
      const shapes: Array<[number, number, number]> = [
        [1, 1, 1],
        [1, 1, 2],
        [2, 1, 1],
        [1, 2, 1],
        [1, 1, 5],
        [3, 3, 3],
        [4, 4, 4],
        [4, 8, 4],
        [5, 9, 7],
        [8, 7, 5],
        [9, 13, 17],
        [7, 3, 12],
        [12, 16, 1],
        [1, 33, 9],
        [17, 1, 8],
        [6, 10, 11],
        [4, 12, 3],
      ];
      let seed = 1;
      for (const [m, n, k] of shapes) {
        for (const [a, b] of LAYOUT_PAIRS) harness.expectCorrect({ m, n, k, a, b, cPad: seed % 3, seed: seed++ });
      }
    });

    it("assigns zeros when k = 0, and does nothing when m or n is 0", () => {
      for (const [a, b] of LAYOUT_PAIRS) {
        harness.expectCorrect({ m: 5, n: 7, k: 0, a, b, cPad: 2 });
        harness.expectCorrect({ m: 0, n: 7, k: 3, a, b });
        harness.expectCorrect({ m: 5, n: 0, k: 3, a, b });
      }
    });

    it("matches the triple loop at random shapes and strides", () => {
      const rand = random(dtype === "f32" ? 42 : 43);
      for (let t = 0; t < 400; t++) {
        const size = () => 1 + Math.floor(rand() * (t % 4 === 0 ? 40 : 14));
        const [a, b] = LAYOUT_PAIRS[t % LAYOUT_PAIRS.length]!;
        harness.expectCorrect({ m: size(), n: size(), k: size(), a, b, cPad: Math.floor(rand() * 4), seed: t + 7 });
      }
    });

    it("computes the mlp shapes", () => {
      harness.expectCorrect({ m: 64, n: 128, k: 784, a: "row", b: "row" }); // X·W1
      harness.expectCorrect({ m: 784, n: 128, k: 64, a: "col", b: "row" }); // Xᵀ·δ1
      harness.expectCorrect({ m: 64, n: 10, k: 128, a: "row", b: "row" }); // H·W2
      harness.expectCorrect({ m: 64, n: 128, k: 10, a: "row", b: "col" }); // δ2·W2ᵀ
      harness.expectCorrect({ m: 128, n: 10, k: 64, a: "col", b: "row" }); // Hᵀ·δ2
      harness.expectCorrect({ m: 61, n: 37, k: 99, a: "col", b: "col" }); // Aᵀ·Bᵀ (gathered path)
      harness.expectCorrect({ m: 66, n: 131, k: 75, a: "strided", b: "strided", cPad: 5 });
    });

    it("reads and writes nothing past operands that end at the end of memory", () => {
      let seed = 100;
      for (const atEnd of ["b", "c"] as const) {
        for (const [m, n, k] of [
          [5, 7, 9],
          [4, 8, 4],
          [3, 1, 6],
          [9, 3, 2],
        ] as const) {
          for (const [a, b] of LAYOUT_PAIRS) harness.expectCorrect({ m, n, k, a, b, atEnd, seed: seed++ });
        }
      }
    });

    it("is correct across cache-block boundaries (small blocks, so every shape spans several)", () => {
      // Block sizes that are and are not multiples of the register blocks and vector widths.
      const blockings: Array<Partial<GemmBlocking>> = [
        { nc: 8, kc: 4, dotNc: 2, dotKc: 4, unblockedElements: 0 },
        { nc: 5, kc: 3, dotNc: 3, dotKc: 5, unblockedElements: 0 },
        { nc: 12, kc: 7, dotNc: 7, dotKc: 9, unblockedElements: 0 },
        { nc: 1, kc: 1, dotNc: 1, dotKc: 1, unblockedElements: 0 },
        // Blocked only where B has more than 60 elements.
        { nc: 8, kc: 5, dotNc: 4, dotKc: 6, unblockedElements: 60 },
      ];
      let seed = 500;
      for (const blocking of blockings) {
        const small = new Harness(dtype, blocking);
        expect(WebAssembly.validate(small.bytes)).toBe(true);
        const rand = random(seed);
        for (let t = 0; t < 60; t++) {
          const size = () => 1 + Math.floor(rand() * (t % 3 === 0 ? 40 : 14));
          const [a, b] = LAYOUT_PAIRS[t % LAYOUT_PAIRS.length]!;
          small.expectCorrect({ m: size(), n: size(), k: size(), a, b, cPad: Math.floor(rand() * 4), seed: seed++ });
        }
        for (const [a, b] of LAYOUT_PAIRS) {
          small.expectCorrect({ m: 5, n: 7, k: 0, a, b, cPad: 2 });
          for (const atEnd of ["b", "c"] as const)
            small.expectCorrect({ m: 6, n: 11, k: 13, a, b, atEnd, seed: seed++ });
        }
        expect(small.run({ m: 5, n: 6, k: 17, a: "row", b: "col", callK: 16 }).mismatches.length).toBe(30);
        expect(small.run({ m: 5, n: 6, k: 17, a: "col", b: "row", callK: 16 }).mismatches.length).toBe(30);
      }
    });

    it("computes the wide mlp shapes (784-512-512-10, batch 128), spanning several default cache blocks", () => {
      harness.expectCorrect({ m: 128, n: 512, k: 784, a: "row", b: "row" }); // X·W1
      harness.expectCorrect({ m: 784, n: 512, k: 128, a: "col", b: "row" }); // Xᵀ·δ1
      harness.expectCorrect({ m: 128, n: 784, k: 512, a: "row", b: "col" }); // δ1·W1ᵀ
      harness.expectCorrect({ m: 37, n: 300, k: 700, a: "col", b: "col", cPad: 3 }); // gathered path
    });

    it("has a checker that catches a wrong result", () => {
      // The kernel called with k - 1 (one product missing from every dot product) must be reported.
      for (const [a, b] of LAYOUT_PAIRS) {
        expect(harness.run({ m: 5, n: 6, k: 7, a, b, callK: 6 }).mismatches.length).toBe(30);
      }
    });
  });
}
