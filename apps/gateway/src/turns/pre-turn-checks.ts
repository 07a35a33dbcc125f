/**
 * The checks of the turn gate, in the order they run (cheap refusals first). Adding one is a function and a
 * line here.
 */
import type { VisitorLimits } from '../rate-limits/visitor-limits.js';
import type { PreTurnCheck } from './turn-gate.service.js';

export function preTurnChecks({ visitorLimits }: { visitorLimits: VisitorLimits }): PreTurnCheck[] {
  return [
    {
      // A public widget key is in every page: a visitor's new messages are limited before their turn starts.
      name: 'visitor_messages',
      admit: async ({ visitor, address }) => {
        if (visitor) await visitorLimits.message(visitor, address);
      },
    },
  ];
}
