/**
 * Reloading a configuration file (the routing file, the guardrails file) when it changes or on SIGHUP.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Editors write a file in several steps; wait for them to settle before reading. */
const RELOAD_DEBOUNCE_MS = 200;

/**
 * Calls `reload(reason)` once the file at `path` has settled after a change, and on SIGHUP. `reload` must not
 * throw: it decides itself what a bad file means (keep what is in use, and log why). `cannotWatch` hears that
 * the directory cannot be watched (then only SIGHUP reloads). Returns a function that stops watching.
 * @example const stop = watchConfigFile(path, { reload: (reason) => apply(reason), cannotWatch: (err) => warn(err) });
 */
export function watchConfigFile(
  path: string,
  { reload, cannotWatch }: { reload: (reason: string) => void; cannotWatch: (error: unknown) => void },
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (reason: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => reload(reason), RELOAD_DEBOUNCE_MS);
  };
  const onHup = () => schedule('SIGHUP');
  process.on('SIGHUP', onHup);
  let watcher: FSWatcher | undefined;
  try {
    // The directory, not the file: editors and ConfigMap updates replace the file rather than write to it.
    watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === basename(path) || file.startsWith('..')) schedule('file changed');
    });
  } catch (error) {
    cannotWatch(error);
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
    process.off('SIGHUP', onHup);
  };
}
