/**
 * What the history specs share: a user entry with fresh ids. (Test code: excluded from the build, linted
 * with the spec rules.)
 */
import { newId, type HistoryMessage } from '@parley/contracts';

export function userEntry(content: string, id = newId('message')): HistoryMessage {
  return { id, turnId: newId('turn'), role: 'user', content, createdAt: new Date().toISOString() };
}
