/**
 * A logger for specs whose lines land in an array, parsed. (Test code: excluded from the build, linted with
 * the spec rules.)
 */
import { createLogger, type Logger } from '@parley/tracing';

export function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    service: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}
