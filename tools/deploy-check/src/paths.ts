/** Locations in the repository, independent of the directory the tests run from. */
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../../', import.meta.url);

/** The absolute path of a repository-relative path. */
export const repoPath = (path: string): string => fileURLToPath(new URL(path, ROOT));
