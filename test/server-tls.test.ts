import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { startServer } from '../lib/server';
import { API_KEY, API_SECRET, OpenTok } from './helpers/server';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveOpenssl())('TLS (wss:// and https://)', () => {
  it('serves the protocol and the REST API over TLS with the given certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convene-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const server = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0, tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    try {
      expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      expect(server.apiUrl).toMatch(/^https:\/\//);
      const ot = new OpenTok(API_KEY, API_SECRET, { apiUrl: server.apiUrl });
      const https = await import('node:https');
      const prev = https.globalAgent.options.ca;
      https.globalAgent.options.ca = cert;
      const sid = await new Promise<string>((resolve, reject) => ot.createSession({}, (e, s) => (e || !s ? reject(e) : resolve(s.sessionId))));
      https.globalAgent.options.ca = prev;
      const ws = new WebSocket(server.url, { ca: cert });
      await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
      const hello = await new Promise<Record<string, unknown>>((resolve) => {
        ws.once('message', (d) => resolve(JSON.parse(d.toString())));
        ws.send(JSON.stringify({ type: 'connect', v: 1, apiKey: API_KEY, sessionId: sid, token: ot.generateToken(sid) }));
      });
      expect(hello['type']).toBe('connected');
      const bad = new WebSocket(server.url); // no CA: certificate verification must fail
      await expect(new Promise((r, j) => { bad.once('open', r); bad.once('error', j); })).rejects.toThrow(/self.signed|certificate/i);
      ws.close();
    } finally {
      await server.close();
    }
  });
});
