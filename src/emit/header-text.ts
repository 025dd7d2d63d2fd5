// Text that reaches a generated module's header comments from outside (the model's path, the
// command that regenerates the file). A line terminator in a `//` comment would end it and turn
// the rest of the line into code, so anything not plain is quoted.

/** Characters a path may hold and still be printed as typed: in a comment and as a shell word. */
const plain = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Line terminators of JavaScript source (ECMA-262 LineTerminator). */
const lineTerminators = /[\n\r\u2028\u2029]/g;

const escapes: Readonly<Record<string, string>> = {
  "\n": "\\n",
  "\r": "\\r",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** Text for a `//` comment: every line terminator escaped, so the comment cannot end early. */
export function commentText(text: string): string {
  return text.replace(lineTerminators, (c) => escapes[c]!);
}

/** A path as a header names it: as typed when plain, otherwise JSON-quoted (which escapes \n and \r) with U+2028/U+2029 escaped too. */
export function quotedPath(file: string): string {
  return plain.test(file) ? file : commentText(JSON.stringify(file));
}

/** One word of a POSIX shell command line: as typed when plain, '…' when printable, $'…' (bash, zsh) when it holds control characters. */
export function shellWord(word: string): string {
  if (plain.test(word)) return word;
  // Control characters are what this test looks for: they decide between '…' and $'…'.
  // oxlint-disable-next-line no-control-regex
  if (!/[\u0000-\u001f\u007f\u2028\u2029]/.test(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  const escaped = [...word].map((c) => {
    if (c === "\\" || c === "'") return `\\${c}`;
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.codePointAt(0)!;
    if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, "0")}`;
    if (code === 0x2028 || code === 0x2029) return `\\u${code.toString(16)}`;
    return c;
  });
  return `$'${escaped.join("")}'`;
}
