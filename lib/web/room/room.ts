/**
 * The room page (`/` of `convene server`): join a session with camera and microphone, see and
 * hear everyone (a tile per stream with its name, mute state and a speaking indicator), chat
 * over signals. With `?apiKey=&sessionId=&token=` (and optionally `&serverUrl=`) it joins that
 * session; otherwise, when the server runs in development mode, it asks `/dev/join` for a
 * session and a token (`?sessionId=` joins that session; `&name=` names you). The Session is
 * `window.session` for debugging.
 */
import { OT, type Publisher, type WebSession } from '../browser';
import type { Stream } from '../session';

interface Join { apiKey: string; sessionId: string; token: string; serverUrl?: string }

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = (text: string): void => { $('status').textContent = text; };

function nameOf(data: string): string {
  try {
    const v = JSON.parse(data) as { name?: unknown };
    if (typeof v.name === 'string') return v.name;
  } catch { /* plain data */ }
  return data || 'someone';
}

function tile(id: string, label: string): HTMLElement {
  const t = document.createElement('div');
  t.className = 'tile';
  t.id = `tile-${id}`;
  t.innerHTML = '<div class="video"></div><span class="label"></span><span class="muted">muted</span>';
  (t.querySelector('.label') as HTMLElement).textContent = label;
  $('tiles').appendChild(t);
  return t;
}

function chatLine(who: string, text: string): void {
  const p = document.createElement('p');
  const b = document.createElement('b');
  b.textContent = `${who}: `;
  p.append(b, document.createTextNode(text));
  $('chat-log').appendChild(p);
  $('chat-log').scrollTop = $('chat-log').scrollHeight;
}

async function credentials(q: URLSearchParams): Promise<Join> {
  const apiKey = q.get('apiKey'), sessionId = q.get('sessionId'), token = q.get('token');
  if (apiKey && sessionId && token) return { apiKey, sessionId, token, serverUrl: q.get('serverUrl') ?? undefined };
  const name = q.get('name') ?? `guest-${Math.floor(Math.random() * 1000)}`;
  const r = await fetch(`/dev/join?name=${encodeURIComponent(name)}${sessionId ? `&sessionId=${encodeURIComponent(sessionId)}` : ''}`);
  if (!r.ok) throw new Error('this page needs ?apiKey=&sessionId=&token= (the server is not in development mode)');
  const j = (await r.json()) as Join;
  // a link others can open to join the same session
  const share = new URL(location.href);
  share.search = `?sessionId=${encodeURIComponent(j.sessionId)}`;
  history.replaceState(null, '', share);
  return j;
}

async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const join = await credentials(q);
  const session: WebSession = OT.initSession(join.apiKey, join.sessionId, join.serverUrl ? { serverUrl: join.serverUrl } : {});
  (window as unknown as { session: WebSession }).session = session;
  const tiles = new Map<string, HTMLElement>();

  const watch = (stream: Stream, t: HTMLElement): void => {
    t.classList.toggle('is-muted', !stream.hasAudio);
  };
  session.on('streamCreated', (e) => {
    const t = tile(e.stream.streamId, e.stream.name || nameOf(e.stream.connection.data));
    tiles.set(e.stream.streamId, t);
    watch(e.stream, t);
    const sub = session.subscribe(e.stream, t.querySelector('.video') as HTMLElement, { insertMode: 'append' });
    sub.on('audioLevelUpdated', (ev) => t.classList.toggle('speaking', ev.audioLevel > 0.05));
  });
  session.on('streamPropertyChanged', (e) => { const t = tiles.get(e.stream.streamId); if (t) watch(e.stream, t); });
  session.on('streamDestroyed', (e) => { tiles.get(e.stream.streamId)?.remove(); tiles.delete(e.stream.streamId); });
  session.on('signal:chat', (e) => chatLine(e.from ? nameOf(e.from.data) : 'server', e.data));
  session.on('sessionReconnecting', () => status('reconnecting…'));
  session.on('sessionReconnected', () => status('connected'));
  session.on('sessionDisconnected', (e) => status(`disconnected (${e.reason})`));

  await session.connect(join.token);
  const me = nameOf(session.connection?.data ?? '');
  status(`connected as ${me}`);
  const mine = tile('me', `${me} (you)`);
  const publisher: Publisher = OT.initPublisher(mine.querySelector('.video') as HTMLElement, { name: me, insertMode: 'append' });
  session.publish(publisher, (err) => { if (err) status(`cannot publish: ${err.message}`); });
  let audioOn = true, videoOn = true;
  $('mute-audio').onclick = () => {
    audioOn = !audioOn;
    publisher.publishAudio(audioOn);
    mine.classList.toggle('is-muted', !audioOn);
    $('mute-audio').textContent = audioOn ? 'Mute' : 'Unmute';
  };
  $('mute-video').onclick = () => {
    videoOn = !videoOn;
    publisher.publishVideo(videoOn);
    $('mute-video').textContent = videoOn ? 'Stop video' : 'Start video';
  };
  $('leave').onclick = () => { publisher.destroy(); session.disconnect(); };
  $<HTMLFormElement>('chat-form').onsubmit = (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>('chat-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    chatLine(`${me} (you)`, text);
    void session.signal({ type: 'chat', data: text }).catch((e: { message: string }) => chatLine('error', e.message));
  };
}

main().catch((e: unknown) => status(`error: ${e instanceof Error ? e.message : String(e)}`));
