#!/usr/bin/env node
/**
 * The `convene` command line: `convene server` runs a session server; `session`, `token` and
 * `join` work against one; `demo`; `help`, `COMMAND --help`, `--version`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConveneServer, DEFAULTS, type ServerOptions } from './server/server';
import { ProjectStore, type Project } from './server/projects';
import { checkSessionId } from './server/session-id';
import { createLogger, isLogLevel, LOG_LEVELS, type Logger } from './server/logger';
import { runDemo } from './demo/demo';
import { createSessionViaRest, mintToken } from './mint';
import { runJoin } from './join';
import { ROLES, type Role } from './server/tokens';
import { devProjectPath, readDevProject, removeDevProject, writeDevProject, type DevProject } from './dev-project';

const COMMANDS = {
  server: {
    summary: 'run a session server',
    usage: `usage: convene server [options]

Runs a session server: the WebSocket protocol and the OpenTok REST API on one port. Prints
"REST API at URL" and "listening on URL" on standard output, then logs JSON lines on
standard error.

options:
  --host H              (env CONVENE_HOST, default 127.0.0.1)
  --port P              (env CONVENE_PORT, default 4100; 0 picks a free port)
  --api-key K           (env CONVENE_API_KEY)
  --api-secret S        (env CONVENE_API_SECRET)
  --config F            JSON file: {"projects":[{"apiKey","apiSecret"}], "port", "host", "graceWindowMs", ...}
  --tls-cert F --tls-key F   serve wss:// and https://
  --grace-window MS     keep dropped connections this long for a resume (default 30000)
  --keepalive-interval MS --keepalive-timeout MS
  --max-connections N   connections per session (default 1000)
  --signal-rate N       signals per second per connection (default 1000, 0 = no limit)
  --max-per-address N   open TCP connections per remote address (default 256, 0 = no limit)
  --headers-timeout MS  time a new socket has to send its HTTP request headers (default 5000)
  --max-send-buffer B   bytes waiting to be sent to one client before it is dropped with
                        4003 (default 8388608; reading pauses at half; at least 65536)
  --shutdown-timeout MS on SIGTERM/SIGINT, exit after this long even when clients
                        do not finish closing (default 5000)
  --redis URL           redis://HOST:PORT: run as one node of a cluster sharing its
                        sessions through Redis (env CONVENE_REDIS_URL; docs/cluster.md)
  --cluster-secret S    the secret every node of the cluster shares (16+ characters) to
                        forward media to each other (env CONVENE_CLUSTER_SECRET); without
                        it a subscriber gets media only from publishers of its own node
  --cluster-media-address HOST:PORT
                        where this node listens for the other nodes' media links, and the
                        address it announces (default: --host, a free port)
  --log-level L         trace, debug, info, warn, error, fatal or silent
                        (env CONVENE_LOG_LEVEL, default info)
  --rtc-public-ip IP    WebRTC: announce this address besides the host candidates
                        (1:1 NAT, a host behind a load balancer)
  --rtc-ports MIN-MAX   WebRTC: UDP ports of the browsers' peer connections
  --no-webrtc           refuse WebRTC (rtcPublish / rtcSubscribe fail with 4419)

Without a project, a development project is made up, printed, and written to
${devProjectPath()} (env CONVENE_HOME moves it), where session, token and join find it.
`,
  },
  demo: {
    summary: 'run an embedded server and three bots (join, publish, signal, lose the network, come back)',
    usage: `usage: convene demo [--stay] [--port N]

Runs an embedded server and three bots that join, publish, sing (each its own pitch), signal,
lose their network and come back; prints a timeline and a summary. Exits 0 when every signal
arrived exactly once and every bot heard the others at their pitch. It prints the room page's
URL: open it in a browser to meet the bots.

  --stay     keep the server and the singing bots after the summary, until Ctrl-C
  --port N   the server's port (default: any free one)
`,
  },
  join: {
    summary: 'join a session on the native core; events out as JSON lines, stdin lines in as signals',
    usage: `usage: convene join --session S --token T [options]

Joins a session on the native core: every event is printed as one JSON line; each line of
standard input is sent as a signal ("type:data" or "data"). At the end of standard input,
waits for the signals still in flight, then disconnects.

options:
  --server-url U        ws://, wss://, http:// or https:// URL of the server
                        (env CONVENE_SERVER_URL; default: the development server's, else ws://127.0.0.1:4100)
  --api-key K           (env CONVENE_API_KEY; default: the development project's)
  --session S           session id (convene session prints one)
  --token T             client token (convene token prints one)
  --record FILE.wav     subscribe to every stream's audio and write the mix to FILE.wav
                        (16-bit PCM, 48 kHz mono); the file is complete once join exits
`,
  },
  session: {
    summary: 'create a session on a running server (REST), print its id',
    usage: `usage: convene session [options]

Creates a session on a running server through its REST API and prints its id.

options:
  --server-url U        ws://, wss://, http:// or https:// URL of the server
                        (env CONVENE_SERVER_URL; default: the development server's, else ws://127.0.0.1:4100)
  --api-key K --api-secret S   (env CONVENE_API_KEY, CONVENE_API_SECRET;
                        default: the development project, ${devProjectPath()})
  --media-mode relayed|routed  (default relayed)
`,
  },
  token: {
    summary: 'mint a client token for a session (no server call), print it',
    usage: `usage: convene token --session S [options]

Mints a client token for a session (no server call) and prints it.

options:
  --session S           session id (convene session prints one)
  --api-key K --api-secret S   (env CONVENE_API_KEY, CONVENE_API_SECRET;
                        default: the development project, ${devProjectPath()})
  --role subscriber|publisher|publisheronly|moderator (default publisher)
  --data D              connection data (at most 1000 characters)
  --expire-in SECONDS   (default 86400, at most 2592000)
`,
  },
  help: { summary: 'this text; help COMMAND shows the options of COMMAND', usage: '' },
} as const;

type Command = keyof typeof COMMANDS;
const isCommand = (s: string): s is Command => Object.hasOwn(COMMANDS, s);

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return `usage: convene <command> [options]

commands:
${lines.join('\n')}

convene <command> --help   the options of a command
convene --version          the version
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

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

/** The server's ws:// and http:// URLs from any of ws://, wss://, http://, https:// (path kept). */
function serverUrls(flag: string, raw: string): { ws: string; http: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    fail(`${flag} must be a ws://, wss://, http:// or https:// URL, got '${raw}'`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(u.protocol) || u.hostname === '') {
    fail(`${flag} must be a ws://, wss://, http:// or https:// URL, got '${raw}'`);
  }
  if (u.search !== '' || u.hash !== '') fail(`${flag} takes no query or fragment, got '${raw}'`);
  const rest = raw.slice(raw.indexOf('://'));
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  return { ws: `${secure ? 'wss' : 'ws'}${rest}`, http: `${secure ? 'https' : 'http'}${rest}` };
}

/** The WebRTC options of `convene server`: the flags over the config file's `webrtc`. */
function webrtcOptions(publicIp: string | undefined, ports: string | undefined, off: boolean | undefined, file: ServerOptions['webrtc']): ServerOptions['webrtc'] {
  const o = { ...(file ?? {}) };
  if (off) o.enabled = false;
  if (publicIp !== undefined) {
    if (isIP(publicIp) === 0) fail(`--rtc-public-ip must be an IP address, got '${publicIp}'`);
    o.publicIp = publicIp;
  }
  if (ports !== undefined) {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(ports);
    const min = Number(m?.[1]);
    const max = Number(m?.[2]);
    if (!m || min < 1 || max > 65535 || min > max) fail(`--rtc-ports must be MIN-MAX with 1 <= MIN <= MAX <= 65535, got '${ports}'`);
    o.portRange = [min, max];
  }
  return o;
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
      'max-per-address': { type: 'string' }, 'headers-timeout': { type: 'string' }, 'max-send-buffer': { type: 'string' },
      'shutdown-timeout': { type: 'string' }, redis: { type: 'string' }, 'log-level': { type: 'string' },
      'cluster-secret': { type: 'string' }, 'cluster-media-address': { type: 'string' },
      'rtc-public-ip': { type: 'string' }, 'rtc-ports': { type: 'string' }, 'no-webrtc': { type: 'boolean' },
    },
  });
  const level = values['log-level'] ?? envVar('CONVENE_LOG_LEVEL') ?? 'info';
  if (!isLogLevel(level)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
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
  const log: Logger = createLogger(level);
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
    maxConnectionsPerAddress: num('max-per-address', values['max-per-address']) ?? fileOpts.maxConnectionsPerAddress,
    headersTimeoutMs: num('headers-timeout', values['headers-timeout']) ?? fileOpts.headersTimeoutMs,
    maxSendBufferBytes: num('max-send-buffer', values['max-send-buffer']) ?? fileOpts.maxSendBufferBytes,
    shutdownTimeoutMs: num('shutdown-timeout', values['shutdown-timeout']) ?? fileOpts.shutdownTimeoutMs,
    redis: values.redis ?? envVar('CONVENE_REDIS_URL') ?? fileOpts.redis,
    clusterSecret: values['cluster-secret'] ?? envVar('CONVENE_CLUSTER_SECRET') ?? fileOpts.clusterSecret,
    clusterMediaAddress: values['cluster-media-address'] ?? fileOpts.clusterMediaAddress,
    logger: log,
  };
  options.webrtc = webrtcOptions(values['rtc-public-ip'], values['rtc-ports'], values['no-webrtc'], fileOpts.webrtc);
  if (options.redis !== undefined && !/^rediss?:\/\//.test(options.redis)) fail(`--redis must be a redis:// URL, not '${options.redis}'`);
  if (options.redis === undefined && (options.clusterSecret !== undefined || options.clusterMediaAddress !== undefined)) {
    fail('--cluster-secret and --cluster-media-address are for a cluster node: give --redis too');
  }
  if (options.clusterSecret !== undefined && options.clusterSecret.length < 16) fail('--cluster-secret must be at least 16 characters');
  if (options.clusterMediaAddress !== undefined && !/^(\[[^\]]+\]|[^:]+):\d{1,5}$/.test(options.clusterMediaAddress)) {
    fail(`--cluster-media-address must be HOST:PORT, not '${options.clusterMediaAddress}'`);
  }
  if (tls) options.tls = tls;
  if (dev) options.devProject = projects[0]; // the room page's /dev/join mints its tokens
  let server: ConveneServer;
  try {
    server = new ConveneServer(options);
    await server.listen();
  } catch (e) {
    fail(`cannot start the server: ${e instanceof Error ? e.message : String(e)}`);
  }
  let devProject: DevProject | undefined;
  const devFile = devProjectPath();
  if (dev) {
    const p = projects[0] as Project;
    process.stdout.write(`development project: api key ${p.apiKey}  api secret ${p.apiSecret}\n`);
    devProject = { ...p, url: server.url, apiUrl: server.apiUrl, pid: process.pid, createdAt: new Date().toISOString() };
    try {
      writeDevProject(devProject, devFile);
      process.stdout.write(`development project written to ${devFile} (convene session, token and join use it)\n`);
    } catch (e) {
      devProject = undefined;
      log.warn({ event: 'devProjectNotWritten', path: devFile, message: (e as Error).message }, `cannot write ${devFile}`);
    }
  }
  if (server.cluster) process.stdout.write(`cluster node ${server.cluster.nodeId} on ${options.redis}\n`);
  if (server.mediaRelay) process.stdout.write(`media links on ${server.mediaRelay.links.address}\n`);
  process.stdout.write(`REST API at ${server.apiUrl}\n`);
  process.stdout.write(`listening on ${server.url}\n`);
  process.stdout.write(`room page at ${server.apiUrl}/${dev ? ' (development mode: open it to join a session with camera and microphone)' : '?apiKey=&sessionId=&token='}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    if (devProject) removeDevProject(devProject, devFile);
    log.info({ event: 'shutdownSignal', signal }, `${signal}: telling clients (serverRotation) and closing`);
    server.close().then(
      (dropped) => {
        if (dropped > 0) {
          log.warn({ event: 'shutdownTimeout', clients: dropped },
            `${dropped} client(s) did not finish closing within ${options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs} ms; dropped`);
        }
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ event: 'stopFailed', message: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Where a command's project comes from: flags, then the environment, then the dev project file. */
interface ProjectSource {
  project: Project;
  /** set when the project came from the development project file */
  dev?: { path: string; url: string };
}

function projectFrom(values: { 'api-key'?: string | undefined; 'api-secret'?: string | undefined }): ProjectSource {
  const apiKey = values['api-key'] ?? envVar('CONVENE_API_KEY');
  const apiSecret = values['api-secret'] ?? envVar('CONVENE_API_SECRET');
  if (apiKey && apiSecret) return { project: { apiKey, apiSecret } };
  if (apiKey || apiSecret) fail('--api-key and --api-secret go together (or CONVENE_API_KEY and CONVENE_API_SECRET)');
  const path = devProjectPath();
  let dev: DevProject | undefined;
  try {
    dev = readDevProject(path);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!dev) {
    fail(`--api-key and --api-secret are required (or CONVENE_API_KEY and CONVENE_API_SECRET, or a development server, which writes ${path})`);
  }
  return { project: { apiKey: dev.apiKey, apiSecret: dev.apiSecret }, dev: { path, url: dev.url } };
}

/** --server-url, CONVENE_SERVER_URL, the development server's URL, ws://127.0.0.1:4100. */
function serverUrlFrom(flag: string | undefined, dev: ProjectSource['dev']): { ws: string; http: string } {
  const given = flag ?? envVar('CONVENE_SERVER_URL');
  if (given !== undefined) return serverUrls('--server-url', given);
  let devUrl = dev?.url;
  if (devUrl === undefined) {
    try {
      devUrl = readDevProject()?.url;
    } catch {
      // the project came from flags or the environment: a bad file is not in the way
    }
  }
  return serverUrls('--server-url', devUrl ?? 'ws://127.0.0.1:4100');
}

async function sessionCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { 'server-url': { type: 'string' }, 'api-key': { type: 'string' }, 'api-secret': { type: 'string' }, 'media-mode': { type: 'string' } },
  });
  const { project, dev } = projectFrom(values);
  const url = serverUrlFrom(values['server-url'], dev);
  const mode = values['media-mode'] ?? 'relayed';
  if (mode !== 'relayed' && mode !== 'routed') fail(`--media-mode must be relayed or routed, got '${mode}'`);
  try {
    process.stdout.write(`${await createSessionViaRest(url.http, project, mode)}\n`);
  } catch (e) {
    const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    const hint = dev ? ` (the development project in ${dev.path}: is its server still running?)` : '';
    fail(`cannot create a session at ${url.http}: ${why}${hint}`);
  }
}

/** The api key a session id was minted for, or undefined when it is not a Convene session id. */
function apiKeyOf(sessionId: string): string | undefined {
  if (!sessionId.startsWith('2_')) return undefined;
  const f = Buffer.from(sessionId.slice(2), 'base64url').toString('utf8').split('~');
  return f.length === 9 ? f[1] : undefined;
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
  if (!values.session) fail('--session is required (convene session prints one)');
  const { project, dev } = projectFrom(values);
  let store: ProjectStore;
  try {
    store = new ProjectStore([project]);
  } catch (e) {
    fail((e as Error).message);
  }
  const sid = checkSessionId(values.session, project.apiKey, store);
  if (!sid.ok) {
    const shown = values.session.length > 60 ? `${values.session.slice(0, 60)}...` : values.session;
    const from = dev ? `the development project's (${dev.path})` : `'${project.apiKey}'`;
    if (sid.message === 'session id belongs to another api key') {
      fail(`--session was created for api key '${apiKeyOf(values.session) ?? '?'}', not for ${from}`);
    }
    if (sid.message === 'session id was not issued by this server') {
      fail(`--session was not created with the api secret of ${from}: a server holding that secret would refuse its tokens`);
    }
    fail(`--session '${shown}' is not a session id (${sid.message}); convene session prints one`);
  }
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
    options: { 'server-url': { type: 'string' }, 'api-key': { type: 'string' }, session: { type: 'string' }, token: { type: 'string' }, record: { type: 'string' } },
  });
  if (!values.session || !values.token) fail('join needs --session and --token (convene session and convene token print them)');
  let apiKey = values['api-key'] ?? envVar('CONVENE_API_KEY');
  let dev: ProjectSource['dev'];
  if (!apiKey) {
    const path = devProjectPath();
    let file: DevProject | undefined;
    try {
      file = readDevProject(path);
    } catch (e) {
      fail((e as Error).message);
    }
    if (!file) fail(`join needs --api-key (or CONVENE_API_KEY, or a development server, which writes ${path})`);
    apiKey = file.apiKey;
    dev = { path, url: file.url };
  }
  const url = serverUrlFrom(values['server-url'], dev);
  if (values.record !== undefined && values.record === '') fail('--record needs a file name');
  return runJoin({ apiKey, sessionId: values.session, token: values.token, serverUrl: url.ws, record: values.record });
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const about = rest[0];
    if (about !== undefined && isCommand(about) && about !== 'help') process.stdout.write(COMMANDS[about].usage);
    else if (about !== undefined) fail(`unknown command '${about}'\n${usage()}`);
    else process.stdout.write(usage());
    return;
  }
  if (!isCommand(command)) fail(`unknown command '${command}'\n${usage()}`);
  // `COMMAND --help` (or -h) anywhere among the options: that command's usage, nothing run.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(COMMANDS[command].usage);
    return;
  }
  try {
    switch (command) {
      case 'server':
        return await serverCommand(rest);
      case 'demo': {
        const { values } = parseArgs({ args: rest, options: { stay: { type: 'boolean' }, port: { type: 'string' } }, strict: true });
        const port = values.port === undefined ? undefined : Number(values.port);
        if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) fail(`--port must be 0..65535, got '${values.port}'`);
        process.exitCode = await runDemo(undefined, { stay: values.stay === true, port });
        return;
      }
      case 'session':
        return await sessionCommand(rest);
      case 'join':
        process.exitCode = await joinCommand(rest);
        return;
      case 'token':
        return await tokenCommand(rest);
      case 'help':
        return;
    }
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

void main();
