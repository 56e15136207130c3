// Local checks of Hive DDL before anything reaches HiveServer2: syntax through dt-sql-parser's HiveSQL
// grammar (node-sql-parser cannot parse Hive DDL; see README), then the TBLPROPERTIES of every
// CREATE ... STORED BY our handler and every ALTER ... SET TBLPROPERTIES against the shared rules.
import { HiveSQL } from 'dt-sql-parser';
import { KAFKA_STREAM_STORAGE_HANDLER } from '../metastore/watcher.ts';
import { formatProblems, parseTableProperties } from '../properties/parse.ts';
import { findKnownMistakes } from './ddl-mistakes.ts';
import { lineColumn } from './hive-lexer.ts';
import { checkProjection } from '../format/decoder.ts';
import { TableFormatError } from '../format/format.ts';
import type { ColumnSpec } from '../hive/convert.ts';

const hive = new HiveSQL();

/** Problems as `line:column: message`, in source order; empty when the SQL is fine. */
export function validateSql(sql: string): string[] {
  const syntax = syntaxProblems(sql);
  if (syntax.length > 0) return syntax;
  const problems: string[] = [];
  for (const stmt of hive.splitSQLByStatement(sql) ?? []) {
    const text = stmt.text;
    const create = /^\s*CREATE\s+(?:EXTERNAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.`]+)/i.exec(text);
    const alter = /^\s*ALTER\s+TABLE\s+([\w.`]+)\s+SET\s+TBLPROPERTIES/i.exec(text);
    const ours = create && new RegExp(`STORED\\s+BY\\s+['"]${KAFKA_STREAM_STORAGE_HANDLER.replace(/\./g, '\\.')}['"]`, 'i').test(text);
    if (!ours && !alter) continue;
    const table = (create ?? alter)![1]!.replace(/`/g, '');
    const result = parseTableProperties(tblProperties(text), { partial: Boolean(alter) });
    if (!result.ok) problems.push(...formatProblems(table, result.problems).split('\n').map((p) => `${stmt.startLine}:${stmt.startColumn}: ${p}`));
    else if (create) {
      // A mapping or time partitioning is judged against the statement's own columns, as the service will.
      try {
        checkProjection(result.spec, { table, ...ddlColumns(text) });
      } catch (error) {
        if (!(error instanceof TableFormatError)) throw error;
        problems.push(`${stmt.startLine}:${stmt.startColumn}: table ${table}: property '${error.property}' ${error.reason}`);
      }
    }
  }
  return problems;
}

/** The column list and PARTITIONED BY columns of a CREATE TABLE the grammar accepted. */
export function ddlColumns(statement: string): { columns: ColumnSpec[]; partitionKeys: ColumnSpec[] } {
  const head = /^\s*CREATE\s+(?:EXTERNAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w.`]+\s*/i.exec(statement);
  const columns = head && statement[head[0].length] === '(' ? columnList(statement, head[0].length) : [];
  const partitioned = /PARTITIONED\s+BY\s*\(/i.exec(statement);
  const partitionKeys = partitioned ? columnList(statement, partitioned.index + partitioned[0].length - 1) : [];
  return { columns, partitionKeys };
}

/** `name type [COMMENT '...']` entries between the parenthesis at `open` and its match; commas inside types do not split. */
function columnList(text: string, open: number): ColumnSpec[] {
  const entries: string[] = [];
  let depth = 0;
  let start = open + 1;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) { if (ch === '\\') i++; else if (ch === quote) quote = undefined; continue; }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(' || ch === '<') depth++;
    else if (ch === ')' || ch === '>') {
      depth--;
      if (depth === 0) { entries.push(text.slice(start, i)); break; }
    } else if (ch === ',' && depth === 1) { entries.push(text.slice(start, i)); start = i + 1; }
  }
  return entries.map((e) => e.trim()).filter((e) => e !== '').map((e) => {
    const m = /^`?([\w]+)`?\s+([\s\S]+?)(?:\s+COMMENT\s+[\s\S]*)?$/i.exec(e);
    return { name: (m?.[1] ?? e).toLowerCase(), type: (m?.[2] ?? 'string').replace(/\s+/g, '').toLowerCase() };
  });
}

/**
 * The grammar's errors, except that known mistakes (ddl-mistakes.ts) are named with their fix and the
 * grammar then judges a copy with them repaired: its knock-on errors after a `//` or a missing comma
 * say nothing useful. The grammar has the last word: SQL it accepts is never reported.
 */
function syntaxProblems(sql: string): string[] {
  const errors = hive.validate(sql);
  const grammarError = (e: (typeof errors)[number]) => `syntax error: ${e.message.replace(/\n/g, '\\n')}`;
  if (errors.length === 0) return [];
  const { mistakes, corrected } = findKnownMistakes(sql);
  if (mistakes.length === 0) return errors.map((e) => `${e.startLine}:${e.startColumn}: ${grammarError(e)}`);
  const correctedLines = lineStarts(corrected.text);
  const remaining = hive.validate(corrected.text).map((e) => ({
    offset: corrected.originOf(correctedLines[e.startLine - 1]! + e.startColumn - 1),
    message: grammarError(e),
  }));
  return [...mistakes.map((m) => ({ offset: m.offset, message: `syntax error: ${m.message}` })), ...remaining]
    .sort((a, b) => a.offset - b.offset)
    .map((p) => { const { line, column } = lineColumn(sql, p.offset); return `${line}:${column}: ${p.message}`; });
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** The key/value pairs of a statement's TBLPROPERTIES (...) clause; the grammar already accepted it. */
function tblProperties(statement: string): Record<string, string> {
  const clause = /TBLPROPERTIES\s*\(([\s\S]*)\)/i.exec(statement)?.[1] ?? '';
  const props: Record<string, string> = {};
  const pair = /(['"])((?:\\.|(?!\1).)*)\1\s*=\s*(['"])((?:\\.|(?!\3).)*)\3/g;
  for (const m of clause.matchAll(pair)) props[m[2]!] = m[4]!;
  return props;
}
