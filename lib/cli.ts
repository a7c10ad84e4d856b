#!/usr/bin/env node
/**
 * The `convene` command line. `convene server` runs a session server; `convene help`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConveneServer, DEFAULTS, type ServerOptions } from './server/server';
import type { Project } from './server/projects';
import { runDemo } from './demo/demo';

const USAGE = `usage: convene <command> [options]

commands:
  server    run a session server
            --host H            (env CONVENE_HOST, default 127.0.0.1)
            --port P            (env CONVENE_PORT, default 4100; 0 picks a free port)
            --api-key K         (env CONVENE_API_KEY)
            --api-secret S      (env CONVENE_API_SECRET)
            --config F          JSON file: {"projects":[{"apiKey","apiSecret"}], "port", "host", "graceWindowMs", ...}
            --tls-cert F --tls-key F   serve wss:// and https://
            --grace-window MS   keep dropped connections this long for a resume (default 30000)
            --keepalive-interval MS --keepalive-timeout MS
            --max-connections N connections per session (default 1000)
            --signal-rate N     signals per second per connection (default 1000, 0 = no limit)
            --shutdown-timeout MS  on SIGTERM/SIGINT, exit after this long even when clients
                                do not finish closing (default 5000)
            Without a project, a development project is created and printed.
  demo      run an embedded server and three bots that join, publish, signal,
            lose their network and come back; prints a timeline and a summary
  help      this text
`;

function fail(message: string): never {
  process.stderr.write(`convene: ${message}\n`);
  process.exit(2);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  // Plain decimal digits only: Number() would take '' and '  ' as 0, and '0x10', '1e3' as numbers.
  const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) fail(`--${name} must be a whole number >= 0, got '${v}'`);
  return n;
}

/** An environment variable, with an empty value treated as unset. */
function envVar(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** How long SIGTERM waits for clients to finish their close handshakes before exiting anyway. */

async function serverCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' }, port: { type: 'string' },
      'api-key': { type: 'string' }, 'api-secret': { type: 'string' },
      config: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
      'grace-window': { type: 'string' }, 'keepalive-interval': { type: 'string' }, 'keepalive-timeout': { type: 'string' },
      'max-connections': { type: 'string' }, 'signal-rate': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
    },
  });
  let fileOpts: Partial<ServerOptions> = {};
  if (values.config) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(values.config, 'utf8'));
    } catch (e) {
      fail(`cannot read config file ${values.config}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      fail(`config file ${values.config} must hold a JSON object`);
    }
    fileOpts = parsed as Partial<ServerOptions>;
    if (fileOpts.projects !== undefined && !Array.isArray(fileOpts.projects)) fail(`config file ${values.config}: 'projects' must be an array`);
  }
  const projects: Project[] = [...(fileOpts.projects ?? [])];
  const apiKey = values['api-key'] ?? envVar('CONVENE_API_KEY');
  const apiSecret = values['api-secret'] ?? envVar('CONVENE_API_SECRET');
  if ((apiKey === undefined) !== (apiSecret === undefined)) fail('--api-key and --api-secret go together');
  let dev = false;
  if (apiKey !== undefined && apiSecret !== undefined) projects.push({ apiKey, apiSecret });
  if (projects.length === 0) {
    dev = true;
    projects.push({ apiKey: 'convene-dev', apiSecret: randomBytes(24).toString('base64url') });
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) fail('--tls-cert and --tls-key go together');
  let tls: ServerOptions['tls'];
  if (values['tls-cert'] && values['tls-key']) {
    try {
      tls = { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) };
    } catch (e) {
      fail(`cannot read TLS files: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const options: ServerOptions = {
    ...fileOpts,
    projects,
    host: values.host ?? envVar('CONVENE_HOST') ?? fileOpts.host,
    port: num('port', values.port ?? envVar('CONVENE_PORT')) ?? fileOpts.port,
    graceWindowMs: num('grace-window', values['grace-window']) ?? fileOpts.graceWindowMs,
    keepaliveIntervalMs: num('keepalive-interval', values['keepalive-interval']) ?? fileOpts.keepaliveIntervalMs,
    keepaliveTimeoutMs: num('keepalive-timeout', values['keepalive-timeout']) ?? fileOpts.keepaliveTimeoutMs,
    maxConnectionsPerSession: num('max-connections', values['max-connections']) ?? fileOpts.maxConnectionsPerSession,
    signalsPerSecond: num('signal-rate', values['signal-rate']) ?? fileOpts.signalsPerSecond,
    shutdownTimeoutMs: num('shutdown-timeout', values['shutdown-timeout']) ?? fileOpts.shutdownTimeoutMs,
  };
  if (tls) options.tls = tls;
  let server: ConveneServer;
  try {
    server = new ConveneServer(options);
    await server.listen();
  } catch (e) {
    fail(`cannot start the server: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (dev) {
    const p = projects[0] as Project;
    process.stdout.write(`development project: api key ${p.apiKey}  api secret ${p.apiSecret}\n`);
  }
  process.stdout.write(`REST API at ${server.apiUrl}\n`);
  process.stdout.write(`listening on ${server.url}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`convene: ${signal}: telling clients (serverRotation) and closing\n`);
    server.close().then(
      (dropped) => {
        if (dropped > 0) process.stderr.write(`convene: ${dropped} client(s) did not finish closing within ${options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs} ms; dropped\n`);
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  try {
    switch (command) {
      case 'server':
        return await serverCommand(rest);
      case 'demo':
        process.exitCode = await runDemo();
        return;
      case 'help': case '--help': case '-h': case undefined:
        process.stdout.write(USAGE);
        return;
      default:
        fail(`unknown command '${command}'\n${USAGE}`);
    }
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

void main();
