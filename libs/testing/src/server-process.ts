/**
 * What the test servers (nats-server, redis-server) share: starting one as a tracked child process and
 * waiting for its ready line, retrying on another free port when the one picked was taken meanwhile, and
 * stopping it with a SIGKILL fallback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { ProcessOutput } from './process-output.js';

/** How long a server may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** First-start attempts: another process may take the free port between `freePort()` and the bind. */
const PORT_ATTEMPTS = 3;

export interface ServerProcess {
  child: ChildProcess;
  output: ProcessOutput;
}

export interface LaunchOptions {
  /** The executable, looked up on PATH unless it is a path. */
  binary: string;
  args: string[];
  port: number;
  cwd?: string;
  /** The log line that says the server accepts connections. */
  readyLine: string;
  readyTimeoutMs: number;
  /** The Debian package that provides `binary`, named when it cannot be run. */
  debianPackage: string;
}

/**
 * Starts the server and resolves once it logs `readyLine`. Its output is kept (for error messages) and the
 * process dies with the test process.
 *
 * @throws Error with the output's tail when it ends or times out first, or naming the package to install.
 */
export async function launchServer(options: LaunchOptions): Promise<ServerProcess> {
  const { binary, args, port, cwd, readyLine, readyTimeoutMs, debianPackage } = options;
  const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const running = { child, output: new ProcessOutput(child) };
  try {
    await running.output.waitFor(
      `${binary} on port ${port} to be ready`,
      (line) => (line.includes(readyLine) ? true : undefined),
      readyTimeoutMs,
    );
    return running;
  } catch (error) {
    await stopServer(running);
    if (running.output.spawnError) {
      throw new Error(
        `cannot run ${binary} (${running.output.spawnError.message}): apt-get install -y ${debianPackage}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Starts a server on a free port of 127.0.0.1, on another one when the port was taken before the server
 * bound it (its error contains `inUse`), at most PORT_ATTEMPTS times.
 */
export async function launchOnFreePort(
  launch: (port: number) => Promise<ServerProcess>,
  inUse: string,
): Promise<{ port: number; running: ServerProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { port, running: await launch(port) };
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !String(error).includes(inUse)) throw error;
    }
  }
}

/** `signal` (SIGTERM unless told), then SIGKILL after STOP_TIMEOUT_MS; resolves once the process is gone. */
export async function stopServer(
  { child, output }: ServerProcess,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  if (child.exitCode === null && child.signalCode === null) {
    // A paused server would not see the SIGTERM.
    child.kill('SIGCONT');
    child.kill(signal);
    timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  }
  try {
    await output.closed;
  } finally {
    clearTimeout(timer);
  }
}
