// The fixed skeletons under templates/, filled by name: `{{name}}` marks a hole.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const templatesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "templates");
const cache = new Map<string, string>();

export function readTemplate(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(templatesDir, name), "utf8");
    cache.set(name, text);
  }
  return text;
}

export function fillTemplate(template: string, holes: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = holes[name];
    if (value === undefined) throw new Error(`internal: template hole {{${name}}} has no value`);
    return value;
  });
}
