/**
 * What the operator commands (backup and restore, keys) share: a NATS connection that fails fast, one-line
 * error messages, and the NATS_URL's passwords kept out of everything they print.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '@parley/config';

/** How long the first connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Fails fast (no retry forever, unlike the services): a command should say at once that NATS is not there. */
export async function connectForCommand(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url.split(','), name, timeout: CONNECT_TIMEOUT_MS, noAsyncTraces: true });
  } catch (error) {
    const hosts = url
      .split(',')
      .map((server) => new URL(server).host)
      .join(',');
    throw new Error(`cannot connect to NATS at ${hosts}: ${describeError(error)}`, { cause: error });
  }
}

/** An error as one line: its message, its cause's where that adds something, a configuration's problems. */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError) return `invalid configuration: ${error.problems.join('; ')}`;
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? error.cause : undefined;
  return cause ? `${error.message} (${cause.message})` : error.message;
}

/** Errors of the code itself, not of its input or surroundings: those get their stack too. */
export function isBug(error: unknown): boolean {
  return error instanceof TypeError || error instanceof ReferenceError || error instanceof RangeError;
}

/** The passwords and tokens in NATS_URL (`nats://user:password@host`, `nats://token@host`), never printed. */
export function urlSecrets(url: string): string[] {
  return url.split(',').flatMap((server) => {
    // An unparsable URL is refused by the configuration's check, which does not echo a password-like part.
    const { username, password } = URL.parse(server) ?? { username: '', password: '' };
    const secret = decodeURIComponent(password || username);
    return secret ? [secret] : [];
  });
}

export function redact(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, '***'), text);
}
