// Showing inspection objects: display(x) in Deno's Jupyter kernel, in tslab, or on a console, and
// graph()/equations() that make displayable objects. Notebook conventions (measured with both
// kernels): a bundle with text/plain always, text/latex as "$\displaystyle …$", image/svg+xml for
// drawings; how each kernel is reached is in ./notebook.ts.

import type { Node } from "../ir/node.js";
import type { Tensor } from "../dsl/tensor.js";
import { formatBoth, joinTex, joinText, type FormatOptions } from "../print/format.js";
import { adjointsBetween, gradientOf, latexMime, type MimeBundle } from "../print/expression.js";
import { ComputationGraph, type GraphOptions } from "./graph.js";
import { texName, texText } from "../print/names.js";
import { isModelDefinition } from "../dsl/model.js";
import { inspectModel } from "./model.js";
import { bundlesOf, denoJupyter, inspectText, tslabSend, type Displayable } from "../print/notebook.js";

export type { Displayable } from "../print/notebook.js";

/** Show expressions, graphs, model views or anything displayable: rich output in a notebook, text on a console. */
export async function display(...values: unknown[]): Promise<void> {
  for (const value of values) {
    // a model(...) definition shows as its model view: equations, then drawing
    for (const bundle of bundlesOf(isModelDefinition(value) ? inspectModel(value) : value)) {
      const deno = denoJupyter();
      if (deno) {
        await deno.display(bundle, { raw: true });
        continue;
      }
      if (tslabSend(bundle)) continue;
      process.stdout.write(`${bundle["text/plain"]}\n`);
    }
  }
}

/** The computational graph of `f` as a drawing (lecture circuit style); values make it numeric. */
export function graph(f: Tensor, options: GraphOptions = {}): ComputationGraph {
  return new ComputationGraph(f.node, options);
}

/** Several labelled expressions printed together, sharing temporaries: equations({ "∂f/∂x": gx, … }). */
export class Equations implements Displayable {
  private readonly labels: string[];
  private readonly nodes: Node[];

  constructor(
    entries: Readonly<Record<string, Tensor>>,
    private options: FormatOptions = {},
  ) {
    this.labels = Object.keys(entries);
    this.nodes = Object.values(entries).map((t) => t.node);
    // gradients of one function: their shared adjoints print as δ1, δ2, …
    const origins = this.nodes.map(gradientOf);
    const seed = origins[0]?.seed;
    if (!options.adjoints && seed && origins.every((o) => o?.seed === seed)) {
      this.options = {
        ...options,
        adjoints: adjointsBetween(
          seed,
          origins.map((o) => o!.wrt),
        ),
      };
    }
  }

  private forms() {
    return formatBoth(this.nodes, this.options);
  }

  toString(): string {
    return joinText(this.forms().text, this.labels);
  }

  toTex(): string {
    return joinTex(this.forms().tex, this.labels.map(labelTex));
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.toString(), "text/latex": latexMime(this.toTex()) };
  }

  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }
  [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }): string {
    return inspectText(this, depth, options);
  }
}

/** ∂f/∂w0 → \frac{\partial f}{\partial w_{0}}; names → their LaTeX name; any other label → escaped \text{…}. */
function labelTex(label: string): string {
  const partial = /^∂([\p{L}\p{N}_$]+)\/∂([\p{L}\p{N}_$]+)$/u.exec(label);
  if (partial) return `\\frac{\\partial ${texName(partial[1]!)}}{\\partial ${texName(partial[2]!)}}`;
  return /^[\p{L}\p{N}_$]+$/u.test(label) ? texName(label) : texText(label);
}

export function equations(entries: Readonly<Record<string, Tensor>>, options: FormatOptions = {}): Equations {
  return new Equations(entries, options);
}
