// A stable text form of the lowered program (as ir/print.ts is for the IR), for GRADGEN_DUMP and
// snapshot tests: buffers with their arena offsets, then each entry point's kernels in order:
//
//   loop sigmoid [4] per example  (examples/xor.ts:11)
//     for i0 < 4·n, i1 < 4 (1 written out)
//       v0 = param_W1[i1]
//       v1 = sigmoid(v0)
//     work0[4·i0 + i1] = v1
//
// Extents read `4·n` where they scale with the run-time example count n.

import { unreachable } from "../errors.js";
import type {
  Access,
  BufferDecl,
  EntryPoint,
  Extent,
  GemmKernel,
  Kernel,
  MatrixAccess,
  Program,
  Storage,
  Value,
} from "./program.js";

function formatExtent(extent: Extent): string {
  if (!extent.perExample) return String(extent.factor);
  return extent.factor === 1 ? "n" : `${extent.factor}·n`;
}

function formatStorage(storage: Storage): string {
  if (storage.kind === "buffer") return storage.name;
  const code = storage.code;
  switch (code.kind) {
    case "literal":
      return String(code.value);
    case "batchSize":
      return "n";
    case "learningRate":
      return "learningRate";
    case "local":
      return code.name;
    default:
      return unreachable(code, "scalar code");
  }
}

/** `buffer[offset + stride·i0 + …]`; a scalar as itself. */
function formatAccess(access: Access): string {
  const storage = formatStorage(access.storage);
  if (access.storage.kind === "scalar") return storage;
  const terms = access.strides.flatMap((stride, i) =>
    stride === 0 ? [] : [stride === 1 ? `i${i}` : `${stride}·i${i}`],
  );
  if (access.indirect) terms.push(`${access.indirect.stride}·${formatAccess(access.indirect.access)}`);
  if (access.stepStride) terms.push(`${access.stepStride}·t`);
  const index = [...(access.offset !== 0 || terms.length === 0 ? [String(access.offset)] : []), ...terms].join(" + ");
  return `${storage}[${index}]`;
}

function formatValue(value: Value, index: number): string {
  if (value.kind === "load") return `v${index} = ${formatAccess(value.access)}`;
  const args = value.args.map((arg) => `v${arg}`).join(", ");
  return `v${index} = ${value.op}${value.exponent !== undefined ? `[${value.exponent}]` : ""}(${args})`;
}

function formatMatrix(matrix: MatrixAccess): string {
  return `${matrix.buffer}[${matrix.offset} + ${matrix.rowStride}·row + ${matrix.colStride}·col]`;
}

function formatGemm(kernel: GemmKernel): string[] {
  const lines = [
    `gemm ${kernel.form} ${kernel.comment}`,
    `  m = ${formatExtent(kernel.m)}, n = ${formatExtent(kernel.n)}, k = ${formatExtent(kernel.k)}`,
    `  ${formatMatrix(kernel.c)} = ${formatMatrix(kernel.a)} · ${formatMatrix(kernel.b)}`,
  ];
  const repeat = kernel.repeat;
  if (repeat)
    lines.push(
      `  repeated ${formatExtent(repeat.count)} times, advancing a by ${repeat.aStride}, b by ${repeat.bStride}, c by ${repeat.cStride}`,
    );
  return lines;
}

function formatKernel(kernel: Kernel): string[] {
  switch (kernel.kind) {
    case "loop": {
      const loops = kernel.dims.map((dim, i) => `i${i} < ${formatExtent(dim)}`).join(", ");
      const reduction = kernel.reduction ? `, ${kernel.reduction.op} over the innermost ${kernel.reduction.dims}` : "";
      const unrolled = kernel.unrolled > 0 ? ` (${kernel.unrolled} written out)` : "";
      return [
        `loop ${kernel.comment}`,
        `  for ${loops || "one element"}${reduction}${unrolled}`,
        ...kernel.values.map((value, i) => `    ${formatValue(value, i)}`),
        `  ${formatAccess(kernel.target)} ${kernel.mode === "add" ? "+=" : "="} v${kernel.values.length - 1}`,
        ...(kernel.extraStores ?? []).map((store) => `  ${formatAccess(store.target)} = v${store.value}`),
        ...(kernel.rows ? [`  only the rows ${kernel.rows}'s ids touched`] : []),
        ...(kernel.touches
          ? [
              `  touches rows ${formatAccess(kernel.touches.ids)} for ${kernel.touches.dims.map((d, i) => `i${i} < ${formatExtent(d)}`).join(", ")}`,
            ]
          : []),
      ];
    }
    case "gemm":
      return formatGemm(kernel);
    case "fill":
      return [
        `fill ${kernel.buffer}[0 … ${formatExtent(kernel.length)}] = ${kernel.value}`,
        ...(kernel.rows ? [`  only the rows ${kernel.rows}'s ids touched last call`] : []),
      ];
    case "local":
      return [
        `local ${kernel.name} ${kernel.comment}`,
        ...kernel.values.map((value, i) => `    ${formatValue(value, i)}`),
        `  ${kernel.name} = v${kernel.values.length - 1}`,
      ];
    case "scan":
      return [
        `scan ${kernel.comment}`,
        `  for t ${kernel.reverse ? `= ${kernel.length - 1} … 0` : `< ${kernel.length}`}`,
        ...kernel.kernels.flatMap(formatKernel).map((line) => `    ${line}`),
      ];
    default:
      return unreachable(kernel, "kernel kind");
  }
}

/** Kernels one per block, and the scalar returned, if any. */
export function printKernels(kernels: readonly Kernel[], returns?: Access): string {
  const lines = kernels.flatMap(formatKernel);
  if (returns) lines.push(`return ${formatAccess(returns)}`);
  return lines.join("\n");
}

function formatBuffer(buffer: BufferDecl): string {
  const size = buffer.perExample ? `${buffer.size}·n` : String(buffer.size);
  return `${buffer.name}: ${buffer.role}, ${size} at ${buffer.offset}`;
}

function formatEntry(entry: EntryPoint): string {
  const inputs = entry.inputs.length > 0 ? ` (reads ${entry.inputs.join(", ")})` : "";
  const body = printKernels(entry.kernels, entry.returns);
  return `entry ${entry.name}${inputs}${body ? `\n${body.replace(/^/gm, "  ")}` : ""}`;
}

/** The whole program: header, buffers in arena order, entry points. */
export function printProgram(program: Program): string {
  const { kind, ...hyperparameters } = program.optimizer;
  const settings = Object.entries(hyperparameters)
    .map(([name, value]) => `${name} ${String(value)}`)
    .join(", ");
  return [
    `program ${program.modelName}: batch ${program.batch}, ${program.dtype}, ${kind}${settings ? ` (${settings})` : ""}`,
    `buffers (${program.arenaSize} elements at batch ${program.batch})`,
    ...program.buffers.map((buffer) => `  ${formatBuffer(buffer)}`),
    ...program.entryPoints.map(formatEntry),
  ].join("\n");
}
