/**
 * Parsing of the YAML configuration files (the routing file, the guardrails file): one place that turns YAML
 * syntax errors and schema issues into a message naming the source, the line and the field.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/**
 * Parses `text` as YAML and validates it with `schema`. A problem becomes `toError(message)`, the message
 * being `<source>:<line>: <field path>: <issue>`.
 * @example parseYamlFile(RoutingFileSchema, text, path, (m) => new RoutingFileError(m))
 */
export function parseYamlFile<S extends z.ZodType>(
  schema: S,
  text: string,
  source: string,
  toError: (message: string) => Error,
): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const error = doc.errors[0]!;
    const { line } = lineCounter.linePos(error.pos[0]);
    throw toError(`${source}:${line}: ${error.message.split('\n')[0]}`);
  }
  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // The deepest node that exists along the issue's path gives the line.
  let line = 1;
  for (let depth = issue.path.length; depth >= 0; depth--) {
    const node = doc.getIn(issue.path.slice(0, depth) as (string | number)[], true) as { range?: [number] } | undefined;
    if (node?.range) {
      line = lineCounter.linePos(node.range[0]).line;
      break;
    }
  }
  throw toError(`${source}:${line}: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
}
