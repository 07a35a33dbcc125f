/**
 * Cancelling a turn: one message on the turn's cancel subject, heard by the responder driving it and by the
 * inference replica generating it, whichever gateway or replica sends it.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { TurnCancel, type Cancel, type CancelReason } from '@parley/contracts';
import type { Logger } from '@parley/tracing';
import { decode, encode } from './codec.js';

/**
 * Asks every hop of a turn to stop.
 * @example cancelTurn(nc, turnId, 'user');
 */
export function cancelTurn(nc: NatsConnection, turnId: string, reason: CancelReason): void {
  nc.publish(TurnCancel.subject(turnId), encode({ reason } satisfies Cancel));
}

/**
 * Calls `onCancel` when the turn is cancelled; an invalid cancel message is logged and ignored. Unsubscribe
 * the returned subscription when the turn ends.
 */
export function onCancel(
  nc: NatsConnection,
  turnId: string,
  log: Logger,
  onCancel: (reason: CancelReason) => void,
): Subscription {
  return nc.subscribe(TurnCancel.subject(turnId), {
    callback: (error, msg) => {
      if (error) return;
      try {
        onCancel(decode(TurnCancel.message, msg.data, 'cancel').reason);
      } catch (invalid) {
        log.warn({ err: invalid, turnId }, 'ignored an invalid cancel');
      }
    },
  });
}
