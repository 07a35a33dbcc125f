import { loadSimConfig, SimConfigError, type SimConfig } from './config.js';
import { startLlmSim } from './server.js';

function logLine(line: Record<string, unknown>, stream: NodeJS.WriteStream = process.stdout): void {
  stream.write(`${JSON.stringify(line)}\n`);
}

function readConfig(): SimConfig {
  try {
    return loadSimConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof SimConfigError)) throw error;
    logLine({ level: 'error', msg: 'llm-sim: invalid configuration', error: error.message }, process.stderr);
    process.exit(1);
  }
}

const sim = await startLlmSim(readConfig());

const shutdown = (signal: NodeJS.Signals): void => {
  logLine({ level: 'info', msg: 'llm-sim shutting down', signal });
  sim.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logLine({ level: 'error', msg: 'llm-sim close failed', error: String(error) }, process.stderr);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
// Only once a SIGTERM would be handled gracefully is the simulator ready.
logLine({ level: 'info', service: 'llm-sim', msg: 'ready', url: sim.url, port: sim.port });
