/** wss:// through the native core: verification on by default, a CA file, and verification off. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSession } from '../lib/index';
import { mintSessionId, startServer, type ConveneServer } from '../lib/server';
import { API_KEY, API_SECRET, OpenTok } from './helpers/server';

let server: ConveneServer;
let dir = '';
let sid = '';
let token = '';

function haveOpenssl(): boolean {
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

describe.skipIf(!haveOpenssl())('native core over wss://', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convene-ctls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    server = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0, tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } });
    const ot = new OpenTok(API_KEY, API_SECRET, { apiUrl: server.apiUrl });
    sid = mintSessionId({ apiKey: API_KEY, apiSecret: API_SECRET }).sessionId;
    token = ot.generateToken(sid);
  });
  afterAll(async () => { await server.close(); });

  it('refuses a self-signed server by default (1006)', async () => {
    const s = initSession(API_KEY, sid, { serverUrl: server.url });
    await expect(s.connect(token)).rejects.toMatchObject({ code: 1006 });
  });

  it('connects when the CA file is given', async () => {
    const s = initSession(API_KEY, sid, { serverUrl: server.url, caFile: join(dir, 'cert.pem') });
    await s.connect(token);
    expect(s.connectionStatus).toBe('connected');
    const gone = new Promise((r) => s.once('sessionDisconnected', r));
    s.disconnect();
    await gone;
  });

  it('connects with verification turned off explicitly', async () => {
    const s = initSession(API_KEY, sid, { serverUrl: server.url, tlsVerify: false });
    await s.connect(token);
    const gone = new Promise((r) => s.once('sessionDisconnected', r));
    s.disconnect();
    await gone;
  });
});
