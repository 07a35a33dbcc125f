/**
 * The checks of the turn gate, in the order they run (cheap refusals first, the reservation last, so that a
 * refused turn reserves nothing). Adding one is a function and a line here.
 */
import { ParleyError } from '@parley/contracts';
import { assertModelAllowed } from '../auth/caller.js';
import { rateLimitHeaders, type LimitsService } from '../limits/limits.js';
import type { ModelsService } from '../models/models.service.js';
import type { VisitorLimits } from '../rate-limits/visitor-limits.js';
import type { PreTurnCheck } from './turn-gate.service.js';

export function preTurnChecks({
  visitorLimits,
  models,
  limits,
}: {
  visitorLimits: VisitorLimits;
  models: ModelsService;
  limits: LimitsService;
}): PreTurnCheck[] {
  return [
    {
      // A key or project may be limited to some models.
      name: 'model_access',
      admit: async (caller, turn) => assertModelAllowed(caller, turn.model),
    },
    {
      // Every turn is bounded: a request without max_tokens gets the model's default, one over its maximum is
      // refused rather than cut.
      name: 'max_tokens',
      admit: async (_caller, turn) => {
        const { default: fallback, max } = await models.maxTokens(turn.model);
        const asked = turn.params.max_tokens;
        if (asked === undefined) turn.params.max_tokens = fallback;
        else if (asked > max) {
          throw new ParleyError('invalid_request', `max_tokens may be at most ${max} for model "${turn.model}"`, {
            param: 'max_tokens',
          });
        }
      },
    },
    {
      // A public widget key is in every page: a visitor's new messages are limited before their turn starts.
      name: 'visitor_messages',
      admit: async ({ visitor, address }) => {
        if (visitor) await visitorLimits.message(visitor, address);
      },
    },
    {
      name: 'limits',
      admit: async (caller, turn) => {
        const reservation = await limits.reserve(caller, turn);
        return {
          headers: rateLimitHeaders(reservation.state),
          started: reservation.started,
          refused: reservation.refused,
        };
      },
    },
  ];
}
