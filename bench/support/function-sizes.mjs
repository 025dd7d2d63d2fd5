// Sizes of the functions in a generated module, for bench/scale.mjs and bench/v8-limit.mjs.
// `typescript` here is 7.x (the native compiler, no compiler API), so this is a lexical scan: it
// skips strings, template literals (with nested ${…}), comments and regular-expression literals,
// and matches braces. Sizes are a function's own: V8 compiles each function on its own, so a
// nested function's body is not part of its parent's size.

const KEYWORDS_BEFORE_PAREN = new Set([
  "if",
  "for",
  "while",
  "switch",
  "catch",
  "with",
  "return",
  "typeof",
  "function",
]);

/**
 * Every `{` and `}` of code (not of strings, templates, comments or regular expressions), in order,
 * as [offset, char], and the offsets of every `(`/`)` likewise, so callers can match them.
 */
function codeTokens(text) {
  const tokens = [];
  const stack = []; // "{" for a code brace, "${" for a template substitution
  let lastSignificant = "";
  let i = 0;
  const n = text.length;
  const skipString = (quote) => {
    for (i++; i < n && text[i] !== quote; i++) if (text[i] === "\\") i++;
    i++;
  };
  // Scans template text from i (just after ` or the } closing a substitution) to its end or to a ${.
  const skipTemplate = () => {
    for (; i < n; i++) {
      if (text[i] === "\\") {
        i++;
        continue;
      }
      if (text[i] === "`") {
        i++;
        return;
      }
      if (text[i] === "$" && text[i + 1] === "{") {
        stack.push("${");
        i += 2;
        return;
      }
    }
  };
  while (i < n) {
    const c = text[i];
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      skipString(c);
      lastSignificant = "x";
      continue;
    }
    if (c === "`") {
      i++;
      skipTemplate();
      lastSignificant = "x";
      continue;
    }
    if (c === "/" && (lastSignificant === "" || "(,=:[!&|?{};+-*%<>~^".includes(lastSignificant))) {
      let inClass = false;
      for (i++; i < n; i++) {
        if (text[i] === "\\") {
          i++;
          continue;
        }
        if (text[i] === "[") inClass = true;
        else if (text[i] === "]") inClass = false;
        else if (text[i] === "/" && !inClass) break;
      }
      i++;
      lastSignificant = "x";
      continue;
    }
    if (c === "{") {
      stack.push("{");
      tokens.push([i, c]);
    } else if (c === "}") {
      if (stack.pop() === "${") {
        i++;
        skipTemplate();
        lastSignificant = "x";
        continue;
      }
      tokens.push([i, c]);
    } else if (c === "(" || c === ")") tokens.push([i, c]);
    if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? "x" : c;
    i++;
  }
  return tokens;
}

const lineCount = (text, start, end) => {
  let lines = 1;
  for (let k = start; k < end; k++) if (text.charCodeAt(k) === 10) lines++;
  return lines;
};

/**
 * Functions of JavaScript source (as esbuild leaves a generated module: no types): `function`
 * declarations and expressions, methods (`name(…) {` in an object or class) and arrow functions
 * with a block body. Returns [{ name, start, end, bytes, lines, ownBytes, ownLines }], where `own`
 * leaves out nested functions. Bytes are UTF-16 code units (the generated code is ASCII but for
 * comments, which esbuild drops).
 */
export function functionSizes(js) {
  const tokens = codeTokens(js);
  const openParen = new Map(); // offset of ")" → offset of its "("
  const parenStack = [];
  for (const [offset, c] of tokens) {
    if (c === "(") parenStack.push(offset);
    else if (c === ")") openParen.set(offset, parenStack.pop());
  }
  const functions = [];
  const open = []; // [offset, function record or null]
  for (const [offset, c] of tokens) {
    if (c === "{") {
      let record = null;
      const before = js.slice(Math.max(0, offset - 400), offset).trimEnd();
      if (before.endsWith("=>")) record = { name: "(arrow)", start: offset };
      else if (before.endsWith(")")) {
        const paren = openParen.get(js.lastIndexOf(")", offset));
        if (paren !== undefined) {
          const headStart = Math.max(0, paren - 200);
          const head = js.slice(headStart, paren);
          const named = /(?:^|[^\w$])function\s*\*?\s*([\w$]*)\s*$/.exec(head);
          const method = /(?:^|[\s,{;])(?:async\s+|get\s+|set\s+|static\s+)*([\w$]+)\s*$/.exec(head);
          if (named) record = { name: named[1] || "(anonymous)", start: headStart + head.lastIndexOf("function") };
          else if (method && !KEYWORDS_BEFORE_PAREN.has(method[1]))
            record = { name: method[1], start: headStart + head.lastIndexOf(method[1]) };
        }
      }
      open.push([offset, record]);
    } else if (c === "}") {
      const [, record] = open.pop() ?? [];
      if (record) {
        record.end = offset + 1;
        record.bytes = record.end - record.start;
        record.lines = lineCount(js, record.start, record.end);
        functions.push(record);
      }
    }
  }
  for (const f of functions) {
    const nested = functions.filter((g) => g !== f && g.start > f.start && g.end <= f.end);
    const outermost = nested.filter((g) => !nested.some((h) => h !== g && h.start < g.start && g.end <= h.end));
    f.ownBytes = f.bytes - outermost.reduce((sum, g) => sum + g.bytes, 0);
    f.ownLines = f.lines - outermost.reduce((sum, g) => sum + g.lines - 1, 0);
  }
  return functions.sort((a, b) => a.start - b.start);
}

/**
 * Functions a generated module runs once per trainer: createTrainer allocates the buffers the entry
 * functions close over and initialises parameters. V8 never optimises run-once code, so its size is
 * no cliff; every function that runs per call is held to the limit.
 */
export const RUN_ONCE = new Set(["createTrainer", "createGpuTrainer"]);

/** The function with the most own bytes among those that run on every call (not RUN_ONCE). */
export function largestFunction(js) {
  return functionSizes(js)
    .filter((f) => !RUN_ONCE.has(f.name))
    .reduce((best, f) => (!best || f.ownBytes > best.ownBytes ? f : best), null);
}

/**
 * Lines and bytes of the declaration `function name(…) … { … }` in the TypeScript a generated
 * module is (comments included): the size a reader of the generated file sees.
 */
export function declarationSize(ts, name) {
  const match = new RegExp(`(?:^|[^\\w$])function\\s+${name.replace(/\$/g, "\\$")}\\s*\\(`).exec(ts);
  if (!match) return null;
  const start = match.index + (match[0].startsWith("function") ? 0 : 1);
  const tokens = codeTokens(ts).filter(([offset]) => offset >= start);
  // The parameter list, then the return type (which may hold `{ … }` or `(…) => …`), then the body.
  let depth = 0;
  let k = 0;
  for (; k < tokens.length; k++) {
    if (tokens[k][1] === "(") depth++;
    else if (tokens[k][1] === ")" && --depth === 0) break;
  }
  for (k++; k < tokens.length; k++) {
    if (tokens[k][1] !== "{") continue;
    const before = ts.slice(tokens[k - 1][0] + 1, tokens[k][0]).trim();
    if (before.endsWith(":") || before.endsWith("=>") || before.endsWith("|") || before.endsWith("&")) {
      // A type literal: skip it.
      let braces = 0;
      for (; k < tokens.length; k++) {
        if (tokens[k][1] === "{") braces++;
        else if (tokens[k][1] === "}" && --braces === 0) break;
      }
      continue;
    }
    break;
  }
  let braces = 0;
  for (; k < tokens.length; k++) {
    if (tokens[k][1] === "{") braces++;
    else if (tokens[k][1] === "}" && --braces === 0) {
      const end = tokens[k][0] + 1;
      return { bytes: Buffer.byteLength(ts.slice(start, end)), lines: lineCount(ts, start, end) };
    }
  }
  return null;
}
