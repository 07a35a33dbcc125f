/**
 * The guardrail policies in force: the guardrails file (`PARLEY_GUARDRAILS_FILE`) or, without one, the built-in
 * defaults. `loadGuardrails` reads and validates the file before anything connects (a bad file stops the start);
 * `watchGuardrails` reloads it on change or SIGHUP, keeping the policies in use when the new file is bad.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  GuardrailsFileError,
  envValue,
  parseGuardrailsFile,
  resolveGuardrailPolicy,
  watchConfigFile,
  type GuardrailPolicy,
  type GuardrailsFile,
} from '@parley/config';
import type { Logger } from '@parley/tracing';
import { createClassifier, type Classifier } from './classifier.js';

/** A validated guardrails file and its classifier, ready to use. */
export interface LoadedGuardrails {
  file: GuardrailsFile | undefined;
  classifier: Classifier | undefined;
  /** The file's SHA-256, first 12 hex digits: logged on a reload, to tell which file is in force. */
  version?: string;
}

/** The version logged for a guardrails file's text. */
export function guardrailsVersion(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * The file at `path` (none: the defaults), with its classifier.
 * @throws GuardrailsFileError when the file cannot be read, is invalid, or names a key variable that is unset.
 */
export function loadGuardrails(path: string | undefined): LoadedGuardrails {
  if (!path) return { file: undefined, classifier: undefined };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GuardrailsFileError(`PARLEY_GUARDRAILS_FILE: cannot read ${path} (${String(code)})`, { cause: error });
  }
  const file = parseGuardrailsFile(text, path);
  const version = guardrailsVersion(text);
  const config = file.classifier;
  if (!config) return { file, classifier: undefined, version };
  const apiKey = config.apiKeyEnv ? envValue(config.apiKeyEnv) : undefined;
  if (config.apiKeyEnv && !apiKey) {
    throw new GuardrailsFileError(`${path}: classifier: environment variable ${config.apiKeyEnv} is not set`);
  }
  return { file, classifier: createClassifier(config, apiKey), version };
}

/** The policies in force; replaced whole on a reload. */
export class GuardrailPolicies {
  constructor(private loaded: LoadedGuardrails) {}

  replace(loaded: LoadedGuardrails): void {
    this.loaded = loaded;
  }

  /** The policy of a turn of `project` on model alias `model`. */
  policyFor(project: string | undefined, model: string): GuardrailPolicy {
    return resolveGuardrailPolicy(this.loaded.file, project, model);
  }

  get classifier(): Classifier | undefined {
    return this.loaded.classifier;
  }
}

/**
 * Reloads the guardrails file when it changes or on SIGHUP. A file that fails validation is rejected with a
 * logged reason (line and field, never a secret) and the policies in use stay. Returns a function that stops.
 */
export function watchGuardrails(policies: GuardrailPolicies, path: string | undefined, log: Logger): () => void {
  if (!path) return () => undefined;
  return watchConfigFile(path, {
    reload: (reason) => {
      try {
        const loaded = loadGuardrails(path);
        policies.replace(loaded);
        log.info({ file: path, reason, version: loaded.version }, 'guardrails reloaded');
      } catch (error) {
        log.error(
          { file: path, reason, problem: (error as Error).message },
          'guardrails file rejected; keeping the policies in use',
        );
      }
    },
    cannotWatch: (error) =>
      log.warn({ file: path, err: error }, 'cannot watch the guardrails file; reload with SIGHUP'),
  });
}
