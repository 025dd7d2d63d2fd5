// One spelling of how the commands read a flag: `--flag=value` splits at the first "="; anything else
// is the flag (or a file) alone, its value the next argument.

/** [flag, value given inline with "=" or undefined]. */
export function splitFlag(arg: string): [string, string | undefined] {
  const at = arg.indexOf("=");
  return arg.startsWith("--") && at >= 0 ? [arg.slice(0, at), arg.slice(at + 1)] : [arg, undefined];
}
