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
import { createSessionViaRest, mintToken } from './mint';
import { runJoin } from './join';
import { ROLES, type Role } from './server/tokens';

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
            --redis URL         redis://HOST:PORT: run as one node of a cluster sharing its
                                sessions through Redis (env CONVENE_REDIS_URL; docs/cluster.md)
            Without a project, a development project is created and printed.
  demo      run an embedded server and three bots that join, publish, signal,
            lose their network and come back; prints a timeline and a summary
  join      join a session on the native core: every event is printed as one JSON line,
            each line of standard input is sent as a signal ("type:data" or "data")
            --server-url U --api-key K --session S --token T
  session   create a session on a running server (REST), print its id
            --server-url U      ws:// or http:// URL of the server (env CONVENE_SERVER_URL, default ws://127.0.0.1:4100)
            --api-key K --api-secret S   (env CONVENE_API_KEY, CONVENE_API_SECRET)
            --media-mode relayed|routed  (default relayed)
  token     mint a client token for a session (no server call), print it
            --api-key K --api-secret S --session S
            --role subscriber|publisher|publisheronly|moderator (default publisher)
            --data D            connection data (at most 1000 characters)
            --expire-in SECONDS (default 86400, at most 2592000)
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
      'shutdown-timeout': { type: 'string' }, redis: { type: 'string' },
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
    redis: values.redis ?? envVar('CONVENE_REDIS_URL') ?? fileOpts.redis,
  };
  if (options.redis !== undefined && !/^rediss?:\/\//.test(options.redis)) fail(`--redis must be a redis:// URL, not '${options.redis}'`);
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
  if (server.cluster) process.stdout.write(`cluster node ${server.cluster.nodeId} on ${options.redis}\n`);
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

function projectFrom(values: { 'api-key'?: string | undefined; 'api-secret'?: string | undefined }): Project {
  const apiKey = values['api-key'] ?? envVar('CONVENE_API_KEY');
  const apiSecret = values['api-secret'] ?? envVar('CONVENE_API_SECRET');
  if (!apiKey || !apiSecret) fail('--api-key and --api-secret are required (or CONVENE_API_KEY and CONVENE_API_SECRET)');
  return { apiKey, apiSecret };
}

async function sessionCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { 'server-url': { type: 'string' }, 'api-key': { type: 'string' }, 'api-secret': { type: 'string' }, 'media-mode': { type: 'string' } },
  });
  const project = projectFrom(values);
  const url = values['server-url'] ?? envVar('CONVENE_SERVER_URL') ?? 'ws://127.0.0.1:4100';
  if (!/^(wss?|https?):\/\//.test(url)) fail(`--server-url must be a ws://, wss://, http:// or https:// URL, got '${url}'`);
  const mode = values['media-mode'] ?? 'relayed';
  if (mode !== 'relayed' && mode !== 'routed') fail(`--media-mode must be relayed or routed, got '${mode}'`);
  const apiUrl = url.replace(/^ws/, 'http');
  try {
    process.stdout.write(`${await createSessionViaRest(apiUrl, project, mode)}\n`);
  } catch (e) {
    fail(`cannot create a session at ${apiUrl}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
  }
}

async function tokenCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'api-key': { type: 'string' }, 'api-secret': { type: 'string' }, session: { type: 'string' },
      role: { type: 'string' }, data: { type: 'string' }, 'expire-in': { type: 'string' },
    },
  });
  const project = projectFrom(values);
  if (!values.session) fail('--session is required');
  const role = (values.role ?? 'publisher') as Role;
  if (!ROLES.includes(role)) fail(`--role must be one of ${ROLES.join(', ')}, got '${values.role}'`);
  const data = values.data ?? '';
  if (data.length > 1000) fail('--data is longer than 1000 characters');
  const ttl = num('expire-in', values['expire-in']) ?? 86_400;
  if (ttl < 1 || ttl > 30 * 86_400) fail('--expire-in must be between 1 and 2592000 seconds');
  process.stdout.write(`${await mintToken(project, values.session, data, role, ttl)}\n`);
}

async function joinCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { 'server-url': { type: 'string' }, 'api-key': { type: 'string' }, session: { type: 'string' }, token: { type: 'string' } },
  });
  const apiKey = values['api-key'] ?? envVar('CONVENE_API_KEY');
  if (!apiKey || !values.session || !values.token) fail('join needs --api-key, --session and --token');
  const serverUrl = values['server-url'] ?? envVar('CONVENE_SERVER_URL');
  if (serverUrl !== undefined && !/^wss?:\/\//.test(serverUrl)) fail(`--server-url must be a ws:// or wss:// URL, got '${serverUrl}'`);
  return runJoin({ apiKey, sessionId: values.session, token: values.token, ...(serverUrl ? { serverUrl } : {}) });
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
      case 'session':
        return await sessionCommand(rest);
      case 'join':
        process.exitCode = await joinCommand(rest);
        return;
      case 'token':
        return await tokenCommand(rest);
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
