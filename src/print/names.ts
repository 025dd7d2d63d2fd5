// Names as they print: plain text keeps the user's spelling; LaTeX turns trailing digits and
// underscores into subscripts and Greek names (or letters) into their commands, so W1 is W_{1},
// x_out is x_{\mathrm{out}}, alpha is \alpha and δ2 is \delta_{2}.

const greekWords = [
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "pi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Pi",
  "Sigma",
  "Upsilon",
  "Phi",
  "Psi",
  "Omega",
];

const greekLetters: Readonly<Record<string, string>> = {
  α: "alpha",
  β: "beta",
  γ: "gamma",
  δ: "delta",
  ε: "epsilon",
  ζ: "zeta",
  η: "eta",
  θ: "theta",
  ι: "iota",
  κ: "kappa",
  λ: "lambda",
  μ: "mu",
  ν: "nu",
  ξ: "xi",
  π: "pi",
  ρ: "rho",
  σ: "sigma",
  τ: "tau",
  υ: "upsilon",
  φ: "phi",
  χ: "chi",
  ψ: "psi",
  ω: "omega",
  Δ: "Delta",
  Σ: "Sigma",
  Ω: "Omega",
  Φ: "Phi",
  Ψ: "Psi",
  Θ: "Theta",
  Λ: "Lambda",
};

// Characters LaTeX gives a meaning in math mode, as they print literally there.
const mathEscapes: Readonly<Record<string, string>> = {
  "\\": "\\backslash{}",
  "{": "\\{",
  "}": "\\}",
  "%": "\\%",
  "#": "\\#",
  "&": "\\&",
  $: "\\$",
  _: "\\_",
  "^": "\\hat{}",
  "~": "\\sim{}",
};

/** Text typeset upright in math mode (\mathrm), with LaTeX's special characters escaped. */
function mathrm(text: string): string {
  return `\\mathrm{${text.replace(/[\\{}%#&$_^~]/g, (c) => mathEscapes[c]!)}}`;
}

function texWord(word: string): string {
  if (word.length === 0) return "";
  if (greekWords.includes(word)) return `\\${word}`;
  const letters = [...word];
  if (letters.length === 1) {
    const greek = greekLetters[word];
    return greek ? `\\${greek}` : /^[A-Za-z]$/.test(word) ? word : mathrm(word);
  }
  // a Greek letter followed by more (Δw, δz): the command, then the rest on its own
  // (a bare \Deltaw would be an unknown command)
  const greek = greekLetters[letters[0]!];
  if (greek) return `\\${greek}{${texWord(letters.slice(1).join(""))}}`;
  return mathrm(word);
}

/** LaTeX for a variable name: W1 → W_{1}, x_out → x_{\mathrm{out}}, alpha → \alpha, δ2 → \delta_{2}, Δw → \Delta{w}. */
export function texName(name: string): string {
  const underscore = name.indexOf("_");
  if (underscore > 0 && underscore < name.length - 1) {
    const head = name.slice(0, underscore);
    const rest = texSubscript(name.slice(underscore + 1));
    // W1_0 → W_{1,0}: one subscript (TeX refuses a second one on W_{1})
    const numbered = /^(.*?)(\d+)$/u.exec(head);
    if (numbered && numbered[1]!.length > 0 && !numbered[1]!.includes("_"))
      return `${texWord(numbered[1]!)}_{${numbered[2]},${rest}}`;
    return `${texName(head)}_{${rest}}`;
  }
  const match = /^(.*?)(\d+)$/u.exec(name);
  if (match && match[1]!.length > 0 && !match[1]!.endsWith("_")) return `${texWord(match[1]!)}_{${match[2]}}`;
  return texWord(name);
}

function texSubscript(text: string): string {
  if (/^\d+$/.test(text)) return text;
  return text
    .split("_")
    .map((part) => (/^\d+$/.test(part) ? part : texWord(part)))
    .join(",");
}

// The same characters in text mode (\text{…}), where the math-mode commands are not allowed.
const textEscapes: Readonly<Record<string, string>> = {
  "\\": "\\textbackslash{}",
  "{": "\\{",
  "}": "\\}",
  "%": "\\%",
  "#": "\\#",
  "&": "\\&",
  $: "\\$",
  _: "\\_",
  "^": "\\textasciicircum{}",
  "~": "\\textasciitilde{}",
};

/** Any label as LaTeX text: \text{…} with LaTeX's special characters escaped (primes as apostrophes). */
export function texText(text: string): string {
  return `\\text{${text
    .replace(/[\\{}%#&$_^~]/g, (c) => textEscapes[c]!)
    .replace(/′/g, "'")
    .replace(/″/g, "''")}}`;
}

const superscriptDigits = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** 2 → ², 31 → ³¹ (for small integer powers of named functions: tanh²). */
export function superscript(n: number): string {
  return String(n)
    .split("")
    .map((d) => superscriptDigits[Number(d)])
    .join("");
}

/** Shortest faithful decimal, without float noise (0.30000000000000004 → 0.3). */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const short = Number(value.toPrecision(12));
  return String(short);
}
