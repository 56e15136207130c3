// The README's TBLPROPERTIES rows: each property's contract (properties/rules.ts) with what an ALTER of
// it does (the lifecycle table). A unit test keeps the README in step with both.
import { describeRule } from '../properties/parse.ts';
import { PROPERTIES } from '../properties/rules.ts';
import { alterEffect } from './states.ts';

/** One markdown row per property. */
export function readmeRows(): string {
  const code = (s: string) => `\`${s}\``;
  return PROPERTIES.map((p) => {
    const name = code(p.name) + (p.aliases.length ? ` (alias ${p.aliases.map(code).join(', ')})` : '');
    const dflt = p.required ? '**required**' : p.default === '' ? '(none)' : code(p.default!);
    return `| ${name} | ${dflt} | ${describeRule(p.rule)} | ${p.doc} | ${p.onAlter}: ${alterEffect(p.onAlter)} |`;
  }).join('\n');
}

